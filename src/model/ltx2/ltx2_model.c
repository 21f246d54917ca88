// ltx2_model.c: LTX-2's transformer forward, op by op, in the reference's order
// (LTX2VideoTransformerBlock.forward, LTX2AudioVideoAttnProcessor, LTX2PerturbedAttnProcessor).
#include "ltx2_model.h"

#include <stdlib.h>
#include <string.h>

#include "nn/feed_forward.h"

static const float OUT_EPS = 1e-6f; // the output LayerNorms'

static int max3(int a, int b, int c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

ltx2_cross_layout ltx2_cross(const ltx2_config *cfg) {
    const int D = cfg->video.dim, Da = cfg->audio.dim, kv = cfg->prompt_adaln;
    ltx2_cross_layout c = {0};
    c.prompt = 0, c.audio_prompt = kv * 2 * D;
    c.ca = c.audio_prompt + kv * 2 * Da, c.audio_ca = c.ca + 4 * D;
    c.gate = c.audio_ca + 4 * Da, c.audio_gate = c.gate + D, c.cols = c.audio_gate + Da;
    return c;
}

br_status ltx2_workspace_alloc(br_backend *be, const ltx2_config *cfg, int B, int S, int Sa,
                               int L, int Tv, ltx2_workspace *ws) {
    const int D = cfg->video.dim, Da = cfg->audio.dim, W = D > Da ? D : Da;
    const size_t rows = (size_t)B * max3(S, Sa, L), stream_rows = (size_t)B * (S > Sa ? S : Sa);
    const size_t caption = (size_t)B * L * cfg->caption_channels * cfg->caption_projection;
    const size_t ff = rows * LTX2_FF_MULT * W;
    memset(ws, 0, sizeof *ws);
    if (!(ws->mod = be->alloc(be, (size_t)B * Tv * cfg->video.mod_params * D, "video modulation")) ||
        !(ws->audio_mod = be->alloc(be, (size_t)B * cfg->audio.mod_params * Da, "audio modulation")) ||
        !(ws->cross = be->alloc(be, (size_t)B * ltx2_cross(cfg).cols, "per-item modulation")) ||
        !(ws->text = be->alloc(be, (size_t)B * L * D, "modulated video text")) ||
        !(ws->audio_text = be->alloc(be, (size_t)B * L * Da, "modulated audio text")) ||
        !(ws->norm = be->alloc(be, (size_t)B * S * D, "normed video")) ||
        !(ws->audio_norm = be->alloc(be, (size_t)B * Sa * Da, "normed audio")) ||
        !(ws->plain = be->alloc(be, (size_t)B * S * D, "plain-normed video")) ||
        !(ws->audio_plain = be->alloc(be, (size_t)B * Sa * Da, "plain-normed audio")) ||
        !(ws->q = be->alloc(be, rows * W, "queries")) || !(ws->k = be->alloc(be, rows * W, "keys")) ||
        !(ws->v = be->alloc(be, rows * W, "values")) ||
        !(ws->out = be->alloc(be, rows * W, "attention output")) ||
        !(ws->logits = be->alloc(be, stream_rows * cfg->video.heads, "attention gate logits")) ||
        !(ws->proj = be->alloc(be, stream_rows * W, "projection output")) ||
        !(ws->wide = be->alloc(be, ff > caption ? ff : caption, "feed-forward hidden layer")) ||
        !(ws->steps = be->alloc(be, (size_t)B * Tv, "the step's values")) ||
        !(ws->time = be->alloc(be, (size_t)B * Tv * LTX2_TIME_CHANNELS, "time sinusoid")) ||
        !(ws->time_hidden = be->alloc(be, (size_t)B * Tv * W, "time embedding hidden layer"))) {
        ltx2_workspace_free(be, ws);
        return BR_ENOMEM;
    }
    return BR_OK;
}

void ltx2_workspace_free(br_backend *be, ltx2_workspace *ws) {
    float **bufs[] = {&ws->mod, &ws->audio_mod, &ws->cross, &ws->text, &ws->audio_text, &ws->norm,
                      &ws->audio_norm, &ws->plain, &ws->audio_plain, &ws->q, &ws->k, &ws->v,
                      &ws->out, &ws->logits, &ws->proj, &ws->wide, &ws->steps, &ws->time,
                      &ws->time_hidden};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (*bufs[i]) be->release(be, *bufs[i]);
        *bufs[i] = NULL;
    }
}

// --- input side --------------------------------------------------------------------------------

// Item b's rows of a per-item packed buffer, copied into rows of a contiguous one.
static void gather(br_backend *be, float *to, const float *from, int B, size_t n, size_t stride,
                   size_t offset) {
    for (int b = 0; b < B; b++) be->copy(be, to + b * n, from + b * stride + offset, n);
}

// PixArtAlphaTextProjection (LTX-2.0): linear_2(GELU_tanh(linear_1(x))) over B*L rows.
static void caption(br_backend *be, const nn_linear *l1, const nn_linear *l2, const float *x,
                    int rows, float *hidden, float *out) {
    nn_apply(be, hidden, x, l1, rows);
    be->gelu_tanh(be, hidden, (size_t)rows * l1->n_out);
    nn_apply(be, out, hidden, l2, rows);
}

void ltx2_embed_prompt(br_backend *be, const ltx2_config *cfg, const ltx2_input_weights *w,
                       const float *prompt, int B, int L, ltx2_workspace *ws, float *text,
                       float *audio_text) {
    const int D = cfg->video.dim, Da = cfg->audio.dim;
    const int Ct = cfg->caption_projection ? cfg->caption_channels : D;
    const int Cta = cfg->caption_projection ? cfg->caption_channels : Da;
    const size_t item = (size_t)L * (Ct + Cta);
    if (!cfg->caption_projection) {
        gather(be, text, prompt, B, (size_t)L * D, item, 0);
        gather(be, audio_text, prompt, B, (size_t)L * Da, item, (size_t)L * D);
        return;
    }
    gather(be, ws->wide, prompt, B, (size_t)L * Ct, item, 0);
    caption(be, &w->caption_1, &w->caption_2, ws->wide, B * L, ws->q, text);
    gather(be, ws->wide, prompt, B, (size_t)L * Cta, item, (size_t)L * Ct);
    caption(be, &w->audio_caption_1, &w->audio_caption_2, ws->wide, B * L, ws->q, audio_text);
}

// LTX2AdaLayerNormSingle over n values t (scaled by `scale` in the sinusoid): out [n, params*E]
// and, when emb is not NULL, the embedded timestep [n, E].
static void adaln(br_backend *be, const ltx2_adaln *a, const float *t, int n, float scale,
                  ltx2_workspace *ws, float *out, float *emb) {
    const int E = a->emb.linear_2.n_out;
    float *e = emb ? emb : ws->proj;
    nn_timestep_embed(be, &a->emb, t, n, scale, ws->time, ws->time_hidden, e);
    be->copy(be, ws->time_hidden, e, (size_t)n * E);
    be->silu(be, ws->time_hidden, (size_t)n * E);
    nn_apply(be, out, ws->time_hidden, &a->linear, n);
}

// One kind of the step's values (first: its column in each item's row of T; count per item)
// into ws->steps.
static const float *step_values(br_backend *be, const ltx2_steps *s, int B, int T, int first,
                                int count, ltx2_workspace *ws) {
    gather(be, ws->steps, s->values, B, (size_t)count, (size_t)T, (size_t)first);
    return ws->steps;
}

// An adaln of one value per item into column `col` of each item's row of the cross slot.
static void cross_adaln(br_backend *be, const ltx2_adaln *a, const ltx2_steps *s, int B, int T,
                        int value, float scale, int col, int cols, ltx2_workspace *ws,
                        float *cross) {
    const int n = a->linear.n_out;
    adaln(be, a, step_values(be, s, B, T, value, 1, ws), B, scale, ws, ws->wide, NULL);
    for (int b = 0; b < B; b++)
        be->copy(be, cross + (size_t)b * cols + col, ws->wide + (size_t)b * n, n);
}

void ltx2_embed_latents(br_backend *be, const ltx2_config *cfg, const ltx2_input_weights *w,
                        const float *latents, const ltx2_steps *steps, int B, int S, int Sa,
                        int Tv, ltx2_workspace *ws, float *video, float *audio,
                        const ltx2_step_slots *out) {
    const int C = cfg->video.in_channels, T = Tv + 3, D = cfg->video.dim, Da = cfg->audio.dim;
    const size_t item = (size_t)(S + Sa) * C;
    for (int b = 0; b < B; b++) {
        nn_apply(be, video + (size_t)b * S * D, latents + b * item, &w->proj_in, S);
        nn_apply(be, audio + (size_t)b * Sa * Da, latents + b * item + (size_t)S * C,
                 &w->audio_proj_in, Sa);
    }
    // The time embeddings of the streams (the video's per token when Tv = S).
    adaln(be, &w->time, step_values(be, steps, B, T, 0, Tv, ws), B * Tv, 1.0f, ws, out->temb,
          out->emb);
    adaln(be, &w->audio_time, step_values(be, steps, B, T, Tv, 1, ws), B, 1.0f, ws,
          out->audio_temb, out->audio_emb);
    // The per-item values: the prompt's modulation by sigma, the audio-video attentions' by the
    // other stream's sigma (LTX-2.3) or the stream's own timestep (LTX-2.0).
    const ltx2_cross_layout c = ltx2_cross(cfg);
    const int sigma = Tv + 1, audio_sigma = Tv + 2;
    const float gate_scale = cfg->cross_timestep_scale / cfg->timestep_scale;
    if (cfg->prompt_adaln) {
        cross_adaln(be, &w->prompt, steps, B, T, sigma, 1.0f, c.prompt, c.cols, ws, out->cross);
        cross_adaln(be, &w->audio_prompt, steps, B, T, audio_sigma, 1.0f, c.audio_prompt, c.cols,
                    ws, out->cross);
    }
    const int video_ca = steps->cross_timestep ? audio_sigma : 0;
    const int audio_ca = steps->cross_timestep ? sigma : Tv;
    cross_adaln(be, &w->ca_video, steps, B, T, video_ca, 1.0f, c.ca, c.cols, ws, out->cross);
    cross_adaln(be, &w->ca_video_gate, steps, B, T, video_ca, gate_scale, c.gate, c.cols, ws,
                out->cross);
    cross_adaln(be, &w->ca_audio, steps, B, T, audio_ca, 1.0f, c.audio_ca, c.cols, ws, out->cross);
    cross_adaln(be, &w->ca_audio_gate, steps, B, T, audio_ca, gate_scale, c.audio_gate, c.cols,
                ws, out->cross);
}

// --- one block ---------------------------------------------------------------------------------

void ltx2_attend(br_backend *be, const ltx2_attention *at, const ltx2_attend_args *a,
                 const ltx2_attn_scratch *s, float *out) {
    const int H = at->heads, dh = at->head_dim, inner = H * dh, B = a->B, Sq = a->Sq, Sk = a->Sk;
    if (at->gated) nn_apply(be, s->logits, a->x, &at->gate, B * Sq);
    nn_apply(be, s->v, a->kv, &at->to_v, B * Sk);
    float *o = s->v;
    if (!a->value_only) {
        nn_apply(be, s->q, a->x, &at->to_q, B * Sq);
        nn_apply(be, s->k, a->kv, &at->to_k, B * Sk);
        br_qk_shape qs = {B, Sq, inner, inner, inner, Sq, 0, a->eps, a->q_cos ? dh : 0};
        br_qk_shape ks = {B, Sk, inner, inner, inner, Sk, 0, a->eps, a->k_cos ? dh : 0};
        be->qk_norm_rope_op(be, s->q, s->q, at->norm_q, a->q_cos, a->q_sin, &qs);
        be->qk_norm_rope_op(be, s->k, s->k, at->norm_k, a->k_cos, a->k_sin, &ks);
        be->attention(be, s->out, s->q, s->k, s->v, a->bias, B, Sq, Sk, H, dh);
        o = s->out;
    }
    if (at->gated) be->head_gate_op(be, o, s->logits, B * Sq, H, dh);
    nn_apply(be, out, o, &at->to_out, B * Sq);
}

// The block's attentions: their scratch in the workspace.
static void attend(br_backend *be, const ltx2_config *cfg, const ltx2_attention *at,
                   const float *x, int Sq, const float *kv, int Sk, const float *bias,
                   const float *q_cos, const float *q_sin, const float *k_cos,
                   const float *k_sin, int value_only, int B, ltx2_workspace *ws, float *out) {
    const ltx2_attend_args a = {x,     Sq,    kv,    Sk,         bias, q_cos, q_sin,
                                k_cos, k_sin, value_only, B, cfg->norm_eps};
    const ltx2_attn_scratch s = {ws->q, ws->k, ws->v, ws->out, ws->logits};
    ltx2_attend(be, at, &a, &s, out);
}

// One stream's view for the shared steps of a block.
typedef struct {
    const ltx2_stream_config *cfg;
    int S;            // tokens per item
    int mod_items;    // modulation rows in all (B, or B*S per token)
    int mod_rows;     // tokens per modulation row (S, or 1)
    float *h, *mod, *norm;
} stream;

// RMSNorm(h) * (1 + scale) + shift of the stream's modulation parameters `shift_at`, scale next.
static void norm_mod(br_backend *be, const ltx2_config *cfg, const stream *s, int shift_at) {
    const int D = s->cfg->dim, stride = s->cfg->mod_params * D;
    be->rms_norm_mod(be, s->norm, s->h, s->mod + shift_at * D, s->mod + (shift_at + 1) * D,
                     stride, s->mod_items, s->mod_rows, D, cfg->norm_eps);
}

// h += x * (modulation parameter `gate_at`, or 1 when gate_at < 0).
static void residual(br_backend *be, const stream *s, const float *x, int gate_at) {
    const int D = s->cfg->dim;
    be->add_gated(be, s->h, x, gate_at < 0 ? NULL : s->mod + gate_at * D, s->cfg->mod_params * D,
                  s->mod_items, s->mod_rows, D, NULL);
}

// Plain RMSNorm (no weight) of the stream into y.
static void plain_norm(br_backend *be, const ltx2_config *cfg, const stream *s, int B, float *y) {
    const size_t n = (size_t)B * s->S * s->cfg->dim;
    be->copy(be, y, s->h, n);
    be->rms_norm(be, y, NULL, B * s->S, s->cfg->dim, cfg->norm_eps);
}

// The table of a per-item modulation (rows x D) plus the item's values at column col of the
// step's cross slot, into ws->cross at the same place.
static void cross_mod(br_backend *be, const ltx2_context *ctx, const float *table, int rows,
                      int D, int col, int cols, ltx2_workspace *ws) {
    for (int b = 0; b < ctx->B; b++)
        be->add_table(be, ws->cross + (size_t)b * cols + col, table,
                      ctx->cross + (size_t)b * cols + col, 1, rows * D);
}

static void text_attention(br_backend *be, const ltx2_config *cfg, const ltx2_attention *at,
                           const ltx2_context *ctx, const stream *s, const float *text,
                           const float *bias, int prompt_col, float *text_mod,
                           ltx2_workspace *ws) {
    const int D = s->cfg->dim, cols = ltx2_cross(cfg).cols;
    // LTX-2.3: the prompt (keys and values) modulated by sigma; the query by the stream's 9
    // parameters 6..8 (shift, scale, gate).
    if (cfg->prompt_adaln) {
        const float *kv = ws->cross + prompt_col;
        be->modulate(be, text_mod, text, kv, kv + D, cols, ctx->B, ctx->L, D);
        text = text_mod;
    }
    if (s->cfg->cross_attn_mod) norm_mod(be, cfg, s, 6);
    else plain_norm(be, cfg, s, ctx->B, s->norm);
    attend(be, cfg, at, s->norm, s->S, text, ctx->L, bias, NULL, NULL, NULL, NULL, 0, ctx->B, ws,
           ws->proj);
    residual(be, s, ws->proj, s->cfg->cross_attn_mod ? 8 : -1);
}

// The audio-to-video and video-to-audio attentions, both from the streams as they are after the
// text attentions (each side's plain norm taken once).
static void audio_video(br_backend *be, const ltx2_config *cfg, const ltx2_block *blk,
                        const ltx2_context *ctx, ltx2_workspace *ws, const stream *v,
                        const stream *a) {
    const int B = ctx->B, D = v->cfg->dim, Da = a->cfg->dim;
    const ltx2_cross_layout c = ltx2_cross(cfg);
    plain_norm(be, cfg, v, B, ws->plain);
    plain_norm(be, cfg, a, B, ws->audio_plain);
    const float *vm = ws->cross + c.ca, *am = ws->cross + c.audio_ca; // scale, shift (a2v; v2a)
    // a2v: queries the video, keys and values the audio.
    be->modulate(be, v->norm, ws->plain, vm + D, vm, c.cols, B, v->S, D);
    be->modulate(be, a->norm, ws->audio_plain, am + Da, am, c.cols, B, a->S, Da);
    attend(be, cfg, &blk->a2v, v->norm, v->S, a->norm, a->S, NULL, ctx->cross_cos, ctx->cross_sin,
           ctx->cross_audio_cos, ctx->cross_audio_sin, 0, B, ws, ws->proj);
    be->add_gated(be, v->h, ws->proj, ws->cross + c.gate, c.cols, B, v->S, D, NULL);
    // v2a: queries the audio, keys and values the video.
    be->modulate(be, a->norm, ws->audio_plain, am + 3 * Da, am + 2 * Da, c.cols, B, a->S, Da);
    be->modulate(be, v->norm, ws->plain, vm + 3 * D, vm + 2 * D, c.cols, B, v->S, D);
    attend(be, cfg, &blk->v2a, a->norm, a->S, v->norm, v->S, NULL, ctx->cross_audio_cos,
           ctx->cross_audio_sin, ctx->cross_cos, ctx->cross_sin, 0, B, ws, ws->proj);
    be->add_gated(be, a->h, ws->proj, ws->cross + c.audio_gate, c.cols, B, a->S, Da, NULL);
}

static void feed_forward(br_backend *be, const ltx2_config *cfg, const nn_linear *ff_in,
                         const nn_linear *ff_out, const stream *s, int B, ltx2_workspace *ws) {
    norm_mod(be, cfg, s, 3);
    nn_feed_forward(be, ff_in, ff_out, s->norm, B * s->S, ws->wide, NULL, ws->proj);
    residual(be, s, ws->proj, 5);
}

void ltx2_block_forward(br_backend *be, const ltx2_config *cfg, const ltx2_block *blk,
                        const ltx2_context *ctx, ltx2_workspace *ws, float *video, float *audio) {
    const int B = ctx->B, S = ctx->S, Sa = ctx->Sa, P = cfg->video.mod_params;
    const int Pa = cfg->audio.mod_params, D = cfg->video.dim, Da = cfg->audio.dim;
    const int per_token = ctx->Tv > 1;
    const stream v = {&cfg->video, S, per_token ? B * S : B, per_token ? 1 : S, video, ws->mod,
                      ws->norm};
    const stream a = {&cfg->audio, Sa, B, Sa, audio, ws->audio_mod, ws->audio_norm};
    // The modulation: the block's tables plus the step's values.
    be->add_table(be, ws->mod, blk->mod, ctx->temb, v.mod_items, P * D);
    be->add_table(be, ws->audio_mod, blk->audio_mod, ctx->audio_temb, B, Pa * Da);
    const ltx2_cross_layout c = ltx2_cross(cfg);
    if (cfg->prompt_adaln) {
        cross_mod(be, ctx, blk->prompt_mod, 2, D, c.prompt, c.cols, ws);
        cross_mod(be, ctx, blk->audio_prompt_mod, 2, Da, c.audio_prompt, c.cols, ws);
    }
    cross_mod(be, ctx, blk->ca_mod, 4, D, c.ca, c.cols, ws);
    cross_mod(be, ctx, blk->ca_mod + 4 * D, 1, D, c.gate, c.cols, ws);
    cross_mod(be, ctx, blk->audio_ca_mod, 4, Da, c.audio_ca, c.cols, ws);
    cross_mod(be, ctx, blk->audio_ca_mod + 4 * Da, 1, Da, c.audio_gate, c.cols, ws);

    // Self-attentions (spatio-temporal guidance: their values only).
    const int value_only = ctx->perturbed && cfg->perturbed_attn;
    norm_mod(be, cfg, &v, 0);
    attend(be, cfg, &blk->attn1, v.norm, S, v.norm, S, NULL, ctx->cos, ctx->sin, ctx->cos,
           ctx->sin, value_only, B, ws, ws->proj);
    residual(be, &v, ws->proj, 2);
    norm_mod(be, cfg, &a, 0);
    attend(be, cfg, &blk->audio_attn1, a.norm, Sa, a.norm, Sa, NULL, ctx->audio_cos,
           ctx->audio_sin, ctx->audio_cos, ctx->audio_sin, value_only, B, ws, ws->proj);
    residual(be, &a, ws->proj, 2);

    text_attention(be, cfg, &blk->attn2, ctx, &v, ctx->text, ctx->text_bias, c.prompt, ws->text, ws);
    text_attention(be, cfg, &blk->audio_attn2, ctx, &a, ctx->audio_text, ctx->audio_text_bias,
                   c.audio_prompt, ws->audio_text, ws);
    if (!ctx->isolated) audio_video(be, cfg, blk, ctx, ws, &v, &a);
    feed_forward(be, cfg, &blk->ff_in, &blk->ff_out, &v, B, ws);
    feed_forward(be, cfg, &blk->audio_ff_in, &blk->audio_ff_out, &a, B, ws);
}

// --- output side -------------------------------------------------------------------------------

// One stream: proj_out(LayerNorm(h) * (1 + scale) + shift), (shift, scale) = table + embedded
// timestep, into each item's rows of out [B, S + Sa, C] from row `first`.
static void stream_out(br_backend *be, const float *table, const nn_linear *proj, const float *h,
                       const float *emb, int mod_items, int mod_rows, int B, int S, int D,
                       int total, int first, ltx2_workspace *ws, float *out) {
    float *shift = ws->wide, *scale = shift + (size_t)mod_items * D;
    be->add_table(be, shift, table, emb, mod_items, D);
    be->add_table(be, scale, table + D, emb, mod_items, D);
    be->layer_norm_mod(be, ws->proj, h, shift, scale, D, mod_items, mod_rows, D, OUT_EPS);
    const int C = proj->n_out;
    for (int b = 0; b < B; b++)
        nn_apply(be, out + ((size_t)b * total + first) * C, ws->proj + (size_t)b * S * D, proj, S);
}

void ltx2_output_side(br_backend *be, const ltx2_config *cfg, const ltx2_output_weights *w,
                      const ltx2_context *ctx, ltx2_workspace *ws, const float *video,
                      const float *audio, float *out) {
    const int B = ctx->B, S = ctx->S, Sa = ctx->Sa, per_token = ctx->Tv > 1;
    stream_out(be, w->table, &w->proj_out, video, ctx->emb, per_token ? B * S : B,
               per_token ? 1 : S, B, S, cfg->video.dim, S + Sa, 0, ws, out);
    stream_out(be, w->audio_table, &w->audio_proj_out, audio, ctx->audio_emb, B, Sa, B, Sa,
               cfg->audio.dim, S + Sa, S, ws, out);
}

double ltx2_forward_flops(const ltx2_config *cfg, int B, int S, int Sa, int L) {
    const double D = cfg->video.dim, Da = cfg->audio.dim, v = (double)B * S, a = (double)B * Sa;
    const double t = (double)B * L;
    // Per block: self (q, k, v, out), text (q, out on the stream; k, v on the text), the two
    // audio-video attentions (at the audio width), the feed-forwards; and the attentions' products.
    double block = v * 2 * D * D * 4 + a * 2 * Da * Da * 4                 // self
                   + v * 2 * D * D * 2 + t * 2 * D * D * 2                  // video text
                   + a * 2 * Da * Da * 2 + t * 2 * Da * Da * 2              // audio text
                   + v * 2 * D * Da * 2 + a * 2 * Da * Da * 2               // a2v q, out; k, v
                   + a * 2 * Da * Da * 2 + v * 2 * D * Da * 2               // v2a q, out; k, v
                   + v * 2 * D * 4 * D * 2 + a * 2 * Da * 4 * Da * 2        // feed-forwards
                   + 4.0 * B * ((double)S * S * D + (double)Sa * Sa * Da   // attention products
                                + (double)S * L * D + (double)Sa * L * Da + 2.0 * S * Sa * Da);
    double io = 2 * v * D * cfg->video.in_channels + 2 * a * Da * cfg->audio.in_channels +
                2 * v * D * cfg->video.out_channels + 2 * a * Da * cfg->audio.out_channels;
    return cfg->layers * block + io;
}
