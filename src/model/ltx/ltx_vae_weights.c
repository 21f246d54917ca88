// ltx_vae_weights.c: checkpoint key -> decoder weight, with the shape the config implies; the one
// place where brigade spells diffusers' tensor names for the LTX-Video and LTX-2 VAE decoders.
// Convolutions are rearranged for im2col as they load (ltx_vae_conv.h).
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

// decoder.conv_out, its rows reordered for the unpatchify's depth-to-space.
static br_status load_conv_out(br_backend *be, br_checkpoint *ck, int c_in, int c_out, int p,
                               ltx_vae_conv *cv) {
    const char *name = "decoder.conv_out.conv";
    float *w, *b;
    BR_TRY(ltx_vae_conv_read(ck, name, 3, 3, c_in, c_out, &w, &b));
    br_status st = reorder_patch_rows(w, (size_t)27 * c_in, c_out, p);
    if (st == BR_OK) st = reorder_patch_rows(b, 1, c_out, p);
    if (st != BR_OK) {
        free(w), free(b);
        return st;
    }
    return ltx_vae_conv_adopt(be, name, c_in, c_out, 27, w, b, cv);
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
    snprintf(name, sizeof name, "%s.conv1.conv", prefix);
    BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, c_in, c_out, &r->conv1));
    snprintf(name, sizeof name, "%s.conv2.conv", prefix);
    BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, c_out, c_out, &r->conv2));
    if (c_in != c_out) {
        snprintf(name, sizeof name, "%s.norm3.weight", prefix);
        BR_TRY(nn_load_vector(be, ck, name, c_in, 0, &r->norm3_weight));
        snprintf(name, sizeof name, "%s.norm3.bias", prefix);
        BR_TRY(nn_load_vector(be, ck, name, c_in, 0, &r->norm3_bias));
        // LTX-2's shortcut is a plain nn.Conv3d, LTX-Video's a causal one wrapping it
        snprintf(name, sizeof name, cfg->ltx2 ? "%s.conv_shortcut" : "%s.conv_shortcut.conv",
                 prefix);
        BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 1, c_in, c_out, &r->conv_shortcut));
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
        const int shuffle = b->stride_t * b->stride_s * b->stride_s; // cells per input cell
        snprintf(name, sizeof name, "%s.upsamplers.0.conv.conv", block);
        BR_TRY(ltx_vae_conv_load(be, ck, name, 3, 3, b->c_out * b->factor, shuffle * b->c_out,
                                 &up->upsampler));
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
    BR_TRY(ltx_vae_conv_load(be, ck, "decoder.conv_in.conv", 3, 3, cfg->latent_channels,
                             cfg->mid_channels, &vae->conv_in));
    if (cfg->timestep_conditioning)
        BR_TRY(load_time(be, ck, "decoder.mid_block", 4 * cfg->mid_channels, &vae->mid_time));
    BR_TRY(load_resnets(be, ck, cfg, "decoder.mid_block", cfg->mid_layers, cfg->mid_channels,
                        cfg->mid_inject_noise, &vae->mid_resnets));
    for (int i = 0; i < cfg->n_blocks; i++) BR_TRY(load_up(be, ck, cfg, i, &vae->up[i]));
    if (cfg->timestep_conditioning) {
        BR_TRY(load_time(be, ck, "decoder", 2 * C, &vae->time_embedder));
        BR_TRY(nn_load_vector(be, ck, "decoder.scale_shift_table", 2, C, &vae->scale_shift_table));
    }
    return load_conv_out(be, ck, C, cfg->out_channels * p * p, p, &vae->conv_out);
}

// --- release ---------------------------------------------------------------------------------

static void free_resnet(br_backend *be, ltx_vae_resnet *r) {
    ltx_vae_conv_free(be, &r->conv1);
    ltx_vae_conv_free(be, &r->conv2);
    ltx_vae_conv_free(be, &r->conv_shortcut);
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
    ltx_vae_conv_free(be, &vae->conv_in);
    nn_free_timestep_embedder(be, &vae->mid_time);
    free_resnets(be, &vae->mid_resnets, cfg->mid_layers);
    for (int i = 0; i < cfg->n_blocks; i++) {
        free_resnet(be, &vae->up[i].conv_in);
        ltx_vae_conv_free(be, &vae->up[i].upsampler);
        nn_free_timestep_embedder(be, &vae->up[i].time_embedder);
        free_resnets(be, &vae->up[i].resnets, cfg->up[i].layers);
    }
    nn_free_timestep_embedder(be, &vae->time_embedder);
    if (vae->scale_shift_table) be->release(be, vae->scale_shift_table);
    vae->scale_shift_table = NULL;
    ltx_vae_conv_free(be, &vae->conv_out);
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
