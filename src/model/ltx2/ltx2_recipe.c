// ltx2_recipe.c: LTX2Pipeline's run (text to video with its sound) as the recipe's data
// (recipe.h):
//   grid       the video's latent frames (the VAE keeps the first frame and compresses the rest
//              8 to 1), height and width / 32; the audio's latent frames: the clip's seconds at
//              sampling rate / hop / 4 latent frames a second, rounded; one sequence, the
//              video's tokens then the audio's; the sigma shift counts the video's
//   timestep   sigma x 1000, for the video and the audio, and as both sigmas (the pipeline
//              passes its timestep as sigma too)
//   passes     classifier-free guidance (the negative prompt), spatio-temporal guidance (the
//              --stg-blocks' self-attentions give their values), modality guidance (no
//              audio-video attention); each on when a stream's scale asks for it
//   guidance   in x0 space, per stream with its own scales, rescaled to the std of the
//              conditional x0 (nn/guidance.h)
//   image      --image: LTX2ImageToVideoPipeline's first frame, held (ltx2_image.c)
//   stages     one (LTX2Pipeline), or the distilled recipe's two (ltx2_stages.c)
//   decoders   the video's tokens through LTX-Video's decoder code, which takes LTX-2's VAE
//              (model/ltx/ltx_decoder.c: tiles over the ranks); the audio's on rank 0
//              (ltx2_sound.c)
#include <math.h>

#include "ltx2_family.h"
#include "ltx2_text_projection.h"
#include "model/ltx/ltx_family.h"
#include "nn/guidance.h"

enum { DEFAULT_STG_BLOCK = 28 }; // LTX2Pipeline's spatio_temporal_guidance_blocks

static int cfg_on(const br_guidance *gs) { return gs->scale > 1 || gs->audio_scale > 1; }
static int stg_on(const br_guidance *gs) { return gs->stg > 0 || gs->audio_stg > 0; }
static int modality_on(const br_guidance *gs) { return gs->modality > 1 || gs->audio_modality > 1; }

// The blocks spatio-temporal guidance perturbs: those asked for, or the pipeline's default.
static br_status stg_blocks(const br_model *m, const br_run_request *z, uint64_t *blocks) {
    const ltx2_config *cfg = &((const ltx2_family_config *)m->cfg)->t;
    *blocks = z->stg_blocks;
    if (!stg_on(z->guidance)) return BR_OK;
    if (!cfg->perturbed_attn)
        return br_fail(BR_EINPUT, "--stg-scale: %s has no perturbed attention (--stg-scale 0 "
                       "--audio-stg-scale 0 runs without)", m->config_path);
    if (!*blocks && m->layers <= DEFAULT_STG_BLOCK)
        return br_fail(BR_EINPUT, "--stg-blocks: the default block %d is beyond the model's %d "
                       "blocks: name the blocks (or --stg-scale 0 --audio-stg-scale 0)",
                       DEFAULT_STG_BLOCK, m->layers);
    if (!*blocks) *blocks = 1ull << DEFAULT_STG_BLOCK;
    if (m->layers < 64 && *blocks >> m->layers)
        return br_fail(BR_EINPUT, "--stg-blocks: the model has blocks 0..%d", m->layers - 1);
    return BR_OK;
}

// LTX2Pipeline's defaults: 121 frames of 512 x 768 at 24 frames a second.
static br_status geometry(const br_model *m, br_run_request *z, br_geometry *g) {
    const ltx2_family_config *fc = m->cfg;
    const ltx2_config *cfg = &fc->t;
    if (!fc->with_connectors)
        return br_fail(BR_EINPUT, "%s: brigade run takes an LTX-2 pipeline folder (model_index."
                       "json, transformer/, connectors/, scheduler/)", m->config_path);
    z->height = z->height ? z->height : 512, z->width = z->width ? z->width : 768;
    z->frames = z->frames ? z->frames : 121;
    z->frame_rate = z->frame_rate ? z->frame_rate : 24;
    BR_TRY(ltx_check_video_size(z));
    uint64_t blocks;
    BR_TRY(stg_blocks(m, z, &blocks));
    // The audio's latent frames: round(seconds x rate / hop / 4), Python's round in double.
    const double per_second = (double)cfg->sampling_rate / cfg->hop_length / cfg->audio_scale_factor;
    const int audio = (int)nearbyint(z->frames / z->frame_rate * per_second);
    if (audio < 1)
        return br_fail(BR_EINPUT, "--frames %d at --frame-rate %g: too short for one audio latent "
                       "frame", z->frames, z->frame_rate);
    *g = (br_geometry){.n_grids = 2,
                       .grid = {{(z->frames - 1) / cfg->vae_scale[0] + 1,
                                 z->height / cfg->vae_scale[1], z->width / cfg->vae_scale[2]},
                                {audio, 1, 1}},
                       .step_values = 4, .prompt_masks = 1, .frame_rate = (float)z->frame_rate,
                       .options = LTX2_CROSS_TIMESTEP, .perturbed_blocks = blocks};
    g->shift_tokens = g->grid[0][0] * g->grid[0][1] * g->grid[0][2];
    g->tokens = g->latent_tokens = g->shift_tokens + audio;
    if (z->n_images) { // image to video: latent frame 0 held, a timestep per video token
        g->held_tokens = g->grid[0][1] * g->grid[0][2];
        g->step_values = g->shift_tokens + 3;
    }
    return BR_OK;
}

static float timestep(float sigma, int num_train_timesteps) {
    return sigma * (float)num_train_timesteps;
}

static int passes(const br_guidance *gs, br_pass *pass) {
    int n = 0;
    if (cfg_on(gs)) pass[n++] = BR_PASS_UNCOND;
    pass[n++] = BR_PASS_COND;
    if (stg_on(gs)) pass[n++] = BR_PASS_PERTURBED;
    if (modality_on(gs)) pass[n++] = BR_PASS_ISOLATED;
    return n;
}

// Each stream with its own scales: the video's tokens [0, S), the audio's after them.
static void guide(const br_model *m, const br_geometry *g, const br_guidance *gs, float sigma,
                  const float *x, float *v, const float *const *pred) {
    const size_t C = (size_t)m->in_channels, video = (size_t)g->shift_tokens * C;
    const size_t audio = (size_t)g->latent_tokens * C - video;
    const float *by[4] = {NULL, NULL, NULL, NULL}; // uncond, cond, perturbed, isolated
    br_pass kinds[BR_MAX_PASSES];
    const int n = passes(gs, kinds);
    for (int k = 0; k < n; k++) by[kinds[k]] = pred[k];
    const float *p[4];
    for (int half = 0; half < 2; half++) {
        const size_t at = half ? video : 0;
        for (int k = 0; k < 4; k++) p[k] = by[k] ? by[k] + at : NULL;
        const nn_x0_guidance gd =
            half ? (nn_x0_guidance){p[1], p[0], p[2], p[3], gs->audio_scale, gs->audio_rescale,
                                    gs->audio_stg, gs->audio_modality}
                 : (nn_x0_guidance){p[1], p[0], p[2], p[3], gs->scale, gs->rescale, gs->stg,
                                    gs->modality};
        nn_x0_guide(v + at, x + at, &gd, half ? audio : video, sigma);
    }
}

const br_recipe ltx2_recipe = {
    .default_steps = 30,
    .max_images = 1, // image to video: the first frame
    .default_guidance = {.scale = 3, .rescale = 0.7f, .stg = 1, .modality = 3,
                         .audio_scale = 7, .audio_rescale = 0.7f, .audio_stg = 1,
                         .audio_modality = 3},
    .guidance_for = ltx2_guidance_for,
    .stages = ltx2_stages,
    .stage_request = ltx2_stage_request,
    .next_stage = ltx2_next_stage,
    .geometry = geometry,
    .timestep = timestep,
    .step_values = ltx2_step_values,
    .encode = ltx2_encode_image,
    .text_tokens = 1024, // LTX2Pipeline's max_sequence_length
    .text_sink_open = ltx2_text_sink_open,
    .text_sink_close = ltx2_text_sink_close,
    .passes = passes,
    .guide = guide,
    .decoder_open = ltx_decoder_open,
    .decoder_input = ltx_decoder_input,
    .tile_floats = ltx_decoder_tile_floats,
    .decode_tile = ltx_decoder_tile,
    .blend_tile = ltx_decoder_blend,
    .blend_finish = ltx_decoder_finish,
    .decoder_close = ltx_decoder_close,
    .sound_open = ltx2_sound_open,
    .sound = ltx2_sound,
    .sound_close = ltx2_sound_close,
};
