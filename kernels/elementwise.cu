// elementwise.cu: the CUDA twins of kernels/activation.c, residual.c and timestep.c, plus the
// bias add after a cuBLAS product and the fp32 -> bf16 conversion of the bf16 path. Plain fp32
// (sm_61-safe); the bf16 outputs are bit manipulation (store.cuh) and need no bf16 hardware.
// Each launcher returns the launch error; none synchronizes.
#include <cuda_fp16.h>
#include <stdint.h>

#include "cuda_grid.cuh"
#include "kernels_cuda.h"
#include "store.cuh"

__global__ void silu_kernel(float *x, size_t n) {
    GRID_STRIDE(i, n) x[i] = x[i] / (1.0f + expf(-x[i]));
}

static __device__ __forceinline__ float gelu_tanh(float v) {
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

// y = GELU(x); y may be x (fp32, in place) or a bf16 operand.
template <typename T> __global__ void gelu_tanh_kernel(T *y, const float *x, size_t n) {
    GRID_STRIDE(i, n) store(y + i, gelu_tanh(x[i]));
}

// The same by float4 (n a multiple of 4, aligned buffers): the feed-forward's hidden layer,
// 4 x B*S*D values, ran at half the memory bandwidth with one 4-byte load per thread.
template <typename T> __global__ void gelu_tanh4_kernel(T *y, const float4 *x, size_t n4) {
    GRID_STRIDE(i, n4) {
        const float4 v = x[i];
        store4(y + 4 * i, make_float4(gelu_tanh(v.x), gelu_tanh(v.y), gelu_tanh(v.z), gelu_tanh(v.w)));
    }
}

// y[r, c] = GELU(x[r, c]) * x[r, F + c], x [rows, 2F] (a fused gate/up projection), y [rows, F].
template <typename T> __global__ void gelu_gate_kernel(T *y, const float *x, int F, size_t n) {
    GRID_STRIDE(i, n) {
        const float *gate = x + i / F * F + i; // row r's gate: x + 2rF, and i = rF + c
        store(y + i, gelu_tanh(gate[0]) * gate[F]);
    }
}

// The same by float4 (F a multiple of 4, aligned buffers): Gemma 3's MLP, 2 x B*S*F values read.
template <typename T>
__global__ void gelu_gate4_kernel(T *y, const float4 *x, int F4, size_t n4) {
    GRID_STRIDE(i, n4) {
        const float4 g = x[i / F4 * F4 + i], u = x[i / F4 * F4 + i + F4];
        store4(y + 4 * i, make_float4(gelu_tanh(g.x) * u.x, gelu_tanh(g.y) * u.y,
                                      gelu_tanh(g.z) * u.z, gelu_tanh(g.w) * u.w));
    }
}

// h[r, i] += x[r, i] * gate[(r / S) * stride + i]; gate NULL: plain add; h_bf16 (may be NULL)
// gets the new h rounded to bf16. One block per row: no index division per element.
__global__ void add_gated_kernel(float *h, const float *x, const float *gate, int stride, int S,
                                 int D, uint16_t *h_bf16) {
    const size_t r = blockIdx.x, at = r * D;
    const float *g = gate ? gate + (r / S) * stride : NULL;
    for (int c = threadIdx.x; c < D; c += blockDim.x) {
        const float v = h[at + c] + (g ? x[at + c] * g[c] : x[at + c]);
        h[at + c] = v;
        if (h_bf16) store(h_bf16 + at + c, v);
    }
}

__global__ void add_table_kernel(float *y, const float *table, const float *rows, int n_row,
                                 size_t n) {
    GRID_STRIDE(i, n) y[i] = table[i % n_row] + rows[i];
}

__global__ void add_bias_kernel(float *y, const float *bias, int n_out, size_t n) {
    GRID_STRIDE(i, n) y[i] += bias[i % n_out];
}

__global__ void f32_to_bf16_kernel(uint16_t *dst, const float *src, size_t n) {
    GRID_STRIDE(i, n) store(dst + i, src[i]);
}

// 16-bit weights widened to fp32, exactly (every bf16 and fp16 value is an fp32 value), for an
// fp32 product; the CPU twins are br_bf16_to_f32 and br_f16_to_f32 (src/io/dtype.c). fp16 goes
// through __half2float, which every architecture has (sm_61 included).
__global__ void widen_16_kernel(float *dst, const uint16_t *src, size_t n, int f16) {
    GRID_STRIDE(i, n) {
        dst[i] = f16 ? __half2float(__ushort_as_half(src[i])) : __uint_as_float((uint32_t)src[i] << 16);
    }
}

// int8 weights widened to fp32, a chunk of rows at a time (q[rows, cols] * scale[row]): the CPU
// twin is the widening in cpu_linear_q8 (kernels/linear.c); integer times float, exact as there.
__global__ void dequant_q8_kernel(float *dst, const int8_t *q, const float *scale, size_t n,
                                  int cols) {
    GRID_STRIDE(i, n) { dst[i] = q[i] * scale[i / cols]; }
}

// Sinusoid of the timestep with the CPU twin's rounding: fp32 frequency and argument, cos and
// sin of that fp32 argument evaluated in double (a [B, 256] tensor: the cost is nothing).
__global__ void timestep_kernel(float *emb, const float *t, int B, int channels, float scale) {
    int half = channels / 2;
    GRID_STRIDE(idx, (size_t)B * half) {
        int b = (int)(idx / half), i = (int)(idx % half);
        const float neg_log_period = (float)-9.210340371976184; // -ln(10000)
        float exponent = neg_log_period * (float)i / (float)half;
        float arg = t[b] * expf(exponent) * scale;
        emb[(size_t)b * channels + i] = (float)cos((double)arg);
        emb[(size_t)b * channels + half + i] = (float)sin((double)arg);
    }
}

extern "C" {

cudaError_t cuda_silu(float *x, size_t n, cudaStream_t s) {
    silu_kernel<<<blocks_for(n), THREADS, 0, s>>>(x, n);
    return cudaGetLastError();
}

cudaError_t cuda_gelu_tanh(void *y, int y_bf16, const float *x, size_t n, cudaStream_t s) {
    const bool by4 = n % 4 == 0 && ((uintptr_t)x & 15) == 0 && ((uintptr_t)y & 15) == 0;
    const float4 *x4 = (const float4 *)x;
    if (by4 && y_bf16) gelu_tanh4_kernel<<<blocks_for(n / 4), THREADS, 0, s>>>((uint16_t *)y, x4, n / 4);
    else if (by4) gelu_tanh4_kernel<<<blocks_for(n / 4), THREADS, 0, s>>>((float *)y, x4, n / 4);
    else if (y_bf16) gelu_tanh_kernel<<<blocks_for(n), THREADS, 0, s>>>((uint16_t *)y, x, n);
    else gelu_tanh_kernel<<<blocks_for(n), THREADS, 0, s>>>((float *)y, x, n);
    return cudaGetLastError();
}

cudaError_t cuda_gelu_gate(void *y, int y_bf16, const float *x, int rows, int F, cudaStream_t s) {
    const size_t n = (size_t)rows * F;
    const bool by4 = F % 4 == 0 && ((uintptr_t)x & 15) == 0 && ((uintptr_t)y & 15) == 0;
    const float4 *x4 = (const float4 *)x;
    if (n == 0) return cudaSuccess;
    const unsigned grid = blocks_for(by4 ? n / 4 : n);
    if (by4 && y_bf16) gelu_gate4_kernel<<<grid, THREADS, 0, s>>>((uint16_t *)y, x4, F / 4, n / 4);
    else if (by4) gelu_gate4_kernel<<<grid, THREADS, 0, s>>>((float *)y, x4, F / 4, n / 4);
    else if (y_bf16) gelu_gate_kernel<<<grid, THREADS, 0, s>>>((uint16_t *)y, x, F, n);
    else gelu_gate_kernel<<<grid, THREADS, 0, s>>>((float *)y, x, F, n);
    return cudaGetLastError();
}

cudaError_t cuda_add_gated(float *h, const float *x, const float *gate, int gate_stride, int B,
                           int S, int D, uint16_t *h_bf16, cudaStream_t s) {
    add_gated_kernel<<<(unsigned)B * S, THREADS, 0, s>>>(h, x, gate, gate_stride, S, D, h_bf16);
    return cudaGetLastError();
}

cudaError_t cuda_add_table(float *y, const float *table, const float *rows, int B, int n_row,
                           cudaStream_t s) {
    size_t n = (size_t)B * n_row;
    add_table_kernel<<<blocks_for(n), THREADS, 0, s>>>(y, table, rows, n_row, n);
    return cudaGetLastError();
}

cudaError_t cuda_add_bias(float *y, const float *bias, int rows, int n_out, cudaStream_t s) {
    size_t n = (size_t)rows * n_out;
    add_bias_kernel<<<blocks_for(n), THREADS, 0, s>>>(y, bias, n_out, n);
    return cudaGetLastError();
}

cudaError_t cuda_widen_16(float *dst, const void *src, size_t n, int f16, cudaStream_t s) {
    widen_16_kernel<<<blocks_for(n), THREADS, 0, s>>>(dst, (const uint16_t *)src, n, f16);
    return cudaGetLastError();
}

cudaError_t cuda_dequant_q8(float *dst, const int8_t *q, const float *scale, int rows, int cols,
                            cudaStream_t s) {
    const size_t n = (size_t)rows * cols;
    dequant_q8_kernel<<<blocks_for(n), THREADS, 0, s>>>(dst, q, scale, n, cols);
    return cudaGetLastError();
}

cudaError_t cuda_f32_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t s) {
    f32_to_bf16_kernel<<<blocks_for(n), THREADS, 0, s>>>(dst, src, n);
    return cudaGetLastError();
}

cudaError_t cuda_timestep_embedding(float *emb, const float *t, int B, int channels,
                                    float scale, cudaStream_t s) {
    timestep_kernel<<<blocks_for((size_t)B * channels / 2), THREADS, 0, s>>>(emb, t, B, channels,
                                                                             scale);
    return cudaGetLastError();
}

} // extern "C"
