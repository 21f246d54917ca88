// ltx_weights.h: the weights of LTXVideoTransformer3DModel as the stages hold them (fp32, on the
// backend's device). Field names follow the checkpoint's keys; ltx_weights.c maps them in one
// place and checks every shape against the config. A rank loads only its own part: the input
// side (first rank), a range of blocks, the output side (last rank).
// Legend: D inner dim, C_in / C_out latent channels, C_cap caption channels, T = 256 time channels.
#ifndef BR_LTX_WEIGHTS_H
#define BR_LTX_WEIGHTS_H

#include "core/backend.h"
#include "io/checkpoint.h"
#include "ltx_config.h"
#include "nn/linear.h"
#include "nn/timestep.h"

typedef struct {
    nn_linear to_q, to_k, to_v; // [D, D] each (attn2's k and v read the projected prompt, also D)
    nn_linear to_out;           // to_out.0: [D, D]
    float *norm_q, *norm_k;      // [D]: RMSNorm weights over the whole q and k
} ltx_attention;

typedef struct {
    float *scale_shift_table; // [6, D]: shift, scale, gate (attention); shift, scale, gate (ff)
    ltx_attention attn1;      // self-attention, with RoPE
    ltx_attention attn2;      // cross-attention to the prompt
    nn_linear ff_in;         // ff.net.0.proj: [4D, D]
    nn_linear ff_out;        // ff.net.2: [D, 4D]
} ltx_block;

typedef struct {
    nn_linear proj_in;      // [D, C_in]
    nn_timestep_embedder time_embedder; // time_embed.emb.timestep_embedder: T -> D -> D
    nn_linear time_linear;  // time_embed.linear: [6D, D]
    nn_linear caption1;     // caption_projection.linear_1: [D, C_cap]
    nn_linear caption2;     // caption_projection.linear_2: [D, D]
} ltx_input_weights;

typedef struct {
    float *scale_shift_table; // [2, D]: shift, scale of the final norm
    nn_linear proj_out;      // [C_out, D]
} ltx_output_weights;

br_status ltx_load_input(br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                         ltx_input_weights *w);
br_status ltx_load_block(br_backend *be, br_checkpoint *ck, const ltx_config *cfg, int index,
                         ltx_block *blk);
br_status ltx_load_output(br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                          ltx_output_weights *w);

// Each release is safe on a zeroed or partly loaded struct.
void ltx_free_input(br_backend *be, ltx_input_weights *w);
void ltx_free_block(br_backend *be, ltx_block *blk);
void ltx_free_output(br_backend *be, ltx_output_weights *w);

#endif
