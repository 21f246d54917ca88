// ltx_vae.c: the decoder's forward on one tile, op by op in the reference's order
// (LTXVideoDecoder3d.forward; LTX2VideoDecoder3d.forward differs only in the upsamplers'
// strides), and the workspace it allocates. Activations are channels-last
// [F, H, W, C] in three buffers of the size of the largest tensor: x holds the running state,
// a and b are scratch. Latents go up and pixels come down through the host, transposed there
// from and to diffusers' channels-first layout.
#include "ltx_vae.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const float NORM_EPS = 1e-8f; // the decoder's RMSNorms: norm1, norm2, norm_out

// --- workspace -------------------------------------------------------------------------------

// Floats of a decode's buffers, from one walk over the decoder's levels.
typedef struct {
    size_t act;       // each activation buffer: the largest tensor of the decode
    size_t full_cols; // the largest whole im2col of one convolution
    size_t cols;      // the im2col buffer: min(full_cols, max(act, 27 * widest C))
    size_t noise;     // one frame of noise [H, W, C] at the widest noisy level
    size_t time;      // each time-embedding buffer: 4 * widest C
    size_t max_rows;  // the most grid cells of any level (bounded by INT_MAX for the ops)
} vae_sizes;

static void grow(size_t *m, size_t v) { *m = v > *m ? v : *m; }

static void note_conv(vae_sizes *s, size_t rows, int c_in, int c_out) {
    grow(&s->act, rows * c_in);
    grow(&s->act, rows * c_out);
    grow(&s->full_cols, rows * 27 * c_in);
    grow(&s->max_rows, rows);
}

static void walk_sizes(const ltx_vae_config *cfg, int F, int H, int W, vae_sizes *s) {
    memset(s, 0, sizeof *s);
    size_t rows = (size_t)F * H * W;
    int c_max = cfg->latent_channels > cfg->mid_channels ? cfg->latent_channels : cfg->mid_channels;
    note_conv(s, rows, cfg->latent_channels, cfg->mid_channels);
    note_conv(s, rows, cfg->mid_channels, cfg->mid_channels);
    if (cfg->mid_inject_noise) grow(&s->noise, (size_t)H * W * cfg->mid_channels);
    for (int i = 0; i < cfg->n_blocks; i++) {
        const ltx_vae_up_block *b = &cfg->up[i];
        c_max = b->c_in > c_max ? b->c_in : c_max;
        c_max = b->c_out > c_max ? b->c_out : c_max; // every conv's input: im2col fits one row
        if (b->conv_in) note_conv(s, rows, b->c_in, b->c_out);
        if (b->upsample) {
            const int st = b->stride_t, ss = b->stride_s;
            note_conv(s, rows, b->c_out * b->factor, st * ss * ss * b->c_out);
            F = st * F - (st - 1), H *= ss, W *= ss;
            rows = (size_t)F * H * W;
        }
        note_conv(s, rows, b->c_out, b->c_out);
        if (b->inject_noise) grow(&s->noise, (size_t)H * W * b->c_out);
    }
    const int p = cfg->patch_size;
    note_conv(s, rows, cfg->final_channels, cfg->out_channels * p * p);
    grow(&s->max_rows, rows * p * p); // the video's pixels: Fo * Ho * Wo fits an int
    const size_t floor_cols = 27 * (size_t)c_max;
    s->cols = s->act > floor_cols ? s->act : floor_cols;
    s->cols = s->cols < s->full_cols ? s->cols : s->full_cols;
    s->time = 4 * (size_t)c_max;
}

size_t ltx_vae_tile_workspace_bytes(const ltx_vae_config *cfg, const ltx_vae_tile *t) {
    vae_sizes s;
    walk_sizes(cfg, t->f1 - t->f0, t->h1 - t->h0, t->w1 - t->w0, &s);
    const size_t floats = 3 * s.act + s.cols + s.noise + 1 + LTX_VAE_TIME_CHANNELS + 3 * s.time;
    const size_t bf16_scratch = 2 * (s.cols > s.act ? s.cols : s.act); // the linear op's operand
    return floats * sizeof(float) + bf16_scratch;
}

// --- one decode ------------------------------------------------------------------------------

typedef struct {
    br_backend *be;
    const ltx_vae *vae;
    float *x, *a, *b;           // activations [F, H, W, C]: the running state, two scratch
    float *cols;                // [chunk rows, 27 C]: im2col of one chunk of output cells
    float *noise;               // [H, W, C]: one frame of injected noise
    float *t;                   // [1]: decode_timestep * timestep_scale_multiplier
    float *sinus;               // [T]
    float *hidden, *temb, *ada; // [E]: a time embedder's hidden layer, its output, table + temb
    float *noise_host;          // [H, W, C] host staging of the noise
    size_t cols_floats;
    int F, H, W;                // the grid of the current level
    int y0, x0;                 // the tile's first row and column on this level (noise keys)
    uint64_t seed;
    uint64_t noise_site;        // injections so far: each one draws its own noise
} vae_run;

enum { N_BUFS = 10 };

// The run's device buffers, their sizes and purposes, in one table.
static void run_table(vae_run *r, const vae_sizes *s, float ***bufs, size_t *sizes) {
    float **b[N_BUFS] = {&r->x,     &r->a,     &r->b,      &r->cols, &r->noise,
                         &r->t,     &r->sinus, &r->hidden, &r->temb, &r->ada};
    const size_t n[N_BUFS] = {s->act, s->act,  s->act,  s->cols, s->noise,
                              1,      LTX_VAE_TIME_CHANNELS, s->time, s->time, s->time};
    memcpy(bufs, b, sizeof b);
    memcpy(sizes, n, sizeof n);
}

static void run_release(vae_run *r) {
    float **bufs[N_BUFS];
    size_t sizes[N_BUFS];
    run_table(r, &(vae_sizes){0}, bufs, sizes);
    for (int i = 0; i < N_BUFS; i++) {
        if (*bufs[i]) r->be->release(r->be, *bufs[i]);
        *bufs[i] = NULL;
    }
    free(r->noise_host);
    r->noise_host = NULL;
}

static br_status run_alloc(vae_run *r, const vae_sizes *s) {
    static const char *purpose[N_BUFS] = {
        "VAE activations", "VAE activations", "VAE activations", "VAE im2col", "VAE noise",
        "VAE timestep", "VAE time sinusoid", "VAE time embedding", "VAE time embedding",
        "VAE modulation"};
    float **bufs[N_BUFS];
    size_t sizes[N_BUFS];
    run_table(r, s, bufs, sizes);
    for (int i = 0; i < N_BUFS; i++)
        if (sizes[i] && !(*bufs[i] = r->be->alloc(r->be, sizes[i], purpose[i]))) {
            run_release(r);
            return BR_ENOMEM;
        }
    if (s->noise && !(r->noise_host = malloc(s->noise * sizeof(float)))) {
        run_release(r);
        return br_fail(BR_ENOMEM, "out of host memory for the VAE's noise");
    }
    r->cols_floats = s->cols;
    return BR_OK;
}

static int grid_rows(const vae_run *r) { return r->F * r->H * r->W; } // < INT_MAX: checked

// y[rows, C_out] = conv(x[rows, C_in]) over the whole grid of this level.
static void conv(vae_run *r, float *y, const float *x, const ltx_vae_conv *cv) {
    ltx_vae_conv_apply(r->be, cv, y, x, r->F, r->H, r->W, r->vae->cfg.decoder_causal, 0,
                       grid_rows(r), r->cols, r->cols_floats);
}

// y = RMSNorm(x) over C channels (eps 1e-8, no weight), then * (1 + scale) + shift if given.
static void rms_norm(vae_run *r, float *y, const float *x, int C, const float *shift,
                     const float *scale) {
    br_backend *be = r->be;
    const int rows = grid_rows(r);
    if (shift) {
        be->rms_norm_mod(be, y, x, shift, scale, 0, 1, rows, C, NORM_EPS);
        return;
    }
    be->copy(be, y, x, (size_t)rows * C);
    be->rms_norm(be, y, NULL, rows, C, NORM_EPS);
}

// h[F, H, W, C] += n(y, x) * gain[c]: one N(0, 1) draw per pixel, the same for every frame and
// channel (as the reference's spatial noise), keyed by (seed, injection, the pixel's position
// in the whole video at this level) so that tiles agree where they overlap.
static void add_noise(vae_run *r, float *h, const float *gain, int C) {
    const size_t hw = (size_t)r->H * r->W;
    const uint64_t site = r->noise_site++;
    for (int y = 0; y < r->H; y++)
        for (int x = 0; x < r->W; x++) {
            const uint64_t key = site << 42 | (uint64_t)(r->y0 + y) << 21 | (uint64_t)(r->x0 + x);
            br_rng g = br_rng_make(r->seed, key);
            float v;
            br_rng_normal(&g, &v, 1);
            float *dst = r->noise_host + ((size_t)y * r->W + x) * C;
            for (int c = 0; c < C; c++) dst[c] = v * gain[c];
        }
    r->be->upload(r->be, r->noise, r->noise_host, hw * C);
    for (int f = 0; f < r->F; f++)
        r->be->add_gated(r->be, h + f * hw * C, r->noise, NULL, 0, 1, (int)hw, C, NULL);
}

// r->temb[E] = linear_2(SiLU(linear_1(sinusoid(t)))).
static void time_embed(vae_run *r, const nn_timestep_embedder *te) {
    nn_timestep_embed(r->be, te, r->t, 1, 1.0f, r->sinus, r->hidden, r->temb);
}

// LTXVideoResnetBlock3d on r->x, in place (its width becomes C_out).
static void resnet(vae_run *r, const ltx_vae_resnet *res) {
    br_backend *be = r->be;
    const int c_in = res->conv1.c_in, c_out = res->conv1.c_out, rows = grid_rows(r);
    const float *ada = NULL; // shift1, scale1, shift2, scale2 (c_in == c_out when present)
    if (res->scale_shift_table) {
        be->add_table(be, r->ada, res->scale_shift_table, r->temb, 1, 4 * c_in);
        ada = r->ada;
    }
    rms_norm(r, r->a, r->x, c_in, ada, ada ? ada + c_in : NULL);
    be->silu(be, r->a, (size_t)rows * c_in);
    conv(r, r->b, r->a, &res->conv1);
    if (res->per_channel_scale1) add_noise(r, r->b, res->per_channel_scale1, c_out);
    rms_norm(r, r->a, r->b, c_out, ada ? ada + 2 * c_out : NULL, ada ? ada + 3 * c_out : NULL);
    be->silu(be, r->a, (size_t)rows * c_out);
    conv(r, r->b, r->a, &res->conv2);
    if (res->per_channel_scale2) add_noise(r, r->b, res->per_channel_scale2, c_out);
    if (res->conv_shortcut.weight) { // the width changes: LayerNorm, then a 1x1x1 convolution
        be->layer_norm(be, r->a, r->x, res->norm3_weight, res->norm3_bias, rows, c_in,
                       r->vae->cfg.resnet_norm_eps);
        conv(r, r->x, r->a, &res->conv_shortcut);
    }
    be->add_gated(be, r->x, r->b, NULL, 0, 1, rows, c_out, NULL);
}

// LTXVideoUpsampler3d (LTX2VideoUpsampler3d): conv to n = st ss^2 times C_out channels,
// depth-to-space by st in t and ss in h, w, the first st - 1 frames dropped (LTX-Video: always
// st = ss = 2; LTX-2 also st = 2, ss = 1 and st = 1, ss = 2); the residual variant adds the
// input itself shuffled the same way, its C_in / n channels repeated n / factor times.
static void upsample(vae_run *r, const ltx_vae_conv *cv, const ltx_vae_up_block *b) {
    br_backend *be = r->be;
    const int st = b->stride_t, ss = b->stride_s, n = st * ss * ss;
    conv(r, r->a, r->x, cv);
    be->depth_to_space(be, r->b, r->a, r->F, r->H, r->W, b->c_out, st, ss, st - 1, b->c_out, 0);
    if (b->residual)
        be->depth_to_space(be, r->b, r->x, r->F, r->H, r->W, b->c_in / n, st, ss, st - 1,
                           b->c_out, 1);
    float *t = r->x;
    r->x = r->b, r->b = t;
    r->F = st * r->F - (st - 1), r->H *= ss, r->W *= ss, r->y0 *= ss, r->x0 *= ss;
}

static void up_block(vae_run *r, const ltx_vae_up *up, const ltx_vae_up_block *b) {
    if (b->conv_in) resnet(r, &up->conv_in); // never timestep-conditioned (config check)
    if (r->vae->cfg.timestep_conditioning) time_embed(r, &up->time_embedder);
    if (b->upsample) upsample(r, &up->upsampler, b);
    for (int k = 0; k < b->layers; k++) resnet(r, &up->resnets[k]);
}

// norm_out, [modulation], SiLU, conv_out, unpatchify: r->x becomes [F, H p, W p, 3].
static void output_layers(vae_run *r) {
    br_backend *be = r->be;
    const ltx_vae *vae = r->vae;
    const int C = vae->cfg.final_channels, p = vae->cfg.patch_size, c_out = vae->cfg.out_channels;
    const float *shift = NULL, *scale = NULL;
    if (vae->cfg.timestep_conditioning) {
        time_embed(r, &vae->time_embedder);
        be->add_table(be, r->ada, vae->scale_shift_table, r->temb, 1, 2 * C);
        shift = r->ada, scale = r->ada + C;
    }
    rms_norm(r, r->a, r->x, C, shift, scale);
    be->silu(be, r->a, (size_t)grid_rows(r) * C);
    conv(r, r->b, r->a, &vae->conv_out);
    be->depth_to_space(be, r->x, r->b, r->F, r->H, r->W, c_out, 1, p, 0, c_out, 0);
}

static void forward(vae_run *r, float decode_timestep) {
    const ltx_vae *vae = r->vae;
    const ltx_vae_config *cfg = &vae->cfg;
    conv(r, r->x, r->a, &vae->conv_in); // the latents were uploaded into r->a
    if (cfg->timestep_conditioning) {
        const float t = decode_timestep * vae->timestep_scale_multiplier;
        r->be->upload(r->be, r->t, &t, 1);
        time_embed(r, &vae->mid_time);
    }
    for (int k = 0; k < cfg->mid_layers; k++) resnet(r, &vae->mid_resnets[k]);
    for (int i = 0; i < cfg->n_blocks; i++) up_block(r, &vae->up[i], &cfg->up[i]);
    output_layers(r);
}

static int tile_inside(const ltx_vae_tile *t, int F, int H, int W) {
    return 0 <= t->f0 && t->f0 < t->f1 && t->f1 <= F && 0 <= t->h0 && t->h0 < t->h1 &&
           t->h1 <= H && 0 <= t->w0 && t->w0 < t->w1 && t->w1 <= W;
}

br_status ltx_vae_decode_tile(br_backend *be, const ltx_vae *vae, const float *latents, int F,
                              int H, int W, const ltx_vae_tile *t, float decode_timestep,
                              uint64_t noise_seed, float *pixels) {
    const ltx_vae_config *cfg = &vae->cfg;
    if (!tile_inside(t, F, H, W))
        return br_fail(BR_EINPUT, "VAE tile [%d, %d) x [%d, %d) x [%d, %d) is not inside the "
                                  "latent grid %d x %d x %d", t->f0, t->f1, t->h0, t->h1, t->w0,
                       t->w1, F, H, W);
    const int nf = t->f1 - t->f0, nh = t->h1 - t->h0, nw = t->w1 - t->w0, C = cfg->latent_channels;
    vae_sizes s;
    walk_sizes(cfg, nf, nh, nw, &s);
    if (s.max_rows > INT_MAX || s.act > ((size_t)1 << 40))
        return br_fail(BR_EINPUT, "VAE tile of %d x %d x %d latent cells is too large to decode "
                                  "in one piece: use smaller tiles", nf, nh, nw);
    int Fo, Ho, Wo;
    ltx_vae_output_size(cfg, nf, nh, nw, &Fo, &Ho, &Wo);
    const size_t n_in = (size_t)nf * nh * nw * C, n_out = (size_t)Fo * Ho * Wo * cfg->out_channels;
    float *host = malloc((n_in > n_out ? n_in : n_out) * sizeof(float));
    if (!host) return br_fail(BR_ENOMEM, "out of host memory for a VAE tile");
    vae_run r = {.be = be, .vae = vae, .seed = noise_seed};
    br_status st = run_alloc(&r, &s);
    if (st != BR_OK) {
        free(host);
        return st;
    }
    for (int f = 0; f < nf; f++) // [C, F, H, W] -> the tile's [f, h, w, c]
        for (int h = 0; h < nh; h++)
            for (int w = 0; w < nw; w++)
                for (int c = 0; c < C; c++)
                    host[(((size_t)f * nh + h) * nw + w) * C + c] =
                        latents[(((size_t)c * F + t->f0 + f) * H + t->h0 + h) * W + t->w0 + w];
    be->upload(be, r.a, host, n_in);
    r.F = nf, r.H = nh, r.W = nw, r.y0 = t->h0, r.x0 = t->w0;
    forward(&r, decode_timestep);
    be->download(be, host, r.x, n_out);
    const size_t video = (size_t)Fo * Ho * Wo;
    for (size_t i = 0; i < video; i++) // [Fo, Ho, Wo, 3] -> [3, Fo, Ho, Wo]
        for (int c = 0; c < cfg->out_channels; c++)
            pixels[c * video + i] = host[i * cfg->out_channels + c];
    run_release(&r);
    free(host);
    return BR_OK;
}
