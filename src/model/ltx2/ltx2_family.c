// ltx2_family.c: LTX-2's transformer behind the seam (family.h). The two streams share one latent
// sequence: each item's video tokens, then its audio tokens (their latent features are equally
// wide), and the outputs are cut back into `sample` and `audio_sample`. Its slots:
//   baton   the video [S, D] and audio [Sa, Da] streams; riding along, the step's time
//           modulation [Tv, P*D] and embedded timestep [Tv, D] of the video (Tv = S under
//           per-token timesteps, else 1), the audio's [Pa*Da] and [Da], and the per-item values
//           of the prompt's and the audio-video attentions' modulation (ltx2_cross)
//   prompt  the video and audio texts [L, D], [L, Da] and their key biases [L]
//   tables  RoPE cos and sin of the video and audio self-attentions and of the audio-video ones
// and the inputs of `brigade forward` as LTX2Pipeline calls the model (--mode: the other calls
// of the LTX-2.3 pipelines: i2v, stg, isolated). Opened from a pipeline folder (`brigade run`),
// the prompt is the text encoder's hidden states with one mask, and the input side runs the text
// connectors on it once: every text token is then kept (the registers fill the padding).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/rng.h"
#include "io/checkpoint.h"
#include "ltx2_family.h"
#include "ltx2_model.h"
#include "ltx2_rope.h"

enum { VIDEO, AUDIO, TEMB, EMB, AUDIO_TEMB, AUDIO_EMB, CROSS };                   // baton
enum { TEXT, AUDIO_TEXT, TEXT_BIAS, AUDIO_TEXT_BIAS };                          // prompt
enum { COS, SIN, AUDIO_COS, AUDIO_SIN, XCOS, XSIN, XAUDIO_COS, XAUDIO_SIN };   // tables
#define LTX2_MASKED (-10000.0f) // the reference's bias of a masked text key

static const ltx2_family_config *family_config(const br_model *m) { return m->cfg; }
static const ltx2_config *config(const br_model *m) { return &family_config(m)->t; }

// The input side's weights: the transformer's, and the connectors' in a pipeline.
typedef struct {
    ltx2_input_weights t;
    ltx2_connectors connectors;
} input_weights;

// Text widths into the model per token: the streams' (LTX-2.3) or the caption channels (2.0).
static int text_width(const ltx2_config *cfg, int audio) {
    if (cfg->caption_projection) return cfg->caption_channels;
    return audio ? cfg->audio.dim : cfg->video.dim;
}

// A pipeline's connectors/config.json: the prompt becomes the encoder's C x K features.
static br_status parse_connectors(br_model *m, ltx2_family_config *fc) {
    char path[4400];
    snprintf(fc->connectors_dir, sizeof fc->connectors_dir, "%s/connectors", m->pipeline_dir);
    snprintf(path, sizeof path, "%s/config.json", fc->connectors_dir);
    cJSON *json = NULL;
    BR_TRY(br_json_read_object(path, &json));
    br_status st = ltx2_connectors_config_parse(&fc->connectors, json, path);
    cJSON_Delete(json);
    BR_TRY(st);
    const ltx2_connectors_config *c = &fc->connectors;
    if (c->video.dim != fc->t.video.dim || c->audio.dim != fc->t.audio.dim)
        return br_fail(BR_EINPUT, "%s: the connectors give texts %d / %d wide, the transformer "
                       "takes %d / %d", path, c->video.dim, c->audio.dim, fc->t.video.dim,
                       fc->t.audio.dim);
    fc->with_connectors = 1;
    m->text_channels = c->caption_channels * c->encoder_layers;
    return BR_OK;
}

static br_status parse(br_model *m, const cJSON *json, const char *path) {
    BR_TRY(br_new_part(&m->cfg, sizeof(ltx2_family_config)));
    ltx2_family_config *fc = m->cfg;
    ltx2_config *cfg = &fc->t;
    BR_TRY(ltx2_config_parse(cfg, json, path));
    if (cfg->video.in_channels != cfg->audio.in_channels ||
        cfg->video.out_channels != cfg->audio.out_channels)
        return br_fail(BR_EINPUT, "%s: brigade packs the video and audio latents into one "
                       "sequence: in_channels/out_channels %d/%d and audio_in_channels/"
                       "audio_out_channels %d/%d must be equal", path, cfg->video.in_channels,
                       cfg->video.out_channels, cfg->audio.in_channels, cfg->audio.out_channels);
    m->layers = cfg->layers, m->in_channels = cfg->video.in_channels;
    m->out_channels = cfg->video.out_channels;
    m->text_channels = text_width(cfg, 0) + text_width(cfg, 1);
    if (m->layers > 64)
        return br_fail(BR_EINPUT, "%s: num_layers %d: spatio-temporal guidance names at most 64 "
                       "blocks", path, m->layers);
    return m->pipeline_dir[0] ? parse_connectors(m, fc) : BR_OK;
}

static br_status check_device(const br_model *m, const br_backend *be) {
    if (!be->head_gate_op || !be->modulate)
        return br_fail(BR_EINPUT, "%s: LTX-2 needs kernels (split RoPE, per-head gates) that %s "
                       "does not have: use --backend cpu", m->config_path, be->device_name);
    // The attentions normalise q and k in place and gate the values' rows as they come out of
    // the linears: right where operands are fp32, not yet where they are bf16.
    if (be->operand_size != sizeof(float))
        return br_fail(BR_EINPUT, "%s: LTX-2 runs with --compute fp32 so far (bf16 operands are "
                       "not wired through its attentions yet)", m->config_path);
    const int widest = config(m)->video.head_dim > config(m)->audio.head_dim
                           ? config(m)->video.head_dim : config(m)->audio.head_dim;
    if (widest > be->max_head_dim)
        return br_fail(BR_EINPUT, "%s: attention heads of %d are wider than %s's attention takes "
                       "(%d)", m->config_path, widest, be->device_name, be->max_head_dim);
    return BR_OK;
}

// --- the inputs of `brigade forward` ----------------------------------------------------------

static int video_tokens(const br_geometry *g) { return g->grid[0][0] * g->grid[0][1] * g->grid[0][2]; }
static int audio_tokens(const br_geometry *g) { return g->grid[1][0]; }
static int video_mod_rows(const br_geometry *g) { return g->step_values - 3; }

// A tensor [B, n] of the set, or `fill` where it is absent and `fill_ok`.
static br_status optional(const br_tensor_set *set, const char *path, const char *name, int B,
                          int n, const float *fill, const br_tensor **t) {
    *t = NULL;
    if (!br_set_find(set, name)) {
        if (fill) return BR_OK;
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" missing", path, name);
    }
    return br_set_need(set, path, name, n > 1 ? 2 : 1, (int64_t[]){B, n}, 0, NULL, t);
}

// The step's values per item [B, Tv + 3]: video timestep(s), the audio's, sigma, audio sigma.
static br_status pack_steps(const br_model *m, br_tensor_set *set, const char *path,
                            const char *prefix, int B, int S, br_geometry *g, const float **out) {
    char name[4][48];
    const char *base[4] = {"timestep", "audio_timestep", "sigma", "audio_sigma"};
    for (int i = 0; i < 4; i++) snprintf(name[i], sizeof name[i], "%s%s", prefix, base[i]);
    const br_tensor *t = br_set_find(set, name[0]);
    if (!t) return br_fail(BR_EINPUT, "%s: tensor \"%s\" missing", path, name[0]);
    const int Tv = t->ndim == 2 ? S : 1;
    const br_tensor *tv, *ta, *sg, *sa;
    BR_TRY(br_set_need(set, path, name[0], Tv > 1 ? 2 : 1, (int64_t[]){B, Tv}, 0,
                       " (per item, or per video token)", &tv));
    // Absent: the audio's timestep is the video's (one per item), sigma 0 where nothing uses it,
    // the audio's sigma the video's.
    const float zero = 0;
    BR_TRY(optional(set, path, name[1], B, 1, Tv == 1 ? &zero : NULL, &ta));
    BR_TRY(optional(set, path, name[2], B, 1, config(m)->prompt_adaln ? NULL : &zero, &sg));
    BR_TRY(optional(set, path, name[3], B, 1, &zero, &sa));
    br_tensor *p = br_set_add(set, "brigade:steps", 2, (int64_t[]){B, Tv + 3});
    if (!p) return BR_ENOMEM;
    for (int b = 0; b < B; b++) {
        float *row = p->data + (size_t)b * (Tv + 3);
        memcpy(row, tv->data + (size_t)b * Tv, Tv * sizeof(float));
        row[Tv] = ta ? ta->data[b] : tv->data[b];
        row[Tv + 1] = sg ? sg->data[b] : 0.0f;
        row[Tv + 2] = sa ? sa->data[b] : row[Tv + 1];
    }
    g->step_values = Tv + 3;
    *out = p->data;
    return BR_OK;
}

// Two streams' [B, n, C] tensors into one [B, n + na, C] (video first).
static br_status pack_pair(br_tensor_set *set, const char *name, const br_tensor *a,
                           const br_tensor *b, int B, const float **out) {
    const int64_t n = a->shape[1] * a->shape[2], nb = b->shape[1] * b->shape[2];
    br_tensor *p = br_set_add(set, name, 2, (int64_t[]){B, n + nb});
    if (!p) return BR_ENOMEM;
    for (int i = 0; i < B; i++) {
        memcpy(p->data + i * (n + nb), a->data + i * n, n * sizeof(float));
        memcpy(p->data + i * (n + nb) + n, b->data + i * nb, nb * sizeof(float));
    }
    *out = p->data;
    return BR_OK;
}

// The two text masks as [B, 2, L] (absent: every token kept).
static br_status pack_masks(br_tensor_set *set, const char *path, int B, int L, const float **out) {
    const char *names[2] = {"encoder_attention_mask", "audio_encoder_attention_mask"};
    br_tensor *p = br_set_add(set, "brigade:masks", 3, (int64_t[]){B, 2, L});
    if (!p) return BR_ENOMEM;
    for (int k = 0; k < 2; k++) {
        const br_tensor *t = NULL;
        if (br_set_find(set, names[k]))
            BR_TRY(br_set_need(set, path, names[k], 2, (int64_t[]){B, L}, 0, NULL, &t));
        for (int b = 0; b < B; b++)
            for (int j = 0; j < L; j++)
                p->data[((size_t)b * 2 + k) * L + j] = t ? t->data[(size_t)b * L + j] : 1.0f;
    }
    *out = p->data;
    return BR_OK;
}

// --mode: the prefix of its inputs, its pass, and for stg the perturbed blocks.
static br_status read_mode(const br_model *m, const br_tensor_set *set, const char *path,
                           const char *mode, const char **prefix, br_geometry *g,
                           br_forward_inputs *in) {
    *prefix = "";
    if (!mode) return BR_OK;
    if (strcmp(mode, "i2v") == 0) return *prefix = "i2v_", BR_OK;
    if (strcmp(mode, "isolated") == 0) return in->mode = BR_MODE_ISOLATED, BR_OK;
    if (strcmp(mode, "stg") != 0)
        return br_fail(BR_EINPUT, "--mode %s: LTX-2 takes i2v, stg or isolated", mode);
    if (!config(m)->perturbed_attn)
        return br_fail(BR_EINPUT, "--mode stg: %s has no perturbed attention", m->config_path);
    const br_setting *s = br_set_find_setting(set, "stg_blocks");
    if (!s) return br_fail(BR_EINPUT, "%s: setting \"stg_blocks\" (the blocks to perturb) missing", path);
    for (int i = 0; i < s->count; i++) {
        if (!(s->values[i] >= 0 && s->values[i] < m->layers) || s->values[i] != (int)s->values[i])
            return br_fail(BR_EINPUT, "%s: stg_blocks must name blocks 0..%d", path, m->layers - 1);
        g->perturbed_blocks |= 1ull << (int)s->values[i];
    }
    in->mode = BR_MODE_PERTURBED;
    return BR_OK;
}

static br_status read_grid(const br_model *m, const br_tensor_set *set, const char *path, int S,
                           int Sa, br_geometry *g) {
    int *grid = g->grid[0], audio_frames;
    BR_TRY(br_set_need_int(set, path, "num_frames", 1, 1 << 20, &grid[0]));
    BR_TRY(br_set_need_int(set, path, "height", 1, 1 << 20, &grid[1]));
    BR_TRY(br_set_need_int(set, path, "width", 1, 1 << 20, &grid[2]));
    if ((long long)grid[0] * grid[1] * grid[2] != S)
        return br_fail(BR_EINPUT, "%s: num_frames x height x width = %d x %d x %d does not equal "
                       "the %d tokens of hidden_states", path, grid[0], grid[1], grid[2], S);
    BR_TRY(br_set_need_int(set, path, "audio_num_frames", 1, 1 << 20, &audio_frames));
    if (audio_frames != Sa)
        return br_fail(BR_EINPUT, "%s: audio_num_frames %d differs from the %d tokens of "
                       "audio_hidden_states", path, audio_frames, Sa);
    g->grid[1][0] = Sa, g->grid[1][1] = g->grid[1][2] = 1, g->n_grids = 2;
    const br_setting *fps = br_set_find_setting(set, "fps");
    g->frame_rate = fps ? (float)fps->values[0] : 24.0f;
    if (!(g->frame_rate > 0 && g->frame_rate < 1e4))
        return br_fail(BR_EINPUT, "%s: fps must be a positive frame rate", path);
    const br_setting *cross = br_set_find_setting(set, "use_cross_timestep");
    if (cross && cross->values[0] != 0) g->options |= LTX2_CROSS_TIMESTEP;
    (void)m;
    return BR_OK;
}

static br_status forward_inputs(const br_model *m, br_tensor_set *set, const char *path,
                                const char *mode, br_geometry *g, br_forward_inputs *in) {
    const ltx2_config *cfg = config(m);
    const br_tensor *v, *a, *tv, *ta;
    const char *prefix;
    *g = (br_geometry){.prompt_masks = 2};
    *in = (br_forward_inputs){0};
    if (family_config(m)->with_connectors)
        return br_fail(BR_EINPUT, "%s: brigade forward takes the connectors' outputs: give the "
                       "transformer folder (%s/transformer), not the pipeline's", path,
                       m->pipeline_dir);
    BR_TRY(read_mode(m, set, path, mode, &prefix, g, in));
    BR_TRY(br_set_need(set, path, "hidden_states", 3, (int64_t[]){-1, -1, m->in_channels}, 0,
                       NULL, &v));
    const int B = (int)v->shape[0], S = (int)v->shape[1];
    BR_TRY(br_set_need(set, path, "audio_hidden_states", 3, (int64_t[]){B, -1, m->in_channels}, 0,
                       NULL, &a));
    const int Sa = (int)a->shape[1];
    BR_TRY(br_set_need(set, path, "encoder_hidden_states", 3,
                       (int64_t[]){B, -1, text_width(cfg, 0)}, 0, NULL, &tv));
    const int L = (int)tv->shape[1];
    BR_TRY(br_set_need(set, path, "audio_encoder_hidden_states", 3,
                       (int64_t[]){B, L, text_width(cfg, 1)}, 0, NULL, &ta));
    if (B < 1 || S < 1 || Sa < 1 || L < 1)
        return br_fail(BR_EINPUT, "%s: empty batch, video, audio or prompt", path);
    BR_TRY(read_grid(m, set, path, S, Sa, g));
    in->B = B;
    BR_TRY(pack_pair(set, "brigade:latents", v, a, B, &in->latents));
    BR_TRY(pack_pair(set, "brigade:prompt", tv, ta, B, &in->prompt));
    BR_TRY(pack_masks(set, path, B, L, &in->mask));
    BR_TRY(pack_steps(m, set, path, prefix, B, S, g, &in->timestep));
    if (video_mod_rows(g) > 1 && !(g->options & LTX2_CROSS_TIMESTEP))
        return br_fail(BR_EINPUT, "%s: per-token timesteps without use_cross_timestep (LTX-2.0's "
                       "image-to-video) are not implemented", path);
    g->tokens = g->latent_tokens = S + Sa, g->text_tokens = L;
    return BR_OK;
}

// "random:B,F,H,W,A,L": B items of F x H x W video and A audio latent frames, L text tokens;
// normal random values, every token kept, timestep 500 (sigma 0.5): for benchmarks (LTX-2.3's
// stage 2 at 512x768, 121 frames: random:1,16,16,24,121,1024).
static br_status random_inputs(const br_model *m, const char *spec, br_tensor_set *set) {
    const ltx2_config *cfg = config(m);
    int B, F, H, W, A, L;
    if (sscanf(spec, "random:%d,%d,%d,%d,%d,%d", &B, &F, &H, &W, &A, &L) != 6 || B < 1 || B > 64 ||
        F < 1 || H < 1 || W < 1 || A < 1 || A > 1 << 20 || L < 1 || L > 1 << 16 ||
        (long long)F * H * W > 1 << 24)
        return br_fail(BR_EINPUT, "--inputs %s: expected random:B,F,H,W,A,L (positive sizes)", spec);
    const int64_t S = (int64_t)F * H * W;
    br_tensor *t[6] = {
        br_set_add(set, "hidden_states", 3, (int64_t[]){B, S, m->in_channels}),
        br_set_add(set, "audio_hidden_states", 3, (int64_t[]){B, A, m->in_channels}),
        br_set_add(set, "encoder_hidden_states", 3, (int64_t[]){B, L, text_width(cfg, 0)}),
        br_set_add(set, "audio_encoder_hidden_states", 3, (int64_t[]){B, L, text_width(cfg, 1)}),
        br_set_add(set, "timestep", 1, (int64_t[]){B}), br_set_add(set, "sigma", 1, (int64_t[]){B})};
    for (int i = 0; i < 6; i++)
        if (!t[i]) return BR_ENOMEM;
    for (int i = 0; i < 4; i++) {
        br_rng rng = br_rng_make(12345, (uint64_t)i);
        br_rng_normal(&rng, t[i]->data, (size_t)br_numel(t[i]->ndim, t[i]->shape));
    }
    for (int b = 0; b < B; b++) t[4]->data[b] = 500.0f, t[5]->data[b] = 0.5f;
    const double grid[4] = {F, H, W, A}, cross = cfg->prompt_adaln, fps = 24;
    BR_TRY(br_set_add_setting(set, "num_frames", 1, &grid[0]));
    BR_TRY(br_set_add_setting(set, "height", 1, &grid[1]));
    BR_TRY(br_set_add_setting(set, "width", 1, &grid[2]));
    BR_TRY(br_set_add_setting(set, "audio_num_frames", 1, &grid[3]));
    BR_TRY(br_set_add_setting(set, "fps", 1, &fps));
    return br_set_add_setting(set, "use_cross_timestep", 1, &cross);
}

static int output_parts(const br_model *m, const br_geometry *g, br_output_part parts[4]) {
    (void)m;
    parts[0] = (br_output_part){"sample", 0, video_tokens(g)};
    parts[1] = (br_output_part){"audio_sample", video_tokens(g), audio_tokens(g)};
    return 2;
}

static void layout(const br_model *m, const br_geometry *g, br_layout *l) {
    const ltx2_config *cfg = config(m);
    const int D = cfg->video.dim, Da = cfg->audio.dim, S = video_tokens(g), Sa = audio_tokens(g);
    const int L = g->text_tokens, Tv = video_mod_rows(g);
    int rows[4], cols[4];
    for (int k = 0; k < 4; k++) ltx2_rope_size(cfg, g, (ltx2_rope_kind)k, &rows[k], &cols[k]);
    *l = (br_layout){
        .n_baton = 7,
        .baton = {{"video stream", S, D, 1, "proj_in_out", "block_%02d_video_out", 0},
                  {"audio stream", Sa, Da, 1, "audio_proj_in_out", "block_%02d_audio_out", 0},
                  {"video time modulation", Tv, cfg->video.mod_params * D, 0, "temb", NULL, 0},
                  {"video embedded timestep", Tv, D, 0, "embedded_timestep", NULL, 0},
                  {"audio time modulation", 1, cfg->audio.mod_params * Da, 0, "audio_temb", NULL, 0},
                  {"audio embedded timestep", 1, Da, 0, "audio_embedded_timestep", NULL, 0},
                  {"per-item modulation", 0, ltx2_cross(cfg).cols, 0, NULL, NULL, 0}},
        .n_prompt = 4,
        .prompt = {{"video text", L, D, 0, "block_encoder_hidden_states", NULL, 0},
                   {"audio text", L, Da, 0, "block_audio_encoder_hidden_states", NULL, 0},
                   {"video text key bias", 1, L, 0, "block_encoder_attention_bias", NULL, 0},
                   {"audio text key bias", 1, L, 0, "block_audio_encoder_attention_bias", NULL, 0}},
        .n_table = 8,
    };
    const char *names[4] = {"video", "audio", "audio-video (video side)", "audio-video (audio side)"};
    static char table_names[8][64];
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < 2; s++) {
            snprintf(table_names[2 * k + s], sizeof table_names[0], "RoPE %s table (%s)",
                     s ? "sin" : "cos", names[k]);
            l->table[2 * k + s] = (br_slot){table_names[2 * k + s], rows[k], cols[k], 0, NULL, NULL, 0};
        }
}

static double flops(const br_model *m, const br_geometry *g, int n) {
    return ltx2_forward_flops(config(m), n, video_tokens(g), audio_tokens(g), g->text_tokens);
}

// --- weights ---------------------------------------------------------------------------------

static void free_input(br_backend *be, void *w) {
    input_weights *in = w;
    if (in) ltx2_free_input(be, &in->t), ltx2_connectors_free(be, &in->connectors);
    free(w);
}
static void free_block(br_backend *be, void *w) {
    if (w) ltx2_free_block(be, w);
    free(w);
}
static void free_output(br_backend *be, void *w) {
    if (w) ltx2_free_output(be, w);
    free(w);
}
static br_status load_input(br_model *m, br_backend *be, void **w) {
    BR_TRY(br_new_part(w, sizeof(input_weights)));
    input_weights *in = *w;
    BR_TRY(ltx2_load_input(be, &m->ck, config(m), &in->t));
    const ltx2_family_config *fc = family_config(m);
    return fc->with_connectors ? ltx2_connectors_load(be, fc->connectors_dir, m->text_projected,
                                                      &in->connectors)
                               : BR_OK;
}
static br_status load_block(br_model *m, br_backend *be, int i, void **w) {
    BR_TRY(br_new_part(w, sizeof(ltx2_block)));
    return ltx2_load_block(be, &m->ck, config(m), i, *w);
}
static br_status load_output(br_model *m, br_backend *be, void **w) {
    BR_TRY(br_new_part(w, sizeof(ltx2_output_weights)));
    return ltx2_load_output(be, &m->ck, config(m), *w);
}

// --- the forward -----------------------------------------------------------------------------

static br_status workspace_alloc(const br_model *m, br_backend *be, const br_geometry *g, int n,
                                 void **ws) {
    BR_TRY(br_new_part(ws, sizeof(ltx2_workspace)));
    return ltx2_workspace_alloc(be, config(m), n, video_tokens(g), audio_tokens(g),
                                g->text_tokens, video_mod_rows(g), *ws);
}
static void workspace_free(br_backend *be, void *ws) {
    if (ws) ltx2_workspace_free(be, ws);
    free(ws);
}

static br_status tables(const br_model *m, br_backend *be, const br_batch *b) {
    for (int k = 0; k < 4; k++) {
        int rows, cols;
        ltx2_rope_size(config(m), b->geom, (ltx2_rope_kind)k, &rows, &cols);
        const size_t n = (size_t)rows * cols;
        float *host = malloc(2 * n * sizeof(float));
        if (!host) return br_fail(BR_ENOMEM, "out of memory for the RoPE tables");
        ltx2_rope_table(config(m), b->geom, (ltx2_rope_kind)k, host, host + n);
        be->upload(be, b->table[2 * k], host, n);
        be->upload(be, b->table[2 * k + 1], host + n, n);
        free(host);
    }
    return BR_OK;
}

static ltx2_context context(const br_batch *b) {
    const br_geometry *g = b->geom;
    return (ltx2_context){
        .B = b->n, .S = video_tokens(g), .Sa = audio_tokens(g), .L = g->text_tokens,
        .Tv = video_mod_rows(g), .temb = b->baton[TEMB], .audio_temb = b->baton[AUDIO_TEMB],
        .emb = b->baton[EMB], .audio_emb = b->baton[AUDIO_EMB], .cross = b->baton[CROSS],
        .text = b->prompt[TEXT], .audio_text = b->prompt[AUDIO_TEXT],
        .text_bias = b->prompt[TEXT_BIAS], .audio_text_bias = b->prompt[AUDIO_TEXT_BIAS],
        .cos = b->table[COS], .sin = b->table[SIN], .audio_cos = b->table[AUDIO_COS],
        .audio_sin = b->table[AUDIO_SIN], .cross_cos = b->table[XCOS], .cross_sin = b->table[XSIN],
        .cross_audio_cos = b->table[XAUDIO_COS], .cross_audio_sin = b->table[XAUDIO_SIN],
        .isolated = (b->mode & BR_MODE_ISOLATED) != 0};
}

// The connectors on the encoder's hidden states prompt [n, L, C*K] (device; projected: their
// projections in [n, L, D + Da]) with masks [n, L]: the texts, every token kept.
static br_status connect_prompt(const br_model *m, br_backend *be, const input_weights *w,
                                const br_batch *b, const float *prompt, const float *mask) {
    const int L = b->geom->text_tokens;
    const size_t n = (size_t)b->n * L * m->text_channels;
    float *host = malloc(n * sizeof(float)), *ones = malloc((size_t)b->n * L * sizeof(float));
    if (!host || !ones) return free(host), free(ones), br_fail(BR_ENOMEM, "out of memory");
    be->download(be, host, prompt, n);
    for (size_t i = 0; i < (size_t)b->n * L; i++) ones[i] = 1.0f;
    // brigade's text encoder brings the connectors' projections in (ltx2_text_projection.h)
    br_status (*connect)(br_backend *, const ltx2_connectors *, const float *, const float *, int,
                         int, const char *, float *, float *) =
        m->text_projected ? ltx2_connectors_run_projected : ltx2_connectors_run;
    br_status st = connect(be, &w->connectors, host, mask ? mask : ones, b->n, L,
                           "the prompt embeddings", b->prompt[TEXT], b->prompt[AUDIO_TEXT]);
    free(host), free(ones);
    return st;
}

// The texts, and each text key's bias: 0 kept, -10000 masked ((1 - mask) * -10000, as the
// reference adds it); after the connectors, every key is kept.
static br_status embed_prompt(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                              void *ws, const float *prompt, const float *mask, unsigned *flags) {
    const input_weights *in = w;
    const int L = b->geom->text_tokens, connect = family_config(m)->with_connectors;
    float *bias = malloc((size_t)b->n * 2 * L * sizeof(float));
    if (!bias) return br_fail(BR_ENOMEM, "out of memory for the text key biases");
    for (size_t i = 0; i < (size_t)b->n * 2 * L; i++)
        bias[i] = mask && !connect ? (1.0f - mask[i]) * LTX2_MASKED : 0.0f;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < b->n; i++)
            be->upload(be, b->prompt[TEXT_BIAS + k] + (size_t)i * L, bias + ((size_t)i * 2 + k) * L, L);
    free(bias);
    *flags = 0;
    if (connect) return connect_prompt(m, be, in, b, prompt, mask);
    ltx2_embed_prompt(be, config(m), &in->t, prompt, b->n, L, ws, b->prompt[TEXT],
                      b->prompt[AUDIO_TEXT]);
    return BR_OK;
}

static void embed_latents(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                          void *ws, const float *latents, const float *timestep) {
    const br_geometry *g = b->geom;
    const ltx2_steps steps = {timestep, (g->options & LTX2_CROSS_TIMESTEP) != 0};
    const ltx2_step_slots out = {b->baton[TEMB], b->baton[EMB], b->baton[AUDIO_TEMB],
                                 b->baton[AUDIO_EMB], b->baton[CROSS]};
    ltx2_embed_latents(be, config(m), &((const input_weights *)w)->t, latents, &steps, b->n, video_tokens(g), audio_tokens(g),
                       video_mod_rows(g), ws, b->baton[VIDEO], b->baton[AUDIO], &out);
}

static void block(const br_model *m, br_backend *be, const void *w, const br_batch *b, void *ws) {
    const ltx2_block *blk = w;
    ltx2_context ctx = context(b);
    ctx.perturbed = (b->mode & BR_MODE_PERTURBED) && (b->geom->perturbed_blocks >> blk->index & 1);
    ltx2_block_forward(be, config(m), blk, &ctx, ws, b->baton[VIDEO], b->baton[AUDIO]);
}

static void output_side(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                        void *ws, float *out) {
    ltx2_context ctx = context(b);
    ltx2_output_side(be, config(m), w, &ctx, ws, b->baton[VIDEO], b->baton[AUDIO], out);
}

static cJSON *preset(const char *name) { return ltx2_preset_config(name); }

const br_family br_family_ltx2 = {
    .name = "LTX-2",
    .classes = {"LTX2VideoTransformer3DModel", "LTX2Pipeline", "LTX2ImageToVideoPipeline"},
    .presets = "ltx-2.3-22b, ltx-2.3-tiny",
    .parse = parse,
    .preset = preset,
    .check_device = check_device,
    .random_inputs = random_inputs,
    .forward_inputs = forward_inputs,
    .output_parts = output_parts,
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
    .recipe = &ltx2_recipe,
};
