// comm_mpi.c: MPI: the control plane, and the MPI transport of the data plane (host buffers).
// brigade works on a duplicate of MPI_COMM_WORLD whose error handler returns errors, so that a
// failed call is reported by the rank that saw it instead of aborting without a word.
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm_internal.h"
#include "core/backend.h"
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h> // Open MPI: MPIX_Query_cuda_support
#endif


// MPI counts are int: large buffers go in chunks of CHUNK bytes. Data and control messages carry
// different tags so that they can never be matched with each other.
enum { CHUNK = 1 << 30, TAG_DATA = 0, TAG_CONTROL = 1 };

static br_status mpi_failed(br_comm *c, int err, const char *what, int peer) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, text, &len);
    return br_fail(BR_ECOMM, "rank %d (%s): MPI %s with rank %d failed: %s", c->rank, c->host,
                   what, peer, text);
}

static br_status send_chunks(br_comm *c, const void *buf, size_t bytes, int peer, int tag) {
    const char *p = buf;
    size_t off = 0;
    do { // at least one message, so that an empty send still meets its recv
        int count = (int)(bytes - off < CHUNK ? bytes - off : CHUNK);
        int err = MPI_Send(p + off, count, MPI_BYTE, peer, tag, c->world);
        if (err != MPI_SUCCESS) return mpi_failed(c, err, "send", peer);
        off += (size_t)count;
    } while (off < bytes);
    return BR_OK;
}

static br_status recv_chunks(br_comm *c, void *buf, size_t bytes, int peer, int tag) {
    char *p = buf;
    size_t off = 0;
    do {
        int count = (int)(bytes - off < CHUNK ? bytes - off : CHUNK);
        int err = MPI_Recv(p + off, count, MPI_BYTE, peer, tag, c->world, MPI_STATUS_IGNORE);
        if (err != MPI_SUCCESS) return mpi_failed(c, err, "recv", peer);
        off += (size_t)count;
    } while (off < bytes);
    return BR_OK;
}

static br_status mpi_send(br_comm *c, const float *buf, size_t n, int peer) {
    return send_chunks(c, buf, n * sizeof(float), peer, TAG_DATA);
}

static br_status mpi_recv(br_comm *c, float *buf, size_t n, int peer) {
    return recv_chunks(c, buf, n * sizeof(float), peer, TAG_DATA);
}

br_status br_comm_send_bytes(br_comm *c, const void *buf, size_t bytes, int peer) {
    return send_chunks(c, buf, bytes, peer, TAG_CONTROL);
}

br_status br_comm_recv_bytes(br_comm *c, void *buf, size_t bytes, int peer) {
    return recv_chunks(c, buf, bytes, peer, TAG_CONTROL);
}

struct br_comm_request {
    MPI_Request request;
    int peer;
    const char *what; // "send" or "recv", for the error message
};

// One message of under CHUNK bytes, started by MPI_Isend or MPI_Irecv.
static br_status start_request(br_comm *c, void *buf, size_t bytes, int peer, int is_send,
                               br_comm_request **out) {
    br_comm_request *r = malloc(sizeof *r);
    if (!r) return br_fail(BR_ENOMEM, "out of memory");
    r->peer = peer, r->what = is_send ? "send" : "recv";
    if (bytes >= CHUNK) {
        free(r);
        return br_fail(BR_EINTERNAL, "rank %d: a %zu-byte non-blocking message is too large",
                       c->rank, bytes);
    }
    int err = is_send ? MPI_Isend(buf, (int)bytes, MPI_BYTE, peer, TAG_CONTROL, c->world,
                                  &r->request)
                      : MPI_Irecv(buf, (int)bytes, MPI_BYTE, peer, TAG_CONTROL, c->world,
                                  &r->request);
    if (err != MPI_SUCCESS) {
        free(r);
        return mpi_failed(c, err, is_send ? "send" : "recv", peer);
    }
    *out = r;
    return BR_OK;
}

br_status br_comm_isend_bytes(br_comm *c, const void *buf, size_t bytes, int peer,
                              br_comm_request **out) {
    return start_request(c, (void *)buf, bytes, peer, 1, out);
}

br_status br_comm_irecv_bytes(br_comm *c, void *buf, size_t bytes, int peer,
                              br_comm_request **out) {
    return start_request(c, buf, bytes, peer, 0, out);
}

br_status br_comm_wait(br_comm *c, br_comm_request *r) {
    if (!r) return BR_OK;
    int err = MPI_Wait(&r->request, MPI_STATUS_IGNORE), peer = r->peer;
    const char *what = r->what;
    free(r);
    return err == MPI_SUCCESS ? BR_OK : mpi_failed(c, err, what, peer);
}

br_status br_comm_test(br_comm *c, br_comm_request *r, int *done) {
    *done = 0;
    const int err = MPI_Test(&r->request, done, MPI_STATUS_IGNORE);
    if (err != MPI_SUCCESS) {
        *done = 1;
        const int peer = r->peer;
        const char *what = r->what;
        free(r);
        return mpi_failed(c, err, what, peer);
    }
    if (*done) free(r);
    return BR_OK;
}

void br_comm_cancel(br_comm *c, br_comm_request *r) {
    (void)c;
    if (!r) return;
    MPI_Cancel(&r->request);
    MPI_Wait(&r->request, MPI_STATUS_IGNORE);
    free(r);
}

static br_status mpi_bcast(br_comm *c, float *buf, size_t n, int root) {
    return br_comm_bcast_bytes(c, buf, n * sizeof(float), root);
}

static const br_transport mpi_transport = {"mpi", mpi_send, mpi_recv, mpi_bcast};

// Host-staged MPI for device buffers when neither NCCL nor a CUDA-aware MPI is there: each
// transfer goes through a host buffer (grown as needed) with the backend's download/upload.
static float *staging_buffer(br_comm *c, size_t n) {
    if (n > c->staging_cap) {
        free(c->staging);
        c->staging = malloc(n * sizeof(float));
        c->staging_cap = c->staging ? n : 0;
        if (!c->staging) br_fatal("out of host memory for a %zu-float transfer", n);
    }
    return c->staging;
}

static br_status staged_send(br_comm *c, const float *buf, size_t n, int peer) {
    float *host = staging_buffer(c, n);
    c->device->download(c->device, host, buf, n);
    return mpi_send(c, host, n, peer);
}

static br_status staged_recv(br_comm *c, float *buf, size_t n, int peer) {
    float *host = staging_buffer(c, n);
    BR_TRY(mpi_recv(c, host, n, peer));
    c->device->upload(c->device, buf, host, n);
    return BR_OK;
}

static br_status staged_bcast(br_comm *c, float *buf, size_t n, int root) {
    float *host = staging_buffer(c, n);
    if (c->rank == root) c->device->download(c->device, host, buf, n);
    BR_TRY(mpi_bcast(c, host, n, root));
    if (c->rank != root) c->device->upload(c->device, buf, host, n);
    return BR_OK;
}

static const br_transport staged_transport = {"mpi (host-staged)", staged_send, staged_recv,
                                              staged_bcast};
static const br_transport cuda_aware_transport = {"mpi (CUDA-aware)", mpi_send, mpi_recv,
                                                  mpi_bcast};

static int mpi_is_cuda_aware(void) {
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
    return MPIX_Query_cuda_support();
#else
    return 0;
#endif
}

// The backend's wait hook: one MPI call, which lets pending non-blocking transfers move.
static void progress(void *arg) {
    br_comm *c = arg;
    int flag;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->world, &flag, MPI_STATUS_IGNORE);
}

// Whether two ranks run on one GPU (--share-gpus): NCCL refuses that in its init, but only on
// the ranks that share, and the others would wait in the init for ever; so every rank looks
// first, and all leave NCCL out together.
static br_status gpus_shared(br_comm *c, const br_backend *be, int *shared) {
    char mine[MPI_MAX_PROCESSOR_NAME + 40] = {0}; // host|bus id
    snprintf(mine, sizeof mine, "%s|%s", c->host, be->pci_bus_id);
    char *all = calloc((size_t)c->size, sizeof mine);
    if (!all) return br_fail(BR_ENOMEM, "out of memory");
    int err = MPI_Allgather(mine, sizeof mine, MPI_CHAR, all, sizeof mine, MPI_CHAR, c->world);
    *shared = 0;
    for (int a = 0; a < c->size && err == MPI_SUCCESS; a++)
        for (int b = a + 1; b < c->size; b++)
            *shared |= strcmp(all + a * sizeof mine, all + b * sizeof mine) == 0;
    free(all);
    return err == MPI_SUCCESS ? BR_OK : mpi_failed(c, err, "allgather", -1);
}

br_status br_comm_attach(br_comm *c, br_backend *be) {
    c->device = be;
    be->wait_hook = progress, be->wait_arg = c;
    if (strcmp(be->name, "cpu") == 0) {
        c->transport = &mpi_transport;
        return BR_OK;
    }
    int shared;
    BR_TRY(gpus_shared(c, be, &shared));
    // Every rank must pick the same transport: agree on NCCL first, then on MPI's abilities.
    br_status st = shared ? br_fail(BR_ECOMM, "ranks share a GPU")
                          : br_comm_nccl_open(c, br_backend_cuda_stream(be));
    int mine = st == BR_OK, all = 0;
    if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, c->world) != MPI_SUCCESS)
        return br_fail(BR_ECOMM, "rank %d (%s): MPI allreduce failed", c->rank, c->host);
    if (all) return BR_OK;
    br_comm_nccl_close(c);
    br_clear_error();
    c->transport = mpi_is_cuda_aware() ? &cuda_aware_transport : &staged_transport;
    return BR_OK;
}

// The job-wide end for failures that cannot be agreed on: this rank names itself, then
// MPI_Abort takes every rank down (one rank calling exit() would leave the others waiting).
static br_comm *fatal_comm;
static void abort_job(const char *message) {
    fprintf(stderr, "brigade: fatal: rank %d (%s): %s\n", fatal_comm->rank, fatal_comm->host,
            message);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

br_status br_comm_init(int *argc, char ***argv, br_comm **out) {
    br_comm *c = calloc(1, sizeof *c);
    if (!c) return br_fail(BR_ENOMEM, "out of memory");
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        free(c);
        return br_fail(BR_ECOMM, "MPI_Init failed");
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &c->world);
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->world, &c->rank);
    MPI_Comm_size(c->world, &c->size);
    int len = 0;
    MPI_Get_processor_name(c->host, &len);
    MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &c->node);
    MPI_Comm_rank(c->node, &c->local_rank);
    MPI_Comm_size(c->node, &c->local_size);
    c->transport = &mpi_transport;
    fatal_comm = c;
    br_set_fatal_handler(abort_job);
    *out = c;
    return BR_OK;
}

void br_comm_finalize(br_comm *c) {
    if (!c) return;
    br_comm_nccl_close(c);
    free(c->staging);
    br_set_fatal_handler(NULL);
    fatal_comm = NULL;
    MPI_Comm_free(&c->node);
    MPI_Comm_free(&c->world);
    MPI_Finalize();
    free(c);
}

int br_comm_rank(const br_comm *c) { return c->rank; }
int br_comm_size(const br_comm *c) { return c->size; }
const char *br_comm_host(const br_comm *c) { return c->host; }
int br_comm_local_rank(const br_comm *c) { return c->local_rank; }
int br_comm_local_size(const br_comm *c) { return c->local_size; }
const br_transport *br_comm_transport(const br_comm *c) { return c->transport; }

br_status br_comm_agree(br_comm *c, br_status local) {
    // The lowest failing rank (INT_MAX when none) speaks for the job.
    int mine = local == BR_OK ? INT_MAX : c->rank, first = INT_MAX;
    int err = MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c->world);
    if (err != MPI_SUCCESS) return mpi_failed(c, err, "allreduce", -1);
    if (first == INT_MAX) return BR_OK;
    struct { int status; char text[1024]; } verdict = {0};
    if (c->rank == first) {
        verdict.status = local;
        // Messages from comm failures already name the rank and host.
        if (local == BR_ECOMM)
            snprintf(verdict.text, sizeof verdict.text, "%s", br_error());
        else
            snprintf(verdict.text, sizeof verdict.text, "rank %d (%s): %s", c->rank, c->host,
                     br_error());
    }
    err = MPI_Bcast(&verdict, sizeof verdict, MPI_BYTE, first, c->world);
    if (err != MPI_SUCCESS) return mpi_failed(c, err, "bcast", first);
    br_clear_error();
    return br_fail((br_status)verdict.status, "%s", verdict.text);
}

br_status br_comm_gather_bytes(br_comm *c, const void *mine, void *all, size_t bytes, int root) {
    int err = MPI_Gather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, root, c->world);
    return err == MPI_SUCCESS ? BR_OK : mpi_failed(c, err, "gather", root);
}

br_status br_comm_bcast_bytes(br_comm *c, void *buf, size_t bytes, int root) {
    char *p = buf;
    for (size_t off = 0; off < bytes; off += CHUNK) {
        int count = (int)(bytes - off < CHUNK ? bytes - off : CHUNK);
        int err = MPI_Bcast(p + off, count, MPI_BYTE, root, c->world);
        if (err != MPI_SUCCESS) return mpi_failed(c, err, "bcast", root);
    }
    return BR_OK;
}
