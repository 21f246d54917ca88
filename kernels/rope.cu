// rope.cu: the CUDA twin of kernels/rope.c: out = x * cos + rot(x) * sin over adjacent channel
// pairs, tables [S, D] shared by the batch. One thread per pair.
#include "kernels_cuda.h"

__global__ void rope_kernel(float *x, const float *cos_t, const float *sin_t, int S, int D,
                            size_t pairs) {
    for (size_t p = blockIdx.x * (size_t)blockDim.x + threadIdx.x; p < pairs;
         p += (size_t)gridDim.x * blockDim.x) {
        size_t r = p / (D / 2);
        int i = 2 * (int)(p % (D / 2));
        float *xr = x + r * D;
        const float *c = cos_t + (r % S) * D, *s = sin_t + (r % S) * D;
        float a = xr[i], b = xr[i + 1];
        xr[i] = a * c[i] - b * s[i];
        xr[i + 1] = b * c[i + 1] + a * s[i + 1];
    }
}

extern "C" cudaError_t cuda_rope(float *x, const float *cos_t, const float *sin_t, int B, int S,
                                 int D, cudaStream_t s) {
    size_t pairs = (size_t)B * S * (D / 2);
    size_t blocks = (pairs + 255) / 256;
    rope_kernel<<<(unsigned)(blocks < 1048576 ? (blocks ? blocks : 1) : 1048576), 256, 0, s>>>(
        x, cos_t, sin_t, S, D, pairs);
    return cudaGetLastError();
}
