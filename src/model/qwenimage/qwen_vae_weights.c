// qwen_vae_weights.c: config.json and checkpoint key -> weight, with the shape the config
// implies; the one place where brigade spells diffusers' tensor names for the Qwen-Image VAE.
// Convolution weights [C_out, C_in, (3,) 3, 3] become [C_out, 9 * C_in] (tap-major rows, as
// im2col lays out its columns; of a 3x3x3 kernel only the last temporal tap, the one a single
// frame meets) before the backend adopts them as matrices.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_keys.h"
#include "qwen_vae.h"

// --- config ----------------------------------------------------------------------------------

// A list of n numbers (n_max at most) of key into out; *n its length.
static br_status number_list(const cJSON *json, const char *path, const char *key, int n_max,
                             double *out, int *n) {
    const cJSON *a = br_json_key(json, key);
    if (!a) return BR_OK; // the default stays
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > n_max)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of 1..%d numbers", path, key, n_max);
    *n = 0;
    for (const cJSON *v = a->child; v; v = v->next) {
        if (!cJSON_IsNumber(v))
            return br_fail(BR_EINPUT, "%s: \"%s\" must be a list of numbers", path, key);
        out[(*n)++] = v->valuedouble;
    }
    return BR_OK;
}

br_status qwen_vae_config_parse(qwen_vae_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "AutoencoderKLQwenImage"));
    BR_TRY(br_json_int(json, path, "base_dim", 96, 1, 1 << 14, &cfg->base_dim));
    BR_TRY(br_json_int(json, path, "z_dim", 16, 1, QWEN_VAE_MAX_Z, &cfg->z_dim));
    BR_TRY(br_json_int(json, path, "num_res_blocks", 2, 1, 64, &cfg->num_res_blocks));
    BR_TRY(br_json_int(json, path, "input_channels", 3, 3, 3, &cfg->input_channels));
    double mult[QWEN_VAE_MAX_LEVELS] = {1, 2, 4, 4};
    cfg->levels = 4;
    BR_TRY(number_list(json, path, "dim_mult", QWEN_VAE_MAX_LEVELS, mult, &cfg->levels));
    for (int i = 0; i < cfg->levels; i++) {
        if (!(mult[i] >= 1 && mult[i] <= 64) || mult[i] != (int)mult[i])
            return br_fail(BR_EINPUT, "%s: \"dim_mult\" must hold integers in 1..64", path);
        cfg->dim_mult[i] = (int)mult[i];
    }
    const cJSON *attn = br_json_key(json, "attn_scales");
    if (attn && (!cJSON_IsArray(attn) || cJSON_GetArraySize(attn) != 0))
        return br_fail(BR_EINPUT, "%s: \"attn_scales\" other than [] (attention in the down and up "
                       "blocks) is not implemented", path);
    double stats[2][QWEN_VAE_MAX_Z];
    const char *keys[2] = {"latents_mean", "latents_std"};
    for (int k = 0; k < 2; k++) {
        int n = 0;
        if (!br_json_key(json, keys[k]))
            return br_fail(BR_EINPUT, "%s: \"%s\" missing (the pipeline normalises the latents "
                           "with it)", path, keys[k]);
        BR_TRY(number_list(json, path, keys[k], QWEN_VAE_MAX_Z, stats[k], &n));
        if (n != cfg->z_dim)
            return br_fail(BR_EINPUT, "%s: \"%s\" has %d values for z_dim %d", path, keys[k], n,
                           cfg->z_dim);
    }
    for (int c = 0; c < cfg->z_dim; c++) {
        cfg->latents_mean[c] = (float)stats[0][c], cfg->latents_std[c] = (float)stats[1][c];
        if (!(cfg->latents_std[c] > 0))
            return br_fail(BR_EINPUT, "%s: \"latents_std\" must be positive", path);
    }
    return BR_OK;
}

// The real VAE's shape (Qwen-Image's vae/config.json) with random weights, for benchmarks: the
// latent statistics are 0 and 1, not the real ones.
static cJSON *preset(void) {
    cJSON *c = cJSON_CreateObject();
    const int mult[4] = {1, 2, 4, 4};
    cJSON_AddStringToObject(c, "_class_name", "AutoencoderKLQwenImage");
    cJSON_AddNumberToObject(c, "base_dim", 96);
    cJSON_AddNumberToObject(c, "z_dim", 16);
    cJSON_AddNumberToObject(c, "num_res_blocks", 2);
    cJSON_AddItemToObject(c, "dim_mult", cJSON_CreateIntArray(mult, 4));
    cJSON_AddItemToObject(c, "attn_scales", cJSON_CreateArray());
    cJSON *mean = cJSON_AddArrayToObject(c, "latents_mean");
    cJSON *std = cJSON_AddArrayToObject(c, "latents_std");
    for (int i = 0; i < 16; i++) {
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(0));
        cJSON_AddItemToArray(std, cJSON_CreateNumber(1));
    }
    return c;
}

br_status qwen_vae_open(const char *dir, br_checkpoint *ck, qwen_vae_config *cfg) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    const int random = strncmp(dir, "random:", 7) == 0;
    if (random && strcmp(dir, "random:qwen-image") != 0)
        return br_fail(BR_EINPUT, "--vae %s: the random VAE is random:qwen-image", dir);
    BR_TRY(random ? br_ckpt_open_random(ck, preset(), 43) : br_ckpt_open(ck, dir));
    return qwen_vae_config_parse(cfg, ck->config, random ? dir : path);
}

// --- weights ---------------------------------------------------------------------------------

// prefix.weight [C_out, C_in, frames, k, k] (a 3-D kernel; frames 0: a Conv2d [C_out, C_in, k, k])
// with k = 3 (taps 9) or 1 (taps 1), rearranged into a linear [C_out, taps * C_in] from the last
// temporal tap; prefix.bias [C_out].
static br_status load_conv(br_backend *be, br_checkpoint *ck, const char *prefix, int c_in,
                           int c_out, int taps, int frames, qwen_vae_conv *cv) {
    char name[320];
    const int k = taps == 9 ? 3 : 1, ndim = frames ? 5 : 4, kt = frames ? frames : 1;
    const int64_t shape[5] = {c_out, c_in, frames ? frames : k, k, k};
    float *w = NULL;
    snprintf(name, sizeof name, "%s.weight", prefix);
    BR_TRY(br_ckpt_load(ck, name, ndim, shape, &w));
    float *m = malloc((size_t)c_out * taps * c_in * sizeof(float));
    if (!m) {
        free(w);
        return br_fail(BR_ENOMEM, "out of memory for %s", name);
    }
    for (int o = 0; o < c_out; o++)
        for (int c = 0; c < c_in; c++) {
            const float *src = w + ((size_t)o * c_in + c) * kt * taps + (size_t)(kt - 1) * taps;
            for (int t = 0; t < taps; t++) m[((size_t)o * taps + t) * c_in + c] = src[t];
        }
    free(w);
    cv->taps = taps, cv->l.n_in = taps * c_in, cv->l.n_out = c_out;
    if (!(cv->l.weight = be->adopt_matrix(be, m, (size_t)c_out, (size_t)taps * c_in, name)))
        return BR_ENOMEM;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return nn_load_vector(be, ck, name, c_out, 0, &cv->l.bias);
}

// A 3x3x3 causal convolution (its last temporal tap), a Conv2d 3x3, a 1x1x1 convolution.
static br_status conv3(br_backend *be, br_checkpoint *ck, const char *p, int ci, int co,
                       qwen_vae_conv *cv) {
    return load_conv(be, ck, p, ci, co, 9, 3, cv);
}
static br_status conv2(br_backend *be, br_checkpoint *ck, const char *p, int ci, int co,
                       qwen_vae_conv *cv) {
    return load_conv(be, ck, p, ci, co, 9, 0, cv);
}
static br_status conv1(br_backend *be, br_checkpoint *ck, const char *p, int ci, int co,
                       qwen_vae_conv *cv) {
    return load_conv(be, ck, p, ci, co, 1, 1, cv);
}

// A norm's gamma: [C, 1, 1, 1] (images = False) or [C, 1, 1] (the attention's).
static br_status gamma(br_backend *be, br_checkpoint *ck, const char *prefix, int C, int dims,
                       float **out) {
    char name[320];
    snprintf(name, sizeof name, "%s.gamma", prefix);
    const int64_t shape[4] = {C, 1, 1, 1};
    float *host = NULL;
    BR_TRY(br_ckpt_load(ck, name, dims, shape, &host));
    return (*out = be->adopt_vector(be, host, (size_t)C, name)) ? BR_OK : BR_ENOMEM;
}

static br_status load_res(br_backend *be, br_checkpoint *ck, const char *prefix, int c_in,
                          int c_out, qwen_vae_res *r) {
    char p[256];
    r->c_in = c_in, r->c_out = c_out;
    snprintf(p, sizeof p, "%s.norm1", prefix);
    BR_TRY(gamma(be, ck, p, c_in, 4, &r->norm1));
    snprintf(p, sizeof p, "%s.conv1", prefix);
    BR_TRY(conv3(be, ck, p, c_in, c_out, &r->conv1));
    snprintf(p, sizeof p, "%s.norm2", prefix);
    BR_TRY(gamma(be, ck, p, c_out, 4, &r->norm2));
    snprintf(p, sizeof p, "%s.conv2", prefix);
    BR_TRY(conv3(be, ck, p, c_out, c_out, &r->conv2));
    if (c_in == c_out) return BR_OK;
    snprintf(p, sizeof p, "%s.conv_shortcut", prefix);
    return conv1(be, ck, p, c_in, c_out, &r->shortcut);
}

// to_qkv [3C, C, 1, 1] split by rows into q, k, v (channels [0, C), [C, 2C), [2C, 3C)).
static br_status load_qkv(br_backend *be, br_checkpoint *ck, const char *prefix, int C,
                          qwen_vae_mid *m) {
    char name[320];
    float *w = NULL, *b = NULL;
    snprintf(name, sizeof name, "%s.to_qkv.weight", prefix);
    BR_TRY(br_ckpt_load(ck, name, 4, (int64_t[]){3 * C, C, 1, 1}, &w));
    snprintf(name, sizeof name, "%s.to_qkv.bias", prefix);
    br_status st = br_ckpt_load(ck, name, 1, (int64_t[]){3 * C}, &b);
    nn_linear *dst[3] = {&m->to_q, &m->to_k, &m->to_v};
    for (int i = 0; st == BR_OK && i < 3; i++) {
        float *wi = malloc((size_t)C * C * sizeof(float)), *bi = malloc((size_t)C * sizeof(float));
        if (!wi || !bi) {
            free(wi), free(bi);
            st = br_fail(BR_ENOMEM, "out of memory for %s", name);
            break;
        }
        memcpy(wi, w + (size_t)i * C * C, (size_t)C * C * sizeof(float));
        memcpy(bi, b + (size_t)i * C, (size_t)C * sizeof(float));
        dst[i]->n_in = dst[i]->n_out = C;
        if (!(dst[i]->weight = be->adopt_matrix(be, wi, (size_t)C, (size_t)C, name)) ||
            !(dst[i]->bias = be->adopt_vector(be, bi, (size_t)C, name)))
            st = BR_ENOMEM;
    }
    free(w), free(b);
    return st;
}

static br_status load_mid(br_backend *be, br_checkpoint *ck, const char *prefix, int C,
                          qwen_vae_mid *m) {
    char p[256];
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s.mid_block.resnets.%d", prefix, i);
        BR_TRY(load_res(be, ck, p, C, C, &m->res[i]));
    }
    snprintf(p, sizeof p, "%s.mid_block.attentions.0.norm", prefix);
    BR_TRY(gamma(be, ck, p, C, 3, &m->attn_norm));
    snprintf(p, sizeof p, "%s.mid_block.attentions.0", prefix);
    BR_TRY(load_qkv(be, ck, p, C, m));
    snprintf(p, sizeof p, "%s.mid_block.attentions.0.proj", prefix);
    qwen_vae_conv proj = {0};
    BR_TRY(load_conv(be, ck, p, C, C, 1, 0, &proj));
    m->proj = proj.l;
    return BR_OK;
}

static br_status load_encoder(br_backend *be, br_checkpoint *ck, const qwen_vae_config *cfg,
                              qwen_vae *v) {
    const int n = cfg->levels, R = cfg->num_res_blocks;
    char p[256];
    BR_TRY(conv3(be, ck, "encoder.conv_in", cfg->input_channels, cfg->base_dim, &v->enc_conv_in));
    if (!(v->enc_res = calloc((size_t)n * R, sizeof *v->enc_res)))
        return br_fail(BR_ENOMEM, "out of memory");
    int idx = 0, c = cfg->base_dim;
    for (int i = 0; i < n; i++) {
        const int out = cfg->base_dim * cfg->dim_mult[i];
        for (int j = 0; j < R; j++, idx++, c = out) {
            snprintf(p, sizeof p, "encoder.down_blocks.%d", idx);
            BR_TRY(load_res(be, ck, p, c, out, &v->enc_res[i * R + j]));
        }
        if (i == n - 1) break;
        snprintf(p, sizeof p, "encoder.down_blocks.%d.resample.1", idx++);
        BR_TRY(conv2(be, ck, p, c, c, &v->enc_down[i]));
    }
    BR_TRY(load_mid(be, ck, "encoder", c, &v->enc_mid));
    BR_TRY(gamma(be, ck, "encoder.norm_out", c, 4, &v->enc_norm_out));
    BR_TRY(conv3(be, ck, "encoder.conv_out", c, 2 * cfg->z_dim, &v->enc_conv_out));
    return conv1(be, ck, "quant_conv", 2 * cfg->z_dim, 2 * cfg->z_dim, &v->quant_conv);
}

static br_status load_decoder(br_backend *be, br_checkpoint *ck, const qwen_vae_config *cfg,
                              qwen_vae *v) {
    const int n = cfg->levels, R = cfg->num_res_blocks + 1;
    char p[256];
    int c = cfg->base_dim * cfg->dim_mult[n - 1];
    BR_TRY(conv1(be, ck, "post_quant_conv", cfg->z_dim, cfg->z_dim, &v->post_quant_conv));
    BR_TRY(conv3(be, ck, "decoder.conv_in", cfg->z_dim, c, &v->dec_conv_in));
    BR_TRY(load_mid(be, ck, "decoder", c, &v->dec_mid));
    if (!(v->dec_res = calloc((size_t)n * R, sizeof *v->dec_res)))
        return br_fail(BR_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const int out = cfg->base_dim * cfg->dim_mult[n - 1 - i];
        if (i > 0) c /= 2; // the upsampler halved it
        for (int j = 0; j < R; j++, c = out) {
            snprintf(p, sizeof p, "decoder.up_blocks.%d.resnets.%d", i, j);
            BR_TRY(load_res(be, ck, p, c, out, &v->dec_res[i * R + j]));
        }
        if (i == n - 1) break;
        snprintf(p, sizeof p, "decoder.up_blocks.%d.upsamplers.0.resample.1", i);
        BR_TRY(conv2(be, ck, p, c, c / 2, &v->dec_up[i]));
    }
    BR_TRY(gamma(be, ck, "decoder.norm_out", c, 4, &v->dec_norm_out));
    return conv3(be, ck, "decoder.conv_out", c, cfg->input_channels, &v->dec_conv_out);
}

br_status qwen_vae_load(br_backend *be, br_checkpoint *ck, const qwen_vae_config *cfg,
                        int encoder, int decoder, qwen_vae *vae) {
    memset(vae, 0, sizeof *vae);
    vae->cfg = *cfg;
    if (encoder) BR_TRY(load_encoder(be, ck, cfg, vae));
    if (decoder) BR_TRY(load_decoder(be, ck, cfg, vae));
    return BR_OK;
}

// --- release ---------------------------------------------------------------------------------

static void free_res(br_backend *be, qwen_vae_res *r) {
    nn_free_vector(be, &r->norm1);
    nn_free_vector(be, &r->norm2);
    nn_free_linear(be, &r->conv1.l);
    nn_free_linear(be, &r->conv2.l);
    nn_free_linear(be, &r->shortcut.l);
}

static void free_mid(br_backend *be, qwen_vae_mid *m) {
    for (int i = 0; i < 2; i++) free_res(be, &m->res[i]);
    nn_free_vector(be, &m->attn_norm);
    nn_free_linear(be, &m->to_q);
    nn_free_linear(be, &m->to_k);
    nn_free_linear(be, &m->to_v);
    nn_free_linear(be, &m->proj);
}

void qwen_vae_free(br_backend *be, qwen_vae *v) {
    const qwen_vae_config *cfg = &v->cfg;
    for (int i = 0; v->enc_res && i < cfg->levels * cfg->num_res_blocks; i++)
        free_res(be, &v->enc_res[i]);
    for (int i = 0; v->dec_res && i < cfg->levels * (cfg->num_res_blocks + 1); i++)
        free_res(be, &v->dec_res[i]);
    free(v->enc_res), free(v->dec_res);
    v->enc_res = v->dec_res = NULL;
    qwen_vae_conv *convs[] = {&v->enc_conv_in, &v->enc_conv_out, &v->quant_conv,
                              &v->post_quant_conv, &v->dec_conv_in, &v->dec_conv_out};
    for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) nn_free_linear(be, &convs[i]->l);
    for (int i = 0; i < QWEN_VAE_MAX_LEVELS; i++) {
        nn_free_linear(be, &v->enc_down[i].l);
        nn_free_linear(be, &v->dec_up[i].l);
    }
    free_mid(be, &v->enc_mid);
    free_mid(be, &v->dec_mid);
    nn_free_vector(be, &v->enc_norm_out);
    nn_free_vector(be, &v->dec_norm_out);
}
