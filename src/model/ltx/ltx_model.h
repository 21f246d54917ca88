// ltx_model.h: the forward pass of LTXVideoTransformer3DModel, written once against the backend
// op table (core/backend.h). It is cut where the pipeline cuts it: the input side (first rank),
// one block (any rank), the output side (last rank). Which rank runs what is the stage's business.
// Legend: B batch, S video tokens, L prompt tokens, D inner dim, H heads, dh head dim.
#ifndef BR_LTX_MODEL_H
#define BR_LTX_MODEL_H

#include "core/backend.h"
#include "ltx_weights.h"

// What every block needs besides the hidden states; computed once per forward on the first rank
// (time embedding, caption projection, mask bias) or on every rank (RoPE tables). Device buffers.
typedef struct {
    int B, S, L;
    float *temb;              // [B, 6D]: time_embed output, added to each block's table
    float *embedded_timestep; // [B, D]: for the output side
    float *caption;           // [B, L, D]: projected prompt
    float *mask_bias;         // [B, L]: (1 - mask) * -10000
    float *rope_cos, *rope_sin; // [S, D]
} ltx_context;

// Scratch of one block's forward, sized for the largest use. The void * buffers are operands
// (backend.h: fp32, or bf16 under bf16 compute). Those marked "narrow only" exist only when
// operands are narrower than fp32; otherwise the fp32 buffer they would copy is its own operand.
typedef struct {
    float *ada;  // [B, 6D]
    float *wide; // fp32 products before their consumer: q | k | v of an attention, or the
                 // feed-forward hidden layer [B*S, 4D]; scratch of the input side
    float *proj; // [B*S, D]: to_out or ff_out, before the residual add
    float *time; // [B, max(256, D)]: time-embedding scratch (input side)
    void *norm;  // [B*S, D]: modulated RMSNorm of h
    void *q, *k; // [B*S, D] after norm and RoPE (cross-attention k: [B*L, D])
    void *attn;  // [B*S, D]: attention output
    void *v;      // narrow only: [max(B*S, B*L), D]
    void *hidden; // narrow only: [B*S, D]: h, the cross-attention's queries
    void *prompt; // narrow only: [B*L, D]: the projected prompt, its keys' and values' input
    void *ff;     // narrow only: [B*S, 4D]: GELU of the feed-forward hidden layer
} ltx_workspace;

br_status ltx_context_alloc(br_backend *be, const ltx_config *cfg, int B, int S, int L,
                            ltx_context *ctx);
void ltx_context_free(br_backend *be, ltx_context *ctx);
br_status ltx_workspace_alloc(br_backend *be, const ltx_config *cfg, int B, int S, int L,
                              ltx_workspace *ws);
void ltx_workspace_free(br_backend *be, ltx_workspace *ws);

// The input side in its two halves (the denoising loop projects each prompt once but the latents
// at every step): h[B*S, D] = proj_in(latents[B*S, C_in]) and ctx->temb, ctx->embedded_timestep
// from timestep[B] (0..1000 scale); ctx->caption from prompt[B*L, C_cap]. (mask_bias and the RoPE
// tables need no weights: ltx_mask_bias, ltx_rope_upload.)
void ltx_embed_latents(br_backend *be, const ltx_config *cfg, const ltx_input_weights *w,
                       const float *latents, const float *timestep, ltx_context *ctx,
                       ltx_workspace *ws, float *h);
void ltx_embed_prompt(br_backend *be, const ltx_config *cfg, const ltx_input_weights *w,
                      const float *prompt, ltx_context *ctx, ltx_workspace *ws);
// One transformer block, in place on h[B*S, D].
void ltx_block_forward(br_backend *be, const ltx_config *cfg, const ltx_block *blk,
                       const ltx_context *ctx, ltx_workspace *ws, float *h);

// Output side: out[B*S, C_out] = proj_out(LayerNorm(h) * (1 + scale) + shift). Clobbers ws.
void ltx_output_side(br_backend *be, const ltx_config *cfg, const ltx_output_weights *w,
                     const ltx_context *ctx, ltx_workspace *ws, const float *h, float *out);

// Floating-point operations of one forward (multiply-adds count 2): the linears and the two
// attention products of every block, and the input and output projections.
double ltx_forward_flops(const ltx_config *cfg, int B, int S, int L);

// The mask bias on the host: bias[i] = (1 - mask[i]) * -10000, n entries.
void ltx_mask_bias(float *bias, const float *mask, int n);

#endif
