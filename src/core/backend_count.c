// backend_count.c: a backend that only counts what would be allocated (the memory plan). Every
// alloc and adopt adds its bytes to bytes_in_use and peak_bytes: matrices in the storage type of
// the backend it stands for, everything else fp32; and the largest scratch its products would
// take (most_scratch). It moves no data: loaders see counts_only and
// read no weights; alloc hands out zeroed host memory that nothing computes on (calloc maps no
// page until one is written, so even a large workspace costs nothing); uploads and downloads do
// nothing. Only memory is in its table of ops.
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "live_table.h"

// A buffer of `bytes` as counted: real (zeroed) memory where the caller may write (alloc), a
// one-byte token where no one will (adopted weights).
static void *counted(br_backend *be, size_t real, size_t bytes, const char *purpose) {
    void *p = calloc(real ? real : 1, 1);
    if (p && !br_live_add(be->impl, be, p, bytes)) free(p), p = NULL;
    if (!p) br_fail(BR_ENOMEM, "out of host memory to plan %s", purpose);
    return p;
}

static float *count_alloc(br_backend *be, size_t n, const char *purpose) {
    return counted(be, n * sizeof(float), n * sizeof(float), purpose);
}
static void count_release(br_backend *be, float *p) {
    if (p && br_live_remove(be->impl, be, p)) free(p);
}
static void count_move(br_backend *be, float *dst, const float *src, size_t n) {}
static float *count_adopt_vector(br_backend *be, float *host, size_t n, const char *purpose) {
    free(host);
    return counted(be, 1, n * sizeof(float), purpose);
}
static void *count_adopt_matrix(br_backend *be, float *host, size_t rows, size_t cols,
                                const char *purpose) {
    free(host);
    const size_t scratch = be->product_scratch ? be->product_scratch(be, rows, cols) : 0;
    if (scratch > be->most_scratch) be->most_scratch = scratch;
    return counted(be, 1, br_matrix_bytes(be->storage, rows, cols), purpose);
}
static void count_release_matrix(br_backend *be, void *p) { count_release(be, p); }
static void count_sync(br_backend *be) {}

br_backend *br_backend_counting(const br_backend *like) {
    br_backend *be = calloc(1, sizeof *be);
    br_live_table *s = calloc(1, sizeof *s);
    if (!be || !s) {
        free(be), free(s);
        br_fail(BR_ENOMEM, "out of memory");
        return NULL;
    }
    // like's ops stay (a family's check of the device looks at them; nothing computes here).
    *be = *like;
    be->name = "count", be->alloc = count_alloc, be->release = count_release;
    be->upload = be->download = be->copy = count_move;
    be->adopt_vector = count_adopt_vector, be->adopt_matrix = count_adopt_matrix;
    be->release_matrix = count_release_matrix, be->sync = count_sync;
    be->wait_hook = NULL, be->free_bytes = NULL;
    be->bytes_in_use = be->peak_bytes = 0, be->counts_only = 1, be->impl = s, be->most_scratch = 0;
    return be;
}

void br_backend_counting_free(br_backend *be) {
    if (!be) return;
    br_live_table *t = be->impl;
    for (size_t i = 0; i < t->n; i++) free(t->p[i]);
    br_live_free(t);
    free(t);
    free(be);
}
