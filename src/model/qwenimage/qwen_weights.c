// qwen_weights.c: checkpoint key -> weight field, with the shape the config implies. This file is
// the one place where brigade spells diffusers' tensor names for Qwen-Image's transformer.
#include "qwen_weights.h"

#include <stdio.h>

// prefix.name as a linear [n_out, n_in].
static br_status linear(br_backend *be, br_checkpoint *ck, const char *prefix, const char *name,
                        int n_in, int n_out, nn_linear *l) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    return nn_load_linear(be, ck, key, n_in, n_out, l);
}

static br_status vector(br_backend *be, br_checkpoint *ck, const char *prefix, const char *name,
                        int n, float **v) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    return nn_load_vector(be, ck, key, n, 0, v);
}

br_status qwen_load_input(br_backend *be, br_checkpoint *ck, const qwen_config *cfg,
                          qwen_input_weights *w) {
    const int D = cfg->dim;
    BR_TRY(nn_load_linear(be, ck, "img_in", cfg->in_channels, D, &w->img_in));
    BR_TRY(nn_load_vector(be, ck, "txt_norm.weight", cfg->joint_dim, 0, &w->txt_norm));
    BR_TRY(nn_load_linear(be, ck, "txt_in", cfg->joint_dim, D, &w->txt_in));
    return nn_load_timestep_embedder(be, ck, "time_text_embed.timestep_embedder",
                                     QWEN_TIME_CHANNELS, D, &w->time_embedder);
}

static br_status load_attention(br_backend *be, br_checkpoint *ck, const char *prefix,
                                const qwen_config *cfg, qwen_attention *a) {
    const int D = cfg->dim, dh = cfg->head_dim;
    BR_TRY(linear(be, ck, prefix, "to_q", D, D, &a->to_q));
    BR_TRY(linear(be, ck, prefix, "to_k", D, D, &a->to_k));
    BR_TRY(linear(be, ck, prefix, "to_v", D, D, &a->to_v));
    BR_TRY(linear(be, ck, prefix, "to_out.0", D, D, &a->to_out));
    BR_TRY(linear(be, ck, prefix, "add_q_proj", D, D, &a->add_q_proj));
    BR_TRY(linear(be, ck, prefix, "add_k_proj", D, D, &a->add_k_proj));
    BR_TRY(linear(be, ck, prefix, "add_v_proj", D, D, &a->add_v_proj));
    BR_TRY(linear(be, ck, prefix, "to_add_out", D, D, &a->to_add_out));
    BR_TRY(vector(be, ck, prefix, "norm_q.weight", dh, &a->norm_q));
    BR_TRY(vector(be, ck, prefix, "norm_k.weight", dh, &a->norm_k));
    BR_TRY(vector(be, ck, prefix, "norm_added_q.weight", dh, &a->norm_added_q));
    return vector(be, ck, prefix, "norm_added_k.weight", dh, &a->norm_added_k);
}

br_status qwen_load_block(br_backend *be, br_checkpoint *ck, const qwen_config *cfg, int index,
                          qwen_block *blk) {
    const int D = cfg->dim, F = QWEN_FF_MULT * D, M = QWEN_MOD_PARAMS * D;
    char prefix[64], attn[96];
    snprintf(prefix, sizeof prefix, "transformer_blocks.%d", index);
    snprintf(attn, sizeof attn, "%s.attn", prefix);
    BR_TRY(linear(be, ck, prefix, "img_mod.1", D, M, &blk->img_mod));
    BR_TRY(linear(be, ck, prefix, "txt_mod.1", D, M, &blk->txt_mod));
    BR_TRY(load_attention(be, ck, attn, cfg, &blk->attn));
    BR_TRY(linear(be, ck, prefix, "img_mlp.net.0.proj", D, F, &blk->img_ff_in));
    BR_TRY(linear(be, ck, prefix, "img_mlp.net.2", F, D, &blk->img_ff_out));
    BR_TRY(linear(be, ck, prefix, "txt_mlp.net.0.proj", D, F, &blk->txt_ff_in));
    return linear(be, ck, prefix, "txt_mlp.net.2", F, D, &blk->txt_ff_out);
}

br_status qwen_load_output(br_backend *be, br_checkpoint *ck, const qwen_config *cfg,
                           qwen_output_weights *w) {
    const int D = cfg->dim, p = cfg->patch_size;
    BR_TRY(nn_load_linear(be, ck, "norm_out.linear", D, 2 * D, &w->norm_out));
    return nn_load_linear(be, ck, "proj_out", D, p * p * cfg->out_channels, &w->proj_out);
}

void qwen_free_input(br_backend *be, qwen_input_weights *w) {
    nn_free_linear(be, &w->img_in);
    nn_free_vector(be, &w->txt_norm);
    nn_free_linear(be, &w->txt_in);
    nn_free_timestep_embedder(be, &w->time_embedder);
}

void qwen_free_block(br_backend *be, qwen_block *blk) {
    nn_linear *linears[] = {&blk->img_mod, &blk->txt_mod, &blk->attn.to_q, &blk->attn.to_k,
                            &blk->attn.to_v, &blk->attn.to_out, &blk->attn.add_q_proj,
                            &blk->attn.add_k_proj, &blk->attn.add_v_proj, &blk->attn.to_add_out,
                            &blk->img_ff_in, &blk->img_ff_out, &blk->txt_ff_in, &blk->txt_ff_out};
    for (size_t i = 0; i < sizeof linears / sizeof *linears; i++) nn_free_linear(be, linears[i]);
    nn_free_vector(be, &blk->attn.norm_q);
    nn_free_vector(be, &blk->attn.norm_k);
    nn_free_vector(be, &blk->attn.norm_added_q);
    nn_free_vector(be, &blk->attn.norm_added_k);
}

void qwen_free_output(br_backend *be, qwen_output_weights *w) {
    nn_free_linear(be, &w->norm_out);
    nn_free_linear(be, &w->proj_out);
}
