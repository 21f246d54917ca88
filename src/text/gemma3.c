// gemma3.c: see gemma3.h; transformers' Gemma3DecoderLayer op by op: RMSNorm (1 + w), q/k/v,
// per-head RMSNorm of q and k, RoPE (rotate-half, per layer kind), causal attention with grouped
// key/value heads (a window on local layers), o, post-attention norm, residual; pre-feed-forward
// norm, GELU(tanh)-gated feed-forward, post-feed-forward norm, residual.
#include "gemma3.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Where the language model's tensors are, by the class that was saved: Gemma3ForConditionalGeneration
// (transformers 5, then 4.x), Gemma3ForCausalLM, Gemma3TextModel.
static const char *const PREFIXES[] = {"model.language_model.", "language_model.model.", "model.", ""};

static const char *find_prefix(br_checkpoint *ck) {
    char name[256];
    for (size_t i = 0; i < sizeof PREFIXES / sizeof *PREFIXES; i++) {
        snprintf(name, sizeof name, "%sembed_tokens.weight", PREFIXES[i]);
        if (br_ckpt_has(ck, name)) return PREFIXES[i];
    }
    return NULL;
}

// A norm's weight as Gemma applies it: (1 + w) * scale.
static br_status load_norm(br_backend *be, br_checkpoint *ck, const char *name, int n, float scale,
                           float **out) {
    float *host = NULL;
    if (!be->counts_only) {
        BR_TRY(br_ckpt_load(ck, name, 1, (const int64_t[]){n}, &host));
        for (int i = 0; i < n; i++) host[i] = (1.0f + host[i]) * scale;
    }
    return (*out = be->adopt_vector(be, host, (size_t)n, name)) ? BR_OK : BR_ENOMEM;
}

// A bias-free linear: rows of the matrices named, stacked (gate and up: one product), each read
// straight into its place.
static br_status load_stacked(br_backend *be, br_checkpoint *ck, const char *const *names, int n,
                              int rows, int cols, nn_linear *l) {
    float *host = NULL;
    if (!be->counts_only) {
        const size_t each = (size_t)rows * cols;
        if (!(host = malloc(each * n * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of memory for %s", names[0]);
        for (int i = 0; i < n; i++) {
            br_status st = br_ckpt_load_rows(ck, names[i], 2, (const int64_t[]){rows, cols}, 0,
                                             rows, host + i * each);
            if (st != BR_OK) return free(host), st;
        }
    }
    l->n_in = cols, l->n_out = rows * n, l->bias = NULL;
    l->weight = be->adopt_matrix(be, host, (size_t)rows * n, (size_t)cols, names[0]);
    return l->weight ? BR_OK : BR_ENOMEM;
}

static br_status load_layer(br_backend *be, br_checkpoint *ck, const char *prefix,
                            const gemma3_config *c, int i, gemma3_layer *l) {
    char p[200], n[4][240];
    snprintf(p, sizeof p, "%slayers.%d.", prefix, i);
    const int C = c->hidden, qw = c->heads * c->head_dim, kw = c->kv_heads * c->head_dim;
    const char *norms[] = {"input_layernorm", "post_attention_layernorm",
                           "pre_feedforward_layernorm", "post_feedforward_layernorm"};
    float **norm_out[] = {&l->input_norm, &l->post_attention_norm, &l->pre_feedforward_norm,
                          &l->post_feedforward_norm};
    for (int k = 0; k < 4; k++) {
        snprintf(n[0], sizeof n[0], "%s%s.weight", p, norms[k]);
        BR_TRY(load_norm(be, ck, n[0], C, 1.0f, norm_out[k]));
    }
    snprintf(n[0], sizeof n[0], "%sself_attn.q_norm.weight", p);
    BR_TRY(load_norm(be, ck, n[0], c->head_dim, (float)sqrt(c->head_dim / c->query_pre_attn_scalar),
                     &l->q_norm));
    snprintf(n[0], sizeof n[0], "%sself_attn.k_norm.weight", p);
    BR_TRY(load_norm(be, ck, n[0], c->head_dim, 1.0f, &l->k_norm));
    const char *proj[] = {"q_proj", "k_proj", "v_proj", "o_proj"};
    nn_linear *lin[] = {&l->q, &l->k, &l->v, &l->o};
    const int rows[] = {qw, kw, kw, C}, cols[] = {C, C, C, qw};
    for (int k = 0; k < 4; k++) {
        snprintf(n[0], sizeof n[0], "%sself_attn.%s.weight", p, proj[k]);
        BR_TRY(load_stacked(be, ck, (const char *const[]){n[0]}, 1, rows[k], cols[k], lin[k]));
    }
    snprintf(n[0], sizeof n[0], "%smlp.gate_proj.weight", p);
    snprintf(n[1], sizeof n[1], "%smlp.up_proj.weight", p);
    BR_TRY(load_stacked(be, ck, (const char *const[]){n[0], n[1]}, 2, c->intermediate, C, &l->gate_up));
    snprintf(n[0], sizeof n[0], "%smlp.down_proj.weight", p);
    return load_stacked(be, ck, (const char *const[]){n[0]}, 1, C, c->intermediate, &l->down);
}

static void free_layer(br_backend *be, gemma3_layer *l) {
    float **v[] = {&l->input_norm, &l->post_attention_norm, &l->pre_feedforward_norm,
                   &l->post_feedforward_norm, &l->q_norm, &l->k_norm};
    for (int k = 0; k < 6; k++) nn_free_vector(be, v[k]);
    nn_linear *lin[] = {&l->q, &l->k, &l->v, &l->o, &l->gate_up, &l->down};
    for (int k = 0; k < 6; k++) nn_free_linear(be, lin[k]);
}

// The RoPE tables of one layer kind for heads of one projection (heads of dh): column h*dh/2 + i
// of row pos is the rotation of pair i at pos, the same for every head (the split layout of
// qk_shape.h). As transformers: inverse frequencies 1 / theta^(2i/dh) in fp32, divided by the
// linear factor, times the position in fp32.
static br_status make_rope(br_backend *be, const gemma3_rope *r, int heads, int dh, int positions,
                           float **cos_out, float **sin_out) {
    const int half = dh / 2, cols = heads * half;
    const size_t n = (size_t)positions * cols;
    float *c = NULL, *s = NULL;
    if (!be->counts_only) {
        c = malloc(n * sizeof(float)), s = malloc(n * sizeof(float));
        if (!c || !s) return free(c), free(s), br_fail(BR_ENOMEM, "out of memory for RoPE tables");
        for (int i = 0; i < half; i++) {
            const float inv = 1.0f / powf((float)r->theta, (float)(2 * i) / (float)dh) / (float)r->factor;
            for (int pos = 0; pos < positions; pos++) {
                const float angle = (float)pos * inv;
                for (int h = 0; h < heads; h++) {
                    c[(size_t)pos * cols + h * half + i] = cosf(angle);
                    s[(size_t)pos * cols + h * half + i] = sinf(angle);
                }
            }
        }
    }
    if (!(*cos_out = be->adopt_vector(be, c, n, "Gemma RoPE table"))) return free(s), BR_ENOMEM;
    return (*sin_out = be->adopt_vector(be, s, n, "Gemma RoPE table")) ? BR_OK : BR_ENOMEM;
}

static br_status load_ends(br_backend *be, br_checkpoint *ck, const char *prefix, int with_embed,
                           int with_norm, gemma3_part *p) {
    const gemma3_config *c = &p->cfg;
    char name[240];
    if (with_embed && !be->counts_only) { // the table stays in the file: rows read per token
        snprintf(p->embed_name, sizeof p->embed_name, "%sembed_tokens.weight", prefix);
        float *row0 = malloc((size_t)c->hidden * sizeof(float));
        if (!row0) return br_fail(BR_ENOMEM, "out of memory");
        br_status st = br_ckpt_load_rows(ck, p->embed_name, 2, (const int64_t[]){c->vocab, c->hidden},
                                         0, 1, row0); // the shape and dtype checked now
        free(row0);
        BR_TRY(st);
        p->embed = ck;
    }
    if (with_norm) {
        snprintf(name, sizeof name, "%snorm.weight", prefix);
        BR_TRY(load_norm(be, ck, name, c->hidden, 1.0f, &p->final_norm));
    }
    return BR_OK;
}

br_status gemma3_load(br_backend *be, br_checkpoint *ck, const char *config_path, int first, int end,
                      int with_embed, int with_norm, int max_position, gemma3_part *p) {
    memset(p, 0, sizeof *p);
    BR_TRY(gemma3_config_parse(&p->cfg, ck->config, config_path));
    const gemma3_config *c = &p->cfg;
    p->first = first, p->end = end, p->max_position = max_position;
    if (c->head_dim > be->max_causal_head_dim)
        return br_fail(BR_EINPUT, "%s: head_dim %d: the attention kernel of %s takes heads up to %d",
                       config_path, c->head_dim, be->device_name, be->max_causal_head_dim);
    const char *prefix = find_prefix(ck);
    if (!prefix)
        return br_fail(BR_EINPUT, "%s: no Gemma 3 language model in the weights (looked for "
                       "model.language_model.embed_tokens.weight and the other classes' names)",
                       ck->dir);
    br_status st = load_ends(be, ck, prefix, with_embed, with_norm, p);
    if (st == BR_OK && end > first && !(p->layers = calloc((size_t)(end - first), sizeof *p->layers)))
        st = br_fail(BR_ENOMEM, "out of memory");
    for (int i = first; i < end && st == BR_OK; i++)
        st = load_layer(be, ck, prefix, c, i, &p->layers[i - first]);
    const gemma3_rope *ropes[2] = {&c->global_rope, &c->local_rope};
    const int heads[2] = {c->heads, c->kv_heads};
    for (int kind = 0; kind < 2 && st == BR_OK && end > first; kind++)
        for (int qk = 0; qk < 2 && st == BR_OK; qk++)
            st = make_rope(be, ropes[kind], heads[qk], c->head_dim, max_position,
                           &p->rope[kind][qk][0], &p->rope[kind][qk][1]);
    if (st != BR_OK) gemma3_free(be, p);
    return st;
}

void gemma3_free(br_backend *be, gemma3_part *p) {
    for (int i = 0; p->layers && i < p->end - p->first; i++) free_layer(be, &p->layers[i]);
    free(p->layers);
    nn_free_vector(be, &p->final_norm);
    for (int k = 0; k < 8; k++) nn_free_vector(be, &p->rope[k / 4][k / 2 % 2][k % 2]);
    memset(p, 0, sizeof *p);
}

br_status gemma3_scratch_alloc(br_backend *be, const gemma3_config *c, int T, gemma3_scratch *s) {
    memset(s, 0, sizeof *s);
    s->max_tokens = T;
    const size_t t = (size_t)T, qw = (size_t)c->heads * c->head_dim,
                 kw = (size_t)c->kv_heads * c->head_dim, F = (size_t)c->intermediate;
    // operands may be bf16: half of each float buffer is then used
    if ((s->a = be->alloc(be, t * c->hidden, "Gemma activations")) &&
        (s->q = be->alloc(be, t * qw, "Gemma queries")) &&
        (s->k = be->alloc(be, t * kw, "Gemma keys")) &&
        (s->v = be->alloc(be, t * kw, "Gemma values")) &&
        (s->o = be->alloc(be, t * c->hidden, "Gemma sublayer output")) &&
        (s->g = be->alloc(be, t * 2 * F, "Gemma feed-forward")) &&
        (s->q_op = be->alloc(be, t * qw, "Gemma query operands")) &&
        (s->k_op = be->alloc(be, t * kw, "Gemma key operands")) &&
        (s->v_op = be->alloc(be, t * kw, "Gemma value operands")) &&
        (s->att_op = be->alloc(be, t * qw, "Gemma attention output")) &&
        (s->act_op = be->alloc(be, t * F, "Gemma gated activations")))
        return BR_OK;
    gemma3_scratch_free(be, s);
    return BR_ENOMEM;
}

void gemma3_scratch_free(br_backend *be, gemma3_scratch *s) {
    float **f[] = {&s->a, &s->q, &s->k, &s->v, &s->o, &s->g};
    for (int i = 0; i < 6; i++)
        if (*f[i]) be->release(be, *f[i]);
    void **o[] = {&s->q_op, &s->k_op, &s->v_op, &s->att_op, &s->act_op};
    for (int i = 0; i < 5; i++)
        if (*o[i]) be->release(be, *o[i]);
    memset(s, 0, sizeof *s);
}

br_status gemma3_embed(br_backend *be, const gemma3_part *p, const int *ids, int T, float *x) {
    const int C = p->cfg.hidden;
    // transformers multiplies by sqrt(hidden) in the weights' dtype: fp32 here (the fp32 model)
    const float scale = sqrtf((float)C);
    float *host = calloc((size_t)T * C, sizeof(float));
    if (!host) return br_fail(BR_ENOMEM, "out of memory for %d tokens' embeddings", T);
    br_status st = BR_OK;
    for (int t = 0; t < T && st == BR_OK; t++) {
        float *row = host + (size_t)t * C;
        st = br_ckpt_load_rows(p->embed, p->embed_name, 2, (const int64_t[]){p->cfg.vocab, C},
                               ids[t], 1, row);
        for (int c = 0; c < C; c++) row[c] *= scale;
    }
    be->upload(be, x, host, (size_t)T * C);
    be->sync(be);
    free(host);
    return st;
}

// x += norm(sub): a sublayer's output after its post-norm, added to the residual stream.
static void add_normed(br_backend *be, const gemma3_config *c, float *x, float *sub,
                       const float *w, int T) {
    be->rms_norm(be, sub, w, T, c->hidden, (float)c->eps);
    be->add_gated(be, x, sub, NULL, 0, 1, T, c->hidden, NULL);
}

static void attention(br_backend *be, const gemma3_part *p, const gemma3_layer *l, int local,
                      const gemma3_batch *b, gemma3_scratch *s) {
    const gemma3_config *c = &p->cfg;
    const int T = b->total, dh = c->head_dim, qw = c->heads * dh, kw = c->kv_heads * dh;
    nn_apply(be, s->q, s->a, &l->q, T);
    nn_apply(be, s->k, s->a, &l->k, T);
    nn_apply(be, s->v, s->a, &l->v, T);
    be->to_operand(be, s->v_op, s->v, (size_t)T * kw);
    float *const *rope_q = p->rope[local][0], *const *rope_k = p->rope[local][1];
    for (int i = 0, row = 0; i < b->n; row += b->tokens[i++]) {
        const int S = b->tokens[i], pos = b->position[i];
        const br_qk_shape qs = {1, S, qw, dh, 0, S, 0, (float)c->eps, dh};
        const br_qk_shape ks = {1, S, kw, dh, 0, S, 0, (float)c->eps, dh};
        be->qk_norm_rope_op(be, nn_operand_at(be, s->q_op, (size_t)row * qw), s->q + (size_t)row * qw,
                            l->q_norm, rope_q[0] + (size_t)pos * qw / 2,
                            rope_q[1] + (size_t)pos * qw / 2, &qs);
        be->qk_norm_rope_op(be, nn_operand_at(be, s->k_op, (size_t)row * kw), s->k + (size_t)row * kw,
                            l->k_norm, rope_k[0] + (size_t)pos * kw / 2,
                            rope_k[1] + (size_t)pos * kw / 2, &ks);
        be->attention_causal(be, nn_operand_at(be, s->att_op, (size_t)row * qw),
                             nn_operand_at(be, s->q_op, (size_t)row * qw),
                             nn_operand_at(be, s->k_op, (size_t)row * kw),
                             nn_operand_at(be, s->v_op, (size_t)row * kw), 1, S, c->heads,
                             c->kv_heads, dh, local ? c->sliding_window : 0);
    }
    nn_apply_op(be, s->o, s->att_op, &l->o, T);
}

void gemma3_layer_forward(br_backend *be, const gemma3_part *p, int i, const gemma3_batch *b,
                          gemma3_scratch *s, float *x) {
    const gemma3_config *c = &p->cfg;
    const gemma3_layer *l = &p->layers[i - p->first];
    const int T = b->total, C = c->hidden, F = c->intermediate;
    be->copy(be, s->a, x, (size_t)T * C);
    be->rms_norm(be, s->a, l->input_norm, T, C, (float)c->eps);
    attention(be, p, l, c->sliding[i], b, s);
    add_normed(be, c, x, s->o, l->post_attention_norm, T);
    be->copy(be, s->a, x, (size_t)T * C);
    be->rms_norm(be, s->a, l->pre_feedforward_norm, T, C, (float)c->eps);
    nn_apply(be, s->g, s->a, &l->gate_up, T);
    be->gelu_gate_op(be, s->act_op, s->g, T, F);
    nn_apply_op(be, s->o, s->act_op, &l->down, T);
    add_normed(be, c, x, s->o, l->post_feedforward_norm, T);
}

void gemma3_final_norm(br_backend *be, const gemma3_part *p, float *x, int T) {
    be->rms_norm(be, x, p->final_norm, T, p->cfg.hidden, (float)p->cfg.eps);
}
