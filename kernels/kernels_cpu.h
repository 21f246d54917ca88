// kernels_cpu.h: the CPU kernels, one file per op family, in plain C (OpenBLAS for products).
// They are the reference every GPU kernel is tested against, and the CPU backend's ops.
// Layout: activations are row-major [rows, D] with rows = B*S (batch-major); a "modulation"
// vector for batch element b is at mod + b*mod_stride (e.g. one slice of the 6*D AdaLN values).
#ifndef BR_KERNELS_CPU_H
#define BR_KERNELS_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "qk_shape.h"

// y[rows, n_out] = x[rows, n_in] . w[n_out, n_in]^T + bias[n_out] (bias may be NULL).
void cpu_linear(float *y, const float *x, const float *w, const float *bias, int rows, int n_in,
                int n_out);
// The same product with int8 weights: w[o][i] = q[o][i] * scale[o] (per output channel),
// widened into fp32 a tile of rows at a time for SGEMM.
void cpu_linear_q8(float *y, const float *x, const int8_t *q, const float *scale,
                   const float *bias, int rows, int n_in, int n_out);
// Symmetric per-row int8 of w[rows, cols]: scale[r] = max|w[r]| / 127, q = round(w / scale);
// returns the max relative error, max |w - q·scale| / max |w|.
float cpu_quantize_q8(const float *w, int rows, int cols, int8_t *q, float *scale);
// The BLAS and the kernel it picked for this CPU, e.g. "OpenBLAS 0.3.21 Haswell": ranks whose
// names differ round their products differently (OPENBLAS_CORETYPE picks the kernel).
void cpu_blas_name(char *out, size_t size);

void cpu_silu(float *x, size_t n);      // x * sigmoid(x), in place
void cpu_gelu_tanh(float *x, size_t n); // GELU, tanh approximation, in place
// y[r, c] = gelu_tanh(x[r, c]) * x[r, F + c] for x [rows, 2F] (a fused gate and up projection's
// output) -> y [rows, F] (not overlapping x); the gate is cpu_gelu_tanh's value bit for bit.
void cpu_gelu_gate(float *y, const float *x, int rows, int F);

// emb[B, channels]: [cos(t*f_i*scale), sin(t*f_i*scale)], f_i = exp(-ln(10000) * i / (channels/2)).
void cpu_timestep_embedding(float *emb, const float *t, int B, int channels, float scale);

// y = RMSNorm(x) * (1 + scale_b) + shift_b over rows of D; row r belongs to batch r / S.
void cpu_rms_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                      int mod_stride, int B, int S, int D, float eps);
// x = x / rms(x) * w over rows of D, in place (w may be NULL: no weight).
void cpu_rms_norm(float *x, const float *w, int rows, int D, float eps);
// q or k before attention: y = rope(RMSNorm(x) * w) in the layout of shape (qk_shape.h), i.e.
// cpu_rms_norm over groups then cpu_rope (no rope when cos_t is NULL); y may be x when it has
// x's layout.
void cpu_qk_norm_rope(float *y, const float *x, const float *w, const float *cos_t,
                      const float *sin_t, const br_qk_shape *shape);
// y = LayerNorm(x) (no affine) * (1 + scale_b) + shift_b.
void cpu_layer_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                        int mod_stride, int B, int S, int D, float eps);

// x[B*S, D] = x * cos + rot(x) * sin with rot(x)[2i] = -x[2i+1], rot(x)[2i+1] = x[2i];
// cos, sin: [S, W], shared by the batch; channel c uses column c % W (W = D: one rotation per
// channel; W = the head dim: the same rotation for every head).
void cpu_rope(float *x, const float *cos_t, const float *sin_t, int B, int S, int D, int W);
// The split layout (qk_shape.h): in each head of dh channels, x[i], x[i + dh/2] rotated by column
// h*dh/2 + i of cos, sin [S, D/2].
void cpu_rope_split(float *x, const float *cos_t, const float *sin_t, int B, int S, int D, int dh);

// x[rows, H*dh] *= 2 * sigmoid(logits[rows, H]) per head (LTX-2's gated attention), in place.
void cpu_head_gate(float *x, const float *logits, int rows, int H, int dh);
// y = x * (1 + scale_b) + shift_b over rows of D, row r in batch r / S (no norm: LTX-2.3's
// modulation of the prompt before a cross-attention); y may be x.
void cpu_modulate(float *y, const float *x, const float *shift, const float *scale, int mod_stride,
                  int B, int S, int D);

// out[B, Sq, H*dh] = softmax(q k^T / sqrt(dh) + bias) v per batch and head, where q is
// [B, Sq, H*dh], k and v [B, Sk, H*dh] (heads interleaved in the channel axis), and bias[B, Sk]
// (may be NULL) is added to every query's scores.
void cpu_attention(float *out, const float *q, const float *k, const float *v, const float *bias,
                   int B, int Sq, int Sk, int H, int dh);
// out[B, S, H*dh] = softmax(q k^T / sqrt(dh)) v per batch element and query head, where q is
// [B, S, H*dh] and k, v are [B, S, Hkv*dh] (heads interleaved in the channel axis; H a multiple
// of Hkv: query head h reads key/value head h / (H / Hkv)); query i sees key j when j <= i and,
// with window > 0, i - j < window (Gemma 3's sliding layers). Every query sees at least itself.
void cpu_attention_causal(float *out, const float *q, const float *k, const float *v, int B,
                          int S, int H, int Hkv, int dh, int window);

// h += x * gate_b (gate may be NULL: plain add), rows of D, row r in batch r / S.
void cpu_add_gated(float *h, const float *x, const float *gate, int gate_stride, int B, int S,
                   int D);
// y[B, n] = table[n] + rows[B, n] (AdaLN: scale_shift_table + time embedding).
void cpu_add_table(float *y, const float *table, const float *rows, int B, int n);

// Number of NaN/Inf values in x[n]; *max_abs = the largest finite |x|.
size_t cpu_count_non_finite(const float *x, size_t n, float *max_abs);

// The VAE decoder's layout ops (kernels/conv3d.c), on channels-last video x[F, H, W, C].
// im2col of a 3x3x3 convolution for the output cells row0 .. row0 + n_rows - 1 of the F*H*W grid
// (frame-major, then rows, then columns): cols[n_rows, 27*C], entry (kt*9 + kh*3 + kw)*C + c of
// row (t, h, w) = x[t + kt - lead, h + kh - 1, w + kw - 1, c], zero outside H and W, the frame
// index clamped to 0 .. F-1 (edge frames replicated); lead = 2 when causal (two copies of the
// first frame before it), else 1 (one copy before, one of the last frame after).
void cpu_im2col_3d(float *cols, const float *x, int F, int H, int W, int C, int causal, int row0,
                   int n_rows);
// Depth-to-space: x[F, H, W, C*st*ss*ss] with channel (c*st + it)*ss*ss + ih*ss + iw becomes
// y[F*st - drop, H*ss, W*ss, c_out], y[f*st + it - drop, h*ss + ih, w*ss + iw, k] =
// x[f, h, w, channel of (k mod C, it, ih, iw)] (the first drop frames are dropped; c_out a
// multiple of C repeats the channels); add != 0 adds into y instead of writing it.
void cpu_depth_to_space(float *y, const float *x, int F, int H, int W, int C, int st, int ss,
                        int drop, int c_out, int add);
// The 2-D layout ops of Qwen-Image's VAE (kernels/conv2d.c), on channels-last images x[H, W, C].
// im2col of a 3x3 convolution of the given stride and zero padding for the output pixels row0 ..
// row0 + n_rows - 1 of an Ho x Wo output (row-major): cols[n_rows, 9*C], entry (kh*3 + kw)*C + c
// of pixel (ho, wo) = x[ho*stride + kh - pad, wo*stride + kw - pad, c], zero outside the image
// (pad 1, stride 1: a "same" convolution; pad 0, stride 2: the downsamplers, whose padding is one
// row and column of zeros after the image only).
void cpu_im2col_2d(float *cols, const float *x, int H, int W, int C, int stride, int pad, int Wo,
                   int row0, int n_rows);
// y[2H, 2W, C]: nearest-neighbour 2x upsampling, y[h, w] = x[h / 2, w / 2].
void cpu_upsample_nearest2(float *y, const float *x, int H, int W, int C);
// y = (x - mean) / sqrt(var + eps) * w + b over rows of D (w, b may be NULL; y may be x).
void cpu_layer_norm(float *y, const float *x, const float *w, const float *b, int rows, int D,
                    float eps);
// LTX-2's VAE encoder and latent upsampler, on channels-last video x[F, H, W, C].
// Space-to-depth (kernels/space_to_depth.c): y[F/st, H/ss, W/ss, C*st*ss*ss/group], the shuffled
// channel ((c*st + a)*ss + i)*ss + e holding x[f*st + a, h*ss + i, w*ss + e, c] and each run of
// `group` consecutive shuffled channels averaged into one channel of y; add != 0 adds into y.
void cpu_space_to_depth(float *y, const float *x, int F, int H, int W, int C, int st, int ss,
                        int group, int add);
// GroupNorm (kernels/group_norm.c): y = (x - mean_g) / sqrt(var_g + eps) * w + b, the statistics
// of group g (channels g*C/groups .. (g+1)*C/groups - 1) taken over all rows (y may be x).
void cpu_group_norm(float *y, const float *x, const float *w, const float *b, int rows, int C,
                    int groups, float eps);

#endif
