// ltx_vae_weights.c: checkpoint key -> decoder weight, with the shape the config implies; the one
// place where brigade spells diffusers' tensor names for the LTX-Video VAE. Convolution weights
// [C_out, C_in, k, k, k] are rearranged to [C_out, k^3 * C_in] (tap-major rows, as im2col lays
// out its columns) before the backend adopts them as matrices.
#include "ltx_vae.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Output row (c, ih, iw) of the unpatchify's depth-to-space is the checkpoint's conv_out row
// c p^2 + iw p + ih: diffusers' unpatchify puts the first patch index on the width axis.
static br_status reorder_patch_rows(float *rows, size_t row_len, int c_out, int p) {
    float *copy = malloc((size_t)c_out * row_len * sizeof(float));
    if (!copy) return br_fail(BR_ENOMEM, "out of host memory for decoder.conv_out");
    memcpy(copy, rows, (size_t)c_out * row_len * sizeof(float));
    for (int c = 0; c < c_out / (p * p); c++)
        for (int ih = 0; ih < p; ih++)
            for (int iw = 0; iw < p; iw++)
                memcpy(rows + ((size_t)(c * p + ih) * p + iw) * row_len,
                       copy + ((size_t)(c * p + iw) * p + ih) * row_len, row_len * sizeof(float));
    free(copy);
    return BR_OK;
}

// [c_out, c_in, taps] -> [c_out, taps, c_in], into a new array (src is freed).
static br_status taps_major(float *src, int c_in, int c_out, int taps, const char *name,
                            float **out) {
    float *dst = malloc((size_t)c_out * taps * c_in * sizeof(float));
    if (dst)
        for (size_t o = 0; o < (size_t)c_out; o++)
            for (int t = 0; t < taps; t++)
                for (int c = 0; c < c_in; c++)
                    dst[(o * taps + t) * c_in + c] = src[(o * c_in + c) * taps + t];
    free(src);
    *out = dst;
    return dst ? BR_OK : br_fail(BR_ENOMEM, "out of host memory for %s", name);
}

// prefix.conv.weight [c_out, c_in, k, k, k] and .bias; patch > 0: conv_out (rows reordered).
static br_status load_conv(br_backend *be, br_checkpoint *ck, const char *prefix, int c_in,
                           int c_out, int k, int patch, ltx_vae_conv *cv) {
    char name[256];
    const int taps = k * k * k;
    const int64_t shape[5] = {c_out, c_in, k, k, k};
    float *w = NULL, *b = NULL;
    cv->c_in = c_in, cv->c_out = c_out, cv->taps = taps;
    snprintf(name, sizeof name, "%s.conv.weight", prefix);
    BR_TRY(br_ckpt_load(ck, name, 5, shape, &w));
    BR_TRY(taps_major(w, c_in, c_out, taps, name, &w));
    br_status st = patch ? reorder_patch_rows(w, (size_t)taps * c_in, c_out, patch) : BR_OK;
    if (st != BR_OK) {
        free(w);
        return st;
    }
    if (!(cv->weight = be->adopt_matrix(be, w, (size_t)c_out * taps * c_in, name)))
        return BR_ENOMEM;
    snprintf(name, sizeof name, "%s.conv.bias", prefix);
    const int64_t n_bias = c_out;
    BR_TRY(br_ckpt_load(ck, name, 1, &n_bias, &b));
    if ((st = patch ? reorder_patch_rows(b, 1, c_out, patch) : BR_OK) != BR_OK) {
        free(b);
        return st;
    }
    cv->bias = be->adopt_vector(be, b, (size_t)c_out, name);
    return cv->bias ? BR_OK : BR_ENOMEM;
}

static br_status load_time(br_backend *be, br_checkpoint *ck, const char *prefix, int E,
                           nn_timestep_embedder *te) {
    char name[256];
    snprintf(name, sizeof name, "%s.time_embedder.timestep_embedder", prefix);
    return nn_load_timestep_embedder(be, ck, name, LTX_VAE_TIME_CHANNELS, E, te);
}

static br_status load_resnet(br_backend *be, br_checkpoint *ck, const ltx_vae_config *cfg,
                             const char *prefix, int c_in, int c_out, int noise,
                             ltx_vae_resnet *r) {
    char name[256];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    BR_TRY(load_conv(be, ck, name, c_in, c_out, 3, 0, &r->conv1));
    snprintf(name, sizeof name, "%s.conv2", prefix);
    BR_TRY(load_conv(be, ck, name, c_out, c_out, 3, 0, &r->conv2));
    if (c_in != c_out) {
        snprintf(name, sizeof name, "%s.norm3.weight", prefix);
        BR_TRY(nn_load_vector(be, ck, name, c_in, 0, &r->norm3_weight));
        snprintf(name, sizeof name, "%s.norm3.bias", prefix);
        BR_TRY(nn_load_vector(be, ck, name, c_in, 0, &r->norm3_bias));
        snprintf(name, sizeof name, "%s.conv_shortcut", prefix);
        BR_TRY(load_conv(be, ck, name, c_in, c_out, 1, 0, &r->conv_shortcut));
    }
    if (cfg->timestep_conditioning) {
        snprintf(name, sizeof name, "%s.scale_shift_table", prefix);
        BR_TRY(nn_load_vector(be, ck, name, 4, c_in, &r->scale_shift_table));
    }
    if (noise) { // the config check makes c_in == c_out here
        const int64_t shape[3] = {c_in, 1, 1};
        snprintf(name, sizeof name, "%s.per_channel_scale1", prefix);
        BR_TRY(br_ckpt_load(ck, name, 3, shape, &r->per_channel_scale1));
        snprintf(name, sizeof name, "%s.per_channel_scale2", prefix);
        BR_TRY(br_ckpt_load(ck, name, 3, shape, &r->per_channel_scale2));
    }
    return BR_OK;
}

// The mid block (index -1) or up block i: its ResNets, and its time embedder.
static br_status load_resnets(br_backend *be, br_checkpoint *ck, const ltx_vae_config *cfg,
                              const char *block, int n, int C, int noise, ltx_vae_resnet **out) {
    char name[256];
    if (!(*out = calloc(n ? (size_t)n : 1, sizeof **out)))
        return br_fail(BR_ENOMEM, "out of host memory for %s", block);
    for (int k = 0; k < n; k++) {
        snprintf(name, sizeof name, "%s.resnets.%d", block, k);
        BR_TRY(load_resnet(be, ck, cfg, name, C, C, noise, &(*out)[k]));
    }
    return BR_OK;
}

static br_status load_up(br_backend *be, br_checkpoint *ck, const ltx_vae_config *cfg, int i,
                         ltx_vae_up *up) {
    const ltx_vae_up_block *b = &cfg->up[i];
    char block[64], name[256];
    snprintf(block, sizeof block, "decoder.up_blocks.%d", i);
    if (b->conv_in) {
        snprintf(name, sizeof name, "%s.conv_in", block);
        BR_TRY(load_resnet(be, ck, cfg, name, b->c_in, b->c_out, b->inject_noise, &up->conv_in));
    }
    if (b->upsample) {
        snprintf(name, sizeof name, "%s.upsamplers.0.conv", block);
        BR_TRY(load_conv(be, ck, name, b->c_out * b->factor, 8 * b->c_out, 3, 0, &up->upsampler));
    }
    if (cfg->timestep_conditioning) BR_TRY(load_time(be, ck, block, 4 * b->c_out, &up->time_embedder));
    return load_resnets(be, ck, cfg, block, b->layers, b->c_out, b->inject_noise, &up->resnets);
}

// The 0-d timestep_scale_multiplier and the latent statistics stay on the host.
static br_status load_host_values(br_checkpoint *ck, const ltx_vae_config *cfg, ltx_vae *vae) {
    const int64_t c_lat = cfg->latent_channels;
    BR_TRY(br_ckpt_load(ck, "latents_mean", 1, &c_lat, &vae->latents_mean));
    BR_TRY(br_ckpt_load(ck, "latents_std", 1, &c_lat, &vae->latents_std));
    vae->timestep_scale_multiplier = 1.0f;
    if (!cfg->timestep_conditioning) return BR_OK;
    float *m = NULL;
    BR_TRY(br_ckpt_load(ck, "decoder.timestep_scale_multiplier", 0, NULL, &m));
    vae->timestep_scale_multiplier = m[0];
    free(m);
    return BR_OK;
}

br_status ltx_vae_load(br_backend *be, br_checkpoint *ck, const ltx_vae_config *cfg,
                       ltx_vae *vae) {
    memset(vae, 0, sizeof *vae);
    vae->cfg = *cfg;
    const int C = cfg->final_channels, p = cfg->patch_size;
    BR_TRY(load_host_values(ck, cfg, vae));
    BR_TRY(load_conv(be, ck, "decoder.conv_in", cfg->latent_channels, cfg->mid_channels, 3, 0,
                     &vae->conv_in));
    if (cfg->timestep_conditioning)
        BR_TRY(load_time(be, ck, "decoder.mid_block", 4 * cfg->mid_channels, &vae->mid_time));
    BR_TRY(load_resnets(be, ck, cfg, "decoder.mid_block", cfg->mid_layers, cfg->mid_channels,
                        cfg->mid_inject_noise, &vae->mid_resnets));
    for (int i = 0; i < cfg->n_blocks; i++) BR_TRY(load_up(be, ck, cfg, i, &vae->up[i]));
    if (cfg->timestep_conditioning) {
        BR_TRY(load_time(be, ck, "decoder", 2 * C, &vae->time_embedder));
        BR_TRY(nn_load_vector(be, ck, "decoder.scale_shift_table", 2, C, &vae->scale_shift_table));
    }
    return load_conv(be, ck, "decoder.conv_out", C, cfg->out_channels * p * p, 3, p,
                     &vae->conv_out);
}

// --- release ---------------------------------------------------------------------------------

static void free_conv(br_backend *be, ltx_vae_conv *cv) {
    if (cv->weight) be->release_matrix(be, cv->weight);
    if (cv->bias) be->release(be, cv->bias);
    memset(cv, 0, sizeof *cv);
}

static void free_resnet(br_backend *be, ltx_vae_resnet *r) {
    free_conv(be, &r->conv1);
    free_conv(be, &r->conv2);
    free_conv(be, &r->conv_shortcut);
    float *device[] = {r->norm3_weight, r->norm3_bias, r->scale_shift_table};
    for (int i = 0; i < 3; i++)
        if (device[i]) be->release(be, device[i]);
    free(r->per_channel_scale1);
    free(r->per_channel_scale2);
    memset(r, 0, sizeof *r);
}

static void free_resnets(br_backend *be, ltx_vae_resnet **rs, int n) {
    for (int k = 0; *rs && k < n; k++) free_resnet(be, &(*rs)[k]);
    free(*rs);
    *rs = NULL;
}

void ltx_vae_free(br_backend *be, ltx_vae *vae) {
    const ltx_vae_config *cfg = &vae->cfg;
    free_conv(be, &vae->conv_in);
    nn_free_timestep_embedder(be, &vae->mid_time);
    free_resnets(be, &vae->mid_resnets, cfg->mid_layers);
    for (int i = 0; i < cfg->n_blocks; i++) {
        free_resnet(be, &vae->up[i].conv_in);
        free_conv(be, &vae->up[i].upsampler);
        nn_free_timestep_embedder(be, &vae->up[i].time_embedder);
        free_resnets(be, &vae->up[i].resnets, cfg->up[i].layers);
    }
    nn_free_timestep_embedder(be, &vae->time_embedder);
    if (vae->scale_shift_table) be->release(be, vae->scale_shift_table);
    vae->scale_shift_table = NULL;
    free_conv(be, &vae->conv_out);
    free(vae->latents_mean);
    free(vae->latents_std);
    vae->latents_mean = vae->latents_std = NULL;
}

void ltx_vae_denormalize(const ltx_vae *vae, float *latents, size_t cells) {
    for (int c = 0; c < vae->cfg.latent_channels; c++) {
        const float gain = vae->latents_std[c] / vae->cfg.scaling_factor;
        float *x = latents + (size_t)c * cells;
        for (size_t i = 0; i < cells; i++) x[i] = x[i] * gain + vae->latents_mean[c];
    }
}
