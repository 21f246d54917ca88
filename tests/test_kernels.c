// test_kernels.c: every CPU kernel against a direct (naive, double precision) formulation of its
// definition, on random inputs, odd sizes and extreme values (large magnitudes, masked keys).
// Tolerance: fp32 kernels against a double reference land within a few ulps times the length of
// the reductions; 1e-5 relative to the output's scale leaves room for that and fails any
// indexing or formula error, which shows up at order 1.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"
#include "parallel.h"

static int passed, failed;
static unsigned long long rng_state = 88172645463325252ull;

static float uniform(void) { // xorshift64*, in [-1, 1)
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
}

static float *randoms(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = uniform() * scale;
    return x;
}

static double *zeros(size_t n) { return calloc(n, sizeof(double)); }

// Compares got with want: max |got - want| / max |want| <= tol, and no NaN/Inf anywhere.
static void check(const char *what, const float *got, const double *want, size_t n, double tol) {
    double err = 0, scale = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(want[i])) bad = 1;
        err = fmax(err, fabs(got[i] - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    double rel = err / (scale > 0 ? scale : 1);
    if (bad || rel > tol) {
        failed++;
        printf("FAIL %s: relative error %.3g (tolerance %.1g)%s\n", what, rel, tol,
               bad ? ", non-finite values" : "");
    } else {
        passed++;
        printf("ok   %s: relative error %.3g\n", what, rel);
    }
}

static void test_linear(int rows, int n_in, int n_out, float scale) {
    float *x = randoms((size_t)rows * n_in, scale), *w = randoms((size_t)n_out * n_in, 1);
    float *b = randoms(n_out, 1), *y = malloc((size_t)rows * n_out * sizeof(float));
    double *want = zeros((size_t)rows * n_out);
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < n_out; o++) {
            double s = b[o];
            for (int i = 0; i < n_in; i++) s += (double)x[r * n_in + i] * w[o * n_in + i];
            want[r * n_out + o] = s;
        }
    cpu_linear(y, x, w, b, rows, n_in, n_out);
    char what[64];
    snprintf(what, sizeof what, "linear %dx%d->%d scale %g", rows, n_in, n_out, scale);
    check(what, y, want, (size_t)rows * n_out, 1e-5);
    free(x), free(w), free(b), free(y), free(want);
}

// The pool's tiles (kernels/parallel.h) shared by several threads: every run gives the same bits.
static void test_linear_repeats(int rows, int n_in, int n_out) {
    float *x = randoms((size_t)rows * n_in, 1), *w = randoms((size_t)n_out * n_in, 1);
    const size_t n = (size_t)rows * n_out;
    float *first = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    cpu_linear(first, x, w, NULL, rows, n_in, n_out);
    int differ = 0;
    for (int run = 0; run < 50; run++) {
        cpu_linear(y, x, w, NULL, rows, n_in, n_out);
        differ += memcmp(y, first, n * sizeof(float)) != 0;
    }
    if (differ) failed++, printf("FAIL linear %dx%d->%d on %d threads: %d of 50 runs differ\n",
                                  rows, n_in, n_out, br_parallel_threads(), differ);
    else passed++, printf("ok   linear %dx%d->%d on %d threads: 50 runs, the same bits\n", rows,
                          n_in, n_out, br_parallel_threads());
    free(x), free(w), free(first), free(y);
}

static void test_activations(void) {
    const size_t n = 1001;
    float *x = randoms(n, 12), *y = malloc(n * sizeof(float));
    double *want = zeros(n);
    memcpy(y, x, n * sizeof(float));
    for (size_t i = 0; i < n; i++) want[i] = x[i] / (1 + exp(-(double)x[i]));
    cpu_silu(y, n);
    check("silu", y, want, n, 1e-6);
    memcpy(y, x, n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        want[i] = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    }
    cpu_gelu_tanh(y, n);
    check("gelu_tanh", y, want, n, 1e-6);
    free(x), free(y), free(want);
}

static void test_timestep(void) {
    const int B = 3, C = 256;
    float t[3] = {0.0f, 437.5f, 999.0f}, *emb = malloc(B * C * sizeof(float));
    double *want = zeros(B * C);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < C / 2; i++) {
            // the reference rounds the frequency to fp32 before multiplying
            float f = (float)exp(-log(10000.0) * i / (C / 2));
            double arg = (double)(float)(t[b] * f);
            want[b * C + i] = cos(arg), want[b * C + C / 2 + i] = sin(arg);
        }
    cpu_timestep_embedding(emb, t, B, C, 1.0f);
    // The argument t * f is an fp32 product (as in the reference): at t = 999 it is resolved to
    // 2^-24 * 1024 = 6e-5, so cos and sin of it can differ from the exact ones by that much.
    check("timestep_embedding", emb, want, B * C, 1.2e-4);
    free(emb), free(want);
}

// Norms: kind 0 RMSNorm + modulation, 1 RMSNorm with weight (in place), 2 LayerNorm + modulation.
static void test_norm(int kind, int B, int S, int D, float scale) {
    const size_t rows = (size_t)B * S, n = rows * D;
    const int stride = 3 * D; // modulation vectors taken from a wider table, as the blocks do
    float *x = randoms(n, scale), *y = malloc(n * sizeof(float));
    float *mod = randoms((size_t)B * stride, 1), *w = randoms(D, 1);
    const float eps = 1e-6f;
    double *want = zeros(n);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * D, *sh = mod + (r / S) * stride, *sc = sh + D;
        double mean = 0, ss = 0;
        if (kind == 2)
            for (int i = 0; i < D; i++) mean += xr[i] / (double)D;
        for (int i = 0; i < D; i++) ss += (xr[i] - mean) * (xr[i] - mean) / D;
        double inv = 1 / sqrt(ss + eps);
        for (int i = 0; i < D; i++) {
            double v = (xr[i] - mean) * inv;
            want[r * D + i] = kind == 1 ? v * w[i] : v * (1 + sc[i]) + sh[i];
        }
    }
    const char *names[] = {"rms_norm_mod", "rms_norm (weight)", "layer_norm_mod"};
    if (kind == 0) cpu_rms_norm_mod(y, x, mod, mod + D, stride, B, S, D, eps);
    if (kind == 1) memcpy(y, x, n * sizeof(float)), cpu_rms_norm(y, w, (int)rows, D, eps);
    if (kind == 2) cpu_layer_norm_mod(y, x, mod, mod + D, stride, B, S, D, eps);
    char what[96];
    snprintf(what, sizeof what, "%s B%d S%d D%d scale %g", names[kind], B, S, D, scale);
    check(what, y, want, n, 1e-5);
    free(x), free(y), free(mod), free(w), free(want);
}

static void test_rope(int B, int S, int D) {
    const size_t n = (size_t)B * S * D;
    float *x = randoms(n, 3), *c = randoms((size_t)S * D, 1), *s = randoms((size_t)S * D, 1);
    double *want = zeros(n);
    for (size_t r = 0; r < (size_t)B * S; r++)
        for (int i = 0; i < D; i++) {
            size_t t = (r % S) * D + i;
            double rot = i % 2 == 0 ? -x[r * D + i + 1] : x[r * D + i - 1];
            want[r * D + i] = x[r * D + i] * (double)c[t] + rot * s[t];
        }
    cpu_rope(x, c, s, B, S, D, D);
    check("rope", x, want, n, 1e-6);
    free(x), free(c), free(s), free(want);
}

// The split layout: channel i of a head with channel i + dh/2, tables of D/2 columns per token.
static void test_rope_split(int B, int S, int H, int dh) {
    const int D = H * dh, half = dh / 2;
    const size_t n = (size_t)B * S * D;
    float *x = randoms(n, 3), *c = randoms((size_t)S * D / 2, 1), *s = randoms((size_t)S * D / 2, 1);
    double *want = zeros(n);
    for (size_t r = 0; r < (size_t)B * S; r++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < half; i++) {
                const size_t a = r * D + h * dh + i, t = (r % S) * D / 2 + h * half + i;
                want[a] = (double)x[a] * c[t] - (double)x[a + half] * s[t];
                want[a + half] = (double)x[a + half] * c[t] + (double)x[a] * s[t];
            }
    cpu_rope_split(x, c, s, B, S, D, dh);
    check("rope, split layout", x, want, n, 1e-6);
    free(x), free(c), free(s), free(want);
}

// Per-head gates 2 sigmoid(logit) and the modulation without a norm (per batch element).
static void test_gate_and_modulate(int B, int S, int H, int dh) {
    const int D = H * dh;
    const size_t n = (size_t)B * S * D;
    float *x = randoms(n, 2), *logits = randoms((size_t)B * S * H, 4), *y = malloc(n * sizeof(float));
    float *mod = randoms((size_t)B * 3 * D, 1); // per item: shift, scale, (unused)
    double *want = zeros(n);
    for (size_t r = 0; r < (size_t)B * S; r++)
        for (int i = 0; i < D; i++)
            want[r * D + i] = x[r * D + i] * 2.0 / (1.0 + exp(-(double)logits[r * H + i / dh]));
    memcpy(y, x, n * sizeof(float));
    cpu_head_gate(y, logits, B * S, H, dh);
    check("per-head gates", y, want, n, 1e-6);
    for (size_t r = 0; r < (size_t)B * S; r++) {
        const float *m = mod + (r / S) * 3 * D;
        for (int i = 0; i < D; i++) want[r * D + i] = x[r * D + i] * (1.0 + m[D + i]) + m[i];
    }
    cpu_modulate(y, x, mod, mod + D, 3 * D, B, S, D);
    check("modulate", y, want, n, 1e-6);
    free(x), free(logits), free(y), free(mod), free(want);
}

// The full S x S softmax, in double, per batch and head.
static void naive_attention(double *out, const float *q, const float *k, const float *v,
                            const float *bias, int B, int Sq, int Sk, int H, int dh) {
    const int D = H * dh;
    double *p = zeros(Sk);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Sq; i++) {
                const float *qi = q + ((size_t)b * Sq + i) * D + h * dh;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < Sk; j++) {
                    const float *kj = k + ((size_t)b * Sk + j) * D + h * dh;
                    double s = 0;
                    for (int d = 0; d < dh; d++) s += (double)qi[d] * kj[d];
                    p[j] = s / sqrt((double)dh) + (bias ? bias[b * Sk + j] : 0);
                    mx = fmax(mx, p[j]);
                }
                for (int j = 0; j < Sk; j++) sum += p[j] = exp(p[j] - mx);
                for (int d = 0; d < dh; d++) {
                    double o = 0;
                    for (int j = 0; j < Sk; j++)
                        o += p[j] * v[((size_t)b * Sk + j) * D + h * dh + d];
                    out[((size_t)b * Sq + i) * D + h * dh + d] = o / sum;
                }
            }
    free(p);
}

static void test_attention(int B, int Sq, int Sk, int H, int dh, float scale, int masked) {
    const int D = H * dh;
    float *q = randoms((size_t)B * Sq * D, scale), *k = randoms((size_t)B * Sk * D, scale);
    float *v = randoms((size_t)B * Sk * D, 1), *out = malloc((size_t)B * Sq * D * sizeof(float));
    float *bias = NULL;
    if (masked) { // the model's mask bias: the last keys of batch element 0 masked
        bias = calloc((size_t)B * Sk, sizeof(float));
        for (int j = Sk - masked; j < Sk; j++) bias[j] = -10000.0f;
    }
    double *want = zeros((size_t)B * Sq * D);
    naive_attention(want, q, k, v, bias, B, Sq, Sk, H, dh);
    cpu_attention(out, q, k, v, bias, B, Sq, Sk, H, dh);
    char what[96];
    snprintf(what, sizeof what, "attention B%d Sq%d Sk%d H%d dh%d scale %g masked %d", B, Sq, Sk,
             H, dh, scale, masked);
    // A fully masked row puts every score near -10000, where fp32 resolves only 2^-10: the
    // weights then carry ~1e-3 relative error in any fp32 implementation (the reference's too).
    check(what, out, want, (size_t)B * Sq * D, masked == Sk ? 2e-3 : 1e-5);
    free(q), free(k), free(v), free(out), free(bias), free(want);
}

// Causal attention in double, straight from its definition: query i of head h sees key j of
// key/value head h / (H / Hkv) when j <= i and (window > 0) i - j < window.
static void naive_attention_causal(double *out, const float *q, const float *k, const float *v,
                                   int B, int S, int H, int Hkv, int dh, int window) {
    const int D = H * dh, Dkv = Hkv * dh;
    double *p = zeros(S);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) {
                const int hkv = h / (H / Hkv), j0 = window > 0 && i >= window ? i - window + 1 : 0;
                const float *qi = q + ((size_t)b * S + i) * D + h * dh;
                double mx = -INFINITY, sum = 0;
                for (int j = j0; j <= i; j++) {
                    const float *kj = k + ((size_t)b * S + j) * Dkv + hkv * dh;
                    double s = 0;
                    for (int d = 0; d < dh; d++) s += (double)qi[d] * kj[d];
                    p[j] = s / sqrt((double)dh);
                    mx = fmax(mx, p[j]);
                }
                for (int j = j0; j <= i; j++) sum += p[j] = exp(p[j] - mx);
                for (int d = 0; d < dh; d++) {
                    double o = 0;
                    for (int j = j0; j <= i; j++)
                        o += p[j] * v[((size_t)b * S + j) * Dkv + hkv * dh + d];
                    out[((size_t)b * S + i) * D + h * dh + d] = o / sum;
                }
            }
    free(p);
}

static void test_attention_causal(int B, int S, int H, int Hkv, int dh, int window, float scale) {
    const size_t nq = (size_t)B * S * H * dh, nkv = (size_t)B * S * Hkv * dh;
    float *q = randoms(nq, scale), *k = randoms(nkv, scale), *v = randoms(nkv, 1);
    float *out = malloc(nq * sizeof(float));
    double *want = zeros(nq);
    naive_attention_causal(want, q, k, v, B, S, H, Hkv, dh, window);
    cpu_attention_causal(out, q, k, v, B, S, H, Hkv, dh, window);
    char what[96];
    snprintf(what, sizeof what, "attention_causal B%d S%d H%d Hkv%d dh%d window %d scale %g", B,
             S, H, Hkv, dh, window, scale);
    check(what, out, want, nq, 1e-5);
    free(q), free(k), free(v), free(out), free(want);
}

// The gated GELU is cpu_gelu_tanh's value times the up half, bit for bit (one formula).
static void test_gelu_gate(int rows, int F) {
    float *x = randoms((size_t)rows * 2 * F, 12), *y = malloc((size_t)rows * F * sizeof(float));
    float *want = malloc((size_t)rows * F * sizeof(float));
    for (int r = 0; r < rows; r++) memcpy(want + (size_t)r * F, x + (size_t)r * 2 * F, F * 4);
    cpu_gelu_tanh(want, (size_t)rows * F);
    for (size_t r = 0; r < (size_t)rows; r++)
        for (int c = 0; c < F; c++) want[r * F + c] *= x[r * 2 * F + F + c];
    cpu_gelu_gate(y, x, rows, F);
    const int same = !memcmp(y, want, (size_t)rows * F * sizeof(float));
    same ? passed++ : failed++;
    printf("%s gelu_gate rows %d F %d: %s cpu_gelu_tanh(gate) * up\n", same ? "ok  " : "FAIL",
           rows, F, same ? "the bits of" : "differs from");
    free(x), free(y), free(want);
}

static void test_residual(void) {
    const int B = 2, S = 5, D = 7, stride = 3 * D;
    const size_t n = (size_t)B * S * D;
    float *h = randoms(n, 2), *x = randoms(n, 2), *gate = randoms((size_t)B * stride, 1);
    double *want = zeros(n);
    for (size_t r = 0; r < (size_t)B * S; r++)
        for (int i = 0; i < D; i++)
            want[r * D + i] = h[r * D + i] + (double)x[r * D + i] * gate[(r / S) * stride + i];
    cpu_add_gated(h, x, gate, stride, B, S, D);
    check("add_gated", h, want, n, 1e-7);
    for (size_t i = 0; i < n; i++) want[i] = (double)h[i] + x[i];
    cpu_add_gated(h, x, NULL, 0, B, S, D);
    check("add (no gate)", h, want, n, 1e-7);
    float *table = randoms(stride, 1), *y = malloc((size_t)B * stride * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < stride; i++) want[b * stride + i] = (double)table[i] + gate[b * stride + i];
    cpu_add_table(y, table, gate, B, stride);
    check("add_table", y, want, (size_t)B * stride, 1e-7);
    free(h), free(x), free(gate), free(want), free(table), free(y);
}

// im2col by hand: a 1 x 1 pixel clip of two frames (10, 20) has only centre taps
// (kh = kw = 1: columns 4, 13, 22); non-causal pads one first and one last frame, causal two
// first frames. Then zero padding in W on a 1 x 2 clip: tap kw = 2 of column 0 is column 1.
static void test_im2col_hand(void) {
    const float x[2] = {10, 20}, row[4] = {1, 2}; // row: H 1, W 2, C 1
    float cols[54];
    const float want_nc[2][3] = {{10, 10, 20}, {10, 20, 20}}, want_c[2][3] = {{10, 10, 10}, {10, 10, 20}};
    int ok = 1;
    for (int causal = 0; causal < 2; causal++) {
        cpu_im2col_3d(cols, x, 2, 1, 1, 1, causal, 0, 2);
        for (int t = 0; t < 2; t++)
            for (int k = 0; k < 27; k++) {
                float want = k % 9 == 4 ? (causal ? want_c : want_nc)[t][k / 9] : 0;
                ok &= cols[t * 27 + k] == want;
            }
    }
    cpu_im2col_3d(cols, row, 1, 1, 2, 1, 0, 0, 2); // F 1, H 1, W 2
    ok &= cols[9 + 3] == 0 && cols[9 + 4] == 1 && cols[9 + 5] == 2;        // column 0, kt 1, kh 1
    ok &= cols[27 + 9 + 3] == 1 && cols[27 + 9 + 4] == 2 && cols[27 + 9 + 5] == 0; // column 1
    ok &= cols[0] == 0 && cols[27 + 26] == 0;                              // kh 0 / 2: outside H
    ok ? passed++ : failed++;
    printf("%s im2col_3d by hand (edge frames, zero padding)\n", ok ? "ok  " : "FAIL");
}

// A 3x3x3 convolution as im2col (in chunks of rows, as the decoder runs it) + cpu_linear,
// against a direct convolution of the explicitly padded clip, in double.
static void test_conv3d(int F, int H, int W, int C, int Co, int causal, int chunk) {
    const size_t n_in = (size_t)F * H * W * C, rows = (size_t)F * H * W;
    float *x = randoms(n_in, 2), *w = randoms((size_t)Co * 27 * C, 1), *b = randoms(Co, 1);
    float *cols = malloc((size_t)chunk * 27 * C * sizeof(float)), *y = malloc(rows * Co * sizeof(float));
    double *want = zeros(rows * Co);
    int pad[64]; // frame of the padded clip -> frame of x: causal [0, 0, 0 .. F-1], else [0, 0 .. F-1, F-1]
    for (int i = 0; i < F + 2; i++) pad[i] = causal ? (i < 2 ? 0 : i - 2) : (i == 0 ? 0 : i > F ? F - 1 : i - 1);
    for (int t = 0; t < F; t++)
        for (int h = 0; h < H; h++)
            for (int v = 0; v < W; v++)
                for (int o = 0; o < Co; o++) {
                    double s = b[o];
                    for (int kt = 0; kt < 3; kt++)
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                int f = pad[t + kt], yy = h + kh - 1, xx = v + kw - 1;
                                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue; // zeros
                                for (int c = 0; c < C; c++)
                                    s += (double)w[((size_t)o * 27 + kt * 9 + kh * 3 + kw) * C + c] *
                                         x[(((size_t)f * H + yy) * W + xx) * C + c];
                            }
                    want[(((size_t)t * H + h) * W + v) * Co + o] = s;
                }
    for (int r0 = 0; r0 < (int)rows; r0 += chunk) {
        int n = (int)rows - r0 < chunk ? (int)rows - r0 : chunk;
        cpu_im2col_3d(cols, x, F, H, W, C, causal, r0, n);
        cpu_linear(y + (size_t)r0 * Co, cols, w, b, n, 27 * C, Co);
    }
    char what[96];
    snprintf(what, sizeof what, "conv3d (im2col + linear) %dx%dx%dx%d->%d causal %d chunk %d", F,
             H, W, C, Co, causal, chunk);
    check(what, y, want, rows * Co, 1e-5);
    free(x), free(w), free(b), free(cols), free(y), free(want);
}

// A 2-D 3x3 convolution (Qwen-Image's VAE) as im2col + linear, in chunks, against the direct sum
// with zero padding: "same" (stride 1, pad 1) and the downsampler's (stride 2, pad 0: its zeros
// lie after the last row and column only).
static void test_conv2d(int H, int W, int C, int Co, int stride, int pad, int chunk) {
    const int Ho = stride == 1 ? H : H / 2, Wo = stride == 1 ? W : W / 2;
    const size_t rows = (size_t)Ho * Wo;
    float *x = randoms((size_t)H * W * C, 2), *w = randoms((size_t)Co * 9 * C, 1);
    float *b = randoms(Co, 1), *cols = malloc((size_t)chunk * 9 * C * sizeof(float));
    float *y = malloc(rows * Co * sizeof(float));
    double *want = zeros(rows * Co);
    for (int ho = 0; ho < Ho; ho++)
        for (int wo = 0; wo < Wo; wo++)
            for (int o = 0; o < Co; o++) {
                double s = b[o];
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        const int yy = ho * stride + kh - pad, xx = wo * stride + kw - pad;
                        if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue; // zeros
                        for (int c = 0; c < C; c++)
                            s += (double)w[((size_t)o * 9 + kh * 3 + kw) * C + c] *
                                 x[((size_t)yy * W + xx) * C + c];
                    }
                want[((size_t)ho * Wo + wo) * Co + o] = s;
            }
    for (int r0 = 0; r0 < (int)rows; r0 += chunk) {
        int n = (int)rows - r0 < chunk ? (int)rows - r0 : chunk;
        cpu_im2col_2d(cols, x, H, W, C, stride, pad, Wo, r0, n);
        cpu_linear(y + (size_t)r0 * Co, cols, w, b, n, 9 * C, Co);
    }
    char what[96];
    snprintf(what, sizeof what, "conv2d (im2col + linear) %dx%dx%d->%d stride %d pad %d chunk %d",
             H, W, C, Co, stride, pad, chunk);
    check(what, y, want, rows * Co, 1e-5);
    float *up = malloc((size_t)4 * H * W * C * sizeof(float));
    double *up_want = zeros((size_t)4 * H * W * C);
    cpu_upsample_nearest2(up, x, H, W, C);
    for (size_t i = 0; i < (size_t)4 * H * W * C; i++) {
        const size_t c = i % C, p = i / C, yy = p / (2 * W), xx = p % (2 * W);
        up_want[i] = x[((yy / 2) * W + xx / 2) * C + c];
    }
    snprintf(what, sizeof what, "upsample_nearest2 %dx%dx%d", H, W, C);
    check(what, up, up_want, (size_t)4 * H * W * C, 0);
    free(x), free(w), free(b), free(cols), free(y), free(want), free(up), free(up_want);
}

// Depth-to-space by hand: one cell of 8 channels, st = ss = 2: frame it, row ih, column iw
// holds channel it*4 + ih*2 + iw; drop 1 keeps frame 1 (channels 4..7); a repeated, added copy.
static void test_depth_to_space_hand(void) {
    const float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float y[16];
    int ok = 1;
    cpu_depth_to_space(y, x, 1, 1, 1, 1, 2, 2, 0, 1, 0);
    for (int i = 0; i < 8; i++) ok &= y[i] == i; // [t, h, w] order = channel order
    cpu_depth_to_space(y, x, 1, 1, 1, 1, 2, 2, 1, 1, 0);
    for (int i = 0; i < 4; i++) ok &= y[i] == 4 + i;
    for (int i = 0; i < 8; i++) y[i] = 100;
    cpu_depth_to_space(y, x, 1, 1, 1, 1, 2, 2, 1, 2, 1); // 2 output channels, both channel 0's
    for (int i = 0; i < 4; i++) ok &= y[2 * i] == 104 + i && y[2 * i + 1] == 104 + i;
    ok ? passed++ : failed++;
    printf("%s depth_to_space by hand (order, dropped frame, repeat-add)\n", ok ? "ok  " : "FAIL");
}

// Depth-to-space against its scatter form (each input element to its place), random sizes.
static void test_depth_to_space(int F, int H, int W, int C, int st, int ss, int drop, int rep) {
    const int g = st * ss * ss, Fo = F * st - drop, c_out = C * rep;
    const size_t n_out = (size_t)Fo * H * ss * W * ss * c_out;
    float *x = randoms((size_t)F * H * W * C * g, 1), *y = malloc(n_out * sizeof(float));
    double *want = zeros(n_out);
    for (int f = 0; f < F; f++)
        for (int h = 0; h < H; h++)
            for (int v = 0; v < W; v++)
                for (int c = 0; c < C; c++)
                    for (int it = 0; it < st; it++)
                        for (int ih = 0; ih < ss; ih++)
                            for (int iw = 0; iw < ss; iw++) {
                                int t = f * st + it - drop;
                                if (t < 0) continue;
                                float val = x[(((size_t)f * H + h) * W + v) * C * g + (c * st + it) * ss * ss + ih * ss + iw];
                                size_t cell = ((size_t)t * H * ss + h * ss + ih) * W * ss + v * ss + iw;
                                for (int r = 0; r < rep; r++) want[cell * c_out + r * C + c] = val;
                            }
    cpu_depth_to_space(y, x, F, H, W, C, st, ss, drop, c_out, 0);
    char what[96];
    snprintf(what, sizeof what, "depth_to_space %dx%dx%dx%d st%d ss%d drop%d x%d", F, H, W, C, st,
             ss, drop, rep);
    check(what, y, want, n_out, 0);
    free(x), free(y), free(want);
}

static void test_layer_norm(int rows, int D, float scale, int affine) {
    const size_t n = (size_t)rows * D;
    float *x = randoms(n, scale), *w = randoms(D, 2), *b = randoms(D, 1), *y = malloc(n * sizeof(float));
    double *want = zeros(n);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * D;
        double mean = 0, var = 0;
        for (int i = 0; i < D; i++) mean += xr[i] / (double)D;
        for (int i = 0; i < D; i++) var += (xr[i] - mean) * (xr[i] - mean) / D;
        for (int i = 0; i < D; i++)
            want[(size_t)r * D + i] = (xr[i] - mean) / sqrt(var + 1e-6) * (affine ? w[i] : 1) + (affine ? b[i] : 0);
    }
    memcpy(y, x, n * sizeof(float));
    cpu_layer_norm(y, y, affine ? w : NULL, affine ? b : NULL, rows, D, 1e-6f); // in place
    char what[96];
    snprintf(what, sizeof what, "layer_norm rows %d D %d scale %g affine %d", rows, D, scale, affine);
    check(what, y, want, n, 1e-5);
    free(x), free(w), free(b), free(y), free(want);
}

// Symmetric per-row int8 against a naive quantisation: every code and scale the same, the
// returned error the naive maximum; rows spread over several tasks with a short last one, and an
// all-zero row (scale 1, codes 0).
static void test_quantize_q8(int rows, int cols) {
    float *w = randoms((size_t)rows * cols, 3), *scale = malloc((size_t)rows * sizeof(float));
    int8_t *q = malloc((size_t)rows * cols);
    memset(w + (size_t)(rows / 2) * cols, 0, (size_t)cols * sizeof(float));
    const float got = cpu_quantize_q8(w, rows, cols, q, scale);
    int same = 1;
    double worst = 0, most = 0;
    for (int r = 0; r < rows; r++) {
        float m = 0;
        for (int c = 0; c < cols; c++) m = fmaxf(m, fabsf(w[(size_t)r * cols + c]));
        const float s = m > 0 ? m / 127.0f : 1.0f;
        same &= scale[r] == s;
        for (int c = 0; c < cols; c++) {
            const float x = w[(size_t)r * cols + c], v = fminf(127, fmaxf(-127, nearbyintf(x / s)));
            same &= q[(size_t)r * cols + c] == (int8_t)v;
            worst = fmax(worst, fabsf(x - v * s));
        }
        most = fmax(most, m);
    }
    const int ok = same && got == (float)worst / (float)most && got > 0 && got < 1.0f / 127;
    passed += ok, failed += !ok;
    printf("%s quantize_q8 %dx%d: codes and scales %s, error %.3g (naive %.3g)\n",
           ok ? "ok  " : "FAIL", rows, cols, same ? "identical" : "DIFFER", got, worst / most);
    free(w), free(scale), free(q);
}

int main(void) {
    test_linear(1, 1, 1, 1);
    test_linear(37, 29, 53, 1);
    test_linear(130, 64, 96, 1000); // large magnitudes
    test_linear(300, 40, 600, 1);   // 2 x 3 tiles
    test_linear_repeats(600, 64, 700);
    test_quantize_q8(37, 29);
    test_activations();
    test_timestep();
    for (int kind = 0; kind < 3; kind++) {
        test_norm(kind, 2, 3, 40, 1);
        test_norm(kind, 1, 7, 33, 1e4f); // odd width, large magnitudes
    }
    test_rope(2, 5, 40);
    test_rope(1, 3, 34);
    test_rope_split(2, 5, 3, 8);
    test_rope_split(1, 4, 2, 6); // an odd half
    test_gate_and_modulate(2, 7, 3, 5);
    test_attention(2, 9, 9, 2, 16, 1, 0);
    test_attention(2, 200, 7, 3, 8, 1, 2);   // cross-attention, masked keys, > one query block
    test_attention(1, 130, 130, 5, 8, 8, 0); // large scores: the max subtraction matters
    test_attention(1, 3, 5, 1, 3, 1, 5);     // every key masked: uniform weights, still finite
    test_attention_causal(1, 7, 2, 1, 16, 0, 1);
    test_attention_causal(2, 33, 4, 2, 16, 4, 1);     // grouped heads, a window of 4
    test_attention_causal(1, 300, 6, 2, 8, 0, 8);     // > 2 query blocks, large scores
    test_attention_causal(2, 300, 4, 4, 5, 50, 1);    // the window inside a block, odd dh
    test_attention_causal(1, 290, 4, 1, 16, 130, 1);  // a window wider than a block
    test_attention_causal(1, 260, 2, 2, 32, 300, 1);  // a window wider than S: plain causal
    test_attention_causal(1, 1, 1, 1, 4, 1, 1);       // one token; a window of 1 sees itself
    test_attention_causal(1, 9, 2, 1, 4, 1, 1);
    test_gelu_gate(7, 13);
    test_gelu_gate(3, 64);
    test_residual();
    test_im2col_hand();
    test_conv3d(3, 4, 5, 3, 4, 0, 7);  // chunks that end mid-row and mid-frame
    test_conv3d(4, 3, 2, 5, 2, 1, 24); // causal, one chunk
    test_conv3d(1, 1, 1, 2, 3, 0, 1);  // a single cell: every neighbour is padding
    test_conv2d(5, 7, 3, 4, 1, 1, 6);  // chunks that end mid-row
    test_conv2d(6, 8, 2, 3, 2, 0, 5);  // the downsampler
    test_conv2d(7, 5, 2, 2, 2, 0, 40); // odd sides: the last row and column see one zero pad
    test_depth_to_space_hand();
    test_depth_to_space(3, 2, 3, 2, 2, 2, 1, 1); // the upsampler
    test_depth_to_space(2, 3, 2, 3, 2, 2, 1, 4); // the residual path: channels repeated
    test_depth_to_space(2, 2, 3, 3, 1, 4, 0, 1); // the unpatchify
    test_layer_norm(5, 16, 1, 1);
    test_layer_norm(3, 37, 1e4f, 1); // odd width, large magnitudes
    test_layer_norm(2, 8, 3, 0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
