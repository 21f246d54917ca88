// ltx2_weights.c: checkpoint key -> weight field, with the shape the config implies. This file is
// the one place where brigade spells diffusers' tensor names for LTX-2's transformer.
#include "ltx2_weights.h"

#include <stdio.h>

static br_status linear(br_backend *be, br_checkpoint *ck, const char *prefix, const char *name,
                        int n_in, int n_out, nn_linear *l) {
    char key[256];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", name);
    return nn_load_linear(be, ck, key, n_in, n_out, l);
}

static br_status table(br_backend *be, br_checkpoint *ck, const char *prefix, const char *name,
                       int rows, int cols, float **v) {
    char key[256];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", name);
    return nn_load_vector(be, ck, key, rows, cols, v);
}

static br_status adaln(br_backend *be, br_checkpoint *ck, const char *name, int D, int params,
                       ltx2_adaln *a) {
    char key[128];
    snprintf(key, sizeof key, "%s.emb.timestep_embedder", name);
    BR_TRY(nn_load_timestep_embedder(be, ck, key, LTX2_TIME_CHANNELS, D, &a->emb));
    return linear(be, ck, name, "linear", D, params * D, &a->linear);
}

static void free_adaln(br_backend *be, ltx2_adaln *a) {
    nn_free_timestep_embedder(be, &a->emb);
    nn_free_linear(be, &a->linear);
}

br_status ltx2_load_input(br_backend *be, br_checkpoint *ck, const ltx2_config *cfg,
                          ltx2_input_weights *w) {
    const ltx2_stream_config *v = &cfg->video, *a = &cfg->audio;
    BR_TRY(linear(be, ck, "", "proj_in", v->in_channels, v->dim, &w->proj_in));
    BR_TRY(linear(be, ck, "", "audio_proj_in", a->in_channels, a->dim, &w->audio_proj_in));
    BR_TRY(adaln(be, ck, "time_embed", v->dim, v->mod_params, &w->time));
    BR_TRY(adaln(be, ck, "audio_time_embed", a->dim, a->mod_params, &w->audio_time));
    BR_TRY(adaln(be, ck, "av_cross_attn_video_scale_shift", v->dim, 4, &w->ca_video));
    BR_TRY(adaln(be, ck, "av_cross_attn_audio_scale_shift", a->dim, 4, &w->ca_audio));
    BR_TRY(adaln(be, ck, "av_cross_attn_video_a2v_gate", v->dim, 1, &w->ca_video_gate));
    BR_TRY(adaln(be, ck, "av_cross_attn_audio_v2a_gate", a->dim, 1, &w->ca_audio_gate));
    if (cfg->prompt_adaln) {
        BR_TRY(adaln(be, ck, "prompt_adaln", v->dim, 2, &w->prompt));
        BR_TRY(adaln(be, ck, "audio_prompt_adaln", a->dim, 2, &w->audio_prompt));
    }
    if (!cfg->caption_projection) return BR_OK;
    const int C = cfg->caption_channels;
    BR_TRY(linear(be, ck, "caption_projection", "linear_1", C, v->dim, &w->caption_1));
    BR_TRY(linear(be, ck, "caption_projection", "linear_2", v->dim, v->dim, &w->caption_2));
    BR_TRY(linear(be, ck, "audio_caption_projection", "linear_1", C, a->dim, &w->audio_caption_1));
    return linear(be, ck, "audio_caption_projection", "linear_2", a->dim, a->dim,
                  &w->audio_caption_2);
}

br_status ltx2_load_attention(br_backend *be, br_checkpoint *ck, const char *prefix, int q_in,
                           int kv_in, int heads, int head_dim, int gated, ltx2_attention *at) {
    const int inner = heads * head_dim;
    at->heads = heads, at->head_dim = head_dim, at->gated = gated;
    BR_TRY(linear(be, ck, prefix, "to_q", q_in, inner, &at->to_q));
    BR_TRY(linear(be, ck, prefix, "to_k", kv_in, inner, &at->to_k));
    BR_TRY(linear(be, ck, prefix, "to_v", kv_in, inner, &at->to_v));
    BR_TRY(linear(be, ck, prefix, "to_out.0", inner, q_in, &at->to_out));
    BR_TRY(table(be, ck, prefix, "norm_q.weight", inner, 0, &at->norm_q));
    BR_TRY(table(be, ck, prefix, "norm_k.weight", inner, 0, &at->norm_k));
    return gated ? linear(be, ck, prefix, "to_gate_logits", q_in, heads, &at->gate) : BR_OK;
}

br_status ltx2_load_block(br_backend *be, br_checkpoint *ck, const ltx2_config *cfg, int index,
                          ltx2_block *blk) {
    const ltx2_stream_config *v = &cfg->video, *a = &cfg->audio;
    const int D = v->dim, Da = a->dim;
    char p[64], at[128];
    snprintf(p, sizeof p, "transformer_blocks.%d", index);
    blk->index = index;
#define ATTN(name, q_in, kv_in, s, field)                                                        \
    (snprintf(at, sizeof at, "%s.%s", p, name),                                                  \
     ltx2_load_attention(be, ck, at, q_in, kv_in, (s)->heads, (s)->head_dim, (s)->gated_attn, field))
    BR_TRY(ATTN("attn1", D, D, v, &blk->attn1));
    BR_TRY(ATTN("audio_attn1", Da, Da, a, &blk->audio_attn1));
    BR_TRY(ATTN("attn2", D, D, v, &blk->attn2));
    BR_TRY(ATTN("audio_attn2", Da, Da, a, &blk->audio_attn2));
    // Both audio-video attentions run with the audio's heads; each is gated as its query stream.
    BR_TRY(ltx2_load_attention(be, ck, (snprintf(at, sizeof at, "%s.audio_to_video_attn", p), at), D, Da,
                     a->heads, a->head_dim, v->gated_attn, &blk->a2v));
    BR_TRY(ltx2_load_attention(be, ck, (snprintf(at, sizeof at, "%s.video_to_audio_attn", p), at), Da, D,
                     a->heads, a->head_dim, a->gated_attn, &blk->v2a));
#undef ATTN
    BR_TRY(linear(be, ck, p, "ff.net.0.proj", D, LTX2_FF_MULT * D, &blk->ff_in));
    BR_TRY(linear(be, ck, p, "ff.net.2", LTX2_FF_MULT * D, D, &blk->ff_out));
    BR_TRY(linear(be, ck, p, "audio_ff.net.0.proj", Da, LTX2_FF_MULT * Da, &blk->audio_ff_in));
    BR_TRY(linear(be, ck, p, "audio_ff.net.2", LTX2_FF_MULT * Da, Da, &blk->audio_ff_out));
    BR_TRY(table(be, ck, p, "scale_shift_table", v->mod_params, D, &blk->mod));
    BR_TRY(table(be, ck, p, "audio_scale_shift_table", a->mod_params, Da, &blk->audio_mod));
    BR_TRY(table(be, ck, p, "video_a2v_cross_attn_scale_shift_table", 5, D, &blk->ca_mod));
    BR_TRY(table(be, ck, p, "audio_a2v_cross_attn_scale_shift_table", 5, Da, &blk->audio_ca_mod));
    if (!cfg->prompt_adaln) return BR_OK;
    BR_TRY(table(be, ck, p, "prompt_scale_shift_table", 2, D, &blk->prompt_mod));
    return table(be, ck, p, "audio_prompt_scale_shift_table", 2, Da, &blk->audio_prompt_mod);
}

br_status ltx2_load_output(br_backend *be, br_checkpoint *ck, const ltx2_config *cfg,
                           ltx2_output_weights *w) {
    const ltx2_stream_config *v = &cfg->video, *a = &cfg->audio;
    BR_TRY(table(be, ck, "", "scale_shift_table", 2, v->dim, &w->table));
    BR_TRY(table(be, ck, "", "audio_scale_shift_table", 2, a->dim, &w->audio_table));
    BR_TRY(linear(be, ck, "", "proj_out", v->dim, v->out_channels, &w->proj_out));
    return linear(be, ck, "", "audio_proj_out", a->dim, a->out_channels, &w->audio_proj_out);
}

void ltx2_free_input(br_backend *be, ltx2_input_weights *w) {
    nn_linear *l[] = {&w->proj_in, &w->audio_proj_in, &w->caption_1, &w->caption_2,
                      &w->audio_caption_1, &w->audio_caption_2};
    for (size_t i = 0; i < sizeof l / sizeof *l; i++) nn_free_linear(be, l[i]);
    ltx2_adaln *a[] = {&w->time, &w->audio_time, &w->ca_video, &w->ca_audio, &w->ca_video_gate,
                       &w->ca_audio_gate, &w->prompt, &w->audio_prompt};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++) free_adaln(be, a[i]);
}

void ltx2_free_attention(br_backend *be, ltx2_attention *at) {
    nn_linear *l[] = {&at->to_q, &at->to_k, &at->to_v, &at->to_out, &at->gate};
    for (size_t i = 0; i < sizeof l / sizeof *l; i++) nn_free_linear(be, l[i]);
    nn_free_vector(be, &at->norm_q);
    nn_free_vector(be, &at->norm_k);
}

void ltx2_free_block(br_backend *be, ltx2_block *blk) {
    ltx2_attention *at[] = {&blk->attn1, &blk->audio_attn1, &blk->attn2, &blk->audio_attn2,
                            &blk->a2v, &blk->v2a};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) ltx2_free_attention(be, at[i]);
    nn_linear *l[] = {&blk->ff_in, &blk->ff_out, &blk->audio_ff_in, &blk->audio_ff_out};
    for (size_t i = 0; i < sizeof l / sizeof *l; i++) nn_free_linear(be, l[i]);
    float **t[] = {&blk->mod, &blk->audio_mod, &blk->prompt_mod, &blk->audio_prompt_mod,
                   &blk->ca_mod, &blk->audio_ca_mod};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) nn_free_vector(be, t[i]);
}

void ltx2_free_output(br_backend *be, ltx2_output_weights *w) {
    nn_free_vector(be, &w->table);
    nn_free_vector(be, &w->audio_table);
    nn_free_linear(be, &w->proj_out);
    nn_free_linear(be, &w->audio_proj_out);
}
