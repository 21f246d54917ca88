// qwen_model.c: Qwen-Image's transformer forward, op by op, in the reference's order
// (QwenImageTransformerBlock.forward, QwenDoubleStreamAttnProcessor2_0).
#include "qwen_model.h"

#include <string.h>

#include "nn/feed_forward.h"

static const float EPS = 1e-6f; // every norm of the model: LayerNorms, q/k RMSNorms, txt_norm

br_status qwen_workspace_alloc(br_backend *be, const qwen_config *cfg, int B, int S, int L,
                               qwen_workspace *ws) {
    const size_t D = cfg->dim, rows = (size_t)B * (S > L ? S : L), joint = (size_t)B * (L + S);
    const size_t ff = rows * QWEN_FF_MULT * D, prompt = (size_t)B * L * cfg->joint_dim;
    const int narrow = be->operand_size < (int)sizeof(float);
    memset(ws, 0, sizeof *ws);
    if (!(ws->mod_img = be->alloc(be, (size_t)B * QWEN_MOD_PARAMS * D, "image modulation")) ||
        !(ws->mod_txt = be->alloc(be, (size_t)B * QWEN_MOD_PARAMS * D, "text modulation")) ||
        !(ws->temb_act = be->alloc(be, (size_t)B * D, "SiLU of the time embedding")) ||
        !(ws->time = be->alloc(be, (size_t)B * QWEN_TIME_CHANNELS, "time sinusoid")) ||
        !(ws->wide = be->alloc(be, ff > prompt ? ff : prompt, "products before their consumer")) ||
        !(ws->proj = be->alloc(be, rows * D, "projection output")) ||
        !(ws->norm_img = br_alloc_operand(be, (size_t)B * S * D, "normed image stream")) ||
        !(ws->norm_txt = br_alloc_operand(be, (size_t)B * L * D, "normed text stream")) ||
        !(ws->q = br_alloc_operand(be, joint * D, "joint queries")) ||
        !(ws->k = br_alloc_operand(be, joint * D, "joint keys")) ||
        !(ws->v = br_alloc_operand(be, joint * D, "joint values")) ||
        !(ws->attn = br_alloc_operand(be, joint * D, "joint attention output")) ||
        (narrow && !(ws->ff = br_alloc_operand(be, ff, "feed-forward activations")))) {
        qwen_workspace_free(be, ws);
        return BR_ENOMEM;
    }
    return BR_OK;
}

void qwen_workspace_free(br_backend *be, qwen_workspace *ws) {
    void **bufs[] = {(void **)&ws->mod_img, (void **)&ws->mod_txt, (void **)&ws->temb_act,
                     (void **)&ws->time, (void **)&ws->wide, (void **)&ws->proj, &ws->norm_img,
                     &ws->norm_txt, &ws->q, &ws->k, &ws->v, &ws->attn, &ws->ff};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (*bufs[i]) be->release(be, *bufs[i]);
        *bufs[i] = NULL;
    }
}

void qwen_embed_prompt(br_backend *be, const qwen_config *cfg, const qwen_input_weights *w,
                       const float *prompt, int B, int L, qwen_workspace *ws, float *txt0) {
    const size_t n = (size_t)B * L * cfg->joint_dim;
    be->copy(be, ws->wide, prompt, n);
    be->rms_norm(be, ws->wide, w->txt_norm, B * L, cfg->joint_dim, EPS);
    nn_apply(be, txt0, ws->wide, &w->txt_in, B * L);
}

void qwen_embed_latents(br_backend *be, const qwen_config *cfg, const qwen_input_weights *w,
                        const float *latents, const float *timestep, int B, int S,
                        qwen_workspace *ws, float *img, float *temb) {
    nn_apply(be, img, latents, &w->img_in, B * S);
    nn_timestep_embed(be, &w->time_embedder, timestep, B, 1000.0f, ws->time, ws->wide, temb);
}

// One stream's q, k, v into its rows of the joint sequence: rows [offset, offset + n) of each
// batch element's J rows. q and k are normalised per head and rotated; v is copied as it is.
static void stream_qkv(br_backend *be, const qwen_config *cfg, const nn_linear *to_q,
                       const nn_linear *to_k, const nn_linear *to_v, const float *norm_q,
                       const float *norm_k, const void *x, int n, int offset,
                       const float *cos_t, const float *sin_t, const qwen_context *ctx,
                       qwen_workspace *ws) {
    const int B = ctx->B, D = cfg->dim, J = ctx->L + ctx->S, dh = cfg->head_dim;
    const size_t stream = (size_t)B * n * D;
    float *q = ws->wide, *k = q + stream, *v = k + stream;
    nn_apply_op(be, q, x, to_q, B * n);
    nn_apply_op(be, k, x, to_k, B * n);
    nn_apply_op(be, v, x, to_v, B * n);
    const br_qk_shape shape = {B, n, D, dh, dh, J, offset, EPS};
    be->qk_norm_rope_op(be, ws->q, q, norm_q, cos_t, sin_t, &shape);
    be->qk_norm_rope_op(be, ws->k, k, norm_k, cos_t, sin_t, &shape);
    for (int b = 0; b < B; b++)
        be->to_operand(be, nn_operand_at(be, ws->v, ((size_t)b * J + offset) * D),
                       v + (size_t)b * n * D, (size_t)n * D);
}

// The attention output of one stream (its rows of the joint output) through its out projection,
// into ws->proj [B*n, D]: one product per batch element, whose rows lie apart in the joint rows.
static void stream_out(br_backend *be, const qwen_config *cfg, const nn_linear *out, int n,
                       int offset, const qwen_context *ctx, qwen_workspace *ws) {
    const int D = cfg->dim, J = ctx->L + ctx->S;
    for (int b = 0; b < ctx->B; b++)
        nn_apply_op(be, ws->proj + (size_t)b * n * D,
                    nn_operand_at(be, ws->attn, ((size_t)b * J + offset) * D), out, n);
}

// One stream's modulated LayerNorm -> feed-forward -> gated residual (the block's second half).
static void stream_ff(br_backend *be, const qwen_config *cfg, const nn_linear *ff_in,
                      const nn_linear *ff_out, const float *mod, void *norm, int B, int n,
                      qwen_workspace *ws, float *h) {
    const int D = cfg->dim, stride = QWEN_MOD_PARAMS * D;
    be->layer_norm_mod_op(be, norm, h, mod + 3 * D, mod + 4 * D, stride, B, n, D, EPS);
    nn_feed_forward(be, ff_in, ff_out, norm, B * n, ws->wide, ws->ff, ws->proj);
    be->add_gated(be, h, ws->proj, mod + 5 * D, stride, B, n, D, NULL);
}

void qwen_block_forward(br_backend *be, const qwen_config *cfg, const qwen_block *blk,
                        const qwen_context *ctx, qwen_workspace *ws, float *img, float *txt) {
    const int B = ctx->B, S = ctx->S, L = ctx->L, D = cfg->dim, J = L + S;
    const int stride = QWEN_MOD_PARAMS * D;
    const qwen_attention *a = &blk->attn;
    // Modulation of each stream from SiLU(temb): shift, scale, gate (attention); (feed-forward).
    be->copy(be, ws->temb_act, ctx->temb, (size_t)B * D);
    be->silu(be, ws->temb_act, (size_t)B * D);
    nn_apply(be, ws->mod_img, ws->temb_act, &blk->img_mod, B);
    nn_apply(be, ws->mod_txt, ws->temb_act, &blk->txt_mod, B);
    be->layer_norm_mod_op(be, ws->norm_img, img, ws->mod_img, ws->mod_img + D, stride, B, S, D,
                          EPS);
    be->layer_norm_mod_op(be, ws->norm_txt, txt, ws->mod_txt, ws->mod_txt + D, stride, B, L, D,
                          EPS);

    // The joint attention over [text, image]: each stream's q, k, v into its rows.
    stream_qkv(be, cfg, &a->add_q_proj, &a->add_k_proj, &a->add_v_proj, a->norm_added_q,
               a->norm_added_k, ws->norm_txt, L, 0, ctx->txt_cos, ctx->txt_sin, ctx, ws);
    stream_qkv(be, cfg, &a->to_q, &a->to_k, &a->to_v, a->norm_q, a->norm_k, ws->norm_img, S, L,
               ctx->img_cos, ctx->img_sin, ctx, ws);
    be->attention(be, ws->attn, ws->q, ws->k, ws->v, ctx->key_bias, B, J, J, cfg->heads,
                  cfg->head_dim);
    stream_out(be, cfg, &a->to_out, S, L, ctx, ws);
    be->add_gated(be, img, ws->proj, ws->mod_img + 2 * D, stride, B, S, D, NULL);
    stream_out(be, cfg, &a->to_add_out, L, 0, ctx, ws);
    be->add_gated(be, txt, ws->proj, ws->mod_txt + 2 * D, stride, B, L, D, NULL);

    stream_ff(be, cfg, &blk->img_ff_in, &blk->img_ff_out, ws->mod_img, ws->norm_img, B, S, ws,
              img);
    stream_ff(be, cfg, &blk->txt_ff_in, &blk->txt_ff_out, ws->mod_txt, ws->norm_txt, B, L, ws,
              txt);
}

void qwen_output_side(br_backend *be, const qwen_config *cfg, const qwen_output_weights *w,
                      const qwen_context *ctx, qwen_workspace *ws, const float *img, float *out) {
    const int B = ctx->B, S = ctx->S, D = cfg->dim;
    // AdaLayerNormContinuous: (scale, shift) = linear(SiLU(temb)), scale first.
    be->copy(be, ws->temb_act, ctx->temb, (size_t)B * D);
    be->silu(be, ws->temb_act, (size_t)B * D);
    nn_apply(be, ws->mod_img, ws->temb_act, &w->norm_out, B);
    be->layer_norm_mod(be, ws->proj, img, ws->mod_img + D, ws->mod_img, 2 * D, B, S, D, EPS);
    nn_apply(be, out, ws->proj, &w->proj_out, B * S);
}

double qwen_forward_flops(const qwen_config *cfg, int B, int S, int L) {
    const double D = cfg->dim, img = (double)B * S, txt = (double)B * L, J = (double)S + L;
    const double per_token = 2 * D * D * (4 + 2 * QWEN_FF_MULT); // q, k, v, out; ff in and out
    double block = (img + txt) * per_token + 2 * 2 * B * D * QWEN_MOD_PARAMS * D // two mods
                   + 4.0 * B * J * J * D;                                       // q k^T and p v
    double io = 2 * img * D * cfg->in_channels + 2 * txt * D * cfg->joint_dim // img_in, txt_in
                + 2.0 * B * D * (QWEN_TIME_CHANNELS + D)                     // time embedder
                + 2.0 * B * D * 2 * D                                        // norm_out
                + 2 * img * D * cfg->patch_size * cfg->patch_size * cfg->out_channels;
    return cfg->layers * block + io;
}
