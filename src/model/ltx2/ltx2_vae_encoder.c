// ltx2_vae_encoder.c: the encoder's weights (encoder.* of the VAE checkpoint) and its forward,
// op by op in the order of LTX2VideoEncoder3d.forward. Activations are channels-last
// [F, H, W, C] in three buffers of the size of the largest tensor (x the running state, a and b
// scratch) and an im2col buffer; the video goes up and the latents come down through the host,
// patchified and transposed there.
#include "ltx2_vae_encoder.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float NORM_EPS = 1e-8f; // PerChannelRMSNorm: norm1, norm2, norm_out

// --- weights ---------------------------------------------------------------------------------

static int n_resnets(const ltx2_vae_encoder_config *cfg) {
    int n = cfg->mid_layers;
    for (int i = 0; i < cfg->n_blocks; i++) n += cfg->down[i].layers;
    return n;
}

// The ResNets of `block` (a down block or the mid block), C -> C, into res[0 .. layers - 1].
static br_status load_resnets(br_backend *be, br_checkpoint *ck, const char *block, int layers,
                              int C, ltx2_vae_resnet *res) {
    char name[256];
    for (int k = 0; k < layers; k++) {
        snprintf(name, sizeof name, "%s.resnets.%d.conv1.conv", block, k);
        BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, C, C, &res[k].conv1));
        snprintf(name, sizeof name, "%s.resnets.%d.conv2.conv", block, k);
        BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, C, C, &res[k].conv2));
    }
    return BR_OK;
}

static br_status load_stats(br_checkpoint *ck, const ltx2_vae_encoder_config *cfg,
                            ltx2_vae_encoder *enc) {
    const int64_t c_lat = cfg->latent_channels;
    BR_TRY(br_ckpt_load(ck, "latents_mean", 1, &c_lat, &enc->latents_mean));
    return br_ckpt_load(ck, "latents_std", 1, &c_lat, &enc->latents_std);
}

br_status ltx2_vae_encoder_load(br_backend *be, br_checkpoint *ck,
                                const ltx2_vae_encoder_config *cfg, ltx2_vae_encoder *enc) {
    memset(enc, 0, sizeof *enc);
    enc->cfg = *cfg;
    if (!be->space_to_depth)
        return br_fail(BR_EINPUT, "LTX-2's VAE encoder needs the space_to_depth op, which the %s "
                                  "backend lacks: encode on the CPU", be->name);
    const int p = cfg->patch_size, C_lat = cfg->latent_channels;
    char name[256];
    BR_TRY(load_stats(ck, cfg, enc));
    BR_TRY(ltx_vae_conv_load(be, ck, "encoder.conv_in.conv", 3, 3, cfg->in_channels * p * p,
                             C_lat, &enc->conv_in));
    if (!(enc->resnets = calloc((size_t)n_resnets(cfg) + 1, sizeof *enc->resnets)))
        return br_fail(BR_ENOMEM, "out of host memory for the VAE encoder");
    ltx2_vae_resnet *res = enc->resnets;
    for (int i = 0; i < cfg->n_blocks; i++) {
        const ltx2_vae_down_block *b = &cfg->down[i];
        snprintf(name, sizeof name, "encoder.down_blocks.%d", i);
        BR_TRY(load_resnets(be, ck, name, b->layers, b->c_in, res));
        res += b->layers;
        if (b->st * b->ss == 1) continue;
        snprintf(name, sizeof name, "encoder.down_blocks.%d.downsamplers.0.conv.conv", i);
        BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, b->c_in, b->conv_channels,
                                 &enc->downsampler[i]));
    }
    BR_TRY(load_resnets(be, ck, "encoder.mid_block", cfg->mid_layers, cfg->mid_channels, res));
    return ltx_vae_conv_load(be, ck, "encoder.conv_out.conv", 3, 3, cfg->mid_channels,
                             C_lat + 1, &enc->conv_out);
}

void ltx2_vae_encoder_free(br_backend *be, ltx2_vae_encoder *enc) {
    ltx_vae_conv_free(be, &enc->conv_in);
    for (int k = 0; enc->resnets && k < n_resnets(&enc->cfg); k++) {
        ltx_vae_conv_free(be, &enc->resnets[k].conv1);
        ltx_vae_conv_free(be, &enc->resnets[k].conv2);
    }
    free(enc->resnets);
    enc->resnets = NULL;
    for (int i = 0; i < LTX2_VAE_MAX_DOWN; i++) ltx_vae_conv_free(be, &enc->downsampler[i]);
    ltx_vae_conv_free(be, &enc->conv_out);
    free(enc->latents_mean);
    free(enc->latents_std);
    enc->latents_mean = enc->latents_std = NULL;
}

// --- sizes -----------------------------------------------------------------------------------

br_status ltx2_vae_latent_size(const ltx2_vae_encoder_config *cfg, int F, int H, int W, int *Fl,
                               int *Hl, int *Wl) {
    const int t = cfg->time_factor, s = cfg->space_factor;
    if (F < 1 || H < 1 || W < 1 || (F - 1) % t || H % s || W % s)
        return br_fail(BR_EINPUT, "LTX-2 VAE encoder: a video of %d frames of %dx%d: it takes 1 + "
                                  "a multiple of %d frames whose width and height are multiples "
                                  "of %d", F, W, H, t, s);
    *Fl = (F - 1) / t + 1, *Hl = H / s, *Wl = W / s;
    return BR_OK;
}

// Floats of an encode's buffers, from one walk over the encoder's levels.
typedef struct {
    size_t act;       // each activation buffer: the largest tensor
    size_t full_cols; // the largest whole im2col of one convolution
    size_t widest;    // the widest convolution input
    size_t max_rows;  // the most grid cells of any level (bounded by INT_MAX for the ops)
} enc_sizes;

static void grow(size_t *m, size_t v) { *m = v > *m ? v : *m; }

static void note_conv(enc_sizes *s, size_t rows, int c_in, int c_out) {
    grow(&s->act, rows * c_in);
    grow(&s->act, rows * c_out);
    grow(&s->full_cols, rows * 27 * c_in);
    grow(&s->widest, (size_t)c_in);
    grow(&s->max_rows, rows);
}

// Walks the levels of a video of F frames of H x W (sizes checked by ltx2_vae_latent_size).
static void walk_sizes(const ltx2_vae_encoder_config *cfg, int F, int H, int W, enc_sizes *s) {
    const int p = cfg->patch_size;
    memset(s, 0, sizeof *s);
    H /= p, W /= p;
    note_conv(s, (size_t)F * H * W, cfg->in_channels * p * p, cfg->latent_channels);
    for (int i = 0; i < cfg->n_blocks; i++) {
        const ltx2_vae_down_block *b = &cfg->down[i];
        note_conv(s, (size_t)F * H * W, b->c_in, b->c_in);
        F += b->st - 1; // the copies of frame 0 put in front
        note_conv(s, (size_t)F * H * W, b->c_in, b->conv_channels);
        F /= b->st, H /= b->ss, W /= b->ss;
        grow(&s->act, (size_t)F * H * W * b->c_out);
    }
    note_conv(s, (size_t)F * H * W, cfg->mid_channels, cfg->latent_channels + 1);
}

// Floats of the im2col buffer: a chunk of at least one output cell, at most one whole im2col.
static size_t cols_floats(const enc_sizes *s) {
    const size_t n = s->act > 27 * s->widest ? s->act : 27 * s->widest;
    return n < s->full_cols ? n : s->full_cols;
}

// --- one encode ------------------------------------------------------------------------------

typedef struct {
    br_backend *be;
    const ltx2_vae_encoder *enc;
    float *x, *a, *b; // activations [F, H, W, C]: the running state, two scratch
    float *cols;      // [chunk rows, 27 C]
    size_t cols_floats;
    int F, H, W;      // the grid of the current level
} enc_run;

static void run_release(enc_run *r) {
    float *bufs[4] = {r->x, r->a, r->b, r->cols};
    for (int i = 0; i < 4; i++)
        if (bufs[i]) r->be->release(r->be, bufs[i]);
    r->x = r->a = r->b = r->cols = NULL;
}

static br_status run_alloc(enc_run *r, const enc_sizes *s) {
    br_backend *be = r->be;
    r->cols_floats = cols_floats(s);
    if ((r->x = be->alloc(be, s->act, "VAE encoder activations")) &&
        (r->a = be->alloc(be, s->act, "VAE encoder activations")) &&
        (r->b = be->alloc(be, s->act, "VAE encoder activations")) &&
        (r->cols = be->alloc(be, r->cols_floats, "VAE encoder im2col")))
        return BR_OK;
    run_release(r);
    return BR_ENOMEM;
}

static int grid_rows(const enc_run *r) { return r->F * r->H * r->W; } // < INT_MAX: checked

static void conv(enc_run *r, float *y, const float *x, const ltx_vae_conv *cv) {
    ltx_vae_conv_apply(r->be, cv, y, x, r->F, r->H, r->W, r->enc->cfg.causal, 0, grid_rows(r),
                       r->cols, r->cols_floats);
}

// y = SiLU(RMSNorm(x)) over C channels (eps 1e-8, no weight).
static void norm_silu(enc_run *r, float *y, const float *x, int C) {
    const size_t n = (size_t)grid_rows(r) * C;
    r->be->copy(r->be, y, x, n);
    r->be->rms_norm(r->be, y, NULL, grid_rows(r), C, NORM_EPS);
    r->be->silu(r->be, y, n);
}

// LTX2VideoResnetBlock3d C -> C (no modulation, no noise, no shortcut), on r->x in place.
static void resnet(enc_run *r, const ltx2_vae_resnet *res) {
    const int C = res->conv1.c_in;
    norm_silu(r, r->a, r->x, C);
    conv(r, r->b, r->a, &res->conv1);
    norm_silu(r, r->a, r->b, C);
    conv(r, r->b, r->a, &res->conv2);
    r->be->add_gated(r->be, r->x, r->b, NULL, 0, 1, grid_rows(r), C, NULL);
}

// LTX2VideoDownsampler3d: frame 0 put st - 1 more times in front; then x = the shuffled input
// averaged over runs of `group` channels (the residual), plus the shuffled convolution.
static void downsample(enc_run *r, const ltx_vae_conv *cv, const ltx2_vae_down_block *b) {
    br_backend *be = r->be;
    const size_t frame = (size_t)r->H * r->W * b->c_in;
    for (int k = 0; k < b->st - 1; k++) be->copy(be, r->a + k * frame, r->x, frame);
    be->copy(be, r->a + (b->st - 1) * frame, r->x, r->F * frame);
    r->F += b->st - 1;
    conv(r, r->b, r->a, cv);
    be->space_to_depth(be, r->x, r->a, r->F, r->H, r->W, b->c_in, b->st, b->ss, b->group, 0);
    be->space_to_depth(be, r->x, r->b, r->F, r->H, r->W, b->conv_channels, b->st, b->ss, 1, 1);
    r->F /= b->st, r->H /= b->ss, r->W /= b->ss;
}

// The patchified video (in r->a) -> conv_out's output [Fl, Hl, Wl, C_lat + 1] in r->b.
static void forward(enc_run *r) {
    const ltx2_vae_encoder *enc = r->enc;
    const ltx2_vae_encoder_config *cfg = &enc->cfg;
    const ltx2_vae_resnet *res = enc->resnets;
    conv(r, r->x, r->a, &enc->conv_in);
    for (int i = 0; i < cfg->n_blocks; i++) {
        const ltx2_vae_down_block *b = &cfg->down[i];
        for (int k = 0; k < b->layers; k++) resnet(r, res++);
        if (b->st * b->ss > 1) downsample(r, &enc->downsampler[i], b);
    }
    for (int k = 0; k < cfg->mid_layers; k++) resnet(r, res++);
    norm_silu(r, r->a, r->x, cfg->mid_channels);
    conv(r, r->b, r->a, &enc->conv_out);
}

// video[C, F, H, W] -> host[F, H/p, W/p, C p^2], channel (c p + j) p + i holding pixel
// (p h + i, p w + j): the reference's patchify puts the column offset before the row offset.
static void patchify(const float *video, int C, int F, int H, int W, int p, float *host) {
    const int Hp = H / p, Wp = W / p, cp = C * p * p;
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    const size_t cell = ((size_t)f * Hp + y / p) * Wp + x / p;
                    host[cell * cp + (c * p + x % p) * p + y % p] =
                        video[(((size_t)c * F + f) * H + y) * W + x];
                }
}

// out[cells, C_lat + 1] -> mean[C_lat, cells] and logvar (the last channel, clamped).
static void split_moments(const float *out, int C, size_t cells, float *mean, float *logvar) {
    for (size_t i = 0; i < cells; i++) {
        const float *o = out + i * (C + 1);
        float lv = o[C] < -30.0f ? -30.0f : o[C] > 20.0f ? 20.0f : o[C];
        for (int c = 0; c < C; c++) {
            mean[(size_t)c * cells + i] = o[c];
            if (logvar) logvar[(size_t)c * cells + i] = lv;
        }
    }
}

br_status ltx2_vae_encode(br_backend *be, const ltx2_vae_encoder *enc, const float *video, int F,
                          int H, int W, float *mean, float *logvar) {
    const ltx2_vae_encoder_config *cfg = &enc->cfg;
    int Fl, Hl, Wl;
    BR_TRY(ltx2_vae_latent_size(cfg, F, H, W, &Fl, &Hl, &Wl));
    enc_sizes s;
    walk_sizes(cfg, F, H, W, &s);
    if (s.max_rows > INT_MAX || s.act > ((size_t)1 << 40))
        return br_fail(BR_EINPUT, "LTX-2 VAE encoder: a video of %d frames of %dx%d is too large "
                                  "to encode in one piece", F, W, H);
    const int p = cfg->patch_size, C_lat = cfg->latent_channels;
    const size_t cells = (size_t)Fl * Hl * Wl, n_in = (size_t)cfg->in_channels * F * H * W;
    const size_t n_out = cells * (C_lat + 1);
    float *host = malloc((n_in > n_out ? n_in : n_out) * sizeof(float));
    if (!host) return br_fail(BR_ENOMEM, "out of host memory for the VAE encoder");
    enc_run r = {.be = be, .enc = enc, .F = F, .H = H / p, .W = W / p};
    br_status st = run_alloc(&r, &s);
    if (st == BR_OK) {
        patchify(video, cfg->in_channels, F, H, W, p, host);
        be->upload(be, r.a, host, n_in);
        forward(&r);
        be->download(be, host, r.b, n_out);
        split_moments(host, C_lat, cells, mean, logvar);
    }
    run_release(&r);
    free(host);
    return st;
}

void ltx2_vae_normalize(const ltx2_vae_encoder *enc, float *latents, size_t cells) {
    const float scale = enc->cfg.scaling_factor;
    for (int c = 0; c < enc->cfg.latent_channels; c++) {
        float *x = latents + (size_t)c * cells;
        for (size_t i = 0; i < cells; i++)
            x[i] = (x[i] - enc->latents_mean[c]) * scale / enc->latents_std[c];
    }
}
