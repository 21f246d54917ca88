// ltx2_conv_rows.c: see ltx2_conv_rows.h.
#include "ltx2_conv_rows.h"

#include "kernels_cpu.h"
#include "parallel.h"

typedef struct {
    float *y, *scratch;
    const float *w, *b;
    int rows, n_in, n_out;
    ltx2_gather_fn gather;
    const void *ctx;
} conv_job;

// One tile: gather its rows, then the product (cpu_linear runs inline inside a task).
static void conv_tile(void *ctx, int task, int worker) {
    const conv_job *j = ctx;
    const int r0 = task * LTX2_CONV_TILE;
    const int n = j->rows - r0 < LTX2_CONV_TILE ? j->rows - r0 : LTX2_CONV_TILE;
    float *cols = j->scratch + (size_t)worker * LTX2_CONV_TILE * j->n_in;
    j->gather(j->ctx, cols, r0, n);
    cpu_linear(j->y + (size_t)r0 * j->n_out, cols, j->w, j->b, n, j->n_in, j->n_out);
}

void ltx2_conv_rows(float *y, int rows, int n_in, int n_out, const float *w, const float *b,
                    ltx2_gather_fn gather, const void *ctx, float *scratch) {
    conv_job j = {y, scratch, w, b, rows, n_in, n_out, gather, ctx};
    br_parallel_for((rows + LTX2_CONV_TILE - 1) / LTX2_CONV_TILE, conv_tile, &j);
}

size_t ltx2_conv_rows_scratch(int n_in) {
    return (size_t)br_parallel_threads() * LTX2_CONV_TILE * (size_t)n_in;
}
