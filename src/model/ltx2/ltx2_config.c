// ltx2_config.c: config.json -> ltx2_config, validated, and the preset sizes.
#include "ltx2_config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "io/json_keys.h"

enum { MAX_WIDTH = 1 << 16 }; // bounds every size so products stay far inside int64

// One stream's keys: prefix "" (video) or "audio_" (audio); defaults are the reference's.
static br_status parse_stream(const cJSON *json, const char *path, const char *prefix,
                              int head_dim, int cross_dim_default, ltx2_stream_config *s) {
    char key[64];
#define KEY(k) (snprintf(key, sizeof key, "%s%s", prefix, k), key)
    BR_TRY(br_json_int(json, path, KEY("num_attention_heads"), 32, 1, MAX_WIDTH, &s->heads));
    BR_TRY(br_json_int(json, path, KEY("attention_head_dim"), head_dim, 2, MAX_WIDTH, &s->head_dim));
    BR_TRY(br_json_int(json, path, KEY("in_channels"), 128, 1, MAX_WIDTH, &s->in_channels));
    BR_TRY(br_json_int(json, path, KEY("out_channels"), s->in_channels, 1, MAX_WIDTH,
                       &s->out_channels));
    BR_TRY(br_json_bool(json, path, KEY("gated_attn"), 0, &s->gated_attn));
    BR_TRY(br_json_bool(json, path, KEY("cross_attn_mod"), 0, &s->cross_attn_mod));
    BR_TRY(br_json_int(json, path, KEY("pos_embed_max_pos"), 20, 1, MAX_WIDTH, &s->pos_max));
    BR_TRY(br_json_int(json, path, KEY("patch_size"), 1, 1, 1, &(int){0}));
    BR_TRY(br_json_int(json, path, KEY("patch_size_t"), 1, 1, 1, &(int){0}));
    int cross_dim;
    BR_TRY(br_json_int(json, path, KEY("cross_attention_dim"), cross_dim_default, 1, MAX_WIDTH,
                       &cross_dim));
#undef KEY
    int64_t dim = (int64_t)s->heads * s->head_dim;
    if (dim > MAX_WIDTH || s->head_dim % 2)
        return br_fail(BR_EINPUT, "%s: %snum_attention_heads x %sattention_head_dim = %lld: the "
                       "head must be even and the product at most %d", path, prefix, prefix,
                       (long long)dim, MAX_WIDTH);
    s->dim = (int)dim;
    // The text comes into the blocks at the stream's width (the connectors' outputs, or the
    // caption projection's), which the cross-attention's keys take.
    if (cross_dim != s->dim)
        return br_fail(BR_EINPUT, "%s: %scross_attention_dim %d differs from the stream's width "
                       "%d", path, prefix, cross_dim, s->dim);
    s->mod_params = s->cross_attn_mod ? 9 : 6;
    return BR_OK;
}

static br_status parse_rope(ltx2_config *cfg, const cJSON *json, const char *path) {
    BR_TRY(br_json_int(json, path, "base_height", 2048, 1, MAX_WIDTH, &cfg->base_height));
    BR_TRY(br_json_int(json, path, "base_width", 2048, 1, MAX_WIDTH, &cfg->base_width));
    BR_TRY(br_json_int(json, path, "audio_scale_factor", 4, 1, MAX_WIDTH, &cfg->audio_scale_factor));
    BR_TRY(br_json_int(json, path, "audio_sampling_rate", 16000, 1, 1 << 20, &cfg->sampling_rate));
    BR_TRY(br_json_int(json, path, "audio_hop_length", 160, 1, MAX_WIDTH, &cfg->hop_length));
    BR_TRY(br_json_int(json, path, "causal_offset", 1, 0, MAX_WIDTH, &cfg->causal_offset));
    BR_TRY(br_json_number(json, path, "rope_theta", 10000.0, 1.0, 1e12, &cfg->theta));
    BR_TRY(br_json_bool(json, path, "rope_double_precision", 1, &cfg->double_precision));
    BR_TRY(br_json_want_string(json, path, "rope_type", "split"));
    const int defaults[3] = {8, 32, 32};
    memcpy(cfg->vae_scale, defaults, sizeof defaults);
    const cJSON *v = br_json_key(json, "vae_scale_factors");
    if (!v) return BR_OK;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
        return br_fail(BR_EINPUT, "%s: \"vae_scale_factors\" must be a list of 3 integers", path);
    for (int i = 0; i < 3; i++) {
        const cJSON *x = cJSON_GetArrayItem(v, i);
        if (!br_json_int_in(x, 1, MAX_WIDTH))
            return br_fail(BR_EINPUT, "%s: \"vae_scale_factors\" must hold 3 positive integers", path);
        cfg->vae_scale[i] = (int)x->valuedouble;
    }
    return BR_OK;
}

br_status ltx2_config_parse(ltx2_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "LTX2VideoTransformer3DModel"));
    BR_TRY(parse_stream(json, path, "", 128, 4096, &cfg->video));
    BR_TRY(parse_stream(json, path, "audio_", 64, 2048, &cfg->audio));
    BR_TRY(br_json_int(json, path, "num_layers", 48, 1, MAX_WIDTH, &cfg->layers));
    BR_TRY(br_json_int(json, path, "caption_channels", 3840, 1, MAX_WIDTH, &cfg->caption_channels));
    BR_TRY(br_json_bool(json, path, "use_prompt_embeddings", 1, &cfg->caption_projection));
    int adaln_single;
    BR_TRY(br_json_bool(json, path, "use_prompt_adaln_single", 1, &adaln_single));
    cfg->prompt_adaln = adaln_single && (cfg->video.cross_attn_mod || cfg->audio.cross_attn_mod);
    if (!adaln_single && (cfg->video.cross_attn_mod || cfg->audio.cross_attn_mod))
        return br_fail(BR_EINPUT, "%s: \"use_prompt_adaln_single\" false with cross_attn_mod is "
                       "not implemented", path);
    BR_TRY(br_json_bool(json, path, "perturbed_attn", 0, &cfg->perturbed_attn));
    BR_TRY(br_json_positive_float(json, path, "norm_eps", 1e-6, 1, &cfg->norm_eps));
    double scale;
    BR_TRY(br_json_number(json, path, "timestep_scale_multiplier", 1000, 1e-6, 1e9, &scale));
    cfg->timestep_scale = (float)scale;
    BR_TRY(br_json_number(json, path, "cross_attn_timestep_scale_multiplier", 1000, 1e-6, 1e9, &scale));
    cfg->cross_timestep_scale = (float)scale;
    BR_TRY(br_json_want_string(json, path, "activation_fn", "gelu-approximate"));
    BR_TRY(br_json_want_string(json, path, "qk_norm", "rms_norm_across_heads"));
    BR_TRY(br_json_want_bool(json, path, "norm_elementwise_affine", 0));
    BR_TRY(br_json_want_bool(json, path, "attention_bias", 1));
    BR_TRY(br_json_want_bool(json, path, "attention_out_bias", 1));
    BR_TRY(br_json_want_bool(json, path, "ff_bias", 1));
    BR_TRY(br_json_want_bool(json, path, "audio_ff_bias", 1));
    BR_TRY(br_json_want_bool(json, path, "use_keyframes_abs_pos_embedding", 0));
    BR_TRY(parse_rope(cfg, json, path));
    // The audio<->video attentions run with the audio's heads on both sides, their RoPE tables
    // cut into the video's head count: the two must agree.
    if (cfg->video.heads != cfg->audio.heads)
        return br_fail(BR_EINPUT, "%s: num_attention_heads %d and audio_num_attention_heads %d "
                       "differ (the audio-video attentions need them equal)", path,
                       cfg->video.heads, cfg->audio.heads);
    return BR_OK;
}

cJSON *ltx2_preset_config(const char *name) {
    int layers, heads, dh, adh, channels, caption;
    if (strcmp(name, "ltx-2.3-22b") == 0) {
        layers = 48, heads = 32, dh = 128, adh = 64, channels = 128, caption = 3840;
    } else if (strcmp(name, "ltx-2.3-tiny") == 0) {
        layers = 4, heads = 2, dh = 16, adh = 8, channels = 8, caption = 24;
    } else {
        return NULL;
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "_class_name", "LTX2VideoTransformer3DModel");
    cJSON_AddNumberToObject(c, "num_layers", layers);
    cJSON_AddNumberToObject(c, "num_attention_heads", heads);
    cJSON_AddNumberToObject(c, "attention_head_dim", dh);
    cJSON_AddNumberToObject(c, "cross_attention_dim", heads * dh);
    cJSON_AddNumberToObject(c, "audio_num_attention_heads", heads);
    cJSON_AddNumberToObject(c, "audio_attention_head_dim", adh);
    cJSON_AddNumberToObject(c, "audio_cross_attention_dim", heads * adh);
    cJSON_AddNumberToObject(c, "in_channels", channels);
    cJSON_AddNumberToObject(c, "audio_in_channels", channels);
    cJSON_AddNumberToObject(c, "caption_channels", caption);
    // LTX-2.3's switches (diffusers' scripts/convert_ltx2_to_diffusers.py).
    const char *on[] = {"gated_attn", "audio_gated_attn", "cross_attn_mod", "audio_cross_attn_mod",
                        "perturbed_attn", "use_prompt_adaln_single"};
    for (size_t i = 0; i < sizeof on / sizeof *on; i++) cJSON_AddTrueToObject(c, on[i]);
    cJSON_AddFalseToObject(c, "use_prompt_embeddings");
    cJSON_AddStringToObject(c, "rope_type", "split");
    return c;
}
