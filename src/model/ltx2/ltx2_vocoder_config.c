// ltx2_vocoder_config.c: config.json -> ltx2_vocoder_config, validated. LTX2VocoderWithBWE's
// keys for its first generator are LTX2Vocoder's; those of its extender carry the prefix "bwe_".
#include "ltx2_vocoder_config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "io/json_keys.h"

enum { MAX_WIDTH = 1 << 16, MAX_KERNEL = 1024, MAX_RATE = 1 << 20 };

// The constructors' defaults: LTX2Vocoder's, then LTX2VocoderWithBWE's two generators.
static const ltx2_generator_config DEFAULT_2_0 = {
    128, 1024, 2, 5, {16, 15, 8, 4, 4}, {6, 5, 2, 2, 2}, 3, {3, 7, 11}, {3, 3, 3},
    {{1, 3, 5}, {1, 3, 5}, {1, 3, 5}}, 0, 0.1f, 2, 12, LTX2_VOC_FINAL_TANH, 1};
static const ltx2_generator_config DEFAULT_BWE_VOCODER = {
    128, 1536, 2, 6, {11, 4, 4, 4, 4, 4}, {5, 2, 2, 2, 2, 2}, 3, {3, 7, 11}, {3, 3, 3},
    {{1, 3, 5}, {1, 3, 5}, {1, 3, 5}}, 1, 0.1f, 2, 12, LTX2_VOC_FINAL_NONE, 0};
static const ltx2_generator_config DEFAULT_BWE_GENERATOR = {
    128, 512, 2, 5, {12, 11, 4, 4, 4}, {6, 5, 2, 2, 2}, 3, {3, 7, 11}, {3, 3, 3},
    {{1, 3, 5}, {1, 3, 5}, {1, 3, 5}}, 1, 0.1f, 2, 12, LTX2_VOC_FINAL_NONE, 0};

// a: a list of 1..max integers in lo..hi into out, its length into *n; what names it in errors.
static br_status int_array(const cJSON *a, const char *path, const char *what, int max, int lo,
                           int hi, int *out, int *n) {
    const int m = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (m < 1 || m > max)
        return br_fail(BR_EINPUT, "%s: %s must be a list of 1..%d integers", path, what, max);
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!br_json_int_in(v, lo, hi))
            return br_fail(BR_EINPUT, "%s: %s entry %d must be an integer in %d..%d", path, what,
                           i, lo, hi);
        out[i] = (int)v->valuedouble;
    }
    *n = m;
    return BR_OK;
}

// int_array of key; absent keeps out and *n.
static br_status int_list(const cJSON *json, const char *path, const char *key, int max, int lo,
                          int hi, int *out, int *n) {
    const cJSON *a = br_json_key(json, key);
    char what[96];
    snprintf(what, sizeof what, "\"%s\"", key);
    return a ? int_array(a, path, what, max, lo, hi, out, n) : BR_OK;
}

// resnet_dilations: one list per ResBlock kernel (*n lists; absent keeps the default's).
static br_status dilation_lists(const cJSON *json, const char *path, const char *key,
                                ltx2_generator_config *g, int *n) {
    const cJSON *a = br_json_key(json, key);
    if (!a) return BR_OK;
    *n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (*n < 1 || *n > LTX2_VOC_MAX_KERNELS)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of 1..%d lists", path, key,
                       LTX2_VOC_MAX_KERNELS);
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        char what[96];
        snprintf(what, sizeof what, "\"%s\" list %d", key, i);
        BR_TRY(int_array(v, path, what, LTX2_VOC_MAX_DILATIONS, 1, MAX_KERNEL,
                         g->resnet_dilations[i], &g->dilations[i]));
    }
    return BR_OK;
}

// act_fn and antialias: the two combinations the releases use.
static br_status activation(const cJSON *json, const char *path, const char *prefix,
                            ltx2_generator_config *g) {
    char key[64], aa_key[64];
    snprintf(key, sizeof key, "%sact_fn", prefix);
    snprintf(aa_key, sizeof aa_key, "%santialias", prefix);
    const cJSON *act = br_json_key(json, key);
    if (act && !cJSON_IsString(act))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a string", path, key);
    if (act && !strcmp(act->valuestring, "snake"))
        return br_fail(BR_EINPUT, "%s: \"%s\" \"snake\" is not implemented (\"snakebeta\" and "
                       "\"leaky_relu\" are)", path, key);
    if (act && strcmp(act->valuestring, "snakebeta") && strcmp(act->valuestring, "leaky_relu"))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be \"snakebeta\" or \"leaky_relu\"", path, key);
    if (act) g->snake = !strcmp(act->valuestring, "snakebeta");
    int antialias;
    BR_TRY(br_json_bool(json, path, aa_key, g->snake, &antialias));
    if (antialias != g->snake)
        return br_fail(BR_EINPUT, "%s: \"%s\" %s with %s is not implemented (only snakebeta "
                       "with anti-aliasing and leaky_relu without)", path, aa_key,
                       antialias ? "true" : "false", g->snake ? "snakebeta" : "leaky_relu");
    return BR_OK;
}

// final_act_fn: absent is the default, null is none (so br_json_key, which reads null as
// absent, does not fit).
static br_status final_activation(const cJSON *json, const char *path, const char *key,
                                  ltx2_voc_final *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!v) return BR_OK;
    if (cJSON_IsNull(v)) *out = LTX2_VOC_FINAL_NONE;
    else if (cJSON_IsString(v) && !strcmp(v->valuestring, "tanh")) *out = LTX2_VOC_FINAL_TANH;
    else if (cJSON_IsString(v) && !strcmp(v->valuestring, "clamp")) *out = LTX2_VOC_FINAL_CLAMP;
    else return br_fail(BR_EINPUT, "%s: \"%s\" must be \"tanh\", \"clamp\" or null", path, key);
    return BR_OK;
}

// What LTX2Vocoder's constructor checks, and what its layers need to exist.
static br_status check_generator(const char *path, const char *prefix,
                                 const ltx2_generator_config *g, int n_kernel_sizes,
                                 int n_dilation_lists) {
    if (n_kernel_sizes != g->stages)
        return br_fail(BR_EINPUT, "%s: \"%supsample_kernel_sizes\" and \"%supsample_factors\" "
                       "differ in length", path, prefix, prefix);
    if (n_dilation_lists != g->kernels)
        return br_fail(BR_EINPUT, "%s: \"%sresnet_kernel_sizes\" and \"%sresnet_dilations\" "
                       "differ in length", path, prefix, prefix);
    for (int i = 0; i < g->stages; i++)
        if (g->upsample_kernel_sizes[i] < g->upsample_factors[i])
            return br_fail(BR_EINPUT, "%s: \"%supsample_kernel_sizes\" entry %d is below its "
                           "upsample factor", path, prefix, i);
    if (g->hidden_channels >> g->stages < 1)
        return br_fail(BR_EINPUT, "%s: \"%shidden_channels\" %d cannot halve %d times", path,
                       prefix, g->hidden_channels, g->stages);
    if (g->snake && g->antialias_kernel_size < g->antialias_ratio)
        return br_fail(BR_EINPUT, "%s: \"%santialias_kernel_size\" is below its ratio", path,
                       prefix);
    return BR_OK;
}

static br_status parse_generator(const cJSON *json, const char *path, const char *prefix,
                                 const ltx2_generator_config *def, ltx2_generator_config *g) {
    char key[64];
#define KEY(k) (snprintf(key, sizeof key, "%s%s", prefix, k), key)
    *g = *def;
    int n_kernel_sizes = g->stages, n_dilation_lists = g->kernels;
    BR_TRY(br_json_int(json, path, KEY("in_channels"), def->in_channels, 1, MAX_WIDTH,
                       &g->in_channels));
    BR_TRY(br_json_int(json, path, KEY("hidden_channels"), def->hidden_channels, 1, MAX_WIDTH,
                       &g->hidden_channels));
    BR_TRY(br_json_int(json, path, KEY("out_channels"), def->out_channels, 1, 64,
                       &g->out_channels));
    BR_TRY(int_list(json, path, KEY("upsample_kernel_sizes"), LTX2_VOC_MAX_STAGES, 1, MAX_KERNEL,
                    g->upsample_kernel_sizes, &n_kernel_sizes));
    BR_TRY(int_list(json, path, KEY("upsample_factors"), LTX2_VOC_MAX_STAGES, 1, MAX_KERNEL,
                    g->upsample_factors, &g->stages));
    BR_TRY(int_list(json, path, KEY("resnet_kernel_sizes"), LTX2_VOC_MAX_KERNELS, 1, MAX_KERNEL,
                    g->resnet_kernel_sizes, &g->kernels));
    BR_TRY(dilation_lists(json, path, KEY("resnet_dilations"), g, &n_dilation_lists));
    BR_TRY(activation(json, path, prefix, g));
    double slope;
    BR_TRY(br_json_number(json, path, KEY("leaky_relu_negative_slope"), def->leaky_slope, -1e3,
                          1e3, &slope));
    g->leaky_slope = (float)slope;
    BR_TRY(br_json_int(json, path, KEY("antialias_ratio"), def->antialias_ratio, 1, 64,
                       &g->antialias_ratio));
    BR_TRY(br_json_int(json, path, KEY("antialias_kernel_size"), def->antialias_kernel_size, 1,
                       MAX_KERNEL, &g->antialias_kernel_size));
    BR_TRY(final_activation(json, path, KEY("final_act_fn"), &g->final_act));
    BR_TRY(br_json_bool(json, path, KEY("final_bias"), def->final_bias, &g->final_bias));
#undef KEY
    return check_generator(path, prefix, g, n_kernel_sizes, n_dilation_lists);
}

// LTX2VocoderWithBWE: the mel STFT, the rates, and how the two generators must fit together.
static br_status parse_bwe(ltx2_vocoder_config *c, const cJSON *json, const char *path) {
    BR_TRY(parse_generator(json, path, "bwe_", &DEFAULT_BWE_GENERATOR, &c->bwe_generator));
    BR_TRY(br_json_int(json, path, "filter_length", 512, 2, 1 << 16, &c->filter_length));
    BR_TRY(br_json_int(json, path, "hop_length", 80, 1, 1 << 16, &c->hop_length));
    BR_TRY(br_json_int(json, path, "window_length", 512, 1, 1 << 16, &c->window_length));
    BR_TRY(br_json_int(json, path, "num_mel_channels", 64, 1, MAX_WIDTH, &c->num_mel_channels));
    BR_TRY(br_json_int(json, path, "input_sampling_rate", 16000, 1, MAX_RATE,
                       &c->input_sampling_rate));
    if (c->bwe_generator.in_channels != c->vocoder.out_channels * c->num_mel_channels)
        return br_fail(BR_EINPUT, "%s: \"bwe_in_channels\" %d must be out_channels x "
                       "num_mel_channels = %d", path, c->bwe_generator.in_channels,
                       c->vocoder.out_channels * c->num_mel_channels);
    if (c->bwe_generator.out_channels != c->vocoder.out_channels)
        return br_fail(BR_EINPUT, "%s: \"bwe_out_channels\" must equal \"out_channels\"", path);
    if (c->output_sampling_rate % c->input_sampling_rate)
        return br_fail(BR_EINPUT, "%s: \"output_sampling_rate\" %d is not a multiple of "
                       "\"input_sampling_rate\" %d", path, c->output_sampling_rate,
                       c->input_sampling_rate);
    return BR_OK;
}

br_status ltx2_vocoder_config_parse(ltx2_vocoder_config *cfg, const cJSON *json,
                                    const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    const cJSON *cls = br_json_key(json, "_class_name");
    const char *name = cJSON_IsString(cls) ? cls->valuestring : "";
    cfg->bwe = !strcmp(name, "LTX2VocoderWithBWE");
    if (!cfg->bwe && strcmp(name, "LTX2Vocoder"))
        return br_fail(BR_EINPUT, "%s: _class_name must be LTX2Vocoder or LTX2VocoderWithBWE",
                       path);
    BR_TRY(parse_generator(json, path, "", cfg->bwe ? &DEFAULT_BWE_VOCODER : &DEFAULT_2_0,
                           &cfg->vocoder));
    BR_TRY(br_json_int(json, path, "output_sampling_rate", cfg->bwe ? 48000 : 24000, 1,
                       MAX_RATE, &cfg->output_sampling_rate));
    return cfg->bwe ? parse_bwe(cfg, json, path) : BR_OK;
}
