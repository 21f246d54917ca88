// test_backend_ops.c: every op of the CUDA backend against the CPU backend, called through the
// op table that production uses (never a copy of a kernel), on random inputs, odd sizes, large
// magnitudes and masked keys; for fp32 compute and, on sm_80+, bf16 compute. Any NaN/Inf fails.
// Bounds (max |gpu - cpu| / max |cpu|): fp32 1e-5 (different summation orders of fp32 sums over
// at most a few thousand terms stay far below); bf16 3e-2 for the products and attention (bf16
// operands carry 2^-9 relative rounding each, accumulated in fp32), 1e-5 for the fp32 ops, and
// 4e-3 for the ops that store a bf16 operand (their fp32 result rounded once: 2^-9 relative).
// Exits 77 (ctest: skipped) when no GPU is visible, as on CI.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "io/dtype.h"

static int passed, failed;
static unsigned long long rng = 0x9E3779B97F4A7C15ull;

static float uniform(void) {
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (float)((rng * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
}

static float *host_random(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = uniform() * scale;
    return x;
}

// A buffer on both backends with the same contents; an operand pair's GPU side is an operand
// (backend.h: bf16 under bf16 compute), filled through the backend's own to_operand.
typedef struct {
    float *cpu;
    void *gpu;
    size_t n;
    int operand;
} pair;

static br_backend *cpu, *gpu;

static pair make(size_t n, float scale) {
    pair p = {host_random(n, scale), gpu->alloc(gpu, n, "test"), n, 0};
    gpu->upload(gpu, p.gpu, p.cpu, n);
    return p;
}

static pair make_operand(size_t n, float scale) {
    pair f = make(n, scale), p = {f.cpu, br_alloc_operand(gpu, n, "test"), n, 1};
    gpu->to_operand(gpu, p.gpu, f.gpu, n);
    gpu->release(gpu, f.gpu);
    return p;
}

// The GPU side as fp32 values.
static float *fetch(pair p) {
    float *got = malloc(p.n * sizeof(float));
    if (!p.operand || gpu->operand_size == sizeof(float)) {
        gpu->download(gpu, got, p.gpu, p.n);
        return got;
    }
    uint16_t *bits = malloc((p.n + 1) / 2 * sizeof(float));
    gpu->download(gpu, (float *)bits, p.gpu, (p.n + 1) / 2);
    for (size_t i = 0; i < p.n; i++) got[i] = br_bf16_to_f32(bits[i]);
    free(bits);
    return got;
}

static void drop(pair p) {
    free(p.cpu);
    gpu->release(gpu, p.gpu);
}

static void compare(const char *what, pair p, double tol) {
    float *got = fetch(p);
    double err = 0, scale = 0;
    int bad = 0;
    for (size_t i = 0; i < p.n; i++) {
        if (!isfinite(got[i]) || !isfinite(p.cpu[i])) bad = 1;
        err = fmax(err, fabs((double)got[i] - p.cpu[i]));
        scale = fmax(scale, fabs((double)p.cpu[i]));
    }
    double rel = err / (scale > 0 ? scale : 1);
    int ok = !bad && rel <= tol;
    ok ? passed++ : failed++;
    printf("%s %-58s %s relative error %.3g (bound %.0e)%s\n", ok ? "ok  " : "FAIL", what,
           gpu->compute == BR_COMPUTE_BF16 ? "[bf16]" : "[fp32]", rel, tol,
           bad ? " NON-FINITE" : "");
    free(got);
}

// linear on fp32 x, and linear_op on the same x as an operand.
static void test_linear(int rows, int n_in, int n_out, float scale, double tol) {
    pair x = make((size_t)rows * n_in, scale), y = make((size_t)rows * n_out, 0);
    pair xo = make_operand(x.n, 0);
    gpu->to_operand(gpu, xo.gpu, x.gpu, x.n);
    pair b = make(n_out, 1);
    float *w = host_random((size_t)n_out * n_in, 1), *w2 = malloc((size_t)n_out * n_in * 4);
    memcpy(w2, w, (size_t)n_out * n_in * 4);
    void *wc = cpu->adopt_matrix(cpu, w, (size_t)n_out, (size_t)n_in, "w");
    void *wg = gpu->adopt_matrix(gpu, w2, (size_t)n_out, (size_t)n_in, "w");
    cpu->linear(cpu, y.cpu, x.cpu, wc, b.cpu, rows, n_in, n_out);
    gpu->linear(gpu, y.gpu, x.gpu, wg, b.gpu, rows, n_in, n_out);
    char what[96];
    snprintf(what, sizeof what, "linear %dx%d->%d scale %g", rows, n_in, n_out, scale);
    compare(what, y, tol);
    gpu->linear_op(gpu, y.gpu, xo.gpu, wg, b.gpu, rows, n_in, n_out);
    snprintf(what, sizeof what, "linear_op %dx%d->%d scale %g", rows, n_in, n_out, scale);
    compare(what, y, tol);
    cpu->release_matrix(cpu, wc), gpu->release_matrix(gpu, wg);
    drop(x), drop(y), drop(b), drop(xo);
}

// fp32 compute on 16-bit weights: the GPU widens each matrix before an fp32 product, so it must
// match the CPU's fp32 product of the same rounded weights (br_f32_to_f16 / br_f32_to_bf16 then
// back), to fp32 summation order; fp16 storage refuses a weight beyond 65504, naming it.
static void test_linear_stored(int rows, int n_in, int n_out, int f16) {
    pair x = make((size_t)rows * n_in, 3), y = make((size_t)rows * n_out, 0);
    const size_t n = (size_t)n_out * n_in;
    float *w = host_random(n, 2), *w2 = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        w2[i] = w[i];
        w[i] = f16 ? br_f16_to_f32(br_f32_to_f16(w[i])) : br_bf16_to_f32(br_f32_to_bf16(w[i]));
    }
    void *wc = cpu->adopt_matrix(cpu, w, (size_t)n_out, (size_t)n_in, "w");
    void *wg = gpu->adopt_matrix(gpu, w2, (size_t)n_out, (size_t)n_in, "w");
    cpu->linear(cpu, y.cpu, x.cpu, wc, NULL, rows, n_in, n_out);
    gpu->linear(gpu, y.gpu, x.gpu, wg, NULL, rows, n_in, n_out);
    char what[96];
    snprintf(what, sizeof what, "linear %dx%d->%d, %s weights", rows, n_in, n_out,
             f16 ? "fp16" : "bf16");
    compare(what, y, 1e-5);
    cpu->release_matrix(cpu, wc), gpu->release_matrix(gpu, wg);
    drop(x), drop(y);
}

static void test_storage(br_storage storage) {
    if (br_backend_cuda_create(0, BR_COMPUTE_FP32, storage, &gpu) != BR_OK) {
        printf("FAIL %s storage: %s\n", br_storage_name(storage), br_error());
        failed++;
        return;
    }
    printf("# %s, compute fp32, %s weights\n", gpu->device_name, br_storage_name(storage));
    const int f16 = storage == BR_STORAGE_FP16;
    test_linear_stored(37, 29, 53, f16);
    test_linear_stored(300, 256, 96, f16);
    if (f16) {
        float *big = host_random(64, 1);
        big[7] = 70000.0f, big[9] = -1e6f;
        void *m = gpu->adopt_matrix(gpu, big, 8, 8, "blocks.3.ff.w");
        int ok = !m && strstr(br_error(), "blocks.3.ff.w: 2 weights are beyond fp16's range");
        ok ? passed++ : failed++;
        printf("%s fp16 storage refuses weights beyond 65504: %s\n", ok ? "ok  " : "FAIL",
               br_error());
        br_clear_error();
    }
    br_backend_cuda_destroy(gpu);
}

// GELU on n values (a multiple of 4 takes the float4 kernels), in place and to an operand.
static void test_gelu(size_t n, double store) {
    pair x = make(n, 12), xo = make_operand(n, 0);
    char what[64];
    cpu->gelu_tanh_op(cpu, xo.cpu, x.cpu, n), gpu->gelu_tanh_op(gpu, xo.gpu, x.gpu, n);
    snprintf(what, sizeof what, "gelu_tanh_op n %zu", n);
    compare(what, xo, store);
    cpu->gelu_tanh(cpu, x.cpu, n), gpu->gelu_tanh(gpu, x.gpu, n);
    snprintf(what, sizeof what, "gelu_tanh n %zu", n);
    compare(what, x, 1e-5);
    drop(x), drop(xo);
}

// The gated GELU of a fused gate/up projection x [rows, 2F] into an operand y [rows, F]; F a
// multiple of 4 takes the float4 kernels.
static void test_gelu_gate(int rows, int F, double store) {
    pair x = make((size_t)rows * 2 * F, 12), y = make_operand((size_t)rows * F, 0);
    cpu->gelu_gate_op(cpu, y.cpu, x.cpu, rows, F), gpu->gelu_gate_op(gpu, y.gpu, x.gpu, rows, F);
    char what[64];
    snprintf(what, sizeof what, "gelu_gate_op rows %d F %d", rows, F);
    compare(what, y, store);
    drop(x), drop(y);
}

static void test_elementwise(double store) {
    test_gelu(10007, store);
    test_gelu(3 * 4096, store);
    test_gelu_gate(37, 29, store);
    test_gelu_gate(300, 256, store);
    test_gelu_gate(1, 15360, store); // Gemma 3 12B's MLP width
    pair x = make(10007, 12), xo = make_operand(10007, 0);
    cpu->silu(cpu, x.cpu, x.n), gpu->silu(gpu, x.gpu, x.n);
    compare("silu", x, 1e-5);
    cpu->to_operand(cpu, xo.cpu, x.cpu, x.n), gpu->to_operand(gpu, xo.gpu, x.gpu, x.n);
    compare("to_operand", xo, store);
    drop(x), drop(xo);
    pair t = make(3, 0), emb = make(3 * 256, 0);
    float ts[3] = {0.0f, 437.5f, 999.0f};
    memcpy(t.cpu, ts, sizeof ts), gpu->upload(gpu, t.gpu, ts, 3);
    cpu->timestep_embedding(cpu, emb.cpu, t.cpu, 3, 256, 1.0f);
    gpu->timestep_embedding(gpu, emb.gpu, t.gpu, 3, 256, 1.0f);
    // Each side's expf may differ by an ulp, which moves the fp32 argument t * f at t = 999 by up
    // to 2^-24 * 1024 = 6e-5 (the CPU test states the same bound against exact arithmetic).
    compare("timestep_embedding", emb, 1.2e-4);
    // Qwen-Image's: t in 0..1 and the scale 1000 applied last (the same argument range).
    for (int i = 0; i < 3; i++) ts[i] /= 1000.0f;
    memcpy(t.cpu, ts, sizeof ts), gpu->upload(gpu, t.gpu, ts, 3);
    cpu->timestep_embedding(cpu, emb.cpu, t.cpu, 3, 256, 1000.0f);
    gpu->timestep_embedding(gpu, emb.gpu, t.gpu, 3, 256, 1000.0f);
    compare("timestep_embedding scale 1000", emb, 1.2e-4);
    drop(t), drop(emb);
    const int B = 2, S = 37, D = 41, stride = 6 * D;
    pair h = make((size_t)B * S * D, 3), a = make((size_t)B * S * D, 3), g = make(B * stride, 1);
    pair ho = make_operand(h.n, 0);
    cpu->add_gated(cpu, h.cpu, a.cpu, g.cpu, stride, B, S, D, ho.cpu);
    gpu->add_gated(gpu, h.gpu, a.gpu, g.gpu, stride, B, S, D, ho.gpu);
    compare("add_gated", h, 1e-6);
    compare("add_gated: h as an operand", ho, store);
    cpu->add_gated(cpu, h.cpu, a.cpu, NULL, 0, B, S, D, NULL);
    gpu->add_gated(gpu, h.gpu, a.gpu, NULL, 0, B, S, D, NULL);
    compare("add (no gate)", h, 1e-6);
    drop(ho);
    pair tab = make(stride, 1), y = make(B * stride, 0);
    cpu->add_table(cpu, y.cpu, tab.cpu, g.cpu, B, stride);
    gpu->add_table(gpu, y.gpu, tab.gpu, g.gpu, B, stride);
    compare("add_table", y, 1e-6);
    drop(h), drop(a), drop(g), drop(tab), drop(y);
}

static void test_norms(int B, int S, int D, float scale, double store) {
    const int stride = 6 * D;
    pair x = make((size_t)B * S * D, scale), y = make((size_t)B * S * D, 0);
    pair yo = make_operand(y.n, 0), mod = make(B * stride, 1), w = make(D, 1);
    const float *shift = mod.gpu, *mod_scale = (const float *)mod.gpu + D;
    char what[96];
    cpu->rms_norm_mod(cpu, y.cpu, x.cpu, mod.cpu, mod.cpu + D, stride, B, S, D, 1e-6f);
    gpu->rms_norm_mod(gpu, y.gpu, x.gpu, shift, mod_scale, stride, B, S, D, 1e-6f);
    snprintf(what, sizeof what, "rms_norm_mod B%d S%d D%d scale %g", B, S, D, scale);
    compare(what, y, 1e-5);
    cpu->rms_norm_mod_op(cpu, yo.cpu, x.cpu, mod.cpu, mod.cpu + D, stride, B, S, D, 1e-6f);
    gpu->rms_norm_mod_op(gpu, yo.gpu, x.gpu, shift, mod_scale, stride, B, S, D, 1e-6f);
    snprintf(what, sizeof what, "rms_norm_mod_op B%d S%d D%d scale %g", B, S, D, scale);
    compare(what, yo, store);
    cpu->layer_norm_mod(cpu, y.cpu, x.cpu, mod.cpu, mod.cpu + D, stride, B, S, D, 1e-6f);
    gpu->layer_norm_mod(gpu, y.gpu, x.gpu, shift, mod_scale, stride, B, S, D, 1e-6f);
    snprintf(what, sizeof what, "layer_norm_mod B%d S%d D%d scale %g", B, S, D, scale);
    compare(what, y, 1e-5);
    cpu->layer_norm_mod_op(cpu, yo.cpu, x.cpu, mod.cpu, mod.cpu + D, stride, B, S, D, 1e-6f);
    gpu->layer_norm_mod_op(gpu, yo.gpu, x.gpu, shift, mod_scale, stride, B, S, D, 1e-6f);
    snprintf(what, sizeof what, "layer_norm_mod_op B%d S%d D%d scale %g", B, S, D, scale);
    compare(what, yo, store);
    cpu->rms_norm(cpu, x.cpu, w.cpu, B * S, D, 1e-5f);
    gpu->rms_norm(gpu, x.gpu, w.gpu, B * S, D, 1e-5f);
    snprintf(what, sizeof what, "rms_norm (weight) B%d S%d D%d scale %g", B, S, D, scale);
    compare(what, x, 1e-5);
    drop(x), drop(y), drop(yo), drop(mod), drop(w);
}

// q and k before attention in the layout of sh, with tables of `cols` columns (or none), compared
// over the whole of y (the rows outside [y_offset, y_offset + S) stay untouched on both sides).
static void check_qk(const char *what, const br_qk_shape *sh, int cols, int rope, double store) {
    pair x = make((size_t)sh->B * sh->S * sh->D, 3);
    pair y = make_operand((size_t)sh->B * sh->y_rows * sh->D, 2), w = make(sh->group, 1);
    pair c = make((size_t)sh->S * cols, 1), s = make((size_t)sh->S * cols, 1);
    cpu->qk_norm_rope_op(cpu, y.cpu, x.cpu, w.cpu, rope ? c.cpu : NULL, s.cpu, sh);
    gpu->qk_norm_rope_op(gpu, y.gpu, x.gpu, w.gpu, rope ? c.gpu : NULL, s.gpu, sh);
    compare(what, y, store);
    drop(x), drop(y), drop(w), drop(c), drop(s);
}

// RMSNorm with weight over groups of `group` channels (D: across heads; the head dim: per head),
// then RoPE in adjacent pairs with tables of `width` columns (or none), into rows
// [offset, offset + S) of each batch element's `rows` (a joint sequence).
static void test_qk_norm_rope(int B, int S, int D, int group, int width, int rows, int offset,
                              int rope, double store) {
    const br_qk_shape shape = {B, S, D, group, width, rows, offset, 1e-5f};
    char what[96];
    snprintf(what, sizeof what, "qk_norm_rope_op B%d S%d D%d group %d table %d rows %d+%d rope %d",
             B, S, D, group, width, offset, rows, rope);
    check_qk(what, &shape, width, rope, store);
}

// LTX-2's split layout: H heads of dh channels, channel i of a head rotated with channel i + dh/2
// by tables [S, H*dh/2]; group H*dh (across heads, as LTX-2) or less (per head and narrower).
static void test_qk_split(int B, int S, int H, int dh, int group, int rows, int offset, int rope,
                          double store) {
    const int D = H * dh;
    const br_qk_shape shape = {B, S, D, group, D, rows, offset, 1e-5f, dh};
    char what[96];
    snprintf(what, sizeof what,
             "qk_norm_rope_op split B%d S%d H%d dh%d group %d rows %d+%d rope %d", B, S, H, dh,
             group, offset, rows, rope);
    check_qk(what, &shape, D / 2, rope, store);
}

// The split layout in place (y is x: fp32 operands only), as LTX-2 calls it on its q and k.
static void test_qk_split_in_place(int B, int S, int H, int dh) {
    const int D = H * dh;
    const br_qk_shape shape = {B, S, D, D, D, S, 0, 1e-5f, dh};
    pair x = make_operand((size_t)B * S * D, 3), w = make(D, 1);
    pair c = make((size_t)S * D / 2, 1), s = make((size_t)S * D / 2, 1);
    cpu->qk_norm_rope_op(cpu, x.cpu, x.cpu, w.cpu, c.cpu, s.cpu, &shape);
    gpu->qk_norm_rope_op(gpu, x.gpu, x.gpu, w.gpu, c.gpu, s.gpu, &shape);
    char what[96];
    snprintf(what, sizeof what, "qk_norm_rope_op split B%d S%d H%d dh%d in place", B, S, H, dh);
    compare(what, x, 1e-5);
    drop(x), drop(w), drop(c), drop(s);
}

// LTX-2's modulation without a norm: shift and scale are columns [0, D) and [D, 2D) of each batch
// element's row of mod_stride, as the model slices its tables; then in place. Both sides round
// x * (1 + scale) + shift step by step in the same order: the same bits, unless a compiler
// contracts the CPU's into an FMA (then 2^-24 relative), hence 1e-6.
static void test_modulate(int B, int S, int D, int stride) {
    pair x = make((size_t)B * S * D, 3), y = make(x.n, 0), mod = make((size_t)B * stride, 1);
    const float *shift = mod.gpu, *scale = (const float *)mod.gpu + D;
    char what[96];
    cpu->modulate(cpu, y.cpu, x.cpu, mod.cpu, mod.cpu + D, stride, B, S, D);
    gpu->modulate(gpu, y.gpu, x.gpu, shift, scale, stride, B, S, D);
    snprintf(what, sizeof what, "modulate B%d S%d D%d stride %d", B, S, D, stride);
    compare(what, y, 1e-6);
    cpu->modulate(cpu, x.cpu, x.cpu, mod.cpu, mod.cpu + D, stride, B, S, D);
    gpu->modulate(gpu, x.gpu, x.gpu, shift, scale, stride, B, S, D);
    snprintf(what, sizeof what, "modulate B%d S%d D%d stride %d in place", B, S, D, stride);
    compare(what, x, 1e-6);
    drop(x), drop(y), drop(mod);
}

// LTX-2's per-head gates, in place on an operand, with logits of both signs and two extreme ones
// (+-100: gates 2 and 0, the latter through expf's overflow to inf). The CPU starts from the
// operand's own values (bf16 under bf16 compute), so the bound is the result's: fp32 1e-6 (CUDA's
// expf is within 2 ulp, glibc's within 1: the gate within ~4e-7 relative), bf16 `store`.
static void test_head_gate(int rows, int H, int dh, double store) {
    pair x = make_operand((size_t)rows * H * dh, 3), logits = make((size_t)rows * H, 4);
    float *start = fetch(x);
    memcpy(x.cpu, start, x.n * sizeof(float));
    free(start);
    logits.cpu[0] = 100.0f, logits.cpu[logits.n - 1] = -100.0f;
    gpu->upload(gpu, logits.gpu, logits.cpu, logits.n);
    cpu->head_gate_op(cpu, x.cpu, logits.cpu, rows, H, dh);
    gpu->head_gate_op(gpu, x.gpu, logits.gpu, rows, H, dh);
    char what[96];
    snprintf(what, sizeof what, "head_gate_op rows %d H%d dh%d", rows, H, dh);
    compare(what, x, gpu->compute == BR_COMPUTE_BF16 ? store : 1e-6);
    drop(x), drop(logits);
}

static void test_attention(int B, int Sq, int Sk, int H, int dh, float scale, int masked,
                           double tol) {
    const size_t D = (size_t)H * dh;
    pair q = make_operand(B * Sq * D, scale), k = make_operand(B * Sk * D, scale);
    pair v = make_operand(B * Sk * D, 1), o = make_operand(B * Sq * D, 0);
    pair bias = make((size_t)B * Sk, 0);
    for (size_t i = 0; i < bias.n; i++) bias.cpu[i] = 0;
    // batch 0's last keys (masked > 0) or its first (masked < 0: a joint attention's text keys,
    // masked as Qwen-Image masks them)
    for (int j = Sk - masked; j < Sk; j++) bias.cpu[j] = -10000.0f;
    for (int j = 0; j < -masked; j++) bias.cpu[j] = -10000.0f;
    gpu->upload(gpu, bias.gpu, bias.cpu, bias.n);
    const float *bc = masked ? bias.cpu : NULL, *bg = masked ? (const float *)bias.gpu : NULL;
    cpu->attention(cpu, o.cpu, q.cpu, k.cpu, v.cpu, bc, B, Sq, Sk, H, dh);
    gpu->attention(gpu, o.gpu, q.gpu, k.gpu, v.gpu, bg, B, Sq, Sk, H, dh);
    char what[96];
    snprintf(what, sizeof what, "attention B%d Sq%d Sk%d H%d dh%d scale %g masked %d", B, Sq, Sk,
             H, dh, scale, masked);
    compare(what, o, tol);
    drop(q), drop(k), drop(v), drop(o), drop(bias);
}

// Causal self-attention (Gemma 3's text encoder): H query heads over Hkv key/value heads, a
// sliding window when window > 0. Bounds as for attention.
static void test_attention_causal(int B, int S, int H, int Hkv, int dh, int window, float scale,
                                  double tol) {
    const size_t nq = (size_t)B * S * H * dh, nkv = (size_t)B * S * Hkv * dh;
    pair q = make_operand(nq, scale), k = make_operand(nkv, scale);
    pair v = make_operand(nkv, 1), o = make_operand(nq, 0);
    cpu->attention_causal(cpu, o.cpu, q.cpu, k.cpu, v.cpu, B, S, H, Hkv, dh, window);
    gpu->attention_causal(gpu, o.gpu, q.gpu, k.gpu, v.gpu, B, S, H, Hkv, dh, window);
    char what[96];
    snprintf(what, sizeof what, "attention_causal B%d S%d H%d Hkv%d dh%d window %d scale %g", B,
             S, H, Hkv, dh, window, scale);
    compare(what, o, tol);
    drop(q), drop(k), drop(v), drop(o);
}

// The numeric guard: the same count of NaN/Inf and the same largest finite magnitude (exact:
// both are order-independent).
static void test_non_finite(size_t n, int planted) {
    pair x = make(n, 1e30f);
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < planted; i++) x.cpu[(size_t)i * 7919 % n] = bad[i % 3];
    gpu->upload(gpu, x.gpu, x.cpu, n);
    float max_cpu = 0, max_gpu = 0;
    size_t bad_cpu = cpu->count_non_finite(cpu, x.cpu, n, &max_cpu);
    size_t bad_gpu = gpu->count_non_finite(gpu, x.gpu, n, &max_gpu);
    int ok = bad_cpu == bad_gpu && max_cpu == max_gpu;
    ok ? passed++ : failed++;
    printf("%s count_non_finite n %zu: %zu / %zu bad, max %g / %g (cpu / gpu)\n", ok ? "ok  " : "FAIL",
           n, bad_cpu, bad_gpu, max_cpu, max_gpu);
    drop(x);
}

// The VAE decoder's ops: im2col and depth-to-space move data (exact: bound 0); the LayerNorm
// with weight and bias sums in double on both sides (1e-5).
static void test_vae_ops(int F, int H, int W, int C, int causal) {
    const int rows = F * H * W, row0 = rows / 3, n = rows - row0 - 1; // a chunk in the middle
    pair x = make((size_t)rows * C, 3), cols = make((size_t)n * 27 * C, 0);
    cpu->im2col_3d(cpu, cols.cpu, x.cpu, F, H, W, C, causal, row0, n);
    gpu->im2col_3d(gpu, cols.gpu, x.gpu, F, H, W, C, causal, row0, n);
    char what[96];
    snprintf(what, sizeof what, "im2col_3d %dx%dx%dx%d causal %d rows %d+%d", F, H, W, C, causal,
             row0, n);
    compare(what, cols, 0);
    // x read as [F, H, W, 8 * (C / 8)]: the upsampler's shuffle, then the residual's add.
    const int c8 = C / 8, Fo = 2 * F - 1;
    pair y = make((size_t)Fo * 4 * H * W * c8 * 2, 1);
    cpu->depth_to_space(cpu, y.cpu, x.cpu, F, H, W, c8, 2, 2, 1, c8 * 2, 1);
    gpu->depth_to_space(gpu, y.gpu, x.gpu, F, H, W, c8, 2, 2, 1, c8 * 2, 1);
    snprintf(what, sizeof what, "depth_to_space %dx%dx%dx%d x2 drop 1, repeat-add", F, H, W, C);
    compare(what, y, 0);
    pair u = make((size_t)F * H * 4 * W * 4 * (C / 16), 0);
    cpu->depth_to_space(cpu, u.cpu, x.cpu, F, H, W, C / 16, 1, 4, 0, C / 16, 0);
    gpu->depth_to_space(gpu, u.gpu, x.gpu, F, H, W, C / 16, 1, 4, 0, C / 16, 0);
    snprintf(what, sizeof what, "depth_to_space %dx%dx%dx%d unpatchify 4", F, H, W, C);
    compare(what, u, 0);
    pair w = make(C, 2), b = make(C, 1), z = make((size_t)rows * C, 0);
    cpu->layer_norm(cpu, z.cpu, x.cpu, w.cpu, b.cpu, rows, C, 1e-6f);
    gpu->layer_norm(gpu, z.gpu, x.gpu, w.gpu, b.gpu, rows, C, 1e-6f);
    snprintf(what, sizeof what, "layer_norm rows %d D %d", rows, C);
    compare(what, z, 1e-5);
    drop(x), drop(cols), drop(y), drop(u), drop(w), drop(b), drop(z);
}

// Qwen-Image's VAE ops: exact data movement (bound 0).
static void test_conv2d_ops(int H, int W, int C) {
    const int Ho = H, Wo = W, Hd = H / 2, Wd = W / 2; // a same convolution; a downsampler
    pair x = make((size_t)H * W * C, 3), cols = make((size_t)Ho * Wo * 9 * C, 0);
    cpu->im2col_2d(cpu, cols.cpu, x.cpu, H, W, C, 1, 1, Wo, 0, Ho * Wo);
    gpu->im2col_2d(gpu, cols.gpu, x.gpu, H, W, C, 1, 1, Wo, 0, Ho * Wo);
    char what[96];
    snprintf(what, sizeof what, "im2col_2d %dx%dx%d stride 1 pad 1", H, W, C);
    compare(what, cols, 0);
    const int row0 = Hd * Wd / 3, n = Hd * Wd - row0; // a chunk of the output
    cpu->im2col_2d(cpu, cols.cpu, x.cpu, H, W, C, 2, 0, Wd, row0, n);
    gpu->im2col_2d(gpu, cols.gpu, x.gpu, H, W, C, 2, 0, Wd, row0, n);
    cols.n = (size_t)n * 9 * C;
    snprintf(what, sizeof what, "im2col_2d %dx%dx%d stride 2 pad 0 rows %d+%d", H, W, C, row0, n);
    compare(what, cols, 0);
    cols.n = (size_t)Ho * Wo * 9 * C;
    pair y = make((size_t)4 * H * W * C, 0);
    cpu->upsample_nearest2(cpu, y.cpu, x.cpu, H, W, C);
    gpu->upsample_nearest2(gpu, y.gpu, x.gpu, H, W, C);
    snprintf(what, sizeof what, "upsample_nearest2 %dx%dx%d", H, W, C);
    compare(what, y, 0);
    drop(x), drop(cols), drop(y);
}

static void run_all(void) {
    int bf16 = gpu->compute == BR_COMPUTE_BF16;
    double prod = bf16 ? 3e-2 : 1e-5, store = bf16 ? 4e-3 : 1e-5;
    test_linear(1, 1, 1, 1, prod);
    test_linear(37, 29, 53, 1, prod);
    test_linear(300, 256, 96, 1000, prod);
    test_elementwise(store);
    test_norms(2, 3, 40, 1, store);
    test_norms(1, 7, 2048, 1e4f, store);
    test_qk_norm_rope(2, 5, 40, 40, 40, 5, 0, 1, store);
    test_qk_norm_rope(1, 300, 34, 34, 34, 300, 0, 1, store);
    test_qk_norm_rope(2, 9, 64, 64, 64, 9, 0, 0, store);
    test_qk_norm_rope(3, 7, 34, 34, 34, 7, 0, 0, store); // D not a multiple of 4: the scalar paths
    // Per head (Qwen-Image), written into a joint sequence of text then image rows.
    test_qk_norm_rope(2, 44, 32, 16, 16, 53, 9, 1, store);
    test_qk_norm_rope(2, 9, 32, 16, 16, 53, 0, 1, store);
    test_qk_norm_rope(1, 300, 3072, 128, 128, 310, 10, 1, store);
    test_qk_norm_rope(3, 15, 72, 24, 24, 22, 7, 1, store); // head dim 24: not a power of 2
    test_qk_norm_rope(2, 11, 30, 10, 10, 11, 0, 0, store);
    // LTX-2's split layout: across heads (its own), per head, and per pair of channels over more
    // groups than one pass takes (passes end on heads); dh a multiple of 8 goes by float4.
    test_qk_split(2, 5, 4, 16, 64, 5, 0, 1, store);
    test_qk_split(1, 300, 5, 8, 40, 310, 10, 1, store);
    test_qk_split(3, 7, 4, 6, 24, 7, 0, 1, store);
    test_qk_split(2, 6, 32, 128, 4096, 6, 0, 1, store); // LTX-2's video heads
    test_qk_split(2, 9, 3, 16, 16, 20, 7, 1, store);
    test_qk_split(2, 11, 5, 6, 6, 15, 2, 1, store);
    test_qk_split(2, 9, 4, 16, 64, 9, 0, 0, store);
    test_qk_split(2, 9, 3, 6, 6, 12, 3, 0, store);
    test_qk_split(1, 3, 400, 6, 2, 3, 0, 1, store);  // 1200 groups; a pair spans two groups
    test_qk_split(1, 3, 200, 24, 4, 5, 1, 1, store); // 1200 groups, by float4
    if (!bf16) test_qk_split_in_place(2, 9, 4, 16), test_qk_split_in_place(2, 9, 3, 6);
    test_modulate(1, 1, 7, 14);
    test_modulate(2, 37, 41, 6 * 41);
    test_modulate(3, 5, 256, 6 * 256); // by float4
    test_modulate(2, 9, 64, 130);      // a stride of no float4
    test_head_gate(37, 3, 16, store);
    test_head_gate(5, 7, 6, store);
    test_head_gate(300, 32, 128, store); // LTX-2's video attention
    test_head_gate(3, 2, 300, store);    // a head wider than a block
    test_attention(2, 72, 72, 2, 16, 1, 0, prod);
    test_attention(2, 200, 7, 3, 8, 1, 2, prod);
    test_attention(1, 130, 130, 5, 32, 4, 0, prod);
    test_attention(2, 333, 129, 4, 64, 1, 3, prod);
    test_attention(1, 257, 300, 2, 128, 1, 0, prod);
    // The general path: head dims no fast kernel takes (Qwen-Image's joint attention of other
    // sizes, LTX checkpoints with narrow heads).
    test_attention(2, 53, 53, 2, 24, 1, -40, prod);
    test_attention(2, 300, 300, 2, 16, 1, -70, prod);
    test_attention(1, 130, 130, 4, 10, 1, 0, prod);
    test_attention(2, 100, 77, 3, 72, 2, 5, prod);
    test_attention(1, 64, 64, 2, 256, 1, 0, prod);
    test_attention_causal(1, 7, 2, 1, 16, 0, 1, prod);
    test_attention_causal(2, 33, 4, 2, 16, 4, 1, prod);  // grouped heads, a window of 4
    test_attention_causal(1, 300, 2, 1, 64, 0, 4, prod); // large scores
    test_attention_causal(1, 129, 4, 4, 128, 50, 1, prod);
    test_attention_causal(2, 75, 3, 1, 40, 0, 1, prod);  // dh not a multiple of 32
    test_attention_causal(1, 520, 16, 8, 256, 0, 1, prod);  // Gemma 3 12B's heads
    test_attention_causal(1, 260, 4, 2, 256, 128, 1, prod); // ... in a sliding layer
    test_non_finite(1, 0);
    test_non_finite(1000003, 5);
    test_vae_ops(3, 5, 7, 32, 0);
    test_vae_ops(4, 9, 6, 48, 1);
    test_vae_ops(2, 33, 40, 128, 0); // the released decoder's last width
    test_conv2d_ops(8, 12, 16);
    test_conv2d_ops(13, 7, 3); // odd sides: the downsampler's zero row and column
}

int main(void) {
    if (br_cuda_device_count() == 0) {
        printf("no GPU visible: skipped\n");
        return 77;
    }
    cpu = br_backend_cpu();
    for (int c = 0; c < 2; c++) {
        br_compute compute = c ? BR_COMPUTE_BF16 : BR_COMPUTE_FP32;
        br_storage storage = c ? BR_STORAGE_BF16 : BR_STORAGE_FP32;
        if (br_backend_cuda_create(0, compute, storage, &gpu) != BR_OK) {
            printf("(%s: %s)\n", br_compute_name(compute), br_error()); // bf16 below sm_80
            br_clear_error();
            continue;
        }
        printf("# %s, compute %s\n", gpu->device_name, br_compute_name(compute));
        run_all();
        br_backend_cuda_destroy(gpu);
    }
    for (int f16 = 0; f16 < 2; f16++) test_storage(f16 ? BR_STORAGE_FP16 : BR_STORAGE_BF16);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
