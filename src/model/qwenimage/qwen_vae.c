// qwen_vae.c: the Qwen-Image VAE's encoder and decoder on one frame, op by op in the reference's
// order (QwenImageEncoder3d / QwenImageDecoder3d on their first-frame pass), channels-last.
#include "qwen_vae.h"

#include <stdlib.h>
#include <string.h>

enum { COLS_FLOATS = 1 << 24 }; // the im2col workspace: 64 MiB of fp32, whatever the image

// The buffers of one encode or decode: four activations of the largest stage and the im2col
// chunk, on the backend.
typedef struct {
    br_backend *be;
    float *x, *t, *u, *h; // [H, W, C] activations: the stream, two temporaries, the shortcut
    float *cols;          // [rows of a chunk, 9 * C_in]
    void *q, *k, *v, *o;  // the middle block's attention operands [H*W, C]
} vae_run;

// RMS norm of QwenImageRMS_norm: x / max(|x|, 1e-12) * sqrt(C) * gamma over each pixel's
// channels, as the op's x / sqrt(mean(x^2) + eps) * gamma with an eps far below any |x|^2 / C
// that is not already 0 (the two agree to rounding wherever |x| > 1e-12).
static void rms(vae_run *r, float *x, const float *gamma, int pixels, int C) {
    r->be->rms_norm(r->be, x, gamma, pixels, C, 1e-24f / (float)C);
}

// y[Ho*Wo, C_out] = conv(x[H, W, C_in]): im2col + linear by chunks of output pixels, or the
// linear alone for a 1x1.
static void conv(vae_run *r, const qwen_vae_conv *cv, const float *x, int H, int W, int stride,
                 int pad, float *y) {
    br_backend *be = r->be;
    const int c_in = cv->l.n_in / cv->taps, Ho = stride == 1 ? H : H / 2;
    const int Wo = stride == 1 ? W : W / 2, pixels = Ho * Wo;
    if (cv->taps == 1) {
        nn_apply(be, y, x, &cv->l, pixels);
        return;
    }
    const int chunk = COLS_FLOATS / (9 * c_in) > 0 ? COLS_FLOATS / (9 * c_in) : 1;
    for (int p0 = 0; p0 < pixels; p0 += chunk) {
        const int n = pixels - p0 < chunk ? pixels - p0 : chunk;
        be->im2col_2d(be, r->cols, x, H, W, c_in, stride, pad, Wo, p0, n);
        nn_apply(be, y + (size_t)p0 * cv->l.n_out, r->cols, &cv->l, n);
    }
}

// x[H, W, C_in] -> x[H, W, C_out]: QwenImageResidualBlock.
static void res_block(vae_run *r, const qwen_vae_res *b, int H, int W) {
    br_backend *be = r->be;
    const int pixels = H * W;
    if (b->c_in != b->c_out) conv(r, &b->shortcut, r->x, H, W, 1, 0, r->h);
    else be->copy(be, r->h, r->x, (size_t)pixels * b->c_in);
    rms(r, r->x, b->norm1, pixels, b->c_in);
    be->silu(be, r->x, (size_t)pixels * b->c_in);
    conv(r, &b->conv1, r->x, H, W, 1, 1, r->t);
    rms(r, r->t, b->norm2, pixels, b->c_out);
    be->silu(be, r->t, (size_t)pixels * b->c_out);
    conv(r, &b->conv2, r->t, H, W, 1, 1, r->x);
    be->add_gated(be, r->x, r->h, NULL, 0, 1, pixels, b->c_out, NULL);
}

// QwenImageAttentionBlock: one head over the H*W pixels, dh = C; then proj and the identity.
static void attention_block(vae_run *r, const qwen_vae_mid *m, int H, int W, int C) {
    br_backend *be = r->be;
    const size_t pixels = (size_t)H * W, n = pixels * C;
    be->copy(be, r->t, r->x, n);
    rms(r, r->t, m->attn_norm, (int)pixels, C);
    const nn_linear *l[3] = {&m->to_q, &m->to_k, &m->to_v};
    void *op[3] = {r->q, r->k, r->v};
    for (int i = 0; i < 3; i++) {
        nn_apply(be, r->u, r->t, l[i], (int)pixels);
        be->to_operand(be, op[i], r->u, n);
    }
    be->attention(be, r->o, r->q, r->k, r->v, NULL, 1, (int)pixels, (int)pixels, 1, C);
    nn_apply_op(be, r->u, r->o, &m->proj, (int)pixels);
    be->add_gated(be, r->x, r->u, NULL, 0, 1, (int)pixels, C, NULL);
}

static void mid_block(vae_run *r, const qwen_vae_mid *m, int H, int W, int C) {
    res_block(r, &m->res[0], H, W);
    attention_block(r, m, H, W, C);
    res_block(r, &m->res[1], H, W);
}

// norm_out, SiLU, conv_out: x[H, W, C] -> t[H, W, C_out].
static void head(vae_run *r, const float *gamma, const qwen_vae_conv *out, int H, int W, int C) {
    rms(r, r->x, gamma, H * W, C);
    r->be->silu(r->be, r->x, (size_t)H * W * C);
    conv(r, out, r->x, H, W, 1, 1, r->t);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

// The largest activation (floats) of an encode of H x W pixels or a decode to them: at each
// resolution the widest of a stage's input and output, and an upsampler's doubled image before
// its convolution halves the width.
static size_t largest(const qwen_vae_config *cfg, int H, int W) {
    const int n = cfg->levels;
    size_t most = (size_t)H * W * cfg->input_channels;
    int c = cfg->base_dim;
    for (int i = 0; i < n; i++) { // encoder level i, at 1/2^i
        const int out = cfg->base_dim * cfg->dim_mult[i];
        most = max_size(most, (size_t)(H >> i) * (W >> i) * (size_t)(c > out ? c : out));
        c = out;
    }
    c = cfg->base_dim * cfg->dim_mult[n - 1];
    for (int i = 0; i < n; i++) { // decoder up block i, at 1/2^(n-1-i)
        const int out = cfg->base_dim * cfg->dim_mult[n - 1 - i], s = n - 1 - i;
        if (i > 0) c /= 2;
        most = max_size(most, (size_t)(H >> s) * (W >> s) * (size_t)(c > out ? c : out));
        if (i < n - 1) most = max_size(most, (size_t)(H >> (s - 1)) * (W >> (s - 1)) * out);
        c = out;
    }
    return most;
}

static void run_free(vae_run *r) {
    float **bufs[] = {&r->x, &r->t, &r->u, &r->h, &r->cols};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) r->be->release(r->be, *bufs[i]);
    void **ops[] = {&r->q, &r->k, &r->v, &r->o};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) r->be->release(r->be, *ops[i]);
}

static br_status run_alloc(vae_run *r, br_backend *be, const qwen_vae_config *cfg, int H, int W) {
    memset(r, 0, sizeof *r);
    r->be = be;
    const size_t most = largest(cfg, H, W);
    const int n = cfg->levels - 1;
    const size_t mid = (size_t)(H >> n) * (W >> n) * cfg->base_dim * cfg->dim_mult[n];
    if (!(r->x = be->alloc(be, most, "VAE activations")) ||
        !(r->t = be->alloc(be, most, "VAE activations")) ||
        !(r->u = be->alloc(be, most, "VAE activations")) ||
        !(r->h = be->alloc(be, most, "VAE shortcut")) ||
        !(r->cols = be->alloc(be, COLS_FLOATS, "VAE im2col workspace")) ||
        !(r->q = br_alloc_operand(be, mid, "VAE attention queries")) ||
        !(r->k = br_alloc_operand(be, mid, "VAE attention keys")) ||
        !(r->v = br_alloc_operand(be, mid, "VAE attention values")) ||
        !(r->o = br_alloc_operand(be, mid, "VAE attention output"))) {
        run_free(r);
        return BR_ENOMEM;
    }
    return BR_OK;
}

// Host [C, H*W] <-> [H*W, C].
static void transpose(float *dst, const float *src, int rows, int cols) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
}

br_status qwen_vae_encode(br_backend *be, const qwen_vae *vae, const float *image, int H, int W,
                          float *mean) {
    const qwen_vae_config *cfg = &vae->cfg;
    const int n = cfg->levels, R = cfg->num_res_blocks, z = cfg->z_dim;
    const int h = H >> (n - 1), w = W >> (n - 1);
    if (H % (1 << (n - 1)) || W % (1 << (n - 1)))
        return br_fail(BR_EINPUT, "the VAE encodes images whose sides are multiples of %d, not "
                       "%d x %d", 1 << (n - 1), W, H);
    vae_run r;
    BR_TRY(run_alloc(&r, be, cfg, H, W));
    const size_t px = (size_t)H * W;
    float *host = malloc(px * (cfg->input_channels > 2 * z ? cfg->input_channels : 2 * z) * sizeof(float));
    if (!host) {
        run_free(&r);
        return br_fail(BR_ENOMEM, "out of memory for the VAE's input");
    }
    transpose(host, image, cfg->input_channels, (int)px);
    be->upload(be, r.t, host, px * cfg->input_channels);
    conv(&r, &vae->enc_conv_in, r.t, H, W, 1, 1, r.x);
    int c = cfg->base_dim, Hl = H, Wl = W;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < R; j++) {
            res_block(&r, &vae->enc_res[i * R + j], Hl, Wl);
            c = vae->enc_res[i * R + j].c_out;
        }
        if (i == n - 1) break;
        conv(&r, &vae->enc_down[i], r.x, Hl, Wl, 2, 0, r.t); // zero pad after, stride 2
        Hl /= 2, Wl /= 2;
        be->copy(be, r.x, r.t, (size_t)Hl * Wl * c);
    }
    mid_block(&r, &vae->enc_mid, h, w, c);
    head(&r, vae->enc_norm_out, &vae->enc_conv_out, h, w, c);
    conv(&r, &vae->quant_conv, r.t, h, w, 1, 0, r.x); // (mean | logvar), channels last
    be->download(be, host, r.x, (size_t)h * w * 2 * z);
    for (int p = 0; p < h * w; p++) // the mean: channels [0, z) of each pixel, channels first
        for (int k = 0; k < z; k++) mean[(size_t)k * h * w + p] = host[(size_t)p * 2 * z + k];
    free(host);
    run_free(&r);
    return BR_OK;
}

size_t qwen_vae_decode_bytes(const qwen_vae_config *cfg, int H, int W) {
    const int n = cfg->levels - 1;
    const size_t mid = (size_t)(H >> n) * (W >> n) * cfg->base_dim * cfg->dim_mult[n];
    return (4 * largest(cfg, H, W) + COLS_FLOATS + 4 * mid) * sizeof(float);
}

br_status qwen_vae_decode(br_backend *be, const qwen_vae *vae, const float *latents, int h, int w,
                          int clamp, float *image) {
    const qwen_vae_config *cfg = &vae->cfg;
    const int n = cfg->levels, R = cfg->num_res_blocks + 1, z = cfg->z_dim;
    const int H = h << (n - 1), W = w << (n - 1);
    vae_run r;
    BR_TRY(run_alloc(&r, be, cfg, H, W));
    const size_t px = (size_t)H * W, cells = (size_t)h * w;
    float *host = malloc(px * cfg->input_channels * sizeof(float) + cells * z * sizeof(float));
    if (!host) {
        run_free(&r);
        return br_fail(BR_ENOMEM, "out of memory for the VAE's output");
    }
    transpose(host, latents, z, (int)cells);
    be->upload(be, r.t, host, cells * z);
    conv(&r, &vae->post_quant_conv, r.t, h, w, 1, 0, r.u);
    conv(&r, &vae->dec_conv_in, r.u, h, w, 1, 1, r.x);
    int c = vae->dec_conv_in.l.n_out, Hl = h, Wl = w;
    mid_block(&r, &vae->dec_mid, h, w, c);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < R; j++) {
            res_block(&r, &vae->dec_res[i * R + j], Hl, Wl);
            c = vae->dec_res[i * R + j].c_out;
        }
        if (i == n - 1) break;
        be->upsample_nearest2(be, r.t, r.x, Hl, Wl, c); // nearest-exact at x2: nearest
        Hl *= 2, Wl *= 2;
        conv(&r, &vae->dec_up[i], r.t, Hl, Wl, 1, 1, r.x);
        c /= 2;
    }
    head(&r, vae->dec_norm_out, &vae->dec_conv_out, H, W, c);
    be->download(be, host, r.t, px * cfg->input_channels);
    transpose(image, host, (int)px, cfg->input_channels);
    for (size_t i = 0; clamp && i < px * cfg->input_channels; i++)
        image[i] = image[i] < -1.0f ? -1.0f : image[i] > 1.0f ? 1.0f : image[i];
    free(host);
    run_free(&r);
    return BR_OK;
}
