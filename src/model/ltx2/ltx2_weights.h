// ltx2_weights.h: LTX2VideoTransformer3DModel's weights by part, as the pipeline cuts it: the
// input side (first rank), one block (any rank), the output side (last rank).
// Legend: D / Da the video / audio widths, P / Pa their modulation parameters (9 or 6), F = 4D.
#ifndef BR_LTX2_WEIGHTS_H
#define BR_LTX2_WEIGHTS_H

#include "ltx2_config.h"
#include "nn/linear.h"
#include "nn/timestep.h"

// One LTX2Attention: queries from a stream of width `query` into heads x head_dim, keys and
// values from a stream of width `kv`, out to `query`; q/k RMSNorm across heads (with weights);
// gated: per-head gates 2 sigmoid(gate(x)) on the output.
typedef struct {
    nn_linear to_q, to_k, to_v, to_out, gate;
    float *norm_q, *norm_k; // [heads * head_dim]
    int heads, head_dim, gated;
} ltx2_attention;

// LTX2AdaLayerNormSingle: a time embedding (sinusoid, linear, SiLU, linear) and the linear of
// its SiLU into the modulation parameters.
typedef struct {
    nn_timestep_embedder emb;
    nn_linear linear;
} ltx2_adaln;

typedef struct {
    nn_linear proj_in, audio_proj_in;
    ltx2_adaln time, audio_time;          // [P*D], [Pa*Da]
    ltx2_adaln ca_video, ca_audio;        // the audio-video attentions' scale and shift [4D]
    ltx2_adaln ca_video_gate, ca_audio_gate;
    ltx2_adaln prompt, audio_prompt;      // LTX-2.3: the prompt's shift and scale [2D]
    nn_linear caption_1, caption_2;       // LTX-2.0: the caption projections
    nn_linear audio_caption_1, audio_caption_2;
} ltx2_input_weights;

typedef struct {
    int index;                           // which block: spatio-temporal guidance names blocks
    float *mod, *audio_mod;              // scale_shift_table [P, D], [Pa, Da]
    float *prompt_mod, *audio_prompt_mod; // LTX-2.3: prompt_scale_shift_table [2, D]
    float *ca_mod, *audio_ca_mod;        // the audio-video attentions' tables [5, D]
    ltx2_attention attn1, audio_attn1;   // self-attention
    ltx2_attention attn2, audio_attn2;   // text cross-attention
    ltx2_attention a2v, v2a;             // audio to video (queries video), video to audio
    nn_linear ff_in, ff_out, audio_ff_in, audio_ff_out;
} ltx2_block;

typedef struct {
    float *table, *audio_table;          // scale_shift_table [2, D]: shift, scale
    nn_linear proj_out, audio_proj_out;
} ltx2_output_weights;

// An attention of `heads` x `head_dim` under prefix (e.g. "transformer_blocks.0.attn1") from
// queries of width q_in, keys and values of width kv_in.
br_status ltx2_load_attention(br_backend *be, br_checkpoint *ck, const char *prefix, int q_in,
                              int kv_in, int heads, int head_dim, int gated, ltx2_attention *at);
void ltx2_free_attention(br_backend *be, ltx2_attention *at);

br_status ltx2_load_input(br_backend *be, br_checkpoint *ck, const ltx2_config *cfg,
                          ltx2_input_weights *w);
br_status ltx2_load_block(br_backend *be, br_checkpoint *ck, const ltx2_config *cfg, int index,
                          ltx2_block *blk);
br_status ltx2_load_output(br_backend *be, br_checkpoint *ck, const ltx2_config *cfg,
                           ltx2_output_weights *w);
// Each free is safe on a zeroed or partly loaded part.
void ltx2_free_input(br_backend *be, ltx2_input_weights *w);
void ltx2_free_block(br_backend *be, ltx2_block *blk);
void ltx2_free_output(br_backend *be, ltx2_output_weights *w);

#endif
