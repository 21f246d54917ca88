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

typedef struct {
    void *weight;  // [n_out, n_in] (torch.nn.Linear layout: y = x . W^T + b), storage dtype
    float *bias;   // [n_out]
    int n_in, n_out;
} ltx_linear;

// Loads a torch Linear: "prefix.weight" [n_out, n_in] into the backend's storage dtype and
// "prefix.bias" [n_out] (the transformer's and the VAE's linears alike).
br_status ltx_load_linear(br_backend *be, br_checkpoint *ck, const char *prefix, int n_in,
                          int n_out, ltx_linear *l);

typedef struct {
    ltx_linear to_q, to_k, to_v; // [D, D] each (attn2's k and v read the projected prompt, also D)
    ltx_linear to_out;           // to_out.0: [D, D]
    float *norm_q, *norm_k;      // [D]: RMSNorm weights over the whole q and k
} ltx_attention;

typedef struct {
    float *scale_shift_table; // [6, D]: shift, scale, gate (attention); shift, scale, gate (ff)
    ltx_attention attn1;      // self-attention, with RoPE
    ltx_attention attn2;      // cross-attention to the prompt
    ltx_linear ff_in;         // ff.net.0.proj: [4D, D]
    ltx_linear ff_out;        // ff.net.2: [D, 4D]
} ltx_block;

typedef struct {
    ltx_linear proj_in;      // [D, C_in]
    ltx_linear time_linear1; // time_embed.emb.timestep_embedder.linear_1: [D, T]
    ltx_linear time_linear2; // time_embed.emb.timestep_embedder.linear_2: [D, D]
    ltx_linear time_linear;  // time_embed.linear: [6D, D]
    ltx_linear caption1;     // caption_projection.linear_1: [D, C_cap]
    ltx_linear caption2;     // caption_projection.linear_2: [D, D]
} ltx_input_weights;

typedef struct {
    float *scale_shift_table; // [2, D]: shift, scale of the final norm
    ltx_linear proj_out;      // [C_out, D]
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
