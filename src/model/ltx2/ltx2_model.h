// ltx2_model.h: the forward pass of LTX2VideoTransformer3DModel, written once against the backend
// op table (core/backend.h), cut where the pipeline cuts it: the input side (first rank), one
// block (any rank), the output side (last rank). Two streams go through every block, the video
// tokens and the audio tokens, each with its self-attention, its cross-attention to its own text,
// its feed-forward, and between them the audio-to-video and video-to-audio attentions.
// Legend: B batch, S video tokens, Sa audio tokens, L text tokens, D / Da the streams' widths,
// P / Pa their modulation parameters (9 or 6), Tv the video's modulation rows per item (1, or S
// under per-token timesteps), C packed latent features (video and audio alike).
#ifndef BR_LTX2_MODEL_H
#define BR_LTX2_MODEL_H

#include "core/backend.h"
#include "ltx2_weights.h"

// Where each per-item value of the step sits in the cross slot [B, ltx2_cross_cols]: the prompt's
// shift and scale (LTX-2.3), the audio-video attentions' scale/shift (a2v scale, a2v shift, v2a
// scale, v2a shift) and gate, of the video then the audio.
typedef struct {
    int prompt, audio_prompt, ca, audio_ca, gate, audio_gate, cols;
} ltx2_cross_layout;
ltx2_cross_layout ltx2_cross(const ltx2_config *cfg);

// What every block needs besides the two streams: device views of the micro-batch's slots.
typedef struct {
    int B, S, Sa, L;
    int Tv;                        // the video's modulation rows per item
    const float *temb, *audio_temb; // [B*Tv, P*D], [B, Pa*Da]
    const float *emb, *audio_emb;   // embedded timesteps [B*Tv, D], [B, Da]
    const float *cross;            // [B, cross cols]
    const float *text, *audio_text; // [B*L, D], [B*L, Da]
    const float *text_bias, *audio_text_bias; // [B, L]: 0 kept, -10000 masked
    const float *cos, *sin;        // [S, D/2]
    const float *audio_cos, *audio_sin; // [Sa, Da/2]
    const float *cross_cos, *cross_sin; // [S, Da/2]: the audio-video attentions' video side
    const float *cross_audio_cos, *cross_audio_sin; // [Sa, Da/2]
    int perturbed;                 // spatio-temporal guidance: the self-attentions output their
                                   // values (set per block by the caller)
    int isolated;                  // no audio-video attentions
} ltx2_context;

// One LTX2Attention (LTX2AudioVideoAttnProcessor; its perturbed twin): out [B*Sq, q width] from
// the queries' stream x [B*Sq, q width] and the keys' kv [B*Sk, kv width]; q and k RMS-normed
// across heads, then rotated in the split layout where their tables [Sq or Sk, heads*dh/2] are
// given; bias [B, Sk] added to the scores (NULL: none); value_only: the values stand for the
// attention's output (spatio-temporal guidance).
typedef struct {
    const float *x;
    int Sq;
    const float *kv;
    int Sk;
    const float *bias;
    const float *q_cos, *q_sin, *k_cos, *k_sin;
    int value_only, B;
    float eps;
} ltx2_attend_args;
// Its scratch: q, k, v, out [B*max(Sq, Sk), heads*dh] and the gates' logits [B*Sq, heads].
typedef struct {
    float *q, *k, *v, *out, *logits;
} ltx2_attn_scratch;
void ltx2_attend(br_backend *be, const ltx2_attention *at, const ltx2_attend_args *a,
                 const ltx2_attn_scratch *s, float *out);

// Scratch of one forward of up to B items.
typedef struct {
    float *mod, *audio_mod;        // [B*Tv, P*D], [B, Pa*Da]: the block's tables + the step's
    float *cross;                  // [B, cross cols]: the same for the per-item values
    float *text, *audio_text;      // [B*L, D], [B*L, Da]: the modulated prompt
    float *norm, *audio_norm;      // [B*S, D], [B*Sa, Da]: an attention's or the ff's input
    float *plain, *audio_plain;    // [B*S, D], [B*Sa, Da]: plain RMS norms (audio-video pair)
    float *q, *k, *v, *out;        // [B*max(S, Sa, L), max(D, Da)]
    float *logits;                 // [B*max(S, Sa), heads]
    float *proj;                   // [B*max(S, Sa), max(D, Da)]
    float *wide;                   // [B*max(S, Sa, L), 4 max(D, Da)]: ff hidden, input scratch
    float *steps;                  // [B*Tv]: one kind of the step's values, gathered
    float *time, *time_hidden;     // [B*Tv, 256], [B*Tv, D]
} ltx2_workspace;

br_status ltx2_workspace_alloc(br_backend *be, const ltx2_config *cfg, int B, int S, int Sa,
                               int L, int Tv, ltx2_workspace *ws);
void ltx2_workspace_free(br_backend *be, ltx2_workspace *ws);

// The step's values per item [B, Tv + 3]: the video timestep(s), the audio's, sigma, the audio's
// sigma; cross_timestep: LTX-2.3's use_cross_timestep (the audio-video attentions' modulation
// follows the other stream's sigma).
typedef struct {
    const float *values;
    int cross_timestep;
} ltx2_steps;

// Input side, once per prompt: the texts the blocks take. prompt holds per item the video text
// [L, Ct] then the audio text [L, Cta] (LTX-2.3: the connectors' outputs, Ct = D; LTX-2.0: the
// caption channels, projected here).
void ltx2_embed_prompt(br_backend *be, const ltx2_config *cfg, const ltx2_input_weights *w,
                       const float *prompt, int B, int L, ltx2_workspace *ws, float *text,
                       float *audio_text);
// The baton's values of the step, which the input side writes and every block reads (the
// context's temb, emb, audio_temb, audio_emb, cross).
typedef struct {
    float *temb, *emb, *audio_temb, *audio_emb, *cross;
} ltx2_step_slots;

// Input side, each step: the streams from latents [B, S + Sa, C] (video tokens first) into
// video [B*S, D] and audio [B*Sa, Da], and the step's slots from its values.
void ltx2_embed_latents(br_backend *be, const ltx2_config *cfg, const ltx2_input_weights *w,
                        const float *latents, const ltx2_steps *steps, int B, int S, int Sa,
                        int Tv, ltx2_workspace *ws, float *video, float *audio,
                        const ltx2_step_slots *out);
// One block, in place on video [B*S, D] and audio [B*Sa, Da].
void ltx2_block_forward(br_backend *be, const ltx2_config *cfg, const ltx2_block *blk,
                        const ltx2_context *ctx, ltx2_workspace *ws, float *video, float *audio);
// Output side: out [B, S + Sa, C], the video's predictions then the audio's.
void ltx2_output_side(br_backend *be, const ltx2_config *cfg, const ltx2_output_weights *w,
                      const ltx2_context *ctx, ltx2_workspace *ws, const float *video,
                      const float *audio, float *out);

double ltx2_forward_flops(const ltx2_config *cfg, int B, int S, int Sa, int L);

#endif
