// ltx_weights.c: checkpoint key -> weight field, with the shape the config implies. This file is
// the one place where brigade spells diffusers' tensor names for LTX-Video.
#include "ltx_weights.h"

#include <stdio.h>
#include <string.h>

// Loads name with the given shape (1-D when n1 == 0) and hands it to the backend as fp32.
static br_status load(br_backend *be, br_checkpoint *ck, const char *name, int n0, int n1,
                      float **out) {
    int64_t shape[2] = {n0, n1};
    float *host = NULL;
    BR_TRY(br_ckpt_load(ck, name, n1 ? 2 : 1, shape, &host));
    *out = be->adopt_vector(be, host, (size_t)n0 * (n1 ? n1 : 1), name);
    return *out ? BR_OK : BR_ENOMEM;
}

// Loads a linear's weight matrix [n_out, n_in], stored in the backend's storage dtype.
static br_status load_matrix(br_backend *be, br_checkpoint *ck, const char *name, int n_out,
                             int n_in, void **out) {
    int64_t shape[2] = {n_out, n_in};
    float *host = NULL;
    BR_TRY(br_ckpt_load(ck, name, 2, shape, &host));
    *out = be->adopt_matrix(be, host, (size_t)n_out * n_in, name);
    return *out ? BR_OK : BR_ENOMEM;
}

br_status ltx_load_linear(br_backend *be, br_checkpoint *ck, const char *prefix, int n_in,
                          int n_out, ltx_linear *l) {
    char name[256];
    l->n_in = n_in;
    l->n_out = n_out;
    snprintf(name, sizeof name, "%s.weight", prefix);
    BR_TRY(load_matrix(be, ck, name, n_out, n_in, &l->weight));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load(be, ck, name, n_out, 0, &l->bias);
}

static br_status load_attention(br_backend *be, br_checkpoint *ck, const char *prefix, int D,
                                ltx_attention *a) {
    char name[256];
    snprintf(name, sizeof name, "%s.to_q", prefix);
    BR_TRY(ltx_load_linear(be, ck, name, D, D, &a->to_q));
    snprintf(name, sizeof name, "%s.to_k", prefix);
    BR_TRY(ltx_load_linear(be, ck, name, D, D, &a->to_k));
    snprintf(name, sizeof name, "%s.to_v", prefix);
    BR_TRY(ltx_load_linear(be, ck, name, D, D, &a->to_v));
    snprintf(name, sizeof name, "%s.to_out.0", prefix);
    BR_TRY(ltx_load_linear(be, ck, name, D, D, &a->to_out));
    snprintf(name, sizeof name, "%s.norm_q.weight", prefix);
    BR_TRY(load(be, ck, name, D, 0, &a->norm_q));
    snprintf(name, sizeof name, "%s.norm_k.weight", prefix);
    return load(be, ck, name, D, 0, &a->norm_k);
}

br_status ltx_load_input(br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                         ltx_input_weights *w) {
    int D = cfg->dim;
    BR_TRY(ltx_load_linear(be, ck, "proj_in", cfg->in_channels, D, &w->proj_in));
    BR_TRY(ltx_load_linear(be, ck, "time_embed.emb.timestep_embedder.linear_1",
                           LTX_TIME_CHANNELS, D, &w->time_linear1));
    BR_TRY(ltx_load_linear(be, ck, "time_embed.emb.timestep_embedder.linear_2", D, D,
                           &w->time_linear2));
    BR_TRY(ltx_load_linear(be, ck, "time_embed.linear", D, LTX_ADA_PARAMS * D, &w->time_linear));
    BR_TRY(ltx_load_linear(be, ck, "caption_projection.linear_1", cfg->caption_channels, D,
                           &w->caption1));
    return ltx_load_linear(be, ck, "caption_projection.linear_2", D, D, &w->caption2);
}

br_status ltx_load_block(br_backend *be, br_checkpoint *ck, const ltx_config *cfg, int index,
                         ltx_block *blk) {
    int D = cfg->dim;
    char prefix[128], name[256];
    snprintf(prefix, sizeof prefix, "transformer_blocks.%d", index);
    snprintf(name, sizeof name, "%s.scale_shift_table", prefix);
    BR_TRY(load(be, ck, name, LTX_ADA_PARAMS, D, &blk->scale_shift_table));
    snprintf(name, sizeof name, "%s.attn1", prefix);
    BR_TRY(load_attention(be, ck, name, D, &blk->attn1));
    snprintf(name, sizeof name, "%s.attn2", prefix);
    BR_TRY(load_attention(be, ck, name, D, &blk->attn2));
    snprintf(name, sizeof name, "%s.ff.net.0.proj", prefix);
    BR_TRY(ltx_load_linear(be, ck, name, D, LTX_FF_MULT * D, &blk->ff_in));
    snprintf(name, sizeof name, "%s.ff.net.2", prefix);
    return ltx_load_linear(be, ck, name, LTX_FF_MULT * D, D, &blk->ff_out);
}

br_status ltx_load_output(br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                          ltx_output_weights *w) {
    BR_TRY(load(be, ck, "scale_shift_table", 2, cfg->dim, &w->scale_shift_table));
    return ltx_load_linear(be, ck, "proj_out", cfg->dim, cfg->out_channels, &w->proj_out);
}

static void free_linear(br_backend *be, ltx_linear *l) {
    be->release_matrix(be, l->weight);
    be->release(be, l->bias);
    memset(l, 0, sizeof *l);
}

static void free_attention(br_backend *be, ltx_attention *a) {
    free_linear(be, &a->to_q);
    free_linear(be, &a->to_k);
    free_linear(be, &a->to_v);
    free_linear(be, &a->to_out);
    be->release(be, a->norm_q);
    be->release(be, a->norm_k);
    a->norm_q = a->norm_k = NULL;
}

void ltx_free_input(br_backend *be, ltx_input_weights *w) {
    free_linear(be, &w->proj_in);
    free_linear(be, &w->time_linear1);
    free_linear(be, &w->time_linear2);
    free_linear(be, &w->time_linear);
    free_linear(be, &w->caption1);
    free_linear(be, &w->caption2);
}

void ltx_free_block(br_backend *be, ltx_block *blk) {
    be->release(be, blk->scale_shift_table);
    blk->scale_shift_table = NULL;
    free_attention(be, &blk->attn1);
    free_attention(be, &blk->attn2);
    free_linear(be, &blk->ff_in);
    free_linear(be, &blk->ff_out);
}

void ltx_free_output(br_backend *be, ltx_output_weights *w) {
    be->release(be, w->scale_shift_table);
    w->scale_shift_table = NULL;
    free_linear(be, &w->proj_out);
}
