// layer_norm.cu: the CUDA twin of kernels/layer_norm.c: LayerNorm with weight and bias over rows
// of D (the VAE's shortcut norm, D = a few hundred channels at most). One warp per row, sums in
// double like the CPU twin (warp shuffles of doubles: sm_30+), plain fp32 otherwise (sm_60-safe).
#include "kernels_cuda.h"

enum { THREADS = 256, ROWS_PER_BLOCK = THREADS / 32 };

__device__ double warp_sum(double v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

__global__ void layer_norm_kernel(float *y, const float *x, const float *w, const float *b,
                                  int rows, int D, float eps) {
    const int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return; // whole warps leave together: the shuffles stay full
    const float *xr = x + (size_t)row * D;
    float *yr = y + (size_t)row * D;
    double sum = 0;
    for (int i = lane; i < D; i += 32) sum += xr[i];
    const float mean = (float)(warp_sum(sum) / D);
    double ss = 0;
    for (int i = lane; i < D; i += 32) {
        double d = (double)(xr[i] - mean);
        ss += d * d;
    }
    const float inv = 1.0f / sqrtf((float)(warp_sum(ss) / D) + eps);
    for (int i = lane; i < D; i += 32) // in place is safe: each lane reads then writes its own i
        yr[i] = (xr[i] - mean) * inv * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
}

extern "C" cudaError_t cuda_layer_norm(float *y, const float *x, const float *w, const float *b,
                                       int rows, int D, float eps, cudaStream_t s) {
    const unsigned blocks = (unsigned)((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK);
    layer_norm_kernel<<<blocks ? blocks : 1, THREADS, 0, s>>>(y, x, w, b, rows, D, eps);
    return cudaGetLastError();
}
