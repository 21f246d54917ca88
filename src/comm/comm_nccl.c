// comm_nccl.c: the NCCL transport: activations GPU to GPU (NVLink, PCIe, or NCCL's network
// transports between boxes), bootstrapped over MPI (rank 0 makes the unique id and broadcasts
// it). Transfers run on their own stream, ordered after the compute stream's pending work by an
// event; the host then waits for the transfer by polling: between polls it lets MPI progress
// (the control plane's non-blocking sends, e.g. the latents the last rank returns to rank 0,
// move only while their sender calls into MPI: a host asleep in cudaStreamSynchronize would
// deadlock the pipelined schedule) and checks NCCL's asynchronous error, aborting the
// communicator on one, so that a failed peer is reported instead of waited for.
#define _POSIX_C_SOURCE 200809L // nanosleep
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm_internal.h"

typedef struct {
    ncclComm_t comm;
    cudaStream_t compute, stream; // the backend's stream, and the transfers' own
    cudaEvent_t ready;
} nccl_state;

static nccl_state *state(br_comm *c) { return c->nccl; }

static br_status nccl_failed(br_comm *c, ncclResult_t r, const char *what, int peer) {
    return br_fail(BR_ECOMM, "rank %d (%s): NCCL %s with rank %d failed: %s", c->rank, c->host,
                   what, peer, ncclGetErrorString(r));
}

// The transfer stream waits for everything the compute stream has issued.
static void after_compute(br_comm *c) {
    nccl_state *s = state(c);
    if (cudaEventRecord(s->ready, s->compute) != cudaSuccess ||
        cudaStreamWaitEvent(s->stream, s->ready, 0) != cudaSuccess)
        br_fatal("CUDA error ordering a transfer: %s", cudaGetErrorString(cudaGetLastError()));
}

static br_status finish(br_comm *c, ncclResult_t r, const char *what, int peer) {
    nccl_state *s = state(c);
    if (r != ncclSuccess) return nccl_failed(c, r, what, peer);
    cudaError_t e;
    while ((e = cudaStreamQuery(s->stream)) == cudaErrorNotReady) {
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->world, &flag, MPI_STATUS_IGNORE);
        ncclResult_t async = ncclSuccess;
        ncclCommGetAsyncError(s->comm, &async);
        if (async != ncclSuccess && async != ncclInProgress) {
            ncclCommAbort(s->comm);
            s->comm = NULL;
            return nccl_failed(c, async, what, peer);
        }
        nanosleep(&(struct timespec){0, 20000}, NULL);
    }
    if (e != cudaSuccess)
        br_fatal("CUDA error in NCCL %s with rank %d: %s", what, peer, cudaGetErrorString(e));
    return BR_OK;
}

static br_status nccl_send(br_comm *c, const float *buf, size_t n, int peer) {
    after_compute(c);
    return finish(c, ncclSend(buf, n, ncclFloat, peer, state(c)->comm, state(c)->stream), "send",
                  peer);
}

static br_status nccl_recv(br_comm *c, float *buf, size_t n, int peer) {
    after_compute(c);
    return finish(c, ncclRecv(buf, n, ncclFloat, peer, state(c)->comm, state(c)->stream), "recv",
                  peer);
}

static br_status nccl_bcast(br_comm *c, float *buf, size_t n, int root) {
    after_compute(c);
    return finish(c, ncclBroadcast(buf, buf, n, ncclFloat, root, state(c)->comm, state(c)->stream),
                  "broadcast", root);
}

static const br_transport nccl_transport = {"nccl", nccl_send, nccl_recv, nccl_bcast};

br_status br_comm_nccl_open(br_comm *c, void *compute_stream) {
    ncclUniqueId id;
    if (c->rank == 0 && ncclGetUniqueId(&id) != ncclSuccess) memset(&id, 0, sizeof id);
    BR_TRY(br_comm_bcast_bytes(c, &id, sizeof id, 0));
    nccl_state *s = calloc(1, sizeof *s);
    if (!s) return br_fail(BR_ENOMEM, "out of host memory");
    c->nccl = s;
    s->compute = compute_stream;
    if (cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking) != cudaSuccess ||
        cudaEventCreateWithFlags(&s->ready, cudaEventDisableTiming) != cudaSuccess)
        return br_fail(BR_ECOMM, "rank %d (%s): cannot create the transfer stream", c->rank,
                       c->host);
    ncclResult_t r = ncclCommInitRank(&s->comm, c->size, id, c->rank);
    if (r != ncclSuccess) {
        s->comm = NULL;
        return nccl_failed(c, r, "init", 0);
    }
    c->transport = &nccl_transport;
    return BR_OK;
}

void br_comm_nccl_close(br_comm *c) {
    nccl_state *s = state(c);
    if (!s) return;
    if (s->comm) ncclCommDestroy(s->comm);
    if (s->ready) cudaEventDestroy(s->ready);
    if (s->stream) cudaStreamDestroy(s->stream);
    free(s);
    c->nccl = NULL;
}
