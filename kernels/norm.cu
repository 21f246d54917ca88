// norm.cu: the CUDA twins of kernels/norm.c: RMSNorm (+ AdaLN modulation), RMSNorm with weight
// over the whole q or k, LayerNorm (no affine) + modulation. One block per row; the sums are
// reduced in double like the CPU twin, so both land on the same value to within fp32 rounding of
// the final scaling (double throughput is low on consumer cards, but a row is only D wide).
#include "kernels_cuda.h"

enum { THREADS = 256 };

// Sum over the block, in double. Every thread gets the result.
__device__ double block_sum(double v) {
    __shared__ double partial[THREADS / 32];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); // partial[] may still be read by a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    double total = 0;
    for (int w = 0; w < THREADS / 32; w++) total += partial[w];
    return total;
}

// mode 0: RMSNorm * (1 + scale) + shift; 1: RMSNorm * w (w may be NULL); 2: LayerNorm * (1 +
// scale) + shift. Row r of batch r / S.
__global__ void norm_kernel(float *y, const float *x, const float *shift, const float *scale,
                            const float *w, int stride, int S, int D, float eps, int mode) {
    const size_t r = blockIdx.x;
    const float *xr = x + r * D;
    float *yr = y + r * D;
    float mean = 0.0f;
    if (mode == 2) {
        double s = 0;
        for (int i = threadIdx.x; i < D; i += THREADS) s += xr[i];
        mean = (float)(block_sum(s) / D);
    }
    double ss = 0;
    for (int i = threadIdx.x; i < D; i += THREADS) {
        double d = (double)(xr[i] - mean);
        ss += d * d;
    }
    float inv = 1.0f / sqrtf((float)(block_sum(ss) / D) + eps);
    const float *sh = shift ? shift + (r / S) * stride : NULL;
    const float *sc = scale ? scale + (r / S) * stride : NULL;
    for (int i = threadIdx.x; i < D; i += THREADS) {
        float v = (xr[i] - mean) * inv;
        yr[i] = mode == 1 ? v * (w ? w[i] : 1.0f) : v * (1.0f + sc[i]) + sh[i];
    }
}

extern "C" {

cudaError_t cuda_rms_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                              int mod_stride, int B, int S, int D, float eps, cudaStream_t s) {
    norm_kernel<<<(unsigned)B * S, THREADS, 0, s>>>(y, x, shift, scale, NULL, mod_stride, S, D,
                                                    eps, 0);
    return cudaGetLastError();
}

cudaError_t cuda_rms_norm(float *x, const float *w, int rows, int D, float eps, cudaStream_t s) {
    // In place: each element is read before it is written by the same thread.
    norm_kernel<<<(unsigned)rows, THREADS, 0, s>>>(x, x, NULL, NULL, w, 0, 1, D, eps, 1);
    return cudaGetLastError();
}

cudaError_t cuda_layer_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                                int mod_stride, int B, int S, int D, float eps, cudaStream_t s) {
    norm_kernel<<<(unsigned)B * S, THREADS, 0, s>>>(y, x, shift, scale, NULL, mod_stride, S, D,
                                                    eps, 2);
    return cudaGetLastError();
}

} // extern "C"
