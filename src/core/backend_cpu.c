// backend_cpu.c: the CPU backend: host memory and the kernels of kernels/*.c behind the op table.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kernels_cpu.h"
#include "live_table.h"

// Its buffers' sizes, for bytes_in_use and peak_bytes (the main thread alone allocates). A
// buffer the table could not take goes uncounted: the count runs low, the run goes on.
static br_live_table live;

static float *cpu_alloc(br_backend *be, size_t n, const char *purpose) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (!p) br_fail(BR_ENOMEM, "out of host memory for %s (%zu MiB)", purpose, n * 4 >> 20);
    if (p) br_live_add(&live, be, p, n * sizeof(float));
    return p;
}
static void cpu_release(br_backend *be, float *p) {
    if (p) br_live_remove(&live, be, p);
    free(p);
}
static void cpu_copy(br_backend *be, float *dst, const float *src, size_t n) {
    memcpy(dst, src, n * sizeof(float));
}
static float *cpu_adopt_vector(br_backend *be, float *host, size_t n, const char *purpose) {
    if (host) br_live_add(&live, be, host, n * sizeof(float));
    return host;
}
static void *cpu_adopt_matrix(br_backend *be, float *host, size_t rows, size_t cols,
                              const char *purpose) {
    if (be->storage != BR_STORAGE_INT8) return cpu_adopt_vector(be, host, rows * cols, purpose);
    const size_t bytes = br_matrix_bytes(BR_STORAGE_INT8, rows, cols);
    void *blob = host ? malloc(bytes) : NULL;
    if (!blob) {
        free(host);
        br_fail(BR_ENOMEM, "out of host memory for %s (int8)", purpose);
        return NULL;
    }
    br_q8_adopt(be, host, rows, cols, blob, purpose);
    free(host);
    br_live_add(&live, be, blob, bytes);
    return blob;
}
static void cpu_release_matrix(br_backend *be, void *p) { cpu_release(be, p); }
static void cpu_sync(br_backend *be) {}

// The host's MemAvailable (/proc/meminfo): what a CPU rank could still take (shared by the
// host's ranks); 0 when unknown.
static size_t cpu_free_bytes(br_backend *be) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    if (f) fclose(f);
    return (size_t)kib * 1024;
}

// A product with the stored weights: fp32, or int8 (scale[n_out], then q[n_out, n_in]).
static void op_linear(br_backend *be, float *y, const float *x, const void *w, const float *b,
                      int rows, int n_in, int n_out) {
    if (be->storage != BR_STORAGE_INT8) return cpu_linear(y, x, w, b, rows, n_in, n_out);
    const float *scale = w;
    cpu_linear_q8(y, x, (const int8_t *)(scale + n_out), scale, b, rows, n_in, n_out);
}
static void op_silu(br_backend *be, float *x, size_t n) { cpu_silu(x, n); }
static void op_gelu_tanh(br_backend *be, float *x, size_t n) { cpu_gelu_tanh(x, n); }
static void op_timestep_embedding(br_backend *be, float *emb, const float *t, int B, int ch,
                                  float scale) {
    cpu_timestep_embedding(emb, t, B, ch, scale);
}
static void op_rms_norm_mod(br_backend *be, float *y, const float *x, const float *shift,
                            const float *scale, int stride, int B, int S, int D, float eps) {
    cpu_rms_norm_mod(y, x, shift, scale, stride, B, S, D, eps);
}
static void op_rms_norm(br_backend *be, float *x, const float *w, int rows, int D, float eps) {
    cpu_rms_norm(x, w, rows, D, eps);
}
static void op_layer_norm_mod(br_backend *be, float *y, const float *x, const float *shift,
                              const float *scale, int stride, int B, int S, int D, float eps) {
    cpu_layer_norm_mod(y, x, shift, scale, stride, B, S, D, eps);
}
// Operands are fp32 buffers here: the operand ops are the fp32 ops writing elsewhere.
static void op_to_operand(br_backend *be, void *y, const float *x, size_t n) {
    if (y != x) memcpy(y, x, n * sizeof(float));
}

static void op_add_gated(br_backend *be, float *h, const float *x, const float *gate, int stride,
                         int B, int S, int D, void *h_op) {
    cpu_add_gated(h, x, gate, stride, B, S, D);
    if (h_op) op_to_operand(be, h_op, h, (size_t)B * S * D);
}
static void op_add_table(br_backend *be, float *y, const float *table, const float *rows, int B,
                         int n) {
    cpu_add_table(y, table, rows, B, n);
}

static void op_modulate(br_backend *be, float *y, const float *x, const float *shift,
                        const float *scale, int stride, int B, int S, int D) {
    cpu_modulate(y, x, shift, scale, stride, B, S, D);
}
static void op_head_gate_op(br_backend *be, void *x, const float *logits, int rows, int H, int dh) {
    cpu_head_gate(x, logits, rows, H, dh);
}

static void op_linear_op(br_backend *be, float *y, const void *x, const void *w, const float *b,
                         int rows, int n_in, int n_out) {
    op_linear(be, y, x, w, b, rows, n_in, n_out); // an operand of the CPU backend is fp32
}
static void op_rms_norm_mod_op(br_backend *be, void *y, const float *x, const float *shift,
                               const float *scale, int stride, int B, int S, int D, float eps) {
    cpu_rms_norm_mod(y, x, shift, scale, stride, B, S, D, eps);
}
static void op_layer_norm_mod_op(br_backend *be, void *y, const float *x, const float *shift,
                                 const float *scale, int stride, int B, int S, int D, float eps) {
    cpu_layer_norm_mod(y, x, shift, scale, stride, B, S, D, eps);
}
static void op_qk_norm_rope_op(br_backend *be, void *y, const float *x, const float *w,
                               const float *c, const float *s, const br_qk_shape *shape) {
    cpu_qk_norm_rope(y, x, w, c, s, shape);
}
static void op_gelu_tanh_op(br_backend *be, void *y, const float *x, size_t n) {
    op_to_operand(be, y, x, n);
    cpu_gelu_tanh(y, n);
}
static void op_gelu_gate_op(br_backend *be, void *y, const float *x, int rows, int F) {
    cpu_gelu_gate(y, x, rows, F);
}
static void op_attention(br_backend *be, void *out, const void *q, const void *k, const void *v,
                         const float *bias, int B, int Sq, int Sk, int H, int dh) {
    cpu_attention(out, q, k, v, bias, B, Sq, Sk, H, dh);
}
static void op_attention_causal(br_backend *be, void *out, const void *q, const void *k,
                                const void *v, int B, int S, int H, int Hkv, int dh, int window) {
    cpu_attention_causal(out, q, k, v, B, S, H, Hkv, dh, window);
}

static size_t op_count_non_finite(br_backend *be, const float *x, size_t n, float *max_abs) {
    return cpu_count_non_finite(x, n, max_abs);
}

static void op_im2col_3d(br_backend *be, float *cols, const float *x, int F, int H, int W, int C,
                         int causal, int row0, int n_rows) {
    cpu_im2col_3d(cols, x, F, H, W, C, causal, row0, n_rows);
}
static void op_depth_to_space(br_backend *be, float *y, const float *x, int F, int H, int W,
                              int C, int st, int ss, int drop, int c_out, int add) {
    cpu_depth_to_space(y, x, F, H, W, C, st, ss, drop, c_out, add);
}
static void op_layer_norm(br_backend *be, float *y, const float *x, const float *w,
                          const float *b, int rows, int D, float eps) {
    cpu_layer_norm(y, x, w, b, rows, D, eps);
}

static void op_im2col_2d(br_backend *be, float *cols, const float *x, int H, int W, int C,
                         int stride, int pad, int Wo, int row0, int n_rows) {
    cpu_im2col_2d(cols, x, H, W, C, stride, pad, Wo, row0, n_rows);
}
static void op_upsample_nearest2(br_backend *be, float *y, const float *x, int H, int W, int C) {
    cpu_upsample_nearest2(y, x, H, W, C);
}
static void op_space_to_depth(br_backend *be, float *y, const float *x, int F, int H, int W,
                              int C, int st, int ss, int group, int add) {
    cpu_space_to_depth(y, x, F, H, W, C, st, ss, group, add);
}
static void op_group_norm(br_backend *be, float *y, const float *x, const float *w,
                          const float *b, int rows, int C, int groups, float eps) {
    cpu_group_norm(y, x, w, b, rows, C, groups, eps);
}

static br_backend cpu_backend = {
    .name = "cpu",
    .compute = BR_COMPUTE_FP32,
    .operand_size = sizeof(float),
    .max_head_dim = 1 << 16, // the config parsers' bound on any width
    .max_causal_head_dim = 1 << 16,
    .device_name = "CPU",
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .adopt_vector = cpu_adopt_vector,
    .adopt_matrix = cpu_adopt_matrix,
    .release_matrix = cpu_release_matrix,
    .sync = cpu_sync,
    .free_bytes = cpu_free_bytes,
    .linear = op_linear,
    .silu = op_silu,
    .gelu_tanh = op_gelu_tanh,
    .timestep_embedding = op_timestep_embedding,
    .rms_norm_mod = op_rms_norm_mod,
    .rms_norm = op_rms_norm,
    .layer_norm_mod = op_layer_norm_mod,
    .add_gated = op_add_gated,
    .add_table = op_add_table,
    .modulate = op_modulate,
    .head_gate_op = op_head_gate_op,
    .to_operand = op_to_operand,
    .linear_op = op_linear_op,
    .rms_norm_mod_op = op_rms_norm_mod_op,
    .layer_norm_mod_op = op_layer_norm_mod_op,
    .qk_norm_rope_op = op_qk_norm_rope_op,
    .gelu_tanh_op = op_gelu_tanh_op,
    .gelu_gate_op = op_gelu_gate_op,
    .attention = op_attention,
    .attention_causal = op_attention_causal,
    .count_non_finite = op_count_non_finite,
    .im2col_3d = op_im2col_3d,
    .depth_to_space = op_depth_to_space,
    .layer_norm = op_layer_norm,
    .im2col_2d = op_im2col_2d,
    .upsample_nearest2 = op_upsample_nearest2,
    .space_to_depth = op_space_to_depth,
    .group_norm = op_group_norm,
};

br_backend *br_backend_cpu(void) { return &cpu_backend; }
