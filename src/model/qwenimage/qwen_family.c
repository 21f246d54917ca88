// qwen_family.c: Qwen-Image's transformer behind the seam (family.h). Its slots:
//   baton   the image stream [S, D] and the text stream [L, D] (both updated by every block),
//           the time embedding temb [D] riding along
//   prompt  the embedded prompt [L, D] (the text stream's start) and the joint attention's key
//           bias [L + S] (its masked text keys)
//   tables  RoPE cos and sin of the image tokens [S, dh] and of the text tokens [L, dh]
// and the inputs of `brigade forward` as QwenImageEditPlusPipeline calls the model:
// hidden_states (target then reference latents, packed), encoder_hidden_states,
// encoder_hidden_states_mask (optional: all kept), timestep (sigma, 0..1), and the setting
// img_shapes: (frames, height, width) in tokens of each image, for every sample alike.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "qwen_family.h"
#include "qwen_model.h"
#include "qwen_rope.h"

enum { IMG, TXT, TEMB };                       // baton slots
enum { TXT0, KEY_BIAS };                       // prompt slots
enum { IMG_COS, IMG_SIN, TXT_COS, TXT_SIN };  // tables
enum { QWEN_KEYS_MASKED = 1 };                 // flags: some text key of the batch is masked

static const qwen_config *config(const br_model *m) { return m->cfg; }

static br_status parse(br_model *m, const cJSON *json, const char *path) {
    BR_TRY(br_new_part(&m->cfg, sizeof(qwen_config)));
    qwen_config *cfg = m->cfg;
    BR_TRY(qwen_config_parse(cfg, json, path));
    m->layers = cfg->layers, m->in_channels = cfg->in_channels;
    m->out_channels = cfg->patch_size * cfg->patch_size * cfg->out_channels;
    m->text_channels = cfg->joint_dim;
    return BR_OK;
}

static br_status check_device(const br_model *m, const br_backend *be) {
    if (config(m)->head_dim > be->max_head_dim)
        return br_fail(BR_EINPUT, "%s: attention_head_dim %d is wider than %s's attention "
                       "takes (%d)", m->config_path, config(m)->head_dim, be->device_name,
                       be->max_head_dim);
    return BR_OK;
}

// img_shapes: n images' (frames, height, width) triples, once for all samples or once per
// sample (identical: the reference builds its RoPE from the first sample's), covering the S
// tokens of hidden_states.
static long long shape_tokens(const double *v, int n) {
    long long tokens = 0;
    for (int i = 0; i < n; i++) tokens += (long long)v[3 * i] * v[3 * i + 1] * v[3 * i + 2];
    return tokens;
}

static br_status read_shapes(const br_tensor_set *set, const char *path, int B, int S,
                             br_geometry *g) {
    const br_setting *s = br_set_find_setting(set, "img_shapes");
    if (!s) return br_fail(BR_EINPUT, "%s: setting \"img_shapes\" missing", path);
    for (int i = 0; i < s->count; i++)
        if (!(s->values[i] >= 1 && s->values[i] <= 1 << 16) || s->values[i] != (int)s->values[i])
            return br_fail(BR_EINPUT, "%s: img_shapes must hold positive integers", path);
    // One list for all samples, or B lists.
    int per_sample = s->count;
    if (s->count % 3 == 0 && shape_tokens(s->values, s->count / 3) != S && s->count % B == 0)
        per_sample = s->count / B;
    const int n = per_sample / 3;
    if (per_sample % 3 || n < 1 || n > BR_MAX_GRIDS || shape_tokens(s->values, n) != S)
        return br_fail(BR_EINPUT, "%s: img_shapes must list the (frames, height, width) of 1..%d "
                       "images whose tokens add up to the %d of hidden_states", path,
                       BR_MAX_GRIDS, S);
    for (int i = per_sample; i < s->count; i++)
        if (s->values[i] != s->values[i % per_sample])
            return br_fail(BR_EINPUT, "%s: img_shapes differ between samples; the model takes "
                           "one set of images for the whole batch", path);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) g->grid[i][a] = (int)s->values[3 * i + a];
    g->n_grids = n;
    return BR_OK;
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
                       (int64_t[]){B, -1, m->text_channels}, 0, " (the joint_attention_dim)",
                       &t));
    const int L = (int)t->shape[1];
    in->prompt = t->data;
    in->mask = NULL;
    if (br_set_find(set, "encoder_hidden_states_mask")) {
        BR_TRY(br_set_need(set, path, "encoder_hidden_states_mask", 2, (int64_t[]){B, L}, 0, NULL,
                           &t));
        in->mask = t->data;
    }
    BR_TRY(br_set_need(set, path, "timestep", 1, (int64_t[]){B}, 0, NULL, &t));
    in->timestep = t->data;
    if (B < 1 || S < 1 || L < 1)
        return br_fail(BR_EINPUT, "%s: empty batch, image or prompt", path);
    BR_TRY(read_shapes(set, path, B, S, g));
    g->tokens = S, g->text_tokens = L;
    g->latent_tokens = g->grid[0][0] * g->grid[0][1] * g->grid[0][2]; // the target's
    return BR_OK;
}

// "random:B,H,W,L,IMAGES": B samples of IMAGES images (a target and references) of H x W
// tokens each and L text tokens, normal random values, every text token kept, timestep 0.5: for
// benchmarks (FireRed's 1024^2 edit: random:1,64,64,256,2).
static br_status random_inputs(const br_model *m, const char *spec, br_tensor_set *set) {
    int B, H, W, L, n;
    if (sscanf(spec, "random:%d,%d,%d,%d,%d", &B, &H, &W, &L, &n) != 5 || B < 1 || B > 64 ||
        H < 1 || W < 1 || L < 1 || L > 1 << 16 || n < 1 || n > BR_MAX_GRIDS ||
        (long long)n * H * W > 1 << 24)
        return br_fail(BR_EINPUT, "--inputs %s: expected random:B,H,W,L,IMAGES (positive sizes, "
                       "at most %d images)", spec, BR_MAX_GRIDS);
    const int64_t S = (int64_t)n * H * W;
    br_tensor *t[4] = {
        br_set_add(set, "hidden_states", 3, (int64_t[]){B, S, m->in_channels}),
        br_set_add(set, "encoder_hidden_states", 3, (int64_t[]){B, L, m->text_channels}),
        br_set_add(set, "encoder_hidden_states_mask", 2, (int64_t[]){B, L}),
        br_set_add(set, "timestep", 1, (int64_t[]){B})};
    if (!t[0] || !t[1] || !t[2] || !t[3]) return BR_ENOMEM;
    for (int i = 0; i < 2; i++) {
        br_rng rng = br_rng_make(12345, (uint64_t)i);
        br_rng_normal(&rng, t[i]->data, (size_t)br_numel(t[i]->ndim, t[i]->shape));
    }
    for (int j = 0; j < B * L; j++) t[2]->data[j] = 1.0f;
    for (int j = 0; j < B; j++) t[3]->data[j] = 0.5f;
    double shapes[3 * BR_MAX_GRIDS];
    for (int i = 0; i < n; i++) shapes[3 * i] = 1, shapes[3 * i + 1] = H, shapes[3 * i + 2] = W;
    return br_set_add_setting(set, "img_shapes", 3 * n, shapes);
}

static void layout(const br_model *m, const br_geometry *g, br_layout *l) {
    const int D = config(m)->dim, dh = config(m)->head_dim, S = g->tokens, L = g->text_tokens;
    *l = (br_layout){
        .n_baton = 3,
        .baton = {{"image stream", S, D, 1, "img_in_out", "block_%02d_img_out", 0},
                  {"text stream", L, D, 1, "txt_in_out", "block_%02d_txt_out", 0},
                  {"time embedding", 0, D, 0, "temb", NULL, 0}},
        .n_prompt = 2,
        .prompt = {{"embedded prompt", L, D, 0, NULL, NULL, 0},
                   {"attention key bias", 0, L + S, 0, NULL, NULL, 0}},
        .n_table = 4,
        .table = {{"RoPE cos table (image)", S, dh, 0, NULL, NULL, 0},
                  {"RoPE sin table (image)", S, dh, 0, NULL, NULL, 0},
                  {"RoPE cos table (text)", L, dh, 0, NULL, NULL, 0},
                  {"RoPE sin table (text)", L, dh, 0, NULL, NULL, 0}},
    };
}

static double flops(const br_model *m, const br_geometry *g, int n) {
    return qwen_forward_flops(config(m), n, g->tokens, g->text_tokens);
}

// --- weights ---------------------------------------------------------------------------------

static void free_input(br_backend *be, void *w) {
    if (w) qwen_free_input(be, w);
    free(w);
}
static void free_block(br_backend *be, void *w) {
    if (w) qwen_free_block(be, w);
    free(w);
}
static void free_output(br_backend *be, void *w) {
    if (w) qwen_free_output(be, w);
    free(w);
}

static br_status load_input(br_model *m, br_backend *be, void **w) {
    BR_TRY(br_new_part(w, sizeof(qwen_input_weights)));
    return qwen_load_input(be, &m->ck, config(m), *w);
}
static br_status load_block(br_model *m, br_backend *be, int i, void **w) {
    BR_TRY(br_new_part(w, sizeof(qwen_block)));
    return qwen_load_block(be, &m->ck, config(m), i, *w);
}
static br_status load_output(br_model *m, br_backend *be, void **w) {
    BR_TRY(br_new_part(w, sizeof(qwen_output_weights)));
    return qwen_load_output(be, &m->ck, config(m), *w);
}

// --- the forward -----------------------------------------------------------------------------

static br_status workspace_alloc(const br_model *m, br_backend *be, const br_geometry *g, int n,
                                 void **ws) {
    BR_TRY(br_new_part(ws, sizeof(qwen_workspace)));
    return qwen_workspace_alloc(be, config(m), n, g->tokens, g->text_tokens, *ws);
}
static void workspace_free(br_backend *be, void *ws) {
    if (ws) qwen_workspace_free(be, ws);
    free(ws);
}

static br_status tables(const br_model *m, br_backend *be, const br_batch *b) {
    return qwen_rope_upload(be, config(m), b->geom, b->table[IMG_COS], b->table[IMG_SIN],
                            b->table[TXT_COS], b->table[TXT_SIN]);
}

static qwen_context context(const br_batch *b) {
    return (qwen_context){.B = b->n, .S = b->geom->tokens, .L = b->geom->text_tokens,
                          .temb = b->baton[TEMB],
                          .key_bias = b->flags & QWEN_KEYS_MASKED ? b->prompt[KEY_BIAS] : NULL,
                          .img_cos = b->table[IMG_COS], .img_sin = b->table[IMG_SIN],
                          .txt_cos = b->table[TXT_COS], .txt_sin = b->table[TXT_SIN]};
}

// The key bias of each item: its masked text keys (a zero in the mask) left out of the joint
// attention, its image keys never. When no key of the micro-batch is masked (a real edit: each
// prompt has its own length), the flag says so and the attention runs without a bias (faster).
static br_status embed_prompt(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                              void *ws, const float *prompt, const float *mask, unsigned *flags) {
    const int S = b->geom->tokens, L = b->geom->text_tokens, J = L + S;
    float *bias = calloc((size_t)b->n * J, sizeof(float));
    if (!bias) return br_fail(BR_ENOMEM, "out of memory for the attention key bias");
    *flags = 0;
    for (int i = 0; mask && i < b->n; i++)
        for (int k = 0; k < L; k++)
            if (mask[(size_t)i * L + k] == 0)
                bias[(size_t)i * J + k] = QWEN_MASKED, *flags |= QWEN_KEYS_MASKED;
    be->upload(be, b->prompt[KEY_BIAS], bias, (size_t)b->n * J);
    free(bias);
    qwen_embed_prompt(be, config(m), w, prompt, b->n, L, ws, b->prompt[TXT0]);
    return BR_OK;
}

static void embed_latents(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                          void *ws, const float *latents, const float *timestep) {
    const size_t txt = (size_t)b->n * b->geom->text_tokens * config(m)->dim;
    qwen_embed_latents(be, config(m), w, latents, timestep, b->n, b->geom->tokens, ws,
                       b->baton[IMG], b->baton[TEMB]);
    be->copy(be, b->baton[TXT], b->prompt[TXT0], txt); // the text stream starts anew each step
}

static void block(const br_model *m, br_backend *be, const void *w, const br_batch *b, void *ws) {
    qwen_context ctx = context(b);
    qwen_block_forward(be, config(m), w, &ctx, ws, b->baton[IMG], b->baton[TXT]);
}

static void output_side(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                        void *ws, float *out) {
    qwen_context ctx = context(b);
    qwen_output_side(be, config(m), w, &ctx, ws, b->baton[IMG], out);
}

static cJSON *preset(const char *name) { return qwen_preset_config(name); }

const br_family br_family_qwen_image = {
    .name = "Qwen-Image",
    .classes = {"QwenImageTransformer2DModel", "QwenImagePipeline", "QwenImageEditPipeline",
                "QwenImageEditPlusPipeline"},
    .presets = "qwen-image-20b, qwen-image-tiny",
    .parse = parse,
    .preset = preset,
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
    .recipe = &qwen_recipe,
};
