// ltx2_upsampler.c: the latent upsampler's config, weights and forward (LTX2LatentUpsamplerModel,
// dims 3, spatial upsampling by a Conv2d and a pixel shuffle), and the pipeline's steps around
// it (LTX2LatentUpsamplePipeline.__call__ with output_type="latent"). Activations are
// channels-last [F, H, W, M] in three buffers of the largest tensor (x the running state, a and b
// scratch), plus a padded copy of a convolution's input and an im2col buffer.
#include "ltx2_upsampler.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_keys.h"
#include "nn/linear.h"

static const float GROUP_NORM_EPS = 1e-5f; // torch.nn.GroupNorm's default

// --- config and weights ----------------------------------------------------------------------

br_status ltx2_latent_upsampler_config_parse(ltx2_latent_upsampler_config *cfg,
                                             const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "LTX2LatentUpsamplerModel"));
    int dims;
    BR_TRY(br_json_int(json, path, "in_channels", 128, 1, 1 << 16, &cfg->in_channels));
    BR_TRY(br_json_int(json, path, "mid_channels", 1024, 1, 1 << 16, &cfg->mid_channels));
    BR_TRY(br_json_int(json, path, "num_blocks_per_stage", 4, 0, 64, &cfg->blocks));
    BR_TRY(br_json_int(json, path, "dims", 3, 2, 3, &dims));
    if (dims != 3)
        return br_fail(BR_EINPUT, "%s: \"dims\" 2 (2-D convolutions per frame) is not "
                                  "implemented: only 3", path);
    if (cfg->mid_channels % LTX2_LATENT_UPSAMPLER_GROUPS)
        return br_fail(BR_EINPUT, "%s: \"mid_channels\" %d must be a multiple of %d (the "
                                  "GroupNorms' groups)", path, cfg->mid_channels,
                       LTX2_LATENT_UPSAMPLER_GROUPS);
    BR_TRY(br_json_want_bool(json, path, "spatial_upsample", 1));
    BR_TRY(br_json_want_bool(json, path, "temporal_upsample", 0));
    // absent means the constructor's default, true: LTX-2.0's rational resampler
    if (!cJSON_IsFalse(br_json_key(json, "use_rational_resampler")))
        return br_fail(BR_EINPUT, "%s: \"use_rational_resampler\" must be false (LTX-2.3's "
                                  "upsampler; absent means true): the rational resampler of "
                                  "LTX-2.0 is not implemented", path);
    return BR_OK;
}

br_status ltx2_latent_upsampler_open(const char *dir, br_checkpoint *ck,
                                     ltx2_latent_upsampler_config *cfg) {
    BR_TRY(br_ckpt_open(ck, dir));
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    br_status st = ltx2_latent_upsampler_config_parse(cfg, ck->config, path);
    if (st != BR_OK) br_ckpt_close(ck);
    return st;
}

// A GroupNorm's weight and bias, prefix.weight and prefix.bias [M].
static br_status load_norm(br_backend *be, br_checkpoint *ck, const char *prefix, int M,
                           float **w, float **b) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    BR_TRY(nn_load_vector(be, ck, name, M, 0, w));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return nn_load_vector(be, ck, name, M, 0, b);
}

static br_status load_block(br_backend *be, br_checkpoint *ck, const char *prefix, int M,
                            ltx2_latent_upsampler_block *blk) {
    char name[256];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, M, M, &blk->conv1));
    snprintf(name, sizeof name, "%s.norm1", prefix);
    BR_TRY(load_norm(be, ck, name, M, &blk->norm1_weight, &blk->norm1_bias));
    snprintf(name, sizeof name, "%s.conv2", prefix);
    BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, M, M, &blk->conv2));
    snprintf(name, sizeof name, "%s.norm2", prefix);
    return load_norm(be, ck, name, M, &blk->norm2_weight, &blk->norm2_bias);
}

br_status ltx2_latent_upsampler_load(br_backend *be, br_checkpoint *ck,
                                     const ltx2_latent_upsampler_config *cfg,
                                     ltx2_latent_upsampler *up) {
    memset(up, 0, sizeof *up);
    up->cfg = *cfg;
    if (!be->group_norm)
        return br_fail(BR_EINPUT, "LTX-2's latent upsampler needs the group_norm op, which the "
                                  "%s backend lacks: upsample on the CPU", be->name);
    const int C = cfg->in_channels, M = cfg->mid_channels, n = cfg->blocks;
    BR_TRY(ltx_vae_conv_load(be, ck, "initial_conv", 3, 3, C, M, &up->initial_conv));
    BR_TRY(load_norm(be, ck, "initial_norm", M, &up->initial_norm_weight,
                     &up->initial_norm_bias));
    if (!(up->res = calloc(2 * (size_t)n + 1, sizeof *up->res)))
        return br_fail(BR_ENOMEM, "out of host memory for the latent upsampler");
    char prefix[64];
    for (int k = 0; k < 2 * n; k++) {
        snprintf(prefix, sizeof prefix, k < n ? "res_blocks.%d" : "post_upsample_res_blocks.%d",
                 k < n ? k : k - n);
        BR_TRY(load_block(be, ck, prefix, M, &up->res[k]));
    }
    BR_TRY(ltx_vae_conv_load(be, ck, "upsampler.0", 2, 3, M, 4 * M, &up->upsampler));
    return ltx_vae_conv_load(be, ck, "final_conv", 3, 3, M, C, &up->final_conv);
}

static void free_block(br_backend *be, ltx2_latent_upsampler_block *blk) {
    ltx_vae_conv_free(be, &blk->conv1);
    ltx_vae_conv_free(be, &blk->conv2);
    nn_free_vector(be, &blk->norm1_weight);
    nn_free_vector(be, &blk->norm1_bias);
    nn_free_vector(be, &blk->norm2_weight);
    nn_free_vector(be, &blk->norm2_bias);
}

void ltx2_latent_upsampler_free(br_backend *be, ltx2_latent_upsampler *up) {
    ltx_vae_conv_free(be, &up->initial_conv);
    nn_free_vector(be, &up->initial_norm_weight);
    nn_free_vector(be, &up->initial_norm_bias);
    for (int k = 0; up->res && k < 2 * up->cfg.blocks; k++) free_block(be, &up->res[k]);
    free(up->res);
    up->res = NULL;
    ltx_vae_conv_free(be, &up->upsampler);
    ltx_vae_conv_free(be, &up->final_conv);
}

// --- forward ---------------------------------------------------------------------------------

typedef struct {
    br_backend *be;
    const ltx2_latent_upsampler *up;
    float *x, *a, *b; // activations [F, H, W, C]: the running state, two scratch
    float *pad;       // [F + 2, H, W, C_in]: a 3-D convolution's input between two zero frames
    float *zero;      // one frame of zeros, of the widest convolution input
    float *cols;      // im2col of a chunk of output cells
    size_t cols_floats;
    int F, H, W;      // the grid of the current level
} up_run;

enum { N_BUFS = 6 };

// Floats of each buffer of a run on latents of F x H x W, in the order of run_buffers.
static void buffer_sizes(const ltx2_latent_upsampler_config *cfg, int F, int H, int W,
                         size_t *n) {
    const size_t C = cfg->in_channels, M = cfg->mid_channels, wide = C > M ? C : M;
    const size_t big = (size_t)F * H * W * 4; // cells after the upsampling
    const size_t act = big * wide, cols = act > 27 * wide ? act : 27 * wide;
    // the largest whole im2col: initial_conv's, or a convolution's after the upsampling
    const size_t first = big / 4 * 27 * C, full_cols = first > big * 27 * M ? first : big * 27 * M;
    n[0] = n[1] = n[2] = act; // the Conv2d's output [F, H, W, 4 M] is as large as big * M
    n[3] = (size_t)(F + 2) * H * W * 4 * wide;
    n[4] = (size_t)H * W * 4 * wide;
    n[5] = cols < full_cols ? cols : full_cols;
}

static void run_buffers(up_run *r, float ***bufs) {
    float **b[N_BUFS] = {&r->x, &r->a, &r->b, &r->pad, &r->zero, &r->cols};
    memcpy(bufs, b, sizeof b);
}

static void run_release(up_run *r) {
    float **bufs[N_BUFS];
    run_buffers(r, bufs);
    for (int i = 0; i < N_BUFS; i++) {
        if (*bufs[i]) r->be->release(r->be, *bufs[i]);
        *bufs[i] = NULL;
    }
}

static br_status run_alloc(up_run *r, const size_t *n) {
    float **bufs[N_BUFS];
    run_buffers(r, bufs);
    for (int i = 0; i < N_BUFS; i++)
        if (!(*bufs[i] = r->be->alloc(r->be, n[i], "latent upsampler workspace"))) {
            run_release(r);
            return BR_ENOMEM;
        }
    float *zeros = calloc(n[4], sizeof(float));
    if (!zeros) {
        run_release(r);
        return br_fail(BR_ENOMEM, "out of host memory for the latent upsampler");
    }
    r->be->upload(r->be, r->zero, zeros, n[4]);
    free(zeros);
    r->cols_floats = n[5];
    return BR_OK;
}

static int grid_rows(const up_run *r) { return r->F * r->H * r->W; } // < INT_MAX: checked

// y[F H W, C_out] = the Conv3d (padding 1 on every axis) of x[F, H, W, C_in]. im2col repeats
// edge frames, so x goes between two zero frames in r->pad and only the inner frames' cells are
// computed: their taps never reach past the zero frames.
static void conv3d(up_run *r, float *y, const float *x, const ltx_vae_conv *cv) {
    br_backend *be = r->be;
    const size_t frame = (size_t)r->H * r->W * cv->c_in;
    be->copy(be, r->pad, r->zero, frame);
    be->copy(be, r->pad + frame, x, r->F * frame);
    be->copy(be, r->pad + (r->F + 1) * frame, r->zero, frame);
    ltx_vae_conv_apply(be, cv, y, r->pad, r->F + 2, r->H, r->W, 0, r->H * r->W, grid_rows(r),
                       r->cols, r->cols_floats);
}

// y[F, H, W, C_out] = the Conv2d (padding 1) of each frame of x: im2col + linear by chunks of a
// frame's pixels.
static void conv2d_frames(up_run *r, float *y, const float *x, const ltx_vae_conv *cv) {
    br_backend *be = r->be;
    const int hw = r->H * r->W, n_in = cv->taps * cv->c_in;
    const size_t fit = r->cols_floats / (size_t)n_in;
    const int chunk = fit < (size_t)hw ? (int)fit : hw;
    for (int f = 0; f < r->F; f++)
        for (int row0 = 0; row0 < hw; row0 += chunk) {
            const int n = hw - row0 < chunk ? hw - row0 : chunk;
            be->im2col_2d(be, r->cols, x + (size_t)f * hw * cv->c_in, r->H, r->W, cv->c_in, 1, 1,
                          r->W, row0, n);
            be->linear(be, y + ((size_t)f * hw + row0) * cv->c_out, r->cols, cv->weight, cv->bias,
                       n, n_in, cv->c_out);
        }
}

// x = SiLU(GroupNorm(x)) in place.
static void norm_silu(up_run *r, float *x, const float *w, const float *b, int C) {
    r->be->group_norm(r->be, x, x, w, b, grid_rows(r), C, LTX2_LATENT_UPSAMPLER_GROUPS,
                      GROUP_NORM_EPS);
    r->be->silu(r->be, x, (size_t)grid_rows(r) * C);
}

// ResBlock on r->x: SiLU(norm2(conv2(SiLU(norm1(conv1(x))))) + x).
static void res_block(up_run *r, const ltx2_latent_upsampler_block *blk) {
    br_backend *be = r->be;
    const int M = blk->conv1.c_out, rows = grid_rows(r);
    conv3d(r, r->a, r->x, &blk->conv1);
    norm_silu(r, r->a, blk->norm1_weight, blk->norm1_bias, M);
    conv3d(r, r->b, r->a, &blk->conv2);
    be->group_norm(be, r->b, r->b, blk->norm2_weight, blk->norm2_bias, rows, M,
                   LTX2_LATENT_UPSAMPLER_GROUPS, GROUP_NORM_EPS);
    be->add_gated(be, r->x, r->b, NULL, 0, 1, rows, M, NULL);
    be->silu(be, r->x, (size_t)rows * M);
}

// The latents (in r->a) -> final_conv's output [F, 2H, 2W, C] in r->a.
static void forward(up_run *r) {
    const ltx2_latent_upsampler *up = r->up;
    const int M = up->cfg.mid_channels, n = up->cfg.blocks;
    conv3d(r, r->x, r->a, &up->initial_conv);
    norm_silu(r, r->x, up->initial_norm_weight, up->initial_norm_bias, M);
    for (int k = 0; k < n; k++) res_block(r, &up->res[k]);
    conv2d_frames(r, r->a, r->x, &up->upsampler);
    // the pixel shuffle: channel 4c + 2i + j goes to channel c of pixel (2h + i, 2w + j)
    r->be->depth_to_space(r->be, r->x, r->a, r->F, r->H, r->W, M, 1, 2, 0, M, 0);
    r->H *= 2, r->W *= 2;
    for (int k = n; k < 2 * n; k++) res_block(r, &up->res[k]);
    conv3d(r, r->a, r->x, &up->final_conv);
}

br_status ltx2_latent_upsampler_forward(br_backend *be, const ltx2_latent_upsampler *up,
                                        const float *latents, int F, int H, int W, float *out) {
    const int C = up->cfg.in_channels;
    if (F < 1 || H < 1 || W < 1 || (double)(F + 2) * H * W * 4 > INT_MAX)
        return br_fail(BR_EINPUT, "latent upsampler: latents of %d x %d x %d cells: sizes must be "
                                  "positive and the upsampled grid fit an int", F, H, W);
    size_t n[N_BUFS];
    buffer_sizes(&up->cfg, F, H, W, n);
    const size_t cells = (size_t)F * H * W, big = cells * 4;
    float *host = malloc(big * C * sizeof(float));
    if (!host) return br_fail(BR_ENOMEM, "out of host memory for the latent upsampler");
    up_run r = {.be = be, .up = up, .F = F, .H = H, .W = W};
    br_status st = run_alloc(&r, n);
    if (st == BR_OK) {
        for (size_t i = 0; i < cells; i++) // [C, F, H, W] -> [F, H, W, C]
            for (int c = 0; c < C; c++) host[i * C + c] = latents[(size_t)c * cells + i];
        be->upload(be, r.a, host, cells * C);
        forward(&r);
        be->download(be, host, r.a, big * C);
        for (size_t i = 0; i < big; i++) // [F, 2H, 2W, C] -> [C, F, 2H, 2W]
            for (int c = 0; c < C; c++) out[(size_t)c * big + i] = host[i * C + c];
    }
    run_release(&r);
    free(host);
    return st;
}

// --- the pipeline around it ------------------------------------------------------------------

// Mean and unbiased standard deviation of x[n], summed in double (torch.std_mean).
static void std_mean(const float *x, size_t n, float *sd, float *mean) {
    double sum = 0, ss = 0;
    for (size_t i = 0; i < n; i++) sum += x[i];
    const double m = sum / n;
    for (size_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    *mean = (float)m;
    *sd = (float)sqrt(ss / (n > 1 ? n - 1 : 1));
}

void ltx2_latent_upsample_adain(float *u, const float *ref, int C, size_t n_u, size_t n_ref,
                                float factor) {
    for (int c = 0; c < C; c++) {
        float r_sd, r_mean, i_sd, i_mean;
        float *x = u + (size_t)c * n_u;
        std_mean(ref + (size_t)c * n_ref, n_ref, &r_sd, &r_mean);
        std_mean(x, n_u, &i_sd, &i_mean);
        for (size_t i = 0; i < n_u; i++) {
            const float y = (x[i] - i_mean) / i_sd * r_sd + r_mean;
            // torch.lerp(x, y, factor), in its two forms around 0.5
            x[i] = factor < 0.5f ? x[i] + factor * (y - x[i]) : y - (y - x[i]) * (1.0f - factor);
        }
    }
}

void ltx2_latent_upsample_tone_map(float *u, size_t n, float compression) {
    const double s = compression * 0.75; // Python numbers: products in double, then fp32
    const float slope = (float)(4.0 * s), depth = (float)(0.8 * s);
    for (size_t i = 0; i < n; i++) {
        const float sigmoid = 1.0f / (1.0f + expf(-(slope * (fabsf(u[i]) - 1.0f))));
        u[i] *= 1.0f - depth * sigmoid;
    }
}

// latents * std / scaling_factor + mean per channel, into out (the pipeline's de-normalisation;
// the division by a Python number is a product by its fp32 reciprocal, as on the GPU).
static void denormalize(const ltx2_latent_upsample_options *opt, const float *latents, int C,
                        size_t cells, float *out) {
    const float inv = (float)(1.0 / opt->scaling_factor);
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < cells; i++) {
            const size_t k = (size_t)c * cells + i;
            out[k] = latents[k] * opt->latents_std[c] * inv + opt->latents_mean[c];
        }
}

br_status ltx2_latent_upsample(br_backend *be, const ltx2_latent_upsampler *up,
                               const float *latents, int F, int H, int W,
                               const ltx2_latent_upsample_options *opt, float *out) {
    const float r = opt->tone_map_compression_ratio;
    if (!(r >= 0.0f && r <= 1.0f))
        return br_fail(BR_EINPUT, "latent upsampling: tone_map_compression_ratio %g must be in "
                                  "[0, 1]", r);
    if (opt->latents_normalized && !(opt->latents_mean && opt->latents_std))
        return br_fail(BR_EINPUT, "latent upsampling: normalised latents need the VAE's "
                                  "latents_mean and latents_std");
    const int C = up->cfg.in_channels;
    const size_t cells = (size_t)F * H * W;
    float *own = NULL;
    if (opt->latents_normalized) {
        if (!(own = malloc(cells * C * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of host memory for the latent upsampler");
        denormalize(opt, latents, C, cells, own);
        latents = own;
    }
    br_status st = ltx2_latent_upsampler_forward(be, up, latents, F, H, W, out);
    if (st == BR_OK && opt->adain_factor > 0.0f)
        ltx2_latent_upsample_adain(out, latents, C, 4 * cells, cells, opt->adain_factor);
    if (st == BR_OK && r > 0.0f) ltx2_latent_upsample_tone_map(out, 4 * cells * C, r);
    free(own);
    return st;
}
