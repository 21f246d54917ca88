// ltx_weights.c: checkpoint key -> weight field, with the shape the config implies. This file is
// the one place where brigade spells diffusers' tensor names for LTX-Video.
#include "ltx_weights.h"

#include <stdio.h>
#include <string.h>

static br_status load_attention(br_backend *be, br_checkpoint *ck, const char *prefix, int D,
                                ltx_attention *a) {
    char name[256];
    snprintf(name, sizeof name, "%s.to_q", prefix);
    BR_TRY(nn_load_linear(be, ck, name, D, D, &a->to_q));
    snprintf(name, sizeof name, "%s.to_k", prefix);
    BR_TRY(nn_load_linear(be, ck, name, D, D, &a->to_k));
    snprintf(name, sizeof name, "%s.to_v", prefix);
    BR_TRY(nn_load_linear(be, ck, name, D, D, &a->to_v));
    snprintf(name, sizeof name, "%s.to_out.0", prefix);
    BR_TRY(nn_load_linear(be, ck, name, D, D, &a->to_out));
    snprintf(name, sizeof name, "%s.norm_q.weight", prefix);
    BR_TRY(nn_load_vector(be, ck, name, D, 0, &a->norm_q));
    snprintf(name, sizeof name, "%s.norm_k.weight", prefix);
    return nn_load_vector(be, ck, name, D, 0, &a->norm_k);
}

br_status ltx_load_input(br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                         ltx_input_weights *w) {
    int D = cfg->dim;
    BR_TRY(nn_load_linear(be, ck, "proj_in", cfg->in_channels, D, &w->proj_in));
    BR_TRY(nn_load_timestep_embedder(be, ck, "time_embed.emb.timestep_embedder",
                                     LTX_TIME_CHANNELS, D, &w->time_embedder));
    BR_TRY(nn_load_linear(be, ck, "time_embed.linear", D, LTX_ADA_PARAMS * D, &w->time_linear));
    BR_TRY(nn_load_linear(be, ck, "caption_projection.linear_1", cfg->caption_channels, D,
                           &w->caption1));
    return nn_load_linear(be, ck, "caption_projection.linear_2", D, D, &w->caption2);
}

br_status ltx_load_block(br_backend *be, br_checkpoint *ck, const ltx_config *cfg, int index,
                         ltx_block *blk) {
    int D = cfg->dim;
    char prefix[128], name[256];
    snprintf(prefix, sizeof prefix, "transformer_blocks.%d", index);
    snprintf(name, sizeof name, "%s.scale_shift_table", prefix);
    BR_TRY(nn_load_vector(be, ck, name, LTX_ADA_PARAMS, D, &blk->scale_shift_table));
    snprintf(name, sizeof name, "%s.attn1", prefix);
    BR_TRY(load_attention(be, ck, name, D, &blk->attn1));
    snprintf(name, sizeof name, "%s.attn2", prefix);
    BR_TRY(load_attention(be, ck, name, D, &blk->attn2));
    snprintf(name, sizeof name, "%s.ff.net.0.proj", prefix);
    BR_TRY(nn_load_linear(be, ck, name, D, LTX_FF_MULT * D, &blk->ff_in));
    snprintf(name, sizeof name, "%s.ff.net.2", prefix);
    return nn_load_linear(be, ck, name, LTX_FF_MULT * D, D, &blk->ff_out);
}

br_status ltx_load_output(br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                          ltx_output_weights *w) {
    BR_TRY(nn_load_vector(be, ck, "scale_shift_table", 2, cfg->dim, &w->scale_shift_table));
    return nn_load_linear(be, ck, "proj_out", cfg->dim, cfg->out_channels, &w->proj_out);
}

static void free_attention(br_backend *be, ltx_attention *a) {
    nn_free_linear(be, &a->to_q);
    nn_free_linear(be, &a->to_k);
    nn_free_linear(be, &a->to_v);
    nn_free_linear(be, &a->to_out);
    nn_free_vector(be, &a->norm_q);
    nn_free_vector(be, &a->norm_k);
}

void ltx_free_input(br_backend *be, ltx_input_weights *w) {
    nn_free_linear(be, &w->proj_in);
    nn_free_timestep_embedder(be, &w->time_embedder);
    nn_free_linear(be, &w->time_linear);
    nn_free_linear(be, &w->caption1);
    nn_free_linear(be, &w->caption2);
}

void ltx_free_block(br_backend *be, ltx_block *blk) {
    nn_free_vector(be, &blk->scale_shift_table);
    free_attention(be, &blk->attn1);
    free_attention(be, &blk->attn2);
    nn_free_linear(be, &blk->ff_in);
    nn_free_linear(be, &blk->ff_out);
}

void ltx_free_output(br_backend *be, ltx_output_weights *w) {
    nn_free_vector(be, &w->scale_shift_table);
    nn_free_linear(be, &w->proj_out);
}
