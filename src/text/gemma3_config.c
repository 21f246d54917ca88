// gemma3_config.c: see gemma3_config.h. transformers 4.x writes rope_theta, rope_scaling,
// rope_local_base_freq and sliding_window_pattern; 5.x writes layer_types and rope_parameters
// per layer type; both are read. What brigade does not implement is refused by name.
#include "gemma3_config.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "io/json_keys.h"

enum { MAX_WIDTH = 1 << 17 };

// A rope_scaling / rope_parameters object: rope_type default or linear (factor), and its base
// when it names one.
static br_status parse_rope(const cJSON *r, const char *path, const char *what, gemma3_rope *out) {
    if (!r || cJSON_IsNull(r)) return BR_OK;
    if (!cJSON_IsObject(r)) return br_fail(BR_EINPUT, "%s: %s must be an object", path, what);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "rope_type");
    if (!cJSON_IsString(type)) type = cJSON_GetObjectItemCaseSensitive(r, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "default";
    if (!strcmp(t, "linear")) {
        BR_TRY(br_json_number(r, path, "factor", 1.0, 1e-6, 1e6, &out->factor));
    } else if (strcmp(t, "default") != 0) {
        return br_fail(BR_EINPUT, "%s: %s rope_type \"%s\" is not implemented (default and "
                       "linear are)", path, what, t);
    }
    if (br_json_key(r, "rope_theta")) BR_TRY(br_json_number(r, path, "rope_theta", 1e4, 1.0, 1e12, &out->theta));
    return BR_OK;
}

static br_status parse_layer_types(gemma3_config *cfg, const cJSON *json, const char *path) {
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(json, "layer_types");
    if (!types || cJSON_IsNull(types)) {
        int pattern; // every pattern-th layer global, as Gemma3TextConfig makes layer_types
        BR_TRY(br_json_int(json, path, "sliding_window_pattern", 6, 1, GEMMA3_MAX_LAYERS, &pattern));
        for (int i = 0; i < cfg->layers; i++) cfg->sliding[i] = (i + 1) % pattern != 0;
        return BR_OK;
    }
    if (!cJSON_IsArray(types) || cJSON_GetArraySize(types) != cfg->layers)
        return br_fail(BR_EINPUT, "%s: layer_types must list the %d layers", path, cfg->layers);
    for (int i = 0; i < cfg->layers; i++) {
        const cJSON *t = cJSON_GetArrayItem(types, i);
        const char *s = cJSON_IsString(t) ? t->valuestring : "";
        if (strcmp(s, "sliding_attention") && strcmp(s, "full_attention"))
            return br_fail(BR_EINPUT, "%s: layer_types[%d] \"%s\": expected sliding_attention or "
                           "full_attention", path, i, s);
        cfg->sliding[i] = !strcmp(s, "sliding_attention");
    }
    return BR_OK;
}

static br_status parse_ropes(gemma3_config *cfg, const cJSON *json, const char *path) {
    cfg->global_rope = (gemma3_rope){1e6, 1.0};
    cfg->local_rope = (gemma3_rope){1e4, 1.0};
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(json, "rope_parameters");
    if (cJSON_IsObject(params) && cJSON_GetObjectItemCaseSensitive(params, "full_attention")) {
        BR_TRY(parse_rope(cJSON_GetObjectItemCaseSensitive(params, "full_attention"), path,
                          "rope_parameters.full_attention", &cfg->global_rope));
        return parse_rope(cJSON_GetObjectItemCaseSensitive(params, "sliding_attention"), path,
                          "rope_parameters.sliding_attention", &cfg->local_rope);
    }
    BR_TRY(br_json_number(json, path, "rope_theta", 1e6, 1.0, 1e12, &cfg->global_rope.theta));
    BR_TRY(br_json_number(json, path, "rope_local_base_freq", 1e4, 1.0, 1e12, &cfg->local_rope.theta));
    return parse_rope(cJSON_GetObjectItemCaseSensitive(json, "rope_scaling"), path, "rope_scaling",
                      &cfg->global_rope);
}

// What transformers can switch on and brigade does not do.
static br_status refuse_unimplemented(const cJSON *json, const char *path) {
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(json, "attn_logit_softcapping");
    if (cap && !cJSON_IsNull(cap))
        return br_fail(BR_EINPUT, "%s: attn_logit_softcapping is not implemented (Gemma 3 has "
                       "none)", path);
    int flag;
    BR_TRY(br_json_bool(json, path, "use_bidirectional_attention", 0, &flag));
    if (flag) return br_fail(BR_EINPUT, "%s: use_bidirectional_attention is not implemented", path);
    BR_TRY(br_json_bool(json, path, "attention_bias", 0, &flag));
    if (flag) return br_fail(BR_EINPUT, "%s: attention_bias is not implemented (Gemma 3 has none)", path);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(json, "hidden_activation");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu_pytorch_tanh")))
        return br_fail(BR_EINPUT, "%s: hidden_activation must be gelu_pytorch_tanh", path);
    return BR_OK;
}

br_status gemma3_config_parse(gemma3_config *cfg, const cJSON *root, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(root)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "gemma3") &&
        strcmp(type->valuestring, "gemma3_text"))
        return br_fail(BR_EINPUT, "%s: model_type %s: brigade runs Gemma 3 text encoders (LTX-2's); "
                       "for other pipelines make the embeddings with tools/encode_prompt.py",
                       path, type->valuestring);
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (!json) json = root; // a text model's own config
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: text_config must be an object", path);
    BR_TRY(br_json_int(json, path, "vocab_size", 262208, 1, 1 << 24, &cfg->vocab));
    BR_TRY(br_json_int(json, path, "hidden_size", 2304, 2, MAX_WIDTH, &cfg->hidden));
    BR_TRY(br_json_int(json, path, "intermediate_size", 9216, 1, 1 << 20, &cfg->intermediate));
    BR_TRY(br_json_int(json, path, "num_hidden_layers", 26, 1, GEMMA3_MAX_LAYERS, &cfg->layers));
    BR_TRY(br_json_int(json, path, "num_attention_heads", 8, 1, 1024, &cfg->heads));
    BR_TRY(br_json_int(json, path, "num_key_value_heads", 4, 1, 1024, &cfg->kv_heads));
    BR_TRY(br_json_int(json, path, "head_dim", 256, 2, 1024, &cfg->head_dim));
    BR_TRY(br_json_number(json, path, "query_pre_attn_scalar", 256, 1e-6, 1e9,
                          &cfg->query_pre_attn_scalar));
    BR_TRY(br_json_int(json, path, "sliding_window", 4096, 1, 1 << 24, &cfg->sliding_window));
    BR_TRY(br_json_number(json, path, "rms_norm_eps", 1e-6, 0.0, 1.0, &cfg->eps));
    if (cfg->heads % cfg->kv_heads || cfg->head_dim % 2)
        return br_fail(BR_EINPUT, "%s: %d heads over %d key/value heads of width %d: the heads "
                       "must be a multiple of the key/value heads and the width even", path,
                       cfg->heads, cfg->kv_heads, cfg->head_dim);
    BR_TRY(refuse_unimplemented(json, path));
    BR_TRY(parse_layer_types(cfg, json, path));
    return parse_ropes(cfg, json, path);
}

cJSON *gemma3_preset(const char *name) {
    if (strcmp(name, "gemma-3-12b") != 0) return NULL;
    // google/gemma-3-12b-it's text_config, as LTX-2's text_encoder/config.json holds it
    return cJSON_Parse("{\"model_type\": \"gemma3\", \"text_config\": {\"vocab_size\": 262208, "
                       "\"hidden_size\": 3840, \"intermediate_size\": 15360, "
                       "\"num_hidden_layers\": 48, \"num_attention_heads\": 16, "
                       "\"num_key_value_heads\": 8, \"head_dim\": 256, "
                       "\"query_pre_attn_scalar\": 256, \"sliding_window\": 1024, "
                       "\"sliding_window_pattern\": 6, \"rope_theta\": 1000000.0, "
                       "\"rope_local_base_freq\": 10000.0, \"rope_scaling\": {\"rope_type\": "
                       "\"linear\", \"factor\": 8.0}, \"rms_norm_eps\": 1e-06}}");
}
