// ltx_recipe.c: LTXPipeline's run as the recipe's data (recipe.h): the latent grid of a request
// (the VAE keeps the first frame and compresses the rest 8 to 1, and each side 32 to 1), the
// timestep on the 0..1000 scale, the passes and classifier-free guidance with the std rescale.
#include "ltx_family.h"
#include "ltx_config.h"
#include "nn/guidance.h"

br_status ltx_check_video_size(const br_run_request *z) {
    if (z->frames < 1 || z->frames > 8 * 1024 + 1 || (z->frames - 1) % 8)
        return br_fail(BR_EINPUT, "--frames %d: must be 8k+1 (1, 9, 17, ...): the VAE keeps the "
                       "first frame and compresses the rest 8 to 1", z->frames);
    if (z->height < 32 || z->height % 32 || z->height > 16384)
        return br_fail(BR_EINPUT, "--height %d: must be a multiple of 32 (the VAE's spatial "
                       "compression), at most 16384", z->height);
    if (z->width < 32 || z->width % 32 || z->width > 16384)
        return br_fail(BR_EINPUT, "--width %d: must be a multiple of 32 (the VAE's spatial "
                       "compression), at most 16384", z->width);
    return BR_OK;
}

// LTXPipeline's defaults: 161 frames of 512 x 704.
static br_status geometry(const br_model *m, br_run_request *z, br_geometry *g) {
    const ltx_config *cfg = m->cfg;
    z->height = z->height ? z->height : 512, z->width = z->width ? z->width : 704;
    z->frames = z->frames ? z->frames : 161;
    z->frame_rate = z->frame_rate ? z->frame_rate : 25;
    BR_TRY(ltx_check_video_size(z));
    if (cfg->patch_size != 1 || cfg->patch_size_t != 1)
        return br_fail(BR_EINPUT, "the transformer's patch_size and patch_size_t other than 1 are "
                       "not implemented");
    *g = (br_geometry){.n_grids = 1, .grid = {{(z->frames - 1) / 8 + 1, z->height / 32,
                                               z->width / 32}},
                       .step_values = 1, .prompt_masks = 1};
    g->tokens = g->latent_tokens = g->grid[0][0] * g->grid[0][1] * g->grid[0][2];
    // LTXPipeline's rope_interpolation_scale: (temporal compression / frame rate, 32, 32).
    g->pos_scale[0] = (float)(8.0 / z->frame_rate), g->pos_scale[1] = g->pos_scale[2] = 32.0f;
    return BR_OK;
}

static float timestep(float sigma, int num_train_timesteps) {
    return sigma * (float)num_train_timesteps;
}

// Classifier-free guidance when its scale is above 1 (as diffusers: guidance_scale > 1 turns it
// on): the unconditional pass, then the conditional one.
static int passes(const br_guidance *gs, br_pass *pass) {
    if (!(gs->scale > 1.0f)) return pass[0] = BR_PASS_COND, 1;
    pass[0] = BR_PASS_UNCOND, pass[1] = BR_PASS_COND;
    return 2;
}

static void guide(const br_model *m, const br_geometry *g, const br_guidance *gs, float sigma,
                  const float *x, float *v, const float *const *pred) {
    (void)sigma, (void)x;
    nn_cfg_std_rescale(v, pred[0], pred[1], (size_t)g->tokens * m->in_channels, gs->scale,
                       gs->rescale);
}

const br_recipe ltx_recipe = {
    .default_steps = 50,
    .default_guidance = {.scale = 3.0f},
    .geometry = geometry,
    .timestep = timestep,
    .passes = passes,
    .guide = guide,
    .decoder_open = ltx_decoder_open,
    .decoder_input = ltx_decoder_input,
    .tile_floats = ltx_decoder_tile_floats,
    .decode_tile = ltx_decoder_tile,
    .blend_tile = ltx_decoder_blend,
    .blend_finish = ltx_decoder_finish,
    .decoder_close = ltx_decoder_close,
};
