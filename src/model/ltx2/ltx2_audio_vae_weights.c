// ltx2_audio_vae_weights.c: config.json and checkpoint keys -> ltx2_audio_vae, with the shapes
// the config implies; the one place that spells diffusers' names for the audio VAE's decoder.
// Convolution weights [C_out, C_in, 3, 3] become [C_out, 9 * C_in] (tap-major rows, as
// cpu_im2col_2d lays out its columns).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_keys.h"
#include "ltx2_audio_vae.h"

enum { MAX_WIDTH = 1 << 16 };

// --- config ------------------------------------------------------------------------------------

static br_status parse_ch_mult(const cJSON *json, const char *path, ltx2_audio_vae_config *c) {
    const cJSON *a = br_json_key(json, "ch_mult");
    c->levels = 3, c->ch_mult[0] = 1, c->ch_mult[1] = 2, c->ch_mult[2] = 4;
    if (!a) return BR_OK;
    const int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (n < 1 || n > LTX2_AUDIO_VAE_MAX_LEVELS)
        return br_fail(BR_EINPUT, "%s: \"ch_mult\" must be a list of 1..%d integers", path,
                       LTX2_AUDIO_VAE_MAX_LEVELS);
    c->levels = n;
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!br_json_int_in(v, 1, 64))
            return br_fail(BR_EINPUT, "%s: \"ch_mult\" entry %d must be an integer in 1..64",
                           path, i);
        c->ch_mult[i] = (int)v->valuedouble;
    }
    return BR_OK;
}

// The keys the decoder's arithmetic depends on; the encoder's and training's (in_channels,
// resolution, dropout, is_causal, double_z) are ignored.
br_status ltx2_audio_vae_config_parse(ltx2_audio_vae_config *cfg, const cJSON *json,
                                      const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "AutoencoderKLLTX2Audio"));
    BR_TRY(br_json_int(json, path, "base_channels", 128, 1, MAX_WIDTH, &cfg->base_channels));
    BR_TRY(br_json_int(json, path, "latent_channels", 8, 1, MAX_WIDTH, &cfg->latent_channels));
    BR_TRY(br_json_int(json, path, "output_channels", 2, 1, 64, &cfg->output_channels));
    BR_TRY(br_json_int(json, path, "num_res_blocks", 2, 0, 64, &cfg->num_res_blocks));
    BR_TRY(parse_ch_mult(json, path, cfg));
    BR_TRY(br_json_want_string(json, path, "norm_type", "pixel"));
    BR_TRY(br_json_want_string(json, path, "causality_axis", "height"));
    BR_TRY(br_json_want_bool(json, path, "mid_block_add_attention", 0));
    const cJSON *attn = br_json_key(json, "attn_resolutions");
    if (attn && (!cJSON_IsArray(attn) || cJSON_GetArraySize(attn) != 0))
        return br_fail(BR_EINPUT, "%s: \"attn_resolutions\" other than null or [] (attention "
                       "blocks) is not implemented", path);
    // null: the reference refuses a causality axis of None and its pipeline cannot size the
    // latents without mel_bins, so neither means the default here.
    const char *no_null[] = {"causality_axis", "mel_bins"};
    for (int i = 0; i < 2; i++)
        if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, no_null[i])))
            return br_fail(BR_EINPUT, "%s: \"%s\" null is not implemented", path, no_null[i]);
    BR_TRY(br_json_int(json, path, "mel_bins", 64, 4, MAX_WIDTH, &cfg->mel_bins));
    BR_TRY(br_json_int(json, path, "sample_rate", 16000, 1, 1 << 20, &cfg->sample_rate));
    BR_TRY(br_json_int(json, path, "mel_hop_length", 160, 1, 1 << 20, &cfg->mel_hop_length));
    cfg->latent_mel_bins = cfg->mel_bins / 4;
    // The statistics have base_channels entries and the pipeline applies them per packed feature.
    if (cfg->base_channels != cfg->latent_channels * cfg->latent_mel_bins)
        return br_fail(BR_EINPUT, "%s: \"base_channels\" %d (the latent statistics' length) must "
                       "be latent_channels x mel_bins / 4 = %d", path, cfg->base_channels,
                       cfg->latent_channels * cfg->latent_mel_bins);
    return BR_OK;
}

// --- weights -----------------------------------------------------------------------------------

// prefix.conv.weight [C_out, C_in, k, k] (k = 3, or 1 for a 1x1) and prefix.conv.bias [C_out]:
// every convolution of the decoder is an LTX2AudioCausalConv2d wrapping its Conv2d as .conv.
static br_status load_conv(br_checkpoint *ck, const char *prefix, int c_in, int c_out, int k,
                           ltx2_audio_conv *cv) {
    char name[256];
    float *w;
    const int taps = k * k;
    snprintf(name, sizeof name, "%s.conv.weight", prefix);
    BR_TRY(br_ckpt_load(ck, name, 4, (const int64_t[]){c_out, c_in, k, k}, &w));
    cv->c_in = c_in, cv->c_out = c_out, cv->taps = taps;
    if (!(cv->w = malloc((size_t)c_out * taps * c_in * sizeof(float)))) {
        free(w);
        return br_fail(BR_ENOMEM, "out of memory for %s", name);
    }
    for (int o = 0; o < c_out; o++)
        for (int c = 0; c < c_in; c++)
            for (int t = 0; t < taps; t++)
                cv->w[((size_t)o * taps + t) * c_in + c] = w[((size_t)o * c_in + c) * taps + t];
    free(w);
    snprintf(name, sizeof name, "%s.conv.bias", prefix);
    return br_ckpt_load(ck, name, 1, (const int64_t[]){c_out}, &cv->b);
}

static void free_conv(ltx2_audio_conv *cv) {
    free(cv->w), free(cv->b);
    cv->w = cv->b = NULL;
}

static br_status load_res(br_checkpoint *ck, const char *prefix, int c_in, int c_out,
                          ltx2_audio_res *r) {
    char name[256];
    r->c_in = c_in, r->c_out = c_out;
    snprintf(name, sizeof name, "%s.conv1", prefix);
    BR_TRY(load_conv(ck, name, c_in, c_out, 3, &r->conv1));
    snprintf(name, sizeof name, "%s.conv2", prefix);
    BR_TRY(load_conv(ck, name, c_out, c_out, 3, &r->conv2));
    snprintf(name, sizeof name, "%s.nin_shortcut", prefix);
    return c_in != c_out ? load_conv(ck, name, c_in, c_out, 1, &r->shortcut) : BR_OK;
}

static void free_res(ltx2_audio_res *r) {
    free_conv(&r->conv1), free_conv(&r->conv2), free_conv(&r->shortcut);
}

// The statistics, [base_channels] each.
static br_status load_stats(br_checkpoint *ck, ltx2_audio_vae *vae) {
    const int64_t n[1] = {vae->cfg.base_channels};
    BR_TRY(br_ckpt_load(ck, "latents_mean", 1, n, &vae->latents_mean));
    return br_ckpt_load(ck, "latents_std", 1, n, &vae->latents_std);
}

// The decoder as LTX2AudioDecoder builds it: its up levels run from the last (up.{levels-1},
// the widest) to up.0, each but up.0 followed by its upsampler.
static br_status load_decoder(br_checkpoint *ck, ltx2_audio_vae *vae) {
    const ltx2_audio_vae_config *cfg = &vae->cfg;
    const int n = cfg->levels, per_level = cfg->num_res_blocks + 1;
    char name[256];
    int c = cfg->base_channels * cfg->ch_mult[n - 1];
    BR_TRY(load_conv(ck, "decoder.conv_in", cfg->latent_channels, c, 3, &vae->conv_in));
    BR_TRY(load_res(ck, "decoder.mid.block_1", c, c, &vae->mid[0]));
    BR_TRY(load_res(ck, "decoder.mid.block_2", c, c, &vae->mid[1]));
    if (!(vae->blocks = calloc((size_t)n * per_level, sizeof *vae->blocks)))
        return br_fail(BR_ENOMEM, "out of memory for the audio VAE's blocks");
    for (int i = 0; i < n; i++) {
        const int level = n - 1 - i, out = cfg->base_channels * cfg->ch_mult[level];
        for (int b = 0; b < per_level; b++, c = out) {
            snprintf(name, sizeof name, "decoder.up.%d.block.%d", level, b);
            BR_TRY(load_res(ck, name, c, out, &vae->blocks[i * per_level + b]));
        }
        if (level == 0) break;
        snprintf(name, sizeof name, "decoder.up.%d.upsample.conv", level);
        BR_TRY(load_conv(ck, name, c, c, 3, &vae->upsample[i]));
    }
    return load_conv(ck, "decoder.conv_out", c, cfg->output_channels, 3, &vae->conv_out);
}

br_status ltx2_audio_vae_load(br_checkpoint *ck, const char *path, ltx2_audio_vae *vae) {
    memset(vae, 0, sizeof *vae);
    br_status st = ltx2_audio_vae_config_parse(&vae->cfg, ck->config, path);
    if (st == BR_OK) st = load_stats(ck, vae);
    if (st == BR_OK) st = load_decoder(ck, vae);
    if (st != BR_OK) ltx2_audio_vae_free(vae);
    return st;
}

br_status ltx2_audio_vae_open(const char *dir, ltx2_audio_vae *vae) {
    memset(vae, 0, sizeof *vae);
    br_checkpoint ck;
    BR_TRY(br_ckpt_open(&ck, dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    br_status st = ltx2_audio_vae_load(&ck, path, vae);
    br_ckpt_close(&ck);
    return st;
}

void ltx2_audio_vae_free(ltx2_audio_vae *vae) {
    const int n = vae->cfg.levels, per_level = vae->cfg.num_res_blocks + 1;
    free(vae->latents_mean), free(vae->latents_std);
    vae->latents_mean = vae->latents_std = NULL;
    free_conv(&vae->conv_in);
    free_res(&vae->mid[0]), free_res(&vae->mid[1]);
    for (int i = 0; vae->blocks && i < n * per_level; i++) free_res(&vae->blocks[i]);
    free(vae->blocks);
    vae->blocks = NULL;
    for (int i = 0; i < n; i++) free_conv(&vae->upsample[i]);
    free_conv(&vae->conv_out);
}
