// qwen_weights.h: the weights of QwenImageTransformer2DModel as the stages hold them (on the
// backend's device; matrices in its storage dtype). Field names follow the checkpoint's keys;
// qwen_weights.c maps them in one place and checks every shape against the config. A rank loads
// only its own part: the input side (first rank), a range of blocks, the output side (last rank).
// Legend: D inner dim, dh head dim, C_in packed latent features, C_txt text-encoder width,
// C_out = p^2 x out_channels, T = 256 time channels.
#ifndef BR_QWEN_WEIGHTS_H
#define BR_QWEN_WEIGHTS_H

#include "core/backend.h"
#include "io/checkpoint.h"
#include "nn/linear.h"
#include "nn/timestep.h"
#include "qwen_config.h"

// attn: the joint attention of both streams (QwenDoubleStreamAttnProcessor2_0).
typedef struct {
    nn_linear to_q, to_k, to_v, to_out;                 // image stream: [D, D] each (to_out.0)
    nn_linear add_q_proj, add_k_proj, add_v_proj, to_add_out; // text stream: [D, D] each
    float *norm_q, *norm_k;             // [dh]: per-head RMSNorm weights, image q and k
    float *norm_added_q, *norm_added_k; // [dh]: the same for the text stream
} qwen_attention;

typedef struct {
    nn_linear img_mod;              // img_mod.1: [6D, D] (of SiLU(temb)): shift, scale, gate x 2
    nn_linear txt_mod;              // txt_mod.1: [6D, D]
    qwen_attention attn;
    nn_linear img_ff_in, img_ff_out; // img_mlp.net.0.proj [4D, D], img_mlp.net.2 [D, 4D]
    nn_linear txt_ff_in, txt_ff_out; // txt_mlp.net.0.proj [4D, D], txt_mlp.net.2 [D, 4D]
} qwen_block;

typedef struct {
    nn_linear img_in;                  // [D, C_in]
    float *txt_norm;                   // txt_norm.weight [C_txt]: RMSNorm of the text states
    nn_linear txt_in;                  // [D, C_txt]
    nn_timestep_embedder time_embedder; // time_text_embed.timestep_embedder: T -> D -> D
} qwen_input_weights;

typedef struct {
    nn_linear norm_out; // norm_out.linear: [2D, D] (of SiLU(temb)): scale, shift
    nn_linear proj_out; // [C_out, D]
} qwen_output_weights;

br_status qwen_load_input(br_backend *be, br_checkpoint *ck, const qwen_config *cfg,
                          qwen_input_weights *w);
br_status qwen_load_block(br_backend *be, br_checkpoint *ck, const qwen_config *cfg, int index,
                          qwen_block *blk);
br_status qwen_load_output(br_backend *be, br_checkpoint *ck, const qwen_config *cfg,
                           qwen_output_weights *w);

// Each release is safe on a zeroed or partly loaded struct.
void qwen_free_input(br_backend *be, qwen_input_weights *w);
void qwen_free_block(br_backend *be, qwen_block *blk);
void qwen_free_output(br_backend *be, qwen_output_weights *w);

#endif
