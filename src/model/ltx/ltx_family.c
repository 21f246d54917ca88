// ltx_family.c: LTX-Video's transformer behind the seam (family.h). Its slots:
//   baton   hidden states [S, D] (the stream), temb [6D] and embedded timestep [D] (the step's
//           time embedding, riding along)
//   prompt  the projected prompt [L, D] and its mask bias [L]
//   tables  RoPE cos and sin [S, D]
// and the inputs of `brigade forward`: hidden_states, encoder_hidden_states,
// encoder_attention_mask, timestep, and the settings num_frames, height, width,
// rope_interpolation_scale.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx_config.h"
#include "ltx_family.h"
#include "ltx_model.h"
#include "ltx_rope.h"

enum { HIDDEN, TEMB, EMBEDDED }; // baton slots
enum { CAPTION, MASK_BIAS };     // prompt slots
enum { ROPE_COS, ROPE_SIN };     // tables

static const ltx_config *config(const br_model *m) { return m->cfg; }

static br_status parse(br_model *m, const cJSON *json, const char *path) {
    BR_TRY(br_new_part(&m->cfg, sizeof(ltx_config)));
    ltx_config *cfg = m->cfg;
    BR_TRY(ltx_config_parse(cfg, json, path));
    m->layers = cfg->layers, m->in_channels = cfg->in_channels;
    m->out_channels = cfg->out_channels, m->text_channels = cfg->caption_channels;
    return BR_OK;
}

static br_status check_device(const br_model *m, const br_backend *be) {
    if (config(m)->head_dim > be->max_head_dim)
        return br_fail(BR_EINPUT, "%s: attention_head_dim %d is wider than %s's attention "
                       "takes (%d)", m->config_path, config(m)->head_dim, be->device_name,
                       be->max_head_dim);
    return BR_OK;
}

// "random:B,F,H,W,L": inputs of that shape (batch, latent frames, height, width, prompt tokens)
// with random values, every prompt token kept, timestep 500: for benchmarks.
static br_status random_inputs(const br_model *m, const char *spec, br_tensor_set *set) {
    int B, F, H, W, L;
    if (sscanf(spec, "random:%d,%d,%d,%d,%d", &B, &F, &H, &W, &L) != 5 || B < 1 || F < 1 ||
        H < 1 || W < 1 || L < 1 || (long long)F * H * W > 1 << 24 || B > 64 || L > 1 << 16)
        return br_fail(BR_EINPUT, "--inputs %s: expected random:B,F,H,W,L (positive sizes)", spec);
    const int64_t S = (int64_t)F * H * W;
    br_tensor *t[4] = {
        br_set_add(set, "hidden_states", 3, (int64_t[]){B, S, m->in_channels}),
        br_set_add(set, "encoder_hidden_states", 3, (int64_t[]){B, L, m->text_channels}),
        br_set_add(set, "encoder_attention_mask", 2, (int64_t[]){B, L}),
        br_set_add(set, "timestep", 1, (int64_t[]){B})};
    if (!t[0] || !t[1] || !t[2] || !t[3]) return BR_ENOMEM;
    unsigned long long r = 12345;
    for (int i = 0; i < 2; i++)
        for (int64_t j = 0; j < br_numel(t[i]->ndim, t[i]->shape); j++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            t[i]->data[j] = (float)((r >> 40) & 0xffffff) / (float)(1 << 23) - 1.0f;
        }
    for (int j = 0; j < B * L; j++) t[2]->data[j] = 1.0f;
    for (int j = 0; j < B; j++) t[3]->data[j] = 500.0f;
    double grid[3][1] = {{F}, {H}, {W}}, scale[3] = {8.0 / 25, 32, 32};
    BR_TRY(br_set_add_setting(set, "num_frames", 1, grid[0]));
    BR_TRY(br_set_add_setting(set, "height", 1, grid[1]));
    BR_TRY(br_set_add_setting(set, "width", 1, grid[2]));
    return br_set_add_setting(set, "rope_interpolation_scale", 3, scale);
}

static br_status forward_inputs(const br_model *m, br_tensor_set *set, const char *path,
                                const char *mode, br_geometry *g, br_forward_inputs *in) {
    const br_tensor *t;
    if (mode) return br_fail(BR_EINPUT, "--mode %s: %s has no other calls", mode, m->family->name);
    *g = (br_geometry){.step_values = 1, .prompt_masks = 1};
    *in = (br_forward_inputs){0};
    BR_TRY(br_set_need(set, path, "hidden_states", 3, (int64_t[]){-1, -1, m->in_channels}, 0,
                       NULL, &t));
    const int B = (int)t->shape[0], S = (int)t->shape[1];
    in->B = B, in->latents = t->data;
    BR_TRY(br_set_need(set, path, "encoder_hidden_states", 3,
                       (int64_t[]){B, -1, m->text_channels}, 0, NULL, &t));
    const int L = (int)t->shape[1];
    in->prompt = t->data;
    BR_TRY(br_set_need(set, path, "encoder_attention_mask", 2, (int64_t[]){B, L}, 0, NULL, &t));
    in->mask = t->data;
    BR_TRY(br_set_need(set, path, "timestep", 1, (int64_t[]){B}, 0, NULL, &t));
    in->timestep = t->data;
    if (B < 1 || S < 1 || L < 1)
        return br_fail(BR_EINPUT, "%s: empty batch, video or prompt", path);
    int *grid = g->grid[0];
    BR_TRY(br_set_need_int(set, path, "num_frames", 1, 1 << 20, &grid[0]));
    BR_TRY(br_set_need_int(set, path, "height", 1, 1 << 20, &grid[1]));
    BR_TRY(br_set_need_int(set, path, "width", 1, 1 << 20, &grid[2]));
    if ((long long)grid[0] * grid[1] * grid[2] != S)
        return br_fail(BR_EINPUT,
                       "%s: num_frames x height x width = %d x %d x %d does not equal the %d "
                       "tokens of hidden_states",
                       path, grid[0], grid[1], grid[2], S);
    const br_setting *scale = br_set_find_setting(set, "rope_interpolation_scale");
    if (!scale || scale->count != 3)
        return br_fail(BR_EINPUT, "%s: setting \"rope_interpolation_scale\" (3 numbers) missing",
                       path);
    for (int i = 0; i < 3; i++) g->pos_scale[i] = (float)scale->values[i];
    g->tokens = g->latent_tokens = S, g->text_tokens = L, g->n_grids = 1;
    return BR_OK;
}

static void layout(const br_model *m, const br_geometry *g, br_layout *l) {
    const int D = config(m)->dim, S = g->tokens, L = g->text_tokens;
    *l = (br_layout){
        .n_baton = 3,
        .baton = {{"hidden states", S, D, 1, "proj_in_out", "block_%02d_out", 0},
                  {"time embedding", 0, LTX_ADA_PARAMS * D, 0, "temb", NULL, 0},
                  {"embedded timestep", 0, D, 0, "embedded_timestep", NULL, 0}},
        .n_prompt = 2,
        .prompt = {{"projected prompt", L, D, 0, "caption_projection_out", NULL, 0},
                   {"prompt mask bias", 0, L, 0, NULL, NULL, 0}},
        .n_table = 2,
        // The reference's tables are [B, S, D]: the same table for each batch element.
        .table = {{"RoPE cos table", S, D, 0, "rope_cos", NULL, 1},
                  {"RoPE sin table", S, D, 0, "rope_sin", NULL, 1}},
    };
}

static double flops(const br_model *m, const br_geometry *g, int n) {
    return ltx_forward_flops(config(m), n, g->tokens, g->text_tokens);
}

// --- weights ---------------------------------------------------------------------------------

static void free_input(br_backend *be, void *w) {
    if (w) ltx_free_input(be, w);
    free(w);
}
static void free_block(br_backend *be, void *w) {
    if (w) ltx_free_block(be, w);
    free(w);
}
static void free_output(br_backend *be, void *w) {
    if (w) ltx_free_output(be, w);
    free(w);
}

static br_status load_input(br_model *m, br_backend *be, void **w) {
    BR_TRY(br_new_part(w, sizeof(ltx_input_weights)));
    return ltx_load_input(be, &m->ck, config(m), *w);
}
static br_status load_block(br_model *m, br_backend *be, int i, void **w) {
    BR_TRY(br_new_part(w, sizeof(ltx_block)));
    return ltx_load_block(be, &m->ck, config(m), i, *w);
}
static br_status load_output(br_model *m, br_backend *be, void **w) {
    BR_TRY(br_new_part(w, sizeof(ltx_output_weights)));
    return ltx_load_output(be, &m->ck, config(m), *w);
}

// --- the forward -----------------------------------------------------------------------------

static br_status workspace_alloc(const br_model *m, br_backend *be, const br_geometry *g, int n,
                                 void **ws) {
    BR_TRY(br_new_part(ws, sizeof(ltx_workspace)));
    return ltx_workspace_alloc(be, config(m), n, g->tokens, g->text_tokens, *ws);
}
static void workspace_free(br_backend *be, void *ws) {
    if (ws) ltx_workspace_free(be, ws);
    free(ws);
}

static br_status tables(const br_model *m, br_backend *be, const br_batch *b) {
    const br_geometry *g = b->geom;
    return ltx_rope_upload(be, config(m), g->grid[0][0], g->grid[0][1], g->grid[0][2],
                           g->pos_scale, b->table[ROPE_COS], b->table[ROPE_SIN]);
}

// ltx_model's context of a micro-batch: views of its slots.
static ltx_context context(const br_batch *b) {
    return (ltx_context){.B = b->n, .S = b->geom->tokens, .L = b->geom->text_tokens,
                         .temb = b->baton[TEMB], .embedded_timestep = b->baton[EMBEDDED],
                         .caption = b->prompt[CAPTION], .mask_bias = b->prompt[MASK_BIAS],
                         .rope_cos = b->table[ROPE_COS], .rope_sin = b->table[ROPE_SIN]};
}

static br_status embed_prompt(const br_model *m, br_backend *be, const void *w,
                              const br_batch *b, void *ws, const float *prompt,
                              const float *mask, unsigned *flags) {
    *flags = 0;
    const int n = b->n * b->geom->text_tokens;
    float *bias = malloc((size_t)n * sizeof(float));
    if (!bias) return br_fail(BR_ENOMEM, "out of memory for the prompt mask bias");
    for (int i = 0; i < n; i++) bias[i] = mask ? mask[i] : 1.0f;
    ltx_mask_bias(bias, bias, n);
    be->upload(be, b->prompt[MASK_BIAS], bias, (size_t)n);
    free(bias);
    ltx_context ctx = context(b);
    ltx_embed_prompt(be, config(m), w, prompt, &ctx, ws);
    return BR_OK;
}

static void embed_latents(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                          void *ws, const float *latents, const float *timestep) {
    ltx_context ctx = context(b);
    ltx_embed_latents(be, config(m), w, latents, timestep, &ctx, ws, b->baton[HIDDEN]);
}

static void block(const br_model *m, br_backend *be, const void *w, const br_batch *b, void *ws) {
    ltx_context ctx = context(b);
    ltx_block_forward(be, config(m), w, &ctx, ws, b->baton[HIDDEN]);
}

static void output_side(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                        void *ws, float *out) {
    ltx_context ctx = context(b);
    ltx_output_side(be, config(m), w, &ctx, ws, b->baton[HIDDEN], out);
}

const br_family br_family_ltx_video = {
    .name = "LTX-Video",
    .classes = {"LTXVideoTransformer3DModel", "LTXPipeline", NULL},
    .presets = "2b, 13b, tiny",
    .parse = parse,
    .preset = ltx_preset_config,
    .check_device = check_device,
    .random_inputs = random_inputs,
    .forward_inputs = forward_inputs,
    .layout = layout,
    .flops = flops,
    .load_input = load_input,
    .load_block = load_block,
    .load_output = load_output,
    .free_input = free_input,
    .free_block = free_block,
    .free_output = free_output,
    .workspace_alloc = workspace_alloc,
    .workspace_free = workspace_free,
    .tables = tables,
    .embed_prompt = embed_prompt,
    .embed_latents = embed_latents,
    .block = block,
    .output_side = output_side,
    .recipe = &ltx_recipe,
};
