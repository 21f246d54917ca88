// ltx_config.c: config.json -> ltx_config, validated.
#include "ltx_config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

enum { MAX_WIDTH = 1 << 16 }; // bounds every size so products stay far inside int64

// Reads an integer key (default def when absent); fails for a non-integer or one out of range.
static br_status get_int(const cJSON *json, const char *path, const char *key, int def, int *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!item || cJSON_IsNull(item)) {
        *out = def;
        return BR_OK;
    }
    double v = item->valuedouble;
    // The range first: converting a double outside int's range (1e30, 1e999 = inf) is undefined.
    if (!cJSON_IsNumber(item) || !(v >= 1 && v <= MAX_WIDTH) || v != (double)(int)v)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be an integer in 1..%d", path, key, MAX_WIDTH);
    *out = (int)v;
    return BR_OK;
}

// Fails unless key is absent or equals the string want.
static br_status want_string(const cJSON *json, const char *path, const char *key,
                             const char *want) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!item || cJSON_IsNull(item)) return BR_OK;
    if (!cJSON_IsString(item) || strcmp(item->valuestring, want) != 0)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be \"%s\" (the only one brigade implements)",
                       path, key, want);
    return BR_OK;
}

// Fails unless key is absent or equals the boolean want.
static br_status want_bool(const cJSON *json, const char *path, const char *key, int want) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!item || cJSON_IsNull(item)) return BR_OK;
    if (!cJSON_IsBool(item) || cJSON_IsTrue(item) != want)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be %s (the only setting brigade implements)",
                       path, key, want ? "true" : "false");
    return BR_OK;
}

br_status ltx_config_parse(ltx_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(json, "_class_name");
    if (cls && (!cJSON_IsString(cls) || strcmp(cls->valuestring, "LTXVideoTransformer3DModel")))
        return br_fail(BR_EINPUT, "%s: _class_name is not LTXVideoTransformer3DModel", path);
    // Defaults are those of the reference's constructor.
    BR_TRY(get_int(json, path, "in_channels", 128, &cfg->in_channels));
    BR_TRY(get_int(json, path, "out_channels", cfg->in_channels, &cfg->out_channels));
    BR_TRY(get_int(json, path, "num_attention_heads", 32, &cfg->heads));
    BR_TRY(get_int(json, path, "attention_head_dim", 64, &cfg->head_dim));
    BR_TRY(get_int(json, path, "num_layers", 28, &cfg->layers));
    BR_TRY(get_int(json, path, "caption_channels", 4096, &cfg->caption_channels));
    BR_TRY(get_int(json, path, "cross_attention_dim", 2048, &cfg->cross_attention_dim));
    BR_TRY(get_int(json, path, "patch_size", 1, &cfg->patch_size));
    BR_TRY(get_int(json, path, "patch_size_t", 1, &cfg->patch_size_t));
    BR_TRY(want_string(json, path, "activation_fn", "gelu-approximate"));
    BR_TRY(want_string(json, path, "qk_norm", "rms_norm_across_heads"));
    BR_TRY(want_bool(json, path, "norm_elementwise_affine", 0));
    BR_TRY(want_bool(json, path, "attention_bias", 1));
    BR_TRY(want_bool(json, path, "attention_out_bias", 1));
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(json, "norm_eps");
    cfg->norm_eps = 1e-6f;
    if (eps && !cJSON_IsNull(eps)) {
        // Checked as the float it is stored in too: 1e-60 would become an eps of 0.
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble < 1) ||
            !((float)eps->valuedouble > 0))
            return br_fail(BR_EINPUT, "%s: \"norm_eps\" must be a number in (0, 1) that fp32 "
                                      "holds (not below 1.4e-45)", path);
        cfg->norm_eps = (float)eps->valuedouble;
    }
    int64_t dim = (int64_t)cfg->heads * cfg->head_dim; // up to 2^32: not in an int
    if (dim > MAX_WIDTH)
        return br_fail(BR_EINPUT, "%s: num_attention_heads x attention_head_dim = %lld exceeds %d",
                       path, (long long)dim, MAX_WIDTH);
    cfg->dim = (int)dim;
    if (cfg->dim % 2)
        return br_fail(BR_EINPUT, "%s: the inner dim %d must be even (RoPE rotates pairs)", path,
                       cfg->dim);
    // The caption projection outputs D channels, which attn2's keys take.
    if (cfg->cross_attention_dim != cfg->dim)
        return br_fail(BR_EINPUT,
                       "%s: cross_attention_dim %d differs from num_attention_heads x "
                       "attention_head_dim = %d",
                       path, cfg->cross_attention_dim, cfg->dim);
    return BR_OK;
}
