// linear.c: the matrix product of every nn.Linear, through OpenBLAS SGEMM (never our own GEMM).
#include <cblas.h>

#include "kernels_cpu.h"

void cpu_linear(float *y, const float *x, const float *w, const float *bias, int rows, int n_in,
                int n_out) {
    // torch stores w as [out, in]: y = x . w^T, i.e. a row-major product with w transposed.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_out, n_in, 1.0f, x, n_in, w, n_in,
                0.0f, y, n_out);
    if (!bias) return;
    for (int r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * n_out;
        for (int j = 0; j < n_out; j++) yr[j] += bias[j];
    }
}
