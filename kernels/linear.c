// linear.c: the matrix product of every nn.Linear, through OpenBLAS SGEMM (never our own GEMM),
// cut into output tiles of a fixed size that brigade's threads share (parallel.h says why).
#include <cblas.h>
#include <stdio.h>

#include "kernels_cpu.h"
#include "parallel.h"

// Large enough that packing a tile's operands costs ~1% of its product, small enough that a
// product of a few hundred rows still feeds several threads.
enum { TILE_ROWS = 256, TILE_COLS = 256 };

typedef struct {
    float *y;
    const float *x, *w, *bias;
    int rows, n_in, n_out, col_tiles;
} linear_job;

static void linear_tile(void *ctx, int task, int worker) {
    (void)worker;
    const linear_job *j = ctx;
    const int r0 = task / j->col_tiles * TILE_ROWS, c0 = task % j->col_tiles * TILE_COLS;
    const int rows = j->rows - r0 < TILE_ROWS ? j->rows - r0 : TILE_ROWS;
    const int cols = j->n_out - c0 < TILE_COLS ? j->n_out - c0 : TILE_COLS;
    float *y = j->y + (size_t)r0 * j->n_out + c0;
    // torch stores w as [out, in]: y = x . w^T, i.e. a row-major product with w transposed.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, j->n_in, 1.0f,
                j->x + (size_t)r0 * j->n_in, j->n_in, j->w + (size_t)c0 * j->n_in, j->n_in, 0.0f,
                y, j->n_out);
    if (!j->bias) return;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * j->n_out + c] += j->bias[c0 + c];
}

void cpu_linear(float *y, const float *x, const float *w, const float *bias, int rows, int n_in,
                int n_out) {
    if (rows <= 0 || n_out <= 0) return;
    linear_job j = {y, x, w, bias, rows, n_in, n_out, (n_out + TILE_COLS - 1) / TILE_COLS};
    br_parallel_for((rows + TILE_ROWS - 1) / TILE_ROWS * j.col_tiles, linear_tile, &j);
}

void cpu_blas_name(char *out, size_t size) {
    // openblas_get_config(): "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    char library[32] = "", version[32] = "";
    sscanf(openblas_get_config(), "%31s %31s", library, version);
    snprintf(out, size, "%s %s %s", library, version, openblas_get_corename());
}
