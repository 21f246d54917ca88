// ltx_config.c: config.json -> ltx_config, validated.
#include "ltx_config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "io/json_keys.h"

enum { MAX_WIDTH = 1 << 16 }; // bounds every size so products stay far inside int64

br_status ltx_config_parse(ltx_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "LTXVideoTransformer3DModel"));
    // Defaults are those of the reference's constructor.
    BR_TRY(br_json_int(json, path, "in_channels", 128, 1, MAX_WIDTH, &cfg->in_channels));
    BR_TRY(br_json_int(json, path, "out_channels", cfg->in_channels, 1, MAX_WIDTH, &cfg->out_channels));
    BR_TRY(br_json_int(json, path, "num_attention_heads", 32, 1, MAX_WIDTH, &cfg->heads));
    BR_TRY(br_json_int(json, path, "attention_head_dim", 64, 1, MAX_WIDTH, &cfg->head_dim));
    BR_TRY(br_json_int(json, path, "num_layers", 28, 1, MAX_WIDTH, &cfg->layers));
    BR_TRY(br_json_int(json, path, "caption_channels", 4096, 1, MAX_WIDTH, &cfg->caption_channels));
    BR_TRY(br_json_int(json, path, "cross_attention_dim", 2048, 1, MAX_WIDTH, &cfg->cross_attention_dim));
    BR_TRY(br_json_int(json, path, "patch_size", 1, 1, MAX_WIDTH, &cfg->patch_size));
    BR_TRY(br_json_int(json, path, "patch_size_t", 1, 1, MAX_WIDTH, &cfg->patch_size_t));
    BR_TRY(br_json_want_string(json, path, "activation_fn", "gelu-approximate"));
    BR_TRY(br_json_want_string(json, path, "qk_norm", "rms_norm_across_heads"));
    BR_TRY(br_json_want_bool(json, path, "norm_elementwise_affine", 0));
    BR_TRY(br_json_want_bool(json, path, "attention_bias", 1));
    BR_TRY(br_json_want_bool(json, path, "attention_out_bias", 1));
    BR_TRY(br_json_positive_float(json, path, "norm_eps", 1e-6, 1, &cfg->norm_eps));
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
