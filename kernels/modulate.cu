// modulate.cu: the CUDA twins of kernels/modulate.c: LTX-2's modulation without a norm and the
// per-head gates of its gated attention. Plain fp32 (sm_61-safe); the gates' bf16 operands are
// widened and rounded by bit manipulation (store.cuh) and need no bf16 hardware.
// Each launcher returns the launch error; none synchronizes.
#include <limits.h>
#include <stdint.h>

#include "cuda_grid.cuh"
#include "kernels_cuda.h"
#include "store.cuh"

// x * (1 + scale) + shift with each step rounded as the CPU twin computes it (no FMA
// contraction): both give the same bits.
static __device__ __forceinline__ float modulated(float x, float shift, float scale) {
    return __fadd_rn(__fmul_rn(x, __fadd_rn(1.0f, scale)), shift);
}

// y[r, i] = modulated(x[r, i]) with the modulation of batch r / S. One block per row (no index
// division per element), as add_gated; y may be x (each thread reads what it writes).
__global__ void modulate_kernel(float *y, const float *x, const float *shift, const float *scale,
                                int stride, int S, int D) {
    const size_t r = blockIdx.x, at = r * D;
    const float *sh = shift + (r / S) * stride, *sc = scale + (r / S) * stride;
    for (int i = threadIdx.x; i < D; i += blockDim.x)
        y[at + i] = modulated(x[at + i], sh[i], sc[i]);
}

// The same by float4 (D and the stride multiples of 4, every base 16-byte aligned): the video
// tokens' modulation is a pass over all the activations, which scalar accesses leave at about
// half the memory bandwidth (see gelu_tanh4_kernel).
__global__ void modulate4_kernel(float4 *y, const float4 *x, const float4 *shift,
                                 const float4 *scale, int stride4, int S, int D4) {
    const size_t r = blockIdx.x, at = r * D4;
    const float4 *sh = shift + (r / S) * stride4, *sc = scale + (r / S) * stride4;
    for (int i = threadIdx.x; i < D4; i += blockDim.x) {
        const float4 v = x[at + i], a = sh[i], b = sc[i];
        y[at + i] = make_float4(modulated(v.x, a.x, b.x), modulated(v.y, a.y, b.y),
                                modulated(v.z, a.z, b.z), modulated(v.w, a.w, b.w));
    }
}

static __device__ __forceinline__ float widen(float v) { return v; }
static __device__ __forceinline__ float widen(uint16_t v) {
    return __uint_as_float((uint32_t)v << 16); // bf16 -> fp32 is exact
}

// x[r, h*dh + j] *= 2 sigmoid(logits[r, h]), with the CPU twin's expression. One block per (row,
// head), so that the gate is computed once per block; its threads go over the head's channels.
template <typename T> __global__ void head_gate_kernel(T *x, const float *logits, int dh) {
    const size_t rh = blockIdx.x; // r * H + h: the logit's index, and the head's among all heads
    const float gate = 2.0f / (1.0f + expf(-logits[rh]));
    T *xh = x + rh * dh;
    for (int j = threadIdx.x; j < dh; j += blockDim.x) store(xh + j, widen(xh[j]) * gate);
}

static bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

extern "C" {

cudaError_t cuda_modulate(float *y, const float *x, const float *shift, const float *scale,
                          int mod_stride, int B, int S, int D, cudaStream_t s) {
    const long long rows = (long long)B * S;
    if (B < 0 || S < 0 || D < 0 || rows > INT_MAX) return cudaErrorInvalidValue;
    if (rows == 0 || D == 0) return cudaSuccess;
    const bool by4 = D % 4 == 0 && mod_stride % 4 == 0 && aligned16(y) && aligned16(x) &&
                     aligned16(shift) && aligned16(scale);
    if (by4)
        modulate4_kernel<<<(unsigned)rows, THREADS, 0, s>>>(
            (float4 *)y, (const float4 *)x, (const float4 *)shift, (const float4 *)scale,
            mod_stride / 4, S, D / 4);
    else
        modulate_kernel<<<(unsigned)rows, THREADS, 0, s>>>(y, x, shift, scale, mod_stride, S, D);
    return cudaGetLastError();
}

cudaError_t cuda_head_gate(void *x, int x_bf16, const float *logits, int rows, int H, int dh,
                           cudaStream_t s) {
    const long long heads = (long long)rows * H;
    if (rows < 0 || H < 0 || dh < 0 || heads > INT_MAX) return cudaErrorInvalidValue;
    if (heads == 0 || dh == 0) return cudaSuccess;
    // A head's channels per block: dh rounded up to whole warps (LTX-2's heads: 64 and 128).
    const unsigned threads = dh < THREADS ? (unsigned)(dh + 31) / 32 * 32 : (unsigned)THREADS;
    if (x_bf16)
        head_gate_kernel<<<(unsigned)heads, threads, 0, s>>>((uint16_t *)x, logits, dh);
    else
        head_gate_kernel<<<(unsigned)heads, threads, 0, s>>>((float *)x, logits, dh);
    return cudaGetLastError();
}

} // extern "C"
