// norm.cu: the CUDA twins of kernels/norm.c: RMSNorm (+ AdaLN modulation), RMSNorm with weight
// over the whole q or k (+ RoPE), LayerNorm (no affine) + modulation. One block per row; the sums
// are reduced in double like the CPU twin, so both land on the same value to within fp32 rounding
// of the final scaling (double throughput is low on consumer cards, but a row is only D wide).
// Outputs that feed a bf16 product are stored as bf16 (out_bf16), in the same pass.
#include "kernels_cuda.h"
#include "store.cuh"

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
template <typename T>
__global__ void norm_kernel(T *y, const float *x, const float *shift, const float *scale,
                            const float *w, int stride, int S, int D, float eps, int mode) {
    const size_t r = blockIdx.x;
    const float *xr = x + r * D;
    T *yr = y + r * D;
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
        store(yr + i, mode == 1 ? v * (w ? w[i] : 1.0f) : v * (1.0f + sc[i]) + sh[i]);
    }
}

// q or k: RMSNorm * w, then RoPE over adjacent channel pairs with the row's position (tables
// NULL: none). The same fp32 operations as cpu_rms_norm then cpu_rope. One block per position s
// does the rows of every batch element there, so the tables' row (2 x D floats, as large as
// the activations' row) is read from memory once and then from cache. Rows of a multiple of 4
// values go by float4 (two rotated pairs per access): scalar accesses left this memory-bound
// kernel at about half the bandwidth.
template <typename T>
__global__ void qk_norm_rope_kernel(T *y, const float *x, const float *w, const float *cos_t,
                                    const float *sin_t, int B, int S, int D, float eps) {
    const size_t s = blockIdx.x;
    const float *c = cos_t ? cos_t + s * D : NULL, *sn = sin_t ? sin_t + s * D : NULL;
    const bool by4 = D % 4 == 0;
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * S + s;
        const float *xr = x + r * D;
        T *yr = y + r * D;
        double ss = 0;
        for (int i = threadIdx.x; i < D; i += THREADS) ss += (double)xr[i] * xr[i];
        const float inv = 1.0f / sqrtf((float)(block_sum(ss) / D) + eps);
        if (by4) {
            const float4 *x4 = reinterpret_cast<const float4 *>(xr);
            const float4 *w4 = reinterpret_cast<const float4 *>(w);
            for (int i = threadIdx.x; i < D / 4; i += THREADS) {
                const float4 v = x4[i], g = w4[i];
                const float a0 = v.x * inv * g.x, b0 = v.y * inv * g.y;
                const float a1 = v.z * inv * g.z, b1 = v.w * inv * g.w;
                float4 o = make_float4(a0, b0, a1, b1);
                if (c) {
                    const float4 cc = reinterpret_cast<const float4 *>(c)[i];
                    const float4 ss4 = reinterpret_cast<const float4 *>(sn)[i];
                    o = make_float4(a0 * cc.x - b0 * ss4.x, b0 * cc.y + a0 * ss4.y,
                                    a1 * cc.z - b1 * ss4.z, b1 * cc.w + a1 * ss4.w);
                }
                store4(yr + 4 * i, o);
            }
        } else if (!c) {
            for (int i = threadIdx.x; i < D; i += THREADS) store(yr + i, xr[i] * inv * w[i]);
        } else {
            for (int i = 2 * threadIdx.x; i + 1 < D; i += 2 * THREADS) {
                const float a = xr[i] * inv * w[i], b1 = xr[i + 1] * inv * w[i + 1];
                store(yr + i, a * c[i] - b1 * sn[i]);
                store(yr + i + 1, b1 * c[i + 1] + a * sn[i + 1]);
            }
        }
    }
}

template <typename T>
static cudaError_t launch_norm(T *y, const float *x, const float *shift, const float *scale,
                               const float *w, int stride, int rows, int S, int D, float eps,
                               int mode, cudaStream_t s) {
    norm_kernel<T><<<(unsigned)rows, THREADS, 0, s>>>(y, x, shift, scale, w, stride, S, D, eps,
                                                      mode);
    return cudaGetLastError();
}

extern "C" {

cudaError_t cuda_rms_norm_mod(void *y, int y_bf16, const float *x, const float *shift,
                              const float *scale, int mod_stride, int B, int S, int D, float eps,
                              cudaStream_t s) {
    if (y_bf16)
        return launch_norm((uint16_t *)y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 0, s);
    return launch_norm((float *)y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 0, s);
}

cudaError_t cuda_rms_norm(float *x, const float *w, int rows, int D, float eps, cudaStream_t s) {
    // In place: each element is read before it is written by the same thread.
    return launch_norm(x, x, NULL, NULL, w, 0, rows, 1, D, eps, 1, s);
}

cudaError_t cuda_qk_norm_rope(void *y, int y_bf16, const float *x, const float *w,
                              const float *cos_t, const float *sin_t, int B, int S, int D,
                              float eps, cudaStream_t s) {
    if (y_bf16)
        qk_norm_rope_kernel<<<(unsigned)S, THREADS, 0, s>>>((uint16_t *)y, x, w, cos_t, sin_t, B,
                                                           S, D, eps);
    else
        qk_norm_rope_kernel<<<(unsigned)S, THREADS, 0, s>>>((float *)y, x, w, cos_t, sin_t, B, S,
                                                           D, eps);
    return cudaGetLastError();
}

cudaError_t cuda_layer_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                                int mod_stride, int B, int S, int D, float eps, cudaStream_t s) {
    return launch_norm(y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 2, s);
}

} // extern "C"
