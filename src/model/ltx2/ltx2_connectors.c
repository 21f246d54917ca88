// ltx2_connectors.c: see ltx2_connectors.h; diffusers' LTX2TextConnectors (per-modality
// projections), LTX2ConnectorTransformer1d and LTX2RotaryPosEmbed1d, op by op.
#define _DEFAULT_SOURCE // M_PI
#include "ltx2_connectors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_keys.h"
#include "ltx2_model.h"
#include "ltx2_rope.h"
#include "nn/feed_forward.h"

static const float EPS = 1e-6f; // every norm's, as the reference's defaults

enum { MAX_WIDTH = 1 << 16 };

static br_status parse_stream(const cJSON *json, const char *path, const char *prefix,
                              int hidden_default, ltx2_connector_config *s) {
    char key[96];
#define KEY(k) (snprintf(key, sizeof key, "%s%s", prefix, k), key)
    int hidden;
    BR_TRY(br_json_int(json, path, KEY("_connector_num_attention_heads"), 30, 1, MAX_WIDTH,
                       &s->heads));
    BR_TRY(br_json_int(json, path, KEY("_connector_attention_head_dim"), 128, 2, MAX_WIDTH,
                       &s->head_dim));
    BR_TRY(br_json_int(json, path, KEY("_connector_num_layers"), 2, 0, 1024, &s->layers));
    // Without registers the reference keeps the padding masked in every attention: not
    // implemented (the released connectors have them).
    const cJSON *registers = cJSON_GetObjectItemCaseSensitive(json, KEY("_connector_num_learnable_registers"));
    if (cJSON_IsNull(registers))
        return br_fail(BR_EINPUT, "%s: connectors without learnable registers (%s null) are not "
                       "implemented", path, key);
    BR_TRY(br_json_int(json, path, key, 128, 1, MAX_WIDTH, &s->registers));
    BR_TRY(br_json_bool(json, path, KEY("_gated_attn"), 0, &s->gated));
    BR_TRY(br_json_int(json, path, KEY("_hidden_dim"), hidden_default, 1, MAX_WIDTH, &hidden));
    const long long dim = (long long)s->heads * s->head_dim;
    if (s->head_dim % 2 || dim > MAX_WIDTH)
        return br_fail(BR_EINPUT, "%s: %s connector's heads x head dim = %lld: the head must be "
                       "even and the product at most %d", path, prefix, dim, MAX_WIDTH);
    s->dim = (int)dim;
    // The projection gives the stream's width and the connector's blocks take it as it is.
    if (hidden != s->dim)
        return br_fail(BR_EINPUT, "%s: %s_hidden_dim %d differs from the %s connector's width "
                       "%d", path, prefix, hidden, prefix, s->dim);
#undef KEY
    return BR_OK;
}

br_status ltx2_connectors_config_parse(ltx2_connectors_config *cfg, const cJSON *json,
                                       const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "LTX2TextConnectors"));
    int per_modality;
    BR_TRY(br_json_bool(json, path, "per_modality_projections", 0, &per_modality));
    if (!per_modality)
        return br_fail(BR_EINPUT, "%s: LTX-2.0's connectors (per_modality_projections false) are "
                       "not implemented; LTX-2.3's are", path);
    BR_TRY(br_json_int(json, path, "caption_channels", 3840, 1, MAX_WIDTH, &cfg->caption_channels));
    BR_TRY(br_json_int(json, path, "text_proj_in_factor", 49, 1, 1024, &cfg->encoder_layers));
    BR_TRY(parse_stream(json, path, "video", 4096, &cfg->video));
    BR_TRY(parse_stream(json, path, "audio", 2048, &cfg->audio));
    BR_TRY(br_json_int(json, path, "connector_rope_base_seq_len", 4096, 1, 1 << 24,
                       &cfg->base_seq_len));
    BR_TRY(br_json_number(json, path, "rope_theta", 10000.0, 1.0, 1e12, &cfg->theta));
    BR_TRY(br_json_bool(json, path, "rope_double_precision", 1, &cfg->double_precision));
    BR_TRY(br_json_want_string(json, path, "rope_type", "split"));
    BR_TRY(br_json_want_bool(json, path, "proj_bias", 1));
    return BR_OK;
}

// --- weights -----------------------------------------------------------------------------------

// The projection in: the checkpoint's [dim, C*K] (feature c*K + k) with its columns reordered to
// k*C + c, the order of the normed input, and times the stream's scale sqrt(dim / C) (the
// reference scales the input; a scale of the product is the same up to rounding).
static br_status load_proj_in(br_backend *be, br_checkpoint *ck, const ltx2_connectors_config *cfg,
                              const char *name, int dim, nn_linear *l) {
    const int C = cfg->caption_channels, K = cfg->encoder_layers;
    char key[128];
    snprintf(key, sizeof key, "%s_text_proj_in.weight", name);
    float *w = NULL;
    BR_TRY(br_ckpt_load(ck, key, 2, (const int64_t[]){dim, (int64_t)C * K}, &w));
    float *reordered = malloc((size_t)dim * C * K * sizeof(float));
    if (!reordered) return free(w), br_fail(BR_ENOMEM, "out of memory for %s", key);
    const float scale = (float)sqrt((double)dim / C);
    for (size_t o = 0; o < (size_t)dim; o++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < K; k++)
                reordered[(o * K + k) * C + c] = w[(o * C + c) * K + k] * scale;
    free(w);
    l->n_in = C * K, l->n_out = dim;
    if (!(l->weight = be->adopt_matrix(be, reordered, (size_t)dim, (size_t)C * K, key))) return BR_ENOMEM;
    snprintf(key, sizeof key, "%s_text_proj_in.bias", name);
    return nn_load_vector(be, ck, key, dim, 0, &l->bias);
}

static br_status load_connector(br_backend *be, br_checkpoint *ck,
                                const ltx2_connectors_config *cfg, const char *name,
                                const ltx2_connector_config *s, int with_proj_in,
                                ltx2_connector *c) {
    char key[160];
    if (with_proj_in) {
        BR_TRY(load_proj_in(be, ck, cfg, name, s->dim, &c->proj_in));
    } else { // the bias alone: added to the projections the prompts bring
        snprintf(key, sizeof key, "%s_text_proj_in.bias", name);
        BR_TRY(nn_load_vector(be, ck, key, s->dim, 0, &c->proj_in.bias));
    }
    snprintf(key, sizeof key, "%s_connector.learnable_registers", name);
    BR_TRY(nn_load_vector(be, ck, key, s->registers, s->dim, &c->registers));
    c->attn = calloc((size_t)s->layers + 1, sizeof *c->attn);
    c->ff_in = calloc((size_t)s->layers + 1, sizeof *c->ff_in);
    c->ff_out = calloc((size_t)s->layers + 1, sizeof *c->ff_out);
    if (!c->attn || !c->ff_in || !c->ff_out) return br_fail(BR_ENOMEM, "out of memory");
    for (int i = 0; i < s->layers; i++) {
        snprintf(key, sizeof key, "%s_connector.transformer_blocks.%d.attn1", name, i);
        BR_TRY(ltx2_load_attention(be, ck, key, s->dim, s->dim, s->heads, s->head_dim, s->gated,
                                   &c->attn[i]));
        snprintf(key, sizeof key, "%s_connector.transformer_blocks.%d.ff.net.0.proj", name, i);
        BR_TRY(nn_load_linear(be, ck, key, s->dim, LTX2_FF_MULT * s->dim, &c->ff_in[i]));
        snprintf(key, sizeof key, "%s_connector.transformer_blocks.%d.ff.net.2", name, i);
        BR_TRY(nn_load_linear(be, ck, key, LTX2_FF_MULT * s->dim, s->dim, &c->ff_out[i]));
    }
    return BR_OK;
}

static void free_connector(br_backend *be, int layers, ltx2_connector *c) {
    nn_free_linear(be, &c->proj_in);
    nn_free_vector(be, &c->registers);
    for (int i = 0; i < layers && c->attn; i++) {
        ltx2_free_attention(be, &c->attn[i]);
        nn_free_linear(be, &c->ff_in[i]);
        nn_free_linear(be, &c->ff_out[i]);
    }
    free(c->attn), free(c->ff_in), free(c->ff_out);
    memset(c, 0, sizeof *c);
}

br_status ltx2_connectors_load_from(br_backend *be, br_checkpoint *ck, const char *path,
                                   int without_proj_in, ltx2_connectors *c) {
    memset(c, 0, sizeof *c);
    c->without_proj_in = without_proj_in;
    const int with_proj_in = !without_proj_in;
    br_status st = ltx2_connectors_config_parse(&c->cfg, ck->config, path);
    if (st == BR_OK)
        st = load_connector(be, ck, &c->cfg, "video", &c->cfg.video, with_proj_in, &c->video);
    if (st == BR_OK)
        st = load_connector(be, ck, &c->cfg, "audio", &c->cfg.audio, with_proj_in, &c->audio);
    if (st != BR_OK) ltx2_connectors_free(be, c);
    return st;
}

br_status ltx2_connectors_load(br_backend *be, const char *dir, int without_proj_in,
                              ltx2_connectors *c) {
    memset(c, 0, sizeof *c); // (load_from sets it up; this for a checkpoint that fails to open)
    br_checkpoint ck;
    BR_TRY(br_ckpt_open(&ck, dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    br_status st = ltx2_connectors_load_from(be, &ck, path, without_proj_in, c);
    br_ckpt_close(&ck);
    return st;
}

void ltx2_connectors_free(br_backend *be, ltx2_connectors *c) {
    free_connector(be, c->cfg.video.layers, &c->video);
    free_connector(be, c->cfg.audio.layers, &c->audio);
}

// --- forward -----------------------------------------------------------------------------------

// Device scratch of one connector's forward of N prompts.
typedef struct {
    float *x;                        // [L, K*C]: one prompt's normed features
    float *proj;                     // [N*L, dim]: a projection's or a sublayer's output
    float *norm;                     // [N*L, dim]
    float *q, *k, *v, *out, *logits; // the attention's
    float *hidden;                   // [N*L, 4 dim]
    float *cos, *sin;                // [L, dim/2]
} scratch;

static void free_scratch(br_backend *be, scratch *s) {
    float **bufs[] = {&s->x, &s->proj, &s->norm, &s->q,   &s->k,   &s->v,
                      &s->out, &s->logits, &s->hidden, &s->cos, &s->sin};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (*bufs[i]) be->release(be, *bufs[i]), *bufs[i] = NULL;
}

// features: the encoder's features come in (not their projections): room for a prompt's.
static br_status alloc_scratch(br_backend *be, const ltx2_connectors_config *cfg,
                               const ltx2_connector_config *s, int N, int L, int features,
                               scratch *sc) {
    const size_t rows = (size_t)N * L, dim = (size_t)s->dim;
    memset(sc, 0, sizeof *sc);
    if ((sc->x = be->alloc(be, features ? (size_t)L * cfg->caption_channels * cfg->encoder_layers : 1,
                           "text encoder features")) &&
        (sc->proj = be->alloc(be, rows * dim, "connector output")) &&
        (sc->norm = be->alloc(be, rows * dim, "connector norm")) &&
        (sc->q = be->alloc(be, rows * dim, "connector queries")) &&
        (sc->k = be->alloc(be, rows * dim, "connector keys")) &&
        (sc->v = be->alloc(be, rows * dim, "connector values")) &&
        (sc->out = be->alloc(be, rows * dim, "connector attention output")) &&
        (sc->logits = be->alloc(be, rows * s->heads, "connector gate logits")) &&
        (sc->hidden = be->alloc(be, rows * LTX2_FF_MULT * dim, "connector feed-forward")) &&
        (sc->cos = be->alloc(be, (size_t)L * dim / 2, "connector RoPE")) &&
        (sc->sin = be->alloc(be, (size_t)L * dim / 2, "connector RoPE")))
        return BR_OK;
    free_scratch(be, sc);
    return BR_ENOMEM;
}

// LTX2RotaryPosEmbed1d's split tables: token t at position t / base_seq_len.
static br_status upload_rope(br_backend *be, const ltx2_connectors_config *cfg, int L, int dim,
                             scratch *sc) {
    const int cols = dim / 2;
    float *c = malloc((size_t)L * cols * sizeof(float)), *s = malloc((size_t)L * cols * sizeof(float));
    if (!c || !s) return free(c), free(s), br_fail(BR_ENOMEM, "out of memory for RoPE tables");
    for (int t = 0; t < L; t++) {
        // torch divides by the Python number as the product with its fp32 reciprocal (on the GPU).
        const float pos = (float)t * (1.0f / (float)cfg->base_seq_len);
        ltx2_rope_row(cfg->theta, cfg->double_precision, &pos, 1, cols, c + (size_t)t * cols,
                      s + (size_t)t * cols);
    }
    be->upload(be, sc->cos, c, (size_t)L * cols);
    be->upload(be, sc->sin, s, (size_t)L * cols);
    be->sync(be);
    free(c), free(s);
    return BR_OK;
}

// One prompt's features [L, C*K] -> host x [L, K*C] (the layer-major order the norm takes),
// padding tokens zero (their norm is then zero, as the reference's masked result).
static void reorder_features(const float *hidden, const float *mask, int L, int C, int K,
                             float *x) {
    for (int t = 0; t < L; t++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++)
                x[((size_t)t * K + k) * C + c] =
                    mask[t] != 0 ? hidden[((size_t)t * C + c) * K + k] : 0.0f;
}

// The projection's rows of one prompt into h [L, dim]: the valid tokens first, in order, then
// register (row mod registers) on every row after them.
static void place_tokens(br_backend *be, const float *proj, const float *mask, int L, int dim,
                         const float *registers, int n_registers, float *h) {
    int row = 0;
    for (int t = 0; t < L;) {
        int end = t;
        while (end < L && mask[end] != 0) end++;
        if (end > t) be->copy(be, h + (size_t)row * dim, proj + (size_t)t * dim, (size_t)(end - t) * dim);
        row += end - t;
        t = end;
        while (t < L && mask[t] == 0) t++;
    }
    while (row < L) {
        const int r = row % n_registers, run = n_registers - r < L - row ? n_registers - r : L - row;
        be->copy(be, h + (size_t)row * dim, registers + (size_t)r * dim, (size_t)run * dim);
        row += run;
    }
}

// LTX2TransformerBlock1d i, in place on h [N*L, dim].
static void block(br_backend *be, const ltx2_connector_config *s, const ltx2_connector *c, int i,
                  int N, int L, scratch *sc, float *h) {
    const size_t rows = (size_t)N * L, n = rows * s->dim;
    be->copy(be, sc->norm, h, n);
    be->rms_norm(be, sc->norm, NULL, (int)rows, s->dim, EPS);
    const ltx2_attend_args a = {sc->norm, L, sc->norm, L, NULL, sc->cos, sc->sin, sc->cos, sc->sin,
                                0, N, EPS};
    const ltx2_attn_scratch as = {sc->q, sc->k, sc->v, sc->out, sc->logits};
    ltx2_attend(be, &c->attn[i], &a, &as, sc->proj);
    be->add_gated(be, h, sc->proj, NULL, 0, N, L, s->dim, NULL);
    be->copy(be, sc->norm, h, n);
    be->rms_norm(be, sc->norm, NULL, (int)rows, s->dim, EPS);
    nn_feed_forward(be, &c->ff_in[i], &c->ff_out[i], sc->norm, (int)rows, sc->hidden, NULL,
                    sc->proj);
    be->add_gated(be, h, sc->proj, NULL, 0, N, L, s->dim, NULL);
}

// Where a connector's projections in come from: the encoder's features x [N, L, K*C] (host), or
// the projections themselves proj [N, L, width] (host) from column `column` on, without the bias.
typedef struct {
    const float *x;
    const float *proj;
    int width, column;
} projection_source;

// Prompt n's projection in into sc->proj [L, dim].
static void project(br_backend *be, const ltx2_connectors_config *cfg, const ltx2_connector *c,
                    const projection_source *src, int n, int L, int dim, scratch *sc,
                    float *rows) {
    const int C = cfg->caption_channels, K = cfg->encoder_layers;
    if (src->x) {
        be->upload(be, sc->x, src->x + (size_t)n * L * K * C, (size_t)L * K * C);
        be->rms_norm(be, sc->x, NULL, L * K, C, EPS); // per token and layer, over the channels
        nn_apply(be, sc->proj, sc->x, &c->proj_in, L);
        return;
    }
    for (int t = 0; t < L; t++) // this stream's columns of each row, then the bias on the device
        memcpy(rows + (size_t)t * dim, src->proj + ((size_t)n * L + t) * src->width + src->column,
               (size_t)dim * sizeof(float));
    be->upload(be, sc->proj, rows, (size_t)L * dim);
    be->add_table(be, sc->proj, c->proj_in.bias, sc->proj, L, dim);
}

static br_status run_connector(br_backend *be, const ltx2_connectors_config *cfg,
                               const ltx2_connector_config *s, const ltx2_connector *c,
                               const projection_source *src, const float *mask, int N, int L,
                               float *out) {
    scratch sc;
    BR_TRY(alloc_scratch(be, cfg, s, N, L, src->x != NULL, &sc));
    float *rows = src->x ? NULL : malloc((size_t)L * s->dim * sizeof(float));
    br_status st = src->x || rows ? upload_rope(be, cfg, L, s->dim, &sc)
                                  : br_fail(BR_ENOMEM, "out of memory for the projections");
    for (int n = 0; n < N && st == BR_OK; n++) {
        project(be, cfg, c, src, n, L, s->dim, &sc, rows);
        place_tokens(be, sc.proj, mask + (size_t)n * L, L, s->dim, c->registers, s->registers,
                     out + (size_t)n * L * s->dim);
        be->sync(be); // sc.x and rows are overwritten by the next prompt's
    }
    for (int i = 0; i < s->layers && st == BR_OK; i++) block(be, s, c, i, N, L, &sc, out);
    if (st == BR_OK) be->rms_norm(be, out, NULL, N * L, s->dim, EPS);
    be->sync(be);
    free(rows);
    free_scratch(be, &sc);
    return st;
}

// The checks of a prompt both entries make.
static br_status check_prompt(const ltx2_connectors_config *cfg, const float *mask, int N, int L,
                              const char *what) {
    if (L % cfg->video.registers || L % cfg->audio.registers)
        return br_fail(BR_EINPUT, "%s: %d prompt tokens; the text connectors need a multiple of "
                       "their registers (%d, %d): pad the prompt to it", what, L,
                       cfg->video.registers, cfg->audio.registers);
    for (size_t i = 0; i < (size_t)N * L; i++)
        if (mask[i] != 0 && mask[i] != 1)
            return br_fail(BR_EINPUT, "%s: the attention mask holds %g; it must be 1 (keep) or 0",
                           what, mask[i]);
    return BR_OK;
}

br_status ltx2_connectors_run_projected(br_backend *be, const ltx2_connectors *c,
                                        const float *proj, const float *mask, int N, int L,
                                        const char *what, float *video, float *audio) {
    const ltx2_connectors_config *cfg = &c->cfg;
    BR_TRY(check_prompt(cfg, mask, N, L, what));
    const int width = cfg->video.dim + cfg->audio.dim;
    const projection_source v = {NULL, proj, width, 0}, a = {NULL, proj, width, cfg->video.dim};
    BR_TRY(run_connector(be, cfg, &cfg->video, &c->video, &v, mask, N, L, video));
    return run_connector(be, cfg, &cfg->audio, &c->audio, &a, mask, N, L, audio);
}

br_status ltx2_connectors_run(br_backend *be, const ltx2_connectors *c, const float *hidden,
                              const float *mask, int N, int L, const char *what, float *video,
                              float *audio) {
    const ltx2_connectors_config *cfg = &c->cfg;
    const int C = cfg->caption_channels, K = cfg->encoder_layers;
    BR_TRY(check_prompt(cfg, mask, N, L, what));
    if (c->without_proj_in)
        return br_fail(BR_EINTERNAL, "%s: the connectors were loaded for projected prompts", what);
    float *x = malloc((size_t)N * L * C * K * sizeof(float));
    if (!x) return br_fail(BR_ENOMEM, "out of memory for %s", what);
    for (int n = 0; n < N; n++)
        reorder_features(hidden + (size_t)n * L * C * K, mask + (size_t)n * L, L, C, K,
                         x + (size_t)n * L * C * K);
    const projection_source src = {x, NULL, 0, 0};
    br_status st = run_connector(be, cfg, &cfg->video, &c->video, &src, mask, N, L, video);
    if (st == BR_OK) st = run_connector(be, cfg, &cfg->audio, &c->audio, &src, mask, N, L, audio);
    free(x);
    return st;
}
