// qwen_model.h: the forward pass of QwenImageTransformer2DModel, written once against the backend
// op table (core/backend.h), cut where the pipeline cuts it: the input side (first rank), one
// block (any rank), the output side (last rank). Two streams go through every block: the image
// tokens and the text tokens, each with its own modulation, projections and feed-forward, joined
// in one attention over [text, image] in which masked text keys take no part.
// Legend: B batch, S image tokens (target + references), L text tokens, J = L + S the joint
// sequence, D inner dim, H heads, dh head dim, C_in / C_out packed latent features, C_txt text
// width.
#ifndef BR_QWEN_MODEL_H
#define BR_QWEN_MODEL_H

#include "core/backend.h"
#include "qwen_weights.h"

// What every block needs besides the two streams: device buffers.
typedef struct {
    int B, S, L;
    const float *temb;      // [B, D]: the time embedding
    const float *key_bias;  // [B, J]: 0 for a kept key, QWEN_MASKED for a masked text key; NULL:
                            // none is masked
    const float *img_cos, *img_sin; // [S, dh]
    const float *txt_cos, *txt_sin; // [L, dh]
} qwen_context;

// A masked key's bias: its weight is exactly 0 after the softmax (exp underflows) while the scores
// of a row spread less than ~9900 (q and k are RMS-normalised per head: they spread by tens); as
// large as the bf16 attention kernels take (kernels_cuda.h). The reference's -inf does the same.
#define QWEN_MASKED (-10000.0f)

// Scratch of one forward of up to B items, sized for the largest use. The void * buffers are
// operands (backend.h: fp32, or bf16 under bf16 compute); `ff` exists only when operands are
// narrower than fp32 (else the GELU runs in place in `wide`).
typedef struct {
    float *mod_img, *mod_txt; // [B, 6D]: shift, scale, gate (attention); shift, scale, gate (ff)
    float *temb_act;          // [B, D]: SiLU(temb)
    float *time;              // [B, 256]: the time sinusoid
    float *wide;              // fp32: q | k | v of one stream, the feed-forward hidden layer
                              // [B*max(S, L), 4D], or the input side's scratch
    float *proj;              // [B*max(S, L), D]: to_out / to_add_out / ff_out before the residual
    void *norm_img, *norm_txt; // [B*S, D], [B*L, D]: modulated LayerNorms of the streams
    void *q, *k, *v, *attn;   // [B, J, D]: the joint sequence, text rows first
    void *ff;                 // narrow only: [B*max(S, L), 4D]
} qwen_workspace;

br_status qwen_workspace_alloc(br_backend *be, const qwen_config *cfg, int B, int S, int L,
                               qwen_workspace *ws);
void qwen_workspace_free(br_backend *be, qwen_workspace *ws);

// Input side, once per prompt: txt0[B*L, D] = txt_in(RMSNorm(prompt[B*L, C_txt]) * txt_norm).
void qwen_embed_prompt(br_backend *be, const qwen_config *cfg, const qwen_input_weights *w,
                       const float *prompt, int B, int L, qwen_workspace *ws, float *txt0);
// Input side, each step: img[B*S, D] = img_in(latents[B*S, C_in]); temb[B, D] from timestep[B]
// (0..1, scaled by 1000 in the sinusoid as the reference does).
void qwen_embed_latents(br_backend *be, const qwen_config *cfg, const qwen_input_weights *w,
                        const float *latents, const float *timestep, int B, int S,
                        qwen_workspace *ws, float *img, float *temb);
// One transformer block, in place on img[B*S, D] and txt[B*L, D].
void qwen_block_forward(br_backend *be, const qwen_config *cfg, const qwen_block *blk,
                        const qwen_context *ctx, qwen_workspace *ws, float *img, float *txt);
// Output side: out[B*S, C_out] = proj_out(LayerNorm(img) * (1 + scale) + shift), (scale, shift)
// = norm_out(SiLU(temb)). Clobbers ws.
void qwen_output_side(br_backend *be, const qwen_config *cfg, const qwen_output_weights *w,
                      const qwen_context *ctx, qwen_workspace *ws, const float *img, float *out);

// Floating-point operations of one forward (multiply-adds count 2): every linear, and the two
// products of each joint attention.
double qwen_forward_flops(const qwen_config *cfg, int B, int S, int L);

#endif
