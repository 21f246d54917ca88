// ltx2_text_projection.c: see ltx2_text_projection.h.
#include "ltx2_text_projection.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint.h"
#include "ltx2_connectors.h"
#include "ltx2_family.h"
#include "text/text_encoder.h"

static const float EPS = 1e-6f; // the connectors' norm of each state (ltx2_connectors.c)

// Rows of proj_in read at a time: 9 MB at LTX-2.3's size. Not a power of two, so that the tiny
// fixture's 32 and 16 rows take several reads and a short last one, as the real sizes do.
enum { ROWS_AT_ONCE = 12 };

// Stream `name`'s columns of states [k0, k1): [dim, C] each from the checkpoint's [dim, C*K]
// (feature c*K + k), times the stream's scale sqrt(dim / C) as load_proj_in folds it. The
// checkpoint is read a few rows at a time: the whole matrix (3 GB in fp32 at LTX-2.3's size, and
// every rank reads it) is never held.
static br_status load_columns(br_backend *be, br_checkpoint *ck, const ltx2_connectors_config *cfg,
                              const char *name, int dim, int k0, int k1, nn_linear *out) {
    const int C = cfg->caption_channels, K = cfg->encoder_layers, n = k1 - k0;
    const int64_t shape[2] = {dim, (int64_t)C * K};
    char key[128];
    snprintf(key, sizeof key, "%s_text_proj_in.weight", name);
    const float scale = (float)sqrt((double)dim / C);
    float **cols = calloc((size_t)(n > 0 ? n : 1), sizeof *cols), *rows = NULL;
    br_status st = cols ? BR_OK : br_fail(BR_ENOMEM, "out of memory for %s", key);
    for (int k = 0; k < n && st == BR_OK && !be->counts_only; k++)
        if (!(cols[k] = malloc((size_t)dim * C * sizeof(float))))
            st = br_fail(BR_ENOMEM, "out of memory for %s", key);
    if (st == BR_OK && n > 0 && !be->counts_only &&
        !(rows = malloc((size_t)ROWS_AT_ONCE * C * K * sizeof(float))))
        st = br_fail(BR_ENOMEM, "out of memory for %s", key);
    for (int o0 = 0; rows && o0 < dim && st == BR_OK; o0 += ROWS_AT_ONCE) {
        const int m = dim - o0 < ROWS_AT_ONCE ? dim - o0 : ROWS_AT_ONCE;
        if ((st = br_ckpt_load_rows(ck, key, 2, shape, o0, m, rows)) != BR_OK) break;
        for (int k = 0; k < n; k++)
            for (size_t o = 0; o < (size_t)m; o++)
                for (int c = 0; c < C; c++)
                    cols[k][(o0 + o) * C + c] = rows[(o * C + c) * K + k0 + k] * scale;
    }
    free(rows);
    for (int k = 0; k < n && st == BR_OK; k++) { // adopted: the backend owns cols[k] now
        nn_linear *l = &out[k];
        l->n_in = C, l->n_out = dim;
        if (!(l->weight = be->adopt_matrix(be, cols[k], (size_t)dim, (size_t)C, key))) st = BR_ENOMEM;
        cols[k] = NULL;
    }
    for (int k = 0; cols && k < n; k++) free(cols[k]);
    free(cols);
    return st;
}

br_status ltx2_text_projection_open(br_backend *be, const char *connectors_dir, int k0, int k1,
                                    int max_tokens, ltx2_text_projection *p) {
    memset(p, 0, sizeof *p);
    br_checkpoint ck;
    BR_TRY(br_ckpt_open(&ck, connectors_dir));
    char path[4400];
    snprintf(path, sizeof path, "%s/config.json", connectors_dir);
    ltx2_connectors_config cfg;
    br_status st = ltx2_connectors_config_parse(&cfg, ck.config, path);
    if (st == BR_OK && (k0 < 0 || k1 > cfg.encoder_layers))
        st = br_fail(BR_EINPUT, "%s: text_proj_in_factor %d: the text encoder gives %d hidden "
                     "states", path, cfg.encoder_layers, k1);
    p->k0 = k0, p->k1 = k1, p->C = cfg.caption_channels;
    p->dv = cfg.video.dim, p->da = cfg.audio.dim;
    const int n = k1 > k0 ? k1 - k0 : 1;
    if (st == BR_OK && (!(p->video = calloc((size_t)n, sizeof *p->video)) ||
                        !(p->audio = calloc((size_t)n, sizeof *p->audio))))
        st = br_fail(BR_ENOMEM, "out of memory");
    if (st == BR_OK) st = load_columns(be, &ck, &cfg, "video", p->dv, k0, k1, p->video);
    if (st == BR_OK) st = load_columns(be, &ck, &cfg, "audio", p->da, k0, k1, p->audio);
    br_ckpt_close(&ck);
    const size_t most = (size_t)(p->dv > p->da ? p->dv : p->da);
    if (st == BR_OK && (!(p->normed = be->alloc(be, (size_t)max_tokens * p->C, "text projection")) ||
                        !(p->product = be->alloc(be, (size_t)max_tokens * most, "text projection"))))
        st = BR_ENOMEM;
    if (st != BR_OK) ltx2_text_projection_close(be, p);
    return st;
}

void ltx2_text_projection_close(br_backend *be, ltx2_text_projection *p) {
    for (int k = 0; k < p->k1 - p->k0; k++) {
        if (p->video) be->release_matrix(be, p->video[k].weight);
        if (p->audio) be->release_matrix(be, p->audio[k].weight);
    }
    free(p->video), free(p->audio);
    if (p->normed) be->release(be, p->normed);
    if (p->product) be->release(be, p->product);
    memset(p, 0, sizeof *p);
}

// acc_stream [T, dim] (k = 0: =, else +=) state k's product with the stream's columns.
static void accumulate(br_backend *be, const ltx2_text_projection *p, const nn_linear *l, int k,
                       int T, float *acc) {
    nn_apply(be, p->product, p->normed, l, T);
    if (k == 0) be->copy(be, acc, p->product, (size_t)T * l->n_out);
    else be->add_gated(be, acc, p->product, NULL, 0, 1, T, l->n_out, NULL);
}

void ltx2_text_projection_take(void *ctx, br_backend *be, int k, const float *h, int T,
                               float *acc) {
    ltx2_text_projection *p = ctx;
    if (k < p->k0 || k >= p->k1) abort(); // the encoder's split and the sink's disagree: a bug
    be->copy(be, p->normed, h, (size_t)T * p->C);
    be->rms_norm(be, p->normed, NULL, T, p->C, EPS);
    accumulate(be, p, &p->video[k - p->k0], k, T, acc);
    accumulate(be, p, &p->audio[k - p->k0], k, T, acc + (size_t)T * p->dv);
}

// A prompt's sums [T, D] then [T, Da] into rows [T, D + Da].
static void sink_rows(void *ctx, const float *acc, int T, float *rows) {
    const ltx2_text_projection *p = ctx;
    for (int t = 0; t < T; t++) {
        float *row = rows + (size_t)t * (p->dv + p->da);
        memcpy(row, acc + (size_t)t * p->dv, (size_t)p->dv * sizeof(float));
        memcpy(row + p->dv, acc + (size_t)T * p->dv + (size_t)t * p->da, (size_t)p->da * sizeof(float));
    }
}

br_status ltx2_text_sink_open(const br_model *m, br_backend *be, int k0, int k1, int max_tokens,
                              br_text_sink *sink, int *width) {
    const ltx2_family_config *fc = m->cfg;
    if (!fc->with_connectors)
        return br_fail(BR_EINPUT, "%s: prompts as text need the pipeline's connectors/",
                       m->config_path);
    ltx2_text_projection *p = calloc(1, sizeof *p);
    if (!p) return br_fail(BR_ENOMEM, "out of memory");
    br_status st = ltx2_text_projection_open(be, fc->connectors_dir, k0, k1, max_tokens, p);
    if (st != BR_OK) return free(p), st;
    *sink = (br_text_sink){(size_t)(p->dv + p->da), ltx2_text_projection_take, sink_rows, p};
    *width = p->dv + p->da;
    return BR_OK;
}

void ltx2_text_sink_close(br_backend *be, br_text_sink *sink) {
    if (!sink->ctx) return;
    ltx2_text_projection_close(be, sink->ctx);
    free(sink->ctx);
    sink->ctx = NULL;
}
