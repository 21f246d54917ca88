// ltx_model.c: LTX-Video's transformer forward, op by op, in the reference's order.
#include "ltx_model.h"

#include <string.h>

#include "nn/feed_forward.h"

br_status ltx_context_alloc(br_backend *be, const ltx_config *cfg, int B, int S, int L,
                            ltx_context *ctx) {
    const size_t D = cfg->dim;
    memset(ctx, 0, sizeof *ctx);
    ctx->B = B, ctx->S = S, ctx->L = L;
    if (!(ctx->temb = be->alloc(be, B * LTX_ADA_PARAMS * D, "time embedding")) ||
        !(ctx->embedded_timestep = be->alloc(be, B * D, "embedded timestep")) ||
        !(ctx->caption = be->alloc(be, (size_t)B * L * D, "projected prompt")) ||
        !(ctx->mask_bias = be->alloc(be, (size_t)B * L, "prompt mask bias")) ||
        !(ctx->rope_cos = be->alloc(be, (size_t)S * D, "RoPE cos table")) ||
        !(ctx->rope_sin = be->alloc(be, (size_t)S * D, "RoPE sin table"))) {
        ltx_context_free(be, ctx);
        return BR_ENOMEM;
    }
    return BR_OK;
}

void ltx_context_free(br_backend *be, ltx_context *ctx) {
    float **bufs[] = {&ctx->temb, &ctx->embedded_timestep, &ctx->caption, &ctx->mask_bias,
                      &ctx->rope_cos, &ctx->rope_sin};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        be->release(be, *bufs[i]);
        *bufs[i] = NULL;
    }
}

br_status ltx_workspace_alloc(br_backend *be, const ltx_config *cfg, int B, int S, int L,
                              ltx_workspace *ws) {
    const size_t D = cfg->dim, rows = (size_t)B * S, prompt_rows = (size_t)B * L;
    const size_t kv_rows = rows > prompt_rows ? rows : prompt_rows;
    const size_t ff = rows * LTX_FF_MULT * D, qkv = rows * D + 2 * kv_rows * D;
    const size_t time_width = D > LTX_TIME_CHANNELS ? D : LTX_TIME_CHANNELS;
    const int narrow = be->operand_size < (int)sizeof(float);
    memset(ws, 0, sizeof *ws);
    if (!(ws->ada = be->alloc(be, B * LTX_ADA_PARAMS * D, "AdaLN values")) ||
        !(ws->wide = be->alloc(be, ff > qkv ? ff : qkv, "products before their consumer")) ||
        !(ws->proj = be->alloc(be, rows * D, "projection output")) ||
        !(ws->time = be->alloc(be, B * time_width, "time-embedding scratch")) ||
        !(ws->norm = br_alloc_operand(be, rows * D, "normed hidden states")) ||
        !(ws->q = br_alloc_operand(be, rows * D, "queries")) ||
        !(ws->k = br_alloc_operand(be, kv_rows * D, "keys")) ||
        !(ws->attn = br_alloc_operand(be, rows * D, "attention output")) ||
        (narrow && (!(ws->v = br_alloc_operand(be, kv_rows * D, "values")) ||
                    !(ws->hidden = br_alloc_operand(be, rows * D, "hidden states")) ||
                    !(ws->prompt = br_alloc_operand(be, prompt_rows * D, "projected prompt")) ||
                    !(ws->ff = br_alloc_operand(be, ff, "feed-forward activations"))))) {
        ltx_workspace_free(be, ws);
        return BR_ENOMEM;
    }
    return BR_OK;
}

void ltx_workspace_free(br_backend *be, ltx_workspace *ws) {
    void **bufs[] = {(void **)&ws->ada, (void **)&ws->wide, (void **)&ws->proj,
                     (void **)&ws->time, &ws->norm, &ws->q, &ws->k, &ws->attn, &ws->v,
                     &ws->hidden, &ws->prompt, &ws->ff};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (*bufs[i]) be->release(be, *bufs[i]);
        *bufs[i] = NULL;
    }
}

void ltx_embed_latents(br_backend *be, const ltx_config *cfg, const ltx_input_weights *w,
                       const float *latents, const float *timestep, ltx_context *ctx,
                       ltx_workspace *ws, float *h) {
    const int B = ctx->B, D = cfg->dim;
    nn_apply(be, h, latents, &w->proj_in, B * ctx->S);

    // AdaLayerNormSingle: sinusoid -> linear_1 -> SiLU -> linear_2 = embedded_timestep;
    // temb = linear(SiLU(embedded_timestep)). ws->time and ws->wide serve as scratch.
    nn_timestep_embed(be, &w->time_embedder, timestep, B, 1.0f, ws->time, ws->wide,
                      ctx->embedded_timestep);
    be->copy(be, ws->time, ctx->embedded_timestep, (size_t)B * D);
    be->silu(be, ws->time, (size_t)B * D);
    nn_apply(be, ctx->temb, ws->time, &w->time_linear, B);
}

void ltx_embed_prompt(br_backend *be, const ltx_config *cfg, const ltx_input_weights *w,
                      const float *prompt, ltx_context *ctx, ltx_workspace *ws) {
    // PixArtAlphaTextProjection: linear_1 -> GELU(tanh) -> linear_2.
    const int prompt_rows = ctx->B * ctx->L;
    nn_apply(be, ws->wide, prompt, &w->caption1, prompt_rows);
    be->gelu_tanh(be, ws->wide, (size_t)prompt_rows * cfg->dim);
    nn_apply(be, ctx->caption, ws->wide, &w->caption2, prompt_rows);
}

// Attention of one LTXAttention module: q from x_q [B*Sq, D], k and v from x_kv [B*Sk, D]
// (operands); q, k RMSNorm over the whole D; RoPE when tables are given; result (after to_out)
// in ws->proj. The three products land side by side in ws->wide.
static void attention(br_backend *be, const ltx_config *cfg, const ltx_attention *a,
                      const void *x_q, int Sq, const void *x_kv, int Sk, const float *bias,
                      const float *rope_cos, const float *rope_sin, int B, ltx_workspace *ws) {
    const int D = cfg->dim;
    const float qk_eps = 1e-5f; // LTXAttention's norm_q / norm_k
    float *q = ws->wide, *k = q + (size_t)B * Sq * D, *v = k + (size_t)B * Sk * D;
    nn_apply_op(be, q, x_q, &a->to_q, B * Sq);
    nn_apply_op(be, k, x_kv, &a->to_k, B * Sk);
    nn_apply_op(be, v, x_kv, &a->to_v, B * Sk);
    const br_qk_shape q_shape = br_qk_plain(B, Sq, D, qk_eps);
    const br_qk_shape k_shape = br_qk_plain(B, Sk, D, qk_eps);
    be->qk_norm_rope_op(be, ws->q, q, a->norm_q, rope_cos, rope_sin, &q_shape);
    be->qk_norm_rope_op(be, ws->k, k, a->norm_k, rope_cos, rope_sin, &k_shape);
    const void *v_op = nn_as_operand(be, ws->v, v, (size_t)B * Sk * D);
    be->attention(be, ws->attn, ws->q, ws->k, v_op, bias, B, Sq, Sk, cfg->heads, cfg->head_dim);
    nn_apply_op(be, ws->proj, ws->attn, &a->to_out, B * Sq);
}

void ltx_block_forward(br_backend *be, const ltx_config *cfg, const ltx_block *blk,
                       const ltx_context *ctx, ltx_workspace *ws, float *h) {
    const int B = ctx->B, S = ctx->S, D = cfg->dim, stride = LTX_ADA_PARAMS * D;
    // ada[b] = scale_shift_table + temb[b], chunks: shift, scale, gate (msa); shift, scale, gate (mlp).
    be->add_table(be, ws->ada, blk->scale_shift_table, ctx->temb, B, stride);
    const float *shift_msa = ws->ada, *scale_msa = ws->ada + D, *gate_msa = ws->ada + 2 * D;
    const float *shift_mlp = ws->ada + 3 * D, *scale_mlp = ws->ada + 4 * D;
    const float *gate_mlp = ws->ada + 5 * D;

    be->rms_norm_mod_op(be, ws->norm, h, shift_msa, scale_msa, stride, B, S, D, cfg->norm_eps);
    attention(be, cfg, &blk->attn1, ws->norm, S, ws->norm, S, NULL, ctx->rope_cos, ctx->rope_sin,
              B, ws);
    // The new h is also the cross-attention's queries: its operand comes out of the same pass.
    be->add_gated(be, h, ws->proj, gate_msa, stride, B, S, D, ws->hidden);

    // Cross-attention: queries from h itself (no norm), keys/values from the projected prompt.
    const void *prompt = nn_as_operand(be, ws->prompt, ctx->caption, (size_t)B * ctx->L * D);
    attention(be, cfg, &blk->attn2, ws->hidden ? ws->hidden : h, S, prompt, ctx->L,
              ctx->mask_bias, NULL, NULL, B, ws);
    be->add_gated(be, h, ws->proj, NULL, 0, B, S, D, NULL);

    be->rms_norm_mod_op(be, ws->norm, h, shift_mlp, scale_mlp, stride, B, S, D, cfg->norm_eps);
    nn_feed_forward(be, &blk->ff_in, &blk->ff_out, ws->norm, B * S, ws->wide, ws->ff, ws->proj);
    be->add_gated(be, h, ws->proj, gate_mlp, stride, B, S, D, NULL);
}

void ltx_output_side(br_backend *be, const ltx_config *cfg, const ltx_output_weights *w,
                     const ltx_context *ctx, ltx_workspace *ws, const float *h, float *out) {
    const int B = ctx->B, S = ctx->S, D = cfg->dim;
    // shift = table[0] + embedded_timestep, scale = table[1] + embedded_timestep.
    for (int i = 0; i < 2; i++)
        be->add_table(be, ws->ada + i * B * D, w->scale_shift_table + i * D,
                      ctx->embedded_timestep, B, D);
    const float *shift = ws->ada, *scale = ws->ada + B * D;
    be->layer_norm_mod(be, ws->proj, h, shift, scale, D, B, S, D, 1e-6f);
    nn_apply(be, out, ws->proj, &w->proj_out, B * S);
}

void ltx_mask_bias(float *bias, const float *mask, int n) {
    for (int i = 0; i < n; i++) bias[i] = (1.0f - mask[i]) * -10000.0f;
}

double ltx_forward_flops(const ltx_config *cfg, int B, int S, int L) {
    const double D = cfg->dim, N = (double)B * S, NL = (double)B * L;
    double block = 2 * N * D * D * (4 + 2 + 2 * LTX_FF_MULT) // q,k,v,out; q,out; ff in + out
                   + 2 * NL * D * D * 2                        // cross-attention k, v
                   + 4 * N * S * D + 4 * N * L * D;            // q k^T and p v, self and cross
    double io = 2 * N * D * (cfg->in_channels + cfg->out_channels) + 2 * NL * D * (cfg->caption_channels + D);
    return cfg->layers * block + io;
}
