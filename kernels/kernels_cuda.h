// kernels_cuda.h: the CUDA kernels of the CUDA backend, the GPU twins of kernels_cpu.h (same
// layouts and contracts; see there). All pointers are device pointers to fp32. Every launcher
// enqueues its work on `stream` and returns cudaSuccess or the launch error; none synchronizes.
#ifndef BR_KERNELS_CUDA_H
#define BR_KERNELS_CUDA_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "qk_shape.h"

#ifdef __cplusplus
extern "C" {
#endif

// out[B, Sq, H*dh] = softmax(q k^T / sqrt(dh) + bias) v per batch element and head (the twin of
// cpu_attention): q [B, Sq, H*dh], k and v [B, Sk, H*dh], bias [B, Sk] (fp32) or NULL. A mask
// is a finite negative number of moderate size, -10000: the bf16 kernels fuse the exponent as
// fma(x, log2 e, -max), whose rounding at |x| ~ 1e30 exceeds the exponent's range (inf, then
// NaN), while -10000 gives a masked key a weight of exactly 0 for any score spread under ~9900. Any dh in 1 .. cuda_attention_max_head_dim()
// (512), B and H <= 65535 (cudaErrorInvalidValue otherwise). dh 8, 16, 32, 64 and 128 with out,
// q, k, v 16-byte aligned take the fast kernels below; any other dh, or an unaligned operand, the
// general kernel (cuda_attention_any_*: fp32 on CUDA cores, several times slower).
// _f32: fp32 operands, fused fp32 kernels, sm_60 and newer. _bf16: q, k, v and out are bf16 (the
// bit patterns, as the bf16 backend keeps its operands); its fast kernels run tensor-core
// products with fp32 accumulation and softmax (about 1e-2 relative error); it needs sm_80 or
// newer for every dh (cudaErrorNotSupported otherwise), as the bf16 backend does.
cudaError_t cuda_attention_f32(float *out, const float *q, const float *k, const float *v,
                               const float *bias, int B, int Sq, int Sk, int H, int dh,
                               cudaStream_t stream);
cudaError_t cuda_attention_bf16(uint16_t *out, const uint16_t *q, const uint16_t *k,
                                const uint16_t *v, const float *bias, int B, int Sq, int Sk, int H,
                                int dh, cudaStream_t stream);
// The general kernel alone (kernels/attention_any.cu): the same arguments and limits, operands
// aligned to their element only, fp32 arithmetic for both operand types (bf16 widened exactly,
// the output rounded to nearest even), sm_60 and newer (_bf16 included).
cudaError_t cuda_attention_any_f32(float *out, const float *q, const float *k, const float *v,
                                   const float *bias, int B, int Sq, int Sk, int H, int dh,
                                   cudaStream_t stream);
cudaError_t cuda_attention_any_bf16(uint16_t *out, const uint16_t *q, const uint16_t *k,
                                    const uint16_t *v, const float *bias, int B, int Sq, int Sk,
                                    int H, int dh, cudaStream_t stream);
// The widest head the launchers above take (512), for refusing a model before loading it.
int cuda_attention_max_head_dim(void);
// Causal self-attention with grouped key/value heads and an optional sliding window (the twin of
// cpu_attention_causal, kernels/attention_causal.cu): q and out [B, S, H*dh], k and v
// [B, S, Hkv*dh]. fp32 arithmetic and an online softmax for both operand types (bf16 widened
// exactly, the output rounded to nearest even), sm_60 and newer, any alignment. dh 1 ..
// cuda_attention_causal_max_head_dim() (256), H a multiple of Hkv, window >= 0 (0: none),
// B <= 65535 and S <= 65535 * 32 (cudaErrorInvalidValue otherwise).
cudaError_t cuda_attention_causal_f32(float *out, const float *q, const float *k, const float *v,
                                      int B, int S, int H, int Hkv, int dh, int window,
                                      cudaStream_t stream);
cudaError_t cuda_attention_causal_bf16(uint16_t *out, const uint16_t *q, const uint16_t *k,
                                       const uint16_t *v, int B, int S, int H, int Hkv, int dh,
                                       int window, cudaStream_t stream);
int cuda_attention_causal_max_head_dim(void);

// Element-wise ops, norms and RoPE: the twins of kernels/*.c, same arguments plus the stream.
// An output y with a flag y_bf16 is fp32, or bf16 bits (round to nearest even) when the flag is
// set: the operands of the bf16 path, written by the op that produces them.
cudaError_t cuda_silu(float *x, size_t n, cudaStream_t s);
// y = GELU(x): y == x in place (fp32), or a bf16 operand.
cudaError_t cuda_gelu_tanh(void *y, int y_bf16, const float *x, size_t n, cudaStream_t s);
// y[rows, F] = GELU(x[:, :F]) * x[:, F:] of x [rows, 2F] (cpu_gelu_gate): fp32, or a bf16
// operand; y must not overlap x.
cudaError_t cuda_gelu_gate(void *y, int y_bf16, const float *x, int rows, int F, cudaStream_t s);
cudaError_t cuda_timestep_embedding(float *emb, const float *t, int B, int channels,
                                    float scale, cudaStream_t s);
cudaError_t cuda_rms_norm_mod(void *y, int y_bf16, const float *x, const float *shift,
                              const float *scale, int mod_stride, int B, int S, int D, float eps,
                              cudaStream_t s);
cudaError_t cuda_rms_norm(float *x, const float *w, int rows, int D, float eps, cudaStream_t s);
// cpu_qk_norm_rope's twin in the layout of *shape (qk_shape.h, read on the host): RMSNorm over
// groups of shape->group channels with w[group] (not NULL), then RoPE with the tables cos_t,
// sin_t [S, table_width] (split layout: [S, D/2]) unless both are NULL. y may be x when y is fp32
// in x's layout (y_rows = S, y_offset = 0): each thread reads only the channels it writes, after
// the row's sums. cudaErrorInvalidValue unless group divides D, 0 <= y_offset, y_offset + S <=
// y_rows, B <= 65535 and, with tables, table_width is even and divides D, or split_dh is even
// and divides D (and is at most 1024 when group < D).
cudaError_t cuda_qk_norm_rope(void *y, int y_bf16, const float *x, const float *w,
                              const float *cos_t, const float *sin_t, const br_qk_shape *shape,
                              cudaStream_t s);
cudaError_t cuda_layer_norm_mod(void *y, int y_bf16, const float *x, const float *shift,
                                const float *scale, int mod_stride, int B, int S, int D, float eps,
                                cudaStream_t s);
// cpu_modulate's twin: y = x * (1 + scale_b) + shift_b, the same bits; y may be x.
cudaError_t cuda_modulate(float *y, const float *x, const float *shift, const float *scale,
                          int mod_stride, int B, int S, int D, cudaStream_t s);
// cpu_head_gate's twin, in place on x [rows, H*dh]: fp32, or bf16 bits when x_bf16 (widened
// exactly, the gated value rounded to nearest even); logits [rows, H] are fp32.
cudaError_t cuda_head_gate(void *x, int x_bf16, const float *logits, int rows, int H, int dh,
                           cudaStream_t s);
// h_bf16 (may be NULL) also receives the new h as bf16.
cudaError_t cuda_add_gated(float *h, const float *x, const float *gate, int gate_stride, int B,
                           int S, int D, uint16_t *h_bf16, cudaStream_t s);
cudaError_t cuda_add_table(float *y, const float *table, const float *rows, int B, int n_row,
                           cudaStream_t s);
// y[rows, n_out] += bias[n_out] (after a cuBLAS product).
cudaError_t cuda_add_bias(float *y, const float *bias, int rows, int n_out, cudaStream_t s);
// dst = bf16(src), round to nearest even.
cudaError_t cuda_f32_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t s);
// 16-bit weights (fp16 when f16, else bf16) to fp32.
cudaError_t cuda_widen_16(float *dst, const void *src, size_t n, int f16, cudaStream_t s);
// dst[rows, cols] = q * scale[row]: int8 weights (per output channel) in fp32, for SGEMM.
cudaError_t cuda_dequant_q8(float *dst, const int8_t *q, const float *scale, int rows, int cols,
                            cudaStream_t s);
// The numeric guard's scan: count (device) = NaN/Inf values of x[n]; max_bits (device) = the bits
// of the largest finite |x|. Both are reset first.
cudaError_t cuda_count_non_finite(const float *x, size_t n, unsigned long long *count,
                                  unsigned *max_bits, cudaStream_t s);

// The VAE decoder's ops (kernels/conv3d.cu, kernels/layer_norm.cu): twins of cpu_im2col_3d,
// cpu_depth_to_space and cpu_layer_norm (kernels_cpu.h), plain fp32 (sm_60 and newer).
// Qwen-Image's VAE (kernels/conv2d.cu): twins of cpu_im2col_2d and cpu_upsample_nearest2.
cudaError_t cuda_im2col_2d(float *cols, const float *x, int H, int W, int C, int stride, int pad,
                           int Wo, int row0, int n_rows, cudaStream_t s);
cudaError_t cuda_upsample_nearest2(float *y, const float *x, int H, int W, int C, cudaStream_t s);
cudaError_t cuda_im2col_3d(float *cols, const float *x, int F, int H, int W, int C, int causal,
                           int row0, int n_rows, cudaStream_t s);
cudaError_t cuda_depth_to_space(float *y, const float *x, int F, int H, int W, int C, int st,
                                int ss, int drop, int c_out, int add, cudaStream_t s);
cudaError_t cuda_layer_norm(float *y, const float *x, const float *w, const float *b, int rows,
                            int D, float eps, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
