// comm.h: how ranks talk. Two planes:
// - control (always MPI): agreeing on success or failure after each phase, broadcasting settings;
// - data (the "baton"): activations and per-forward context, through a br_transport, so that the
//   NCCL transport (and CUDA-aware or host-staged MPI) can take the place of plain MPI.
// This folder is the only code that calls MPI (and, later, NCCL). Every call returns br_status;
// an MPI failure becomes BR_ECOMM with a message naming this rank, its host and the peer.
#ifndef BR_COMM_H
#define BR_COMM_H

#include <stddef.h>

#include "core/status.h"

typedef struct br_comm br_comm;

// The data plane. Buffers are device buffers of the backend the transport was made for
// (host memory for the CPU backend). Counts are in floats; a send must be matched by a recv of
// the same count on the peer.
typedef struct {
    const char *name; // "mpi"
    br_status (*send)(br_comm *c, const float *buf, size_t n, int peer);
    br_status (*recv)(br_comm *c, float *buf, size_t n, int peer);
    br_status (*bcast)(br_comm *c, float *buf, size_t n, int root);
} br_transport;

// Starts MPI and makes brigade's own communicator (errors return, never abort).
br_status br_comm_init(int *argc, char ***argv, br_comm **out);
void br_comm_finalize(br_comm *c);

int br_comm_rank(const br_comm *c);
int br_comm_size(const br_comm *c);
const char *br_comm_host(const br_comm *c);
// This rank's index among the ranks on its host: ranks find their GPU by it, so the same code
// works on one box and across several.
int br_comm_local_rank(const br_comm *c);
int br_comm_local_size(const br_comm *c); // ranks on this host

// Collective: every rank passes its status after a phase; all get back BR_OK only when every
// rank succeeded. Otherwise all return the status of the lowest failing rank, and br_error() on
// every rank holds that rank's message, prefixed with "rank R (host): ".
br_status br_comm_agree(br_comm *c, br_status local);

// Control-plane broadcast of raw bytes from root (settings, shapes).
br_status br_comm_bcast_bytes(br_comm *c, void *buf, size_t bytes, int root);

// Control-plane point to point of host bytes (diagnostic dumps, results gathered for writing).
br_status br_comm_send_bytes(br_comm *c, const void *buf, size_t bytes, int peer);
br_status br_comm_recv_bytes(br_comm *c, void *buf, size_t bytes, int peer);

// A non-blocking control-plane send (under 1 GiB): the buffer must stay untouched until
// br_comm_wait(req) returns, which also frees req (NULL: nothing to wait for). Matched by a
// br_comm_recv_bytes; messages between two ranks arrive in the order they were sent.
typedef struct br_comm_request br_comm_request;
br_status br_comm_isend_bytes(br_comm *c, const void *buf, size_t bytes, int peer,
                              br_comm_request **req);
br_status br_comm_wait(br_comm *c, br_comm_request *req);
// A non-blocking control-plane receive (under 1 GiB), matched by a br_comm_send_bytes or
// br_comm_isend_bytes; posted early, the message moves while both ranks compute. br_comm_wait
// completes it; br_comm_cancel withdraws one that will not be needed (a run that stopped).
br_status br_comm_irecv_bytes(br_comm *c, void *buf, size_t bytes, int peer,
                              br_comm_request **req);
void br_comm_cancel(br_comm *c, br_comm_request *req);
// Whether req completed, without waiting (*done; when 1, req is freed as by br_comm_wait).
br_status br_comm_test(br_comm *c, br_comm_request *req, int *done);
// Gathers `bytes` from every rank into all[rank * bytes] on root (small control data).
br_status br_comm_gather_bytes(br_comm *c, const void *mine, void *all, size_t bytes, int root);

// Chooses the data plane for buffers of backend be (collective): plain MPI for the CPU; for a
// GPU, NCCL when built in, else CUDA-aware MPI when MPIX_Query_cuda_support() says so, else MPI
// staged through host memory.
typedef struct br_backend br_backend;
br_status br_comm_attach(br_comm *c, br_backend *be);

// The data plane in use.
const br_transport *br_comm_transport(const br_comm *c);

#endif
