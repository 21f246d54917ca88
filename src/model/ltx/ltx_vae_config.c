// ltx_vae_config.c: config.json -> ltx_vae_config, validated, and the decoder's layout derived
// as LTXVideoDecoder3d (LTX2VideoDecoder3d) builds it: block i of the decoder is entry
// n_blocks - 1 - i of a list, except of LTX-2's upsample_type, which it reads unreversed.
#include "ltx_vae_config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "io/json_keys.h"

enum { MAX_WIDTH = 1 << 16, MAX_PATCH = 16 };

// A class's constructor defaults for the keys that differ between the two.
typedef struct {
    const char *class_name;
    int n_blocks; // entries of the default decoder_block_out_channels
    int block_out[4], layers[5], scaling[4], inject_noise[5], residual[4], factor[4];
    int causal;
} vae_defaults;

static const vae_defaults LTX_VIDEO = {"AutoencoderKLLTXVideo", 4, {128, 256, 512, 512},
                                       {4, 3, 3, 3, 4}, {1, 1, 1, 0}, {0}, {0}, {1, 1, 1, 1}, 0};
static const vae_defaults LTX2_VIDEO = {"AutoencoderKLLTX2Video", 3, {256, 512, 1024},
                                        {5, 5, 5, 5}, {1, 1, 1}, {0}, {1, 1, 1}, {2, 2, 2}, 1};

// A list of integers in lo..hi (lo < 0: of booleans). The decoder reads its lists reversed,
// entry i of the decoder being the i-th from the end, so it uses the last n entries: out gets
// those, in the config's order. A shorter list fails in the reference too. Absent: the
// reference's default def[n_def], under the same rule.
static br_status get_list(const cJSON *json, const char *path, const char *key, int n,
                          const int *def, int n_def, int lo, int hi, int *out) {
    const cJSON *item = br_json_key(json, key);
    const int bools = lo < 0;
    if (!item) {
        if (n > n_def)
            return br_fail(BR_EINPUT, "%s: \"%s\" is absent and its default has %d entries; "
                                      "the decoder needs %d", path, key, n_def, n);
        memcpy(out, def + n_def - n, (size_t)n * sizeof *out);
        return BR_OK;
    }
    const int m = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : -1;
    if (m < n || m > 4 * LTX_VAE_MAX_BLOCKS)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of %d %s (as \"%s\" implies)", path,
                       key, n, bools ? "booleans" : "integers", "decoder_block_out_channels");
    int i = 0;
    for (const cJSON *v = item->child; v; v = v->next, i++) {
        if (bools && !cJSON_IsBool(v))
            return br_fail(BR_EINPUT, "%s: \"%s\" entry %d must be true or false", path, key, i);
        if (!bools && !br_json_int_in(v, lo, hi))
            return br_fail(BR_EINPUT, "%s: \"%s\" entry %d must be an integer in %d..%d", path,
                           key, i, lo, hi);
        if (i >= m - n) out[i - (m - n)] = bools ? cJSON_IsTrue(v) : (int)v->valuedouble;
    }
    return BR_OK;
}

// decoder_block_out_channels: its length sets n_blocks.
static br_status get_block_channels(const cJSON *json, const char *path, const vae_defaults *d,
                                    ltx_vae_config *cfg) {
    const char *key = "decoder_block_out_channels";
    const cJSON *item = br_json_key(json, key);
    cfg->n_blocks = item ? (cJSON_IsArray(item) ? cJSON_GetArraySize(item) : -1) : d->n_blocks;
    if (cfg->n_blocks < 1 || cfg->n_blocks > LTX_VAE_MAX_BLOCKS)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of 1..%d integers", path, key,
                       LTX_VAE_MAX_BLOCKS);
    return get_list(json, path, key, cfg->n_blocks, d->block_out, d->n_blocks, 1, MAX_WIDTH,
                    cfg->decoder_block_out_channels);
}

// LTX-2's upsample_type: entry i, unreversed, gives decoder block i's strides (absent:
// "spatiotemporal" for every block, as LTX-Video's upsamplers always are).
static br_status get_upsample_types(const cJSON *json, const char *path, ltx_vae_config *c) {
    static const char *const names[3] = {"spatiotemporal", "temporal", "spatial"};
    static const int st[3] = {2, 2, 1}, ss[3] = {2, 1, 2};
    const char *key = "upsample_type";
    const cJSON *item = c->ltx2 ? br_json_key(json, key) : NULL;
    for (int i = 0; i < c->n_blocks; i++) c->up[i].stride_t = c->up[i].stride_s = 2;
    if (!item) return BR_OK;
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) < c->n_blocks)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of %d names (one per decoder block)",
                       path, key, c->n_blocks);
    for (int i = 0; i < c->n_blocks; i++) {
        const cJSON *v = cJSON_GetArrayItem(item, i);
        int k = 0;
        while (k < 3 && !(cJSON_IsString(v) && strcmp(v->valuestring, names[k]) == 0)) k++;
        if (k == 3)
            return br_fail(BR_EINPUT, "%s: \"%s\" entry %d must be \"spatiotemporal\", "
                                      "\"temporal\" or \"spatial\"", path, key, i);
        c->up[i].stride_t = st[k], c->up[i].stride_s = ss[k];
    }
    return BR_OK;
}

// LTX-2's decoder_spatial_padding_mode: only "zeros" (LTX-2.3), the padding of cpu_im2col_3d,
// is implemented; absent means the reference's default, LTX-2.0's "reflect".
static br_status check_padding(const cJSON *json, const char *path) {
    const char *key = "decoder_spatial_padding_mode";
    const cJSON *item = br_json_key(json, key);
    if (!item)
        return br_fail(BR_EINPUT, "%s: \"%s\" is absent, which means \"reflect\" (LTX-2.0's "
                                  "padding): only \"zeros\" (LTX-2.3's) is implemented", path, key);
    if (!cJSON_IsString(item) || strcmp(item->valuestring, "zeros") != 0)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be \"zeros\" (LTX-2.3's padding), the only one "
                                  "brigade implements (not LTX-2.0's \"reflect\")", path, key);
    return BR_OK;
}

// The keys, with the defaults of the class's constructor.
static br_status parse_keys(ltx_vae_config *c, const cJSON *json, const char *path,
                            const vae_defaults *d) {
    const int n = c->n_blocks, n_def = d->n_blocks;
    BR_TRY(br_json_int(json, path, "latent_channels", 128, 1, MAX_WIDTH, &c->latent_channels));
    BR_TRY(br_json_int(json, path, "out_channels", 3, 1, 64, &c->out_channels));
    BR_TRY(br_json_int(json, path, "patch_size", 4, 1, MAX_PATCH, &c->patch_size));
    BR_TRY(br_json_int(json, path, "patch_size_t", 1, 1, 1, &c->patch_size_t));
    BR_TRY(get_list(json, path, "decoder_layers_per_block", n + 1, d->layers, n_def + 1, 0,
                    LTX_VAE_MAX_LAYERS, c->decoder_layers_per_block));
    BR_TRY(get_list(json, path, "decoder_spatio_temporal_scaling", n, d->scaling, n_def, -1, 1,
                    c->decoder_spatio_temporal_scaling));
    BR_TRY(get_list(json, path, "decoder_inject_noise", n + 1, d->inject_noise, n_def + 1, -1, 1,
                    c->decoder_inject_noise));
    BR_TRY(get_list(json, path, "upsample_residual", n, d->residual, n_def, -1, 1,
                    c->upsample_residual));
    BR_TRY(get_list(json, path, "upsample_factor", n, d->factor, n_def, 1, 8, c->upsample_factor));
    BR_TRY(get_upsample_types(json, path, c));
    if (c->ltx2) BR_TRY(check_padding(json, path));
    BR_TRY(br_json_bool(json, path, "timestep_conditioning", 0, &c->timestep_conditioning));
    BR_TRY(br_json_bool(json, path, "decoder_causal", d->causal, &c->decoder_causal));
    BR_TRY(br_json_positive_float(json, path, "resnet_norm_eps", 1e-6, 1, &c->resnet_norm_eps));
    return br_json_positive_float(json, path, "scaling_factor", 1.0, 1e30, &c->scaling_factor);
}

// Up block i as LTXVideoUpBlock3d builds it: with ch channels arriving it is told
// in = ch / factor and out = block_out / factor; a ResNet in -> out leads when they differ, the
// upsampler expects out * factor channels and gives out. What the reference cannot run fails.
static br_status derive_block(ltx_vae_config *c, const char *path, int i, int *ch) {
    const int j = c->n_blocks - 1 - i; // the config's index of decoder block i
    ltx_vae_up_block *b = &c->up[i];
    const int f = c->upsample_factor[j], out = c->decoder_block_out_channels[j];
    b->c_in = *ch;
    b->layers = c->decoder_layers_per_block[j];
    b->upsample = c->decoder_spatio_temporal_scaling[j];
    b->residual = c->upsample_residual[j] && b->upsample;
    b->factor = f;
    b->inject_noise = c->decoder_inject_noise[j];
    if (8 % f)
        return br_fail(BR_EINPUT, "%s: \"upsample_factor\" entry %d must be 1, 2, 4 or 8", path, j);
    if (*ch % f || out % f)
        return br_fail(BR_EINPUT, "%s: decoder block %d: %d and %d channels do not divide by "
                                  "\"upsample_factor\" %d", path, i, *ch, out, f);
    b->c_out = out / f;
    b->conv_in = *ch / f != b->c_out;
    if (b->conv_in && (f != 1 || c->timestep_conditioning || b->inject_noise))
        return br_fail(BR_EINPUT, "%s: decoder block %d changes width (%d -> %d channels) with "
                                  "upsample_factor %d%s: the reference cannot run that either",
                       path, i, *ch, out, f,
                       c->timestep_conditioning ? " and timestep_conditioning"
                       : b->inject_noise        ? " and decoder_inject_noise" : "");
    if (!b->upsample && f != 1)
        return br_fail(BR_EINPUT, "%s: decoder block %d has \"upsample_factor\" %d but no "
                                  "upsampling (\"decoder_spatio_temporal_scaling\")", path, i, f);
    const int shuffle = b->stride_t * b->stride_s * b->stride_s; // cells per input cell
    if (b->residual && (*ch % shuffle || shuffle % f))
        return br_fail(BR_EINPUT, "%s: decoder block %d: the residual upsampler needs a multiple "
                                  "of %d channels, not %d, and upsample_factor %d dividing %d",
                       path, i, shuffle, *ch, f, shuffle);
    *ch = b->c_out;
    return BR_OK;
}

br_status ltx_vae_config_parse(ltx_vae_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    const cJSON *cls = br_json_key(json, "_class_name");
    cfg->ltx2 = cJSON_IsString(cls) && strcmp(cls->valuestring, LTX2_VIDEO.class_name) == 0;
    const vae_defaults *d = cfg->ltx2 ? &LTX2_VIDEO : &LTX_VIDEO;
    if (!cfg->ltx2) BR_TRY(br_json_class(json, path, LTX_VIDEO.class_name));
    BR_TRY(get_block_channels(json, path, d, cfg));
    BR_TRY(parse_keys(cfg, json, path, d));
    const int n = cfg->n_blocks;
    int ch = cfg->decoder_block_out_channels[n - 1];
    cfg->mid_channels = ch;
    cfg->mid_layers = cfg->decoder_layers_per_block[n];
    cfg->mid_inject_noise = cfg->decoder_inject_noise[n];
    for (int i = 0; i < n; i++) {
        BR_TRY(derive_block(cfg, path, i, &ch));
        const ltx_vae_up_block *b = &cfg->up[i];
        cfg->n_upsamplers += b->upsample;
        cfg->n_up_time += b->upsample && b->stride_t == 2;
        cfg->n_up_space += b->upsample && b->stride_s == 2;
    }
    cfg->final_channels = ch;
    return BR_OK;
}

br_status ltx_vae_open(const char *dir, br_checkpoint *ck, ltx_vae_config *cfg) {
    BR_TRY(br_ckpt_open(ck, dir));
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    br_status st = ltx_vae_config_parse(cfg, ck->config, path);
    if (st != BR_OK) br_ckpt_close(ck);
    return st;
}
