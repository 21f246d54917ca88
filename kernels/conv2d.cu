// conv2d.cu: the CUDA twins of kernels/conv2d.c (im2col of a 3x3 convolution, nearest 2x
// upsampling) on channels-last images [H, W, C]: one thread per output element, grid-stride,
// consecutive threads on consecutive channels so that reads and writes coalesce. Pure data
// movement in fp32 (sm_60-safe), exact like the CPU twins. Each launcher returns the launch error.
#include "cuda_grid.cuh"
#include "kernels_cuda.h"

// cols[r, k*C + c] for output pixel row0 + r and tap k = kh*3 + kw (see cpu_im2col_2d).
__global__ void im2col_2d_kernel(float *cols, const float *x, int H, int W, int C, int stride,
                                 int pad, int Wo, size_t row0, size_t n) {
    GRID_STRIDE(i, n) {
        const int c = (int)(i % C), k = (int)(i / C % 9);
        const size_t q = row0 + i / ((size_t)9 * C);
        const int y = (int)(q / Wo) * stride + k / 3 - pad, xx = (int)(q % Wo) * stride + k % 3 - pad;
        const bool inside = y >= 0 && y < H && xx >= 0 && xx < W;
        cols[i] = inside ? x[((size_t)y * W + xx) * C + c] : 0.0f;
    }
}

__global__ void upsample_nearest2_kernel(float *y, const float *x, int W, int C, size_t n) {
    GRID_STRIDE(i, n) {
        const int c = (int)(i % C);
        const size_t pixel = i / C;
        const size_t yy = pixel / (2 * (size_t)W), xx = pixel % (2 * (size_t)W);
        y[i] = x[((yy / 2) * W + xx / 2) * C + c];
    }
}

extern "C" {

cudaError_t cuda_im2col_2d(float *cols, const float *x, int H, int W, int C, int stride, int pad,
                           int Wo, int row0, int n_rows, cudaStream_t s) {
    const size_t n = (size_t)n_rows * 9 * C;
    if (n == 0) return cudaSuccess;
    im2col_2d_kernel<<<blocks_for(n), THREADS, 0, s>>>(cols, x, H, W, C, stride, pad, Wo,
                                                        (size_t)row0, n);
    return cudaGetLastError();
}

cudaError_t cuda_upsample_nearest2(float *y, const float *x, int H, int W, int C, cudaStream_t s) {
    const size_t n = (size_t)4 * H * W * C;
    if (n == 0) return cudaSuccess;
    upsample_nearest2_kernel<<<blocks_for(n), THREADS, 0, s>>>(y, x, W, C, n);
    return cudaGetLastError();
}

} // extern "C"
