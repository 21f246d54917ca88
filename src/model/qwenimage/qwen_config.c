// qwen_config.c: config.json -> qwen_config, validated, and the preset sizes.
#include "qwen_config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "io/json_keys.h"

enum { MAX_WIDTH = 1 << 16 }; // bounds every size so products stay far inside int64

// The flags of other variants: brigade runs the models that have them false (Qwen-Image,
// Qwen-Image-Edit(-Plus), FireRed-Image-Edit-1.0).
static const char *const unimplemented_flags[] = {"guidance_embeds", "zero_cond_t",
                                                  "use_additional_t_cond", "use_layer3d_rope"};

static br_status parse_axes(qwen_config *cfg, const cJSON *json, const char *path) {
    const cJSON *axes = br_json_key(json, "axes_dims_rope");
    const int defaults[3] = {16, 56, 56};
    memcpy(cfg->axes, defaults, sizeof defaults);
    if (!axes) return BR_OK;
    if (!cJSON_IsArray(axes) || cJSON_GetArraySize(axes) != 3)
        return br_fail(BR_EINPUT, "%s: \"axes_dims_rope\" must be a list of 3 integers", path);
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetArrayItem(axes, i);
        if (!br_json_int_in(v, 2, MAX_WIDTH) || (int)v->valuedouble % 2)
            return br_fail(BR_EINPUT, "%s: \"axes_dims_rope\" must hold 3 even integers >= 2",
                           path);
        cfg->axes[i] = (int)v->valuedouble;
    }
    return BR_OK;
}

br_status qwen_config_parse(qwen_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "QwenImageTransformer2DModel"));
    // Defaults are those of the reference's constructor.
    BR_TRY(br_json_int(json, path, "patch_size", 2, 1, 64, &cfg->patch_size));
    BR_TRY(br_json_int(json, path, "in_channels", 64, 1, MAX_WIDTH, &cfg->in_channels));
    BR_TRY(br_json_int(json, path, "out_channels", 16, 1, MAX_WIDTH, &cfg->out_channels));
    BR_TRY(br_json_int(json, path, "num_layers", 60, 1, MAX_WIDTH, &cfg->layers));
    BR_TRY(br_json_int(json, path, "attention_head_dim", 128, 1, MAX_WIDTH, &cfg->head_dim));
    BR_TRY(br_json_int(json, path, "num_attention_heads", 24, 1, MAX_WIDTH, &cfg->heads));
    BR_TRY(br_json_int(json, path, "joint_attention_dim", 3584, 1, MAX_WIDTH, &cfg->joint_dim));
    BR_TRY(parse_axes(cfg, json, path));
    for (size_t i = 0; i < sizeof unimplemented_flags / sizeof *unimplemented_flags; i++) {
        int on;
        BR_TRY(br_json_bool(json, path, unimplemented_flags[i], 0, &on));
        if (on)
            return br_fail(BR_EINPUT, "%s: \"%s\" true is not implemented (brigade runs the "
                           "variants with it false, as FireRed-Image-Edit-1.0)", path,
                           unimplemented_flags[i]);
    }
    int64_t dim = (int64_t)cfg->heads * cfg->head_dim; // up to 2^32: not in an int
    if (dim > MAX_WIDTH)
        return br_fail(BR_EINPUT, "%s: num_attention_heads x attention_head_dim = %lld exceeds %d",
                       path, (long long)dim, MAX_WIDTH);
    cfg->dim = (int)dim;
    if (cfg->axes[0] + cfg->axes[1] + cfg->axes[2] != cfg->head_dim)
        return br_fail(BR_EINPUT, "%s: axes_dims_rope %d + %d + %d must equal attention_head_dim "
                       "%d (RoPE rotates every channel of a head)", path, cfg->axes[0],
                       cfg->axes[1], cfg->axes[2], cfg->head_dim);
    if ((int64_t)cfg->patch_size * cfg->patch_size * cfg->out_channels > MAX_WIDTH)
        return br_fail(BR_EINPUT, "%s: patch_size^2 x out_channels exceeds %d", path, MAX_WIDTH);
    return BR_OK;
}

cJSON *qwen_preset_config(const char *name) {
    int layers, heads, head_dim, in, out, joint;
    int axes[3];
    if (strcmp(name, "qwen-image-20b") == 0) {
        layers = 60, heads = 24, head_dim = 128, in = 64, out = 16, joint = 3584;
        axes[0] = 16, axes[1] = axes[2] = 56;
    } else if (strcmp(name, "qwen-image-tiny") == 0) {
        layers = 4, heads = 2, head_dim = 16, in = 16, out = 4, joint = 24;
        axes[0] = 4, axes[1] = axes[2] = 6;
    } else {
        return NULL;
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "_class_name", "QwenImageTransformer2DModel");
    cJSON_AddNumberToObject(c, "patch_size", 2);
    cJSON_AddNumberToObject(c, "in_channels", in);
    cJSON_AddNumberToObject(c, "out_channels", out);
    cJSON_AddNumberToObject(c, "num_layers", layers);
    cJSON_AddNumberToObject(c, "attention_head_dim", head_dim);
    cJSON_AddNumberToObject(c, "num_attention_heads", heads);
    cJSON_AddNumberToObject(c, "joint_attention_dim", joint);
    cJSON_AddItemToObject(c, "axes_dims_rope", cJSON_CreateIntArray(axes, 3));
    for (size_t i = 0; i < sizeof unimplemented_flags / sizeof *unimplemented_flags; i++)
        cJSON_AddFalseToObject(c, unimplemented_flags[i]);
    return c;
}
