// linear.c: the matrix product of every nn.Linear, through OpenBLAS SGEMM (never our own GEMM),
// cut into output tiles of a fixed size that brigade's threads share (parallel.h says why).
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/status.h"

#include "kernels_cpu.h"
#include "parallel.h"

// Large enough that packing a tile's operands costs ~1% of its product, small enough that a
// product of a few hundred rows still feeds several threads.
enum { TILE_ROWS = 256, TILE_COLS = 256 };

typedef struct {
    float *y;
    const float *x, *w, *bias;
    const int8_t *q;     // int8 weights (w NULL): q[n_out, n_in] ~ w / scale[row]
    const float *scale;
    int rows, n_in, n_out, col_tiles;
} linear_job;

static void linear_tile(void *ctx, int task, int worker) {
    (void)worker;
    const linear_job *j = ctx;
    const int r0 = task / j->col_tiles * TILE_ROWS, c0 = task % j->col_tiles * TILE_COLS;
    const int rows = j->rows - r0 < TILE_ROWS ? j->rows - r0 : TILE_ROWS;
    const int cols = j->n_out - c0 < TILE_COLS ? j->n_out - c0 : TILE_COLS;
    float *y = j->y + (size_t)r0 * j->n_out + c0;
    const float *w = j->w ? j->w + (size_t)c0 * j->n_in : NULL;
    float *wide = NULL;
    if (!w) { // int8: this tile's rows of w in fp32, for SGEMM (1/(2 x TILE_ROWS) of its work)
        if (!(wide = malloc((size_t)cols * j->n_in * sizeof(float))))
            br_fatal("out of host memory widening int8 weights");
        for (int c = 0; c < cols; c++)
            for (int k = 0; k < j->n_in; k++)
                wide[(size_t)c * j->n_in + k] =
                    j->q[(size_t)(c0 + c) * j->n_in + k] * j->scale[c0 + c];
        w = wide;
    }
    // torch stores w as [out, in]: y = x . w^T, i.e. a row-major product with w transposed.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, j->n_in, 1.0f,
                j->x + (size_t)r0 * j->n_in, j->n_in, w, j->n_in, 0.0f, y, j->n_out);
    free(wide);
    if (!j->bias) return;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * j->n_out + c] += j->bias[c0 + c];
}

void cpu_linear(float *y, const float *x, const float *w, const float *bias, int rows, int n_in,
                int n_out) {
    if (rows <= 0 || n_out <= 0) return;
    linear_job j = {y, x, w, bias, NULL, NULL, rows, n_in, n_out, (n_out + TILE_COLS - 1) / TILE_COLS};
    br_parallel_for((rows + TILE_ROWS - 1) / TILE_ROWS * j.col_tiles, linear_tile, &j);
}

void cpu_linear_q8(float *y, const float *x, const int8_t *q, const float *scale,
                   const float *bias, int rows, int n_in, int n_out) {
    if (rows <= 0 || n_out <= 0) return;
    linear_job j = {y, x, NULL, bias, q, scale, rows, n_in, n_out, (n_out + TILE_COLS - 1) / TILE_COLS};
    br_parallel_for((rows + TILE_ROWS - 1) / TILE_ROWS * j.col_tiles, linear_tile, &j);
}

enum { Q8_ROWS = 16 }; // rows per task of the quantisation

typedef struct {
    const float *w;
    int rows, cols;
    int8_t *q;
    float *scale;
    float *worst, *most; // per task: the largest absolute error and the largest |w|
} quantize_job;

static void quantize_rows(void *ctx, int task, int worker) {
    const quantize_job *j = ctx;
    const int r0 = task * Q8_ROWS, r1 = r0 + Q8_ROWS < j->rows ? r0 + Q8_ROWS : j->rows;
    float most = 0, worst = 0;
    for (int r = r0; r < r1; r++) {
        const float *row = j->w + (size_t)r * j->cols;
        int8_t *q = j->q + (size_t)r * j->cols;
        float m = 0;
        for (int c = 0; c < j->cols; c++) m = fabsf(row[c]) > m ? fabsf(row[c]) : m;
        const float scale = j->scale[r] = m > 0 ? m / 127.0f : 1.0f; // (an all-zero row stays zero)
        for (int c = 0; c < j->cols; c++) {
            const float v = nearbyintf(row[c] / scale);
            q[c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            const float e = fabsf(row[c] - q[c] * scale);
            worst = e > worst ? e : worst;
        }
        most = m > most ? m : most;
    }
    j->worst[task] = worst, j->most[task] = most;
}

// Rows in parallel (a 22B model's quantisation took minutes on one thread); the maxima are the
// same whatever the thread count.
float cpu_quantize_q8(const float *w, int rows, int cols, int8_t *q, float *scale) {
    const int tasks = (rows + Q8_ROWS - 1) / Q8_ROWS;
    float *worst = malloc((size_t)(tasks > 0 ? tasks : 1) * 2 * sizeof(float));
    if (!worst) abort(); // 8 bytes per 16 rows, beside the matrix being quantised
    quantize_job j = {w, rows, cols, q, scale, worst, worst + tasks};
    br_parallel_for(tasks, quantize_rows, &j);
    float most = 0, err = 0;
    for (int t = 0; t < tasks; t++) {
        err = j.worst[t] > err ? j.worst[t] : err;
        most = j.most[t] > most ? j.most[t] : most;
    }
    free(worst);
    return most > 0 ? err / most : 0;
}

void cpu_blas_name(char *out, size_t size) {
    // openblas_get_config(): "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    char library[32] = "", version[32] = "";
    sscanf(openblas_get_config(), "%31s %31s", library, version);
    snprintf(out, size, "%s %s %s", library, version, openblas_get_corename());
}
