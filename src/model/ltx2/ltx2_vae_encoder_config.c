// ltx2_vae_encoder_config.c: the encoder's keys of an AutoencoderKLLTX2Video config.json ->
// ltx2_vae_encoder_config, with the constructor's defaults for absent keys, and the layout
// derived as LTX2VideoEncoder3d builds it (entry i of each list is down block i; the mid block
// takes the last entry of layers_per_block). What the reference cannot run fails here, naming
// the file and the key, as does what brigade does not implement.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "io/json_keys.h"
#include "ltx2_vae_encoder.h"

enum { MAX_WIDTH = 1 << 16, MAX_PATCH = 16, MAX_LIST = 4 * LTX2_VAE_MAX_DOWN };

// The list of key (NULL when absent: the default, n_def entries, applies), at least n entries
// long: the reference indexes the first n.
static br_status get_list(const cJSON *json, const char *path, const char *key, int n, int n_def,
                          const cJSON **list) {
    *list = br_json_key(json, key);
    if (!*list && n > n_def)
        return br_fail(BR_EINPUT, "%s: \"%s\" is absent and its default has %d entries; the "
                                  "encoder needs %d", path, key, n_def, n);
    if (*list && (!cJSON_IsArray(*list) || cJSON_GetArraySize(*list) < n ||
                  cJSON_GetArraySize(*list) > MAX_LIST))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of at least %d entries (as "
                                  "\"block_out_channels\" implies)", path, key, n);
    return BR_OK;
}

// Entries 0 .. n-1 of a list of integers in lo..hi (lo < 0: of booleans); absent: def.
static br_status get_ints(const cJSON *json, const char *path, const char *key, int n,
                          const int *def, int n_def, int lo, int hi, int *out) {
    const cJSON *list;
    BR_TRY(get_list(json, path, key, n, n_def, &list));
    for (int i = 0; i < n; i++) {
        const cJSON *v = list ? cJSON_GetArrayItem(list, i) : NULL;
        if (list && lo < 0 && !cJSON_IsBool(v))
            return br_fail(BR_EINPUT, "%s: \"%s\" entry %d must be true or false", path, key, i);
        if (list && lo >= 0 && !br_json_int_in(v, lo, hi))
            return br_fail(BR_EINPUT, "%s: \"%s\" entry %d must be an integer in %d..%d", path,
                           key, i, lo, hi);
        out[i] = !list ? def[i] : lo < 0 ? cJSON_IsTrue(v) : (int)v->valuedouble;
    }
    return BR_OK;
}

// Entries 0 .. n-1 of a list of names, each as its index in names[n_names]; absent: def.
static br_status get_names(const cJSON *json, const char *path, const char *key, int n,
                           const int *def, int n_def, const char *const *names, int n_names,
                           int *out) {
    const cJSON *list;
    BR_TRY(get_list(json, path, key, n, n_def, &list));
    for (int i = 0; i < n; i++) {
        const cJSON *v = list ? cJSON_GetArrayItem(list, i) : NULL;
        out[i] = list ? 0 : def[i];
        while (list && out[i] < n_names &&
               !(cJSON_IsString(v) && strcmp(v->valuestring, names[out[i]]) == 0))
            out[i]++;
        if (out[i] < n_names) continue;
        char known[256] = "";
        for (int k = 0; k < n_names; k++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s\"%s\"",
                     k ? ", " : "", names[k]);
        return br_fail(BR_EINPUT, "%s: \"%s\" entry %d is not one brigade implements (%s)",
                       path, key, i, known);
    }
    return BR_OK;
}

// The downsample types brigade implements (not "conv") and their factors (st, ss).
static const char *const DOWNSAMPLE[3] = {"spatial", "temporal", "spatiotemporal"};
static const int DOWN_ST[3] = {1, 2, 2}, DOWN_SS[3] = {2, 1, 2};

// The lists, as the constructor reads them: block_out_channels sets the number of blocks.
static br_status parse_lists(const cJSON *json, const char *path, ltx2_vae_encoder_config *c,
                             int *out, int *layers, int *scaling, int *type) {
    static const int out_def[4] = {256, 512, 1024, 2048}, layers_def[5] = {4, 6, 6, 2, 2};
    static const int trues[4] = {1, 1, 1, 1}, type_def[4] = {0, 1, 2, 2}, block_def[4] = {0};
    static const char *const block_names[1] = {"LTX2VideoDownBlock3D"};
    const cJSON *list = br_json_key(json, "block_out_channels");
    const int n = c->n_blocks = list ? (cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1) : 4;
    if (n < 1 || n > LTX2_VAE_MAX_DOWN)
        return br_fail(BR_EINPUT, "%s: \"block_out_channels\" must be a list of 1..%d integers",
                       path, LTX2_VAE_MAX_DOWN);
    int block_type[LTX2_VAE_MAX_DOWN];
    BR_TRY(get_ints(json, path, "block_out_channels", n, out_def, 4, 1, MAX_WIDTH, out));
    const cJSON *lp;
    BR_TRY(get_list(json, path, "layers_per_block", n, 5, &lp));
    const int n_layers = lp ? cJSON_GetArraySize(lp) : 5;
    BR_TRY(get_ints(json, path, "layers_per_block", n_layers, layers_def, 5, 0,
                    LTX2_VAE_MAX_LAYERS, layers));
    c->mid_layers = layers[n_layers - 1];
    BR_TRY(get_ints(json, path, "spatio_temporal_scaling", n, trues, 4, -1, 1, scaling));
    BR_TRY(get_names(json, path, "downsample_type", n, type_def, 4, DOWNSAMPLE, 3, type));
    return get_names(json, path, "down_block_types", n, block_def, 4, block_names, 1, block_type);
}

// Down block i (LTX2VideoDownBlock3D) receiving *ch channels; *ch becomes what it gives.
static br_status derive_block(ltx2_vae_encoder_config *c, const char *path, int i, int out,
                              int layers, int scaling, int type, int *ch) {
    ltx2_vae_down_block *b = &c->down[i];
    b->c_in = *ch, b->c_out = out, b->layers = layers;
    b->st = scaling ? DOWN_ST[type] : 1;
    b->ss = scaling ? DOWN_SS[type] : 1;
    const int n = b->st * b->ss * b->ss;
    if (!scaling && out != *ch)
        return br_fail(BR_EINPUT, "%s: down block %d changes width (%d -> %d channels) without "
                                  "downsampling: the reference cannot run that", path, i, *ch, out);
    if (scaling && (out % n || (*ch * n) % out))
        return br_fail(BR_EINPUT, "%s: down block %d: a %s downsampler from %d to %d channels "
                                  "needs %d to divide %d and %d x %d", path, i, DOWNSAMPLE[type],
                       *ch, out, n, out, *ch, n);
    b->conv_channels = out / n;
    b->group = *ch * n / out;
    c->time_factor *= b->st;
    c->space_factor *= b->ss;
    *ch = out;
    return BR_OK;
}

br_status ltx2_vae_encoder_config_parse(ltx2_vae_encoder_config *cfg, const cJSON *json,
                                        const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "AutoencoderKLLTX2Video"));
    int out[LTX2_VAE_MAX_DOWN], layers[MAX_LIST], scaling[LTX2_VAE_MAX_DOWN];
    int type[LTX2_VAE_MAX_DOWN], patch_t;
    BR_TRY(br_json_int(json, path, "in_channels", 3, 1, 64, &cfg->in_channels));
    BR_TRY(br_json_int(json, path, "latent_channels", 128, 1, MAX_WIDTH, &cfg->latent_channels));
    BR_TRY(br_json_int(json, path, "patch_size", 4, 1, MAX_PATCH, &cfg->patch_size));
    BR_TRY(br_json_int(json, path, "patch_size_t", 1, 1, 1, &patch_t));
    BR_TRY(br_json_bool(json, path, "encoder_causal", 1, &cfg->causal));
    BR_TRY(br_json_want_string(json, path, "encoder_spatial_padding_mode", "zeros"));
    BR_TRY(br_json_positive_float(json, path, "scaling_factor", 1.0, 1e30, &cfg->scaling_factor));
    BR_TRY(parse_lists(json, path, cfg, out, layers, scaling, type));
    int ch = cfg->latent_channels; // conv_in's width
    cfg->time_factor = 1, cfg->space_factor = cfg->patch_size;
    for (int i = 0; i < cfg->n_blocks; i++)
        BR_TRY(derive_block(cfg, path, i, out[i], layers[i], scaling[i], type[i], &ch));
    cfg->mid_channels = ch;
    return BR_OK;
}
