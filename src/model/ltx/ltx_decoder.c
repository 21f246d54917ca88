// ltx_decoder.c: LTX-Video's decoder behind the recipe's interface (recipe.h): the VAE of vae/,
// its tile plan for the request's budget, and the pipeline's preparation of the latents (unpack,
// de-normalise, and for a timestep-conditioned decoder the decode noise).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ltx_family.h"
#include "ltx_vae.h"
#include "nn/latents.h"

struct br_decoder {
    br_checkpoint ck;
    ltx_vae_config cfg;
    ltx_vae vae;
    ltx_vae_plan plan;
    br_decode_settings settings;
    int C, F, H, W; // latent channels and grid
};

void ltx_decoder_close(br_decoder *d, br_backend *be) {
    if (!d) return;
    ltx_vae_free(be, &d->vae);
    br_ckpt_close(&d->ck);
    free(d);
}

// The plan: tiles within the budget, or one tile of the whole grid.
static br_status plan(br_decoder *d) {
    const size_t budget = d->settings.tile_bytes;
    if (budget) return ltx_vae_plan_for_budget(&d->cfg, d->F, d->H, d->W, budget, 1, 2, &d->plan);
    return ltx_vae_plan_make(&d->cfg, d->F, d->H, d->W, d->F, d->H > d->W ? d->H : d->W, 1, 2,
                             &d->plan);
}

static br_status open_decoder(const br_model *m, const char *dir, br_backend *be,
                              const br_geometry *g, br_decoder *d, br_decode_shape *shape) {
    d->C = m->in_channels, d->F = g->grid[0][0], d->H = g->grid[0][1], d->W = g->grid[0][2];
    BR_TRY(ltx_vae_open(dir, &d->ck, &d->cfg));
    if (d->cfg.latent_channels != d->C)
        return br_fail(BR_EINPUT, "%s: latent_channels %d differs from the transformer's %d",
                       dir, d->cfg.latent_channels, d->C);
    int Fo, Ho, Wo;
    ltx_vae_output_size(&d->cfg, d->F, d->H, d->W, &Fo, &Ho, &Wo);
    const br_decode_settings *s = &d->settings;
    if (Fo != s->frames || Ho != s->height || Wo != s->width)
        return br_fail(BR_EINPUT, "%s: decodes %d x %d x %d latents to %d frames of %dx%d, not the "
                       "%d frames of %dx%d asked for", dir, d->F, d->H, d->W, Fo, Wo, Ho,
                       s->frames, s->width, s->height);
    BR_TRY(ltx_vae_load(be, &d->ck, &d->cfg, &d->vae));
    BR_TRY(plan(d));
    *shape = (br_decode_shape){.n_tiles = d->plan.n_tiles, .frames = Fo, .height = Ho, .width = Wo,
                               .input_floats = (size_t)d->C * d->F * d->H * d->W};
    for (int i = 0; i < d->plan.n_tiles; i++) {
        size_t n = ltx_decoder_tile_floats(d, i);
        shape->most_tile_floats = n > shape->most_tile_floats ? n : shape->most_tile_floats;
    }
    return BR_OK;
}

br_status ltx_decoder_open(const br_model *m, const char *dir, br_backend *be,
                           const br_geometry *g, const br_decode_settings *s, br_decoder **out,
                           br_decode_shape *shape) {
    br_decoder *d = calloc(1, sizeof *d);
    if (!d) return br_fail(BR_ENOMEM, "out of memory");
    d->settings = *s;
    br_status st = open_decoder(m, dir, be, g, d, shape);
    if (st != BR_OK) {
        ltx_decoder_close(d, be);
        d = NULL;
    }
    *out = d;
    return st;
}

// Unpacked, de-normalised, and for a timestep-conditioned decoder mixed with noise:
// (1 - s) x + s noise (s = the decode noise scale), drawn apart from the start latents.
br_status ltx_decoder_input(br_decoder *d, const float *latents, int job, float *input) {
    const size_t cells = (size_t)d->F * d->H * d->W, n = cells * d->C;
    nn_unpack_latents(input, latents, d->C, d->F, d->H, d->W, 1, 1);
    ltx_vae_denormalize(&d->vae, input, cells);
    const float s = d->settings.noise_scale;
    if (!d->cfg.timestep_conditioning || s == 0) return BR_OK;
    float *noise = malloc(n * sizeof(float));
    if (!noise) return br_fail(BR_ENOMEM, "out of memory for the decode noise");
    br_rng rng = br_rng_make(d->settings.seed, 10000 + (uint64_t)job);
    br_rng_normal(&rng, noise, n);
    for (size_t i = 0; i < n; i++) input[i] = (1.0f - s) * input[i] + s * noise[i];
    free(noise);
    return BR_OK;
}

size_t ltx_decoder_tile_floats(const br_decoder *d, int index) {
    ltx_vae_tile t;
    ltx_vae_plan_tile(&d->plan, index, &t);
    return ltx_vae_tile_floats(&d->cfg, &t);
}

br_status ltx_decoder_tile(br_decoder *d, br_backend *be, const float *input, int index,
                           float *pixels) {
    ltx_vae_tile t;
    ltx_vae_plan_tile(&d->plan, index, &t);
    return ltx_vae_decode_tile(be, &d->vae, input, d->F, d->H, d->W, &t, d->settings.timestep,
                               d->settings.seed, pixels);
}

void ltx_decoder_blend(br_decoder *d, int index, const float *pixels, float *video) {
    ltx_vae_blend_tile(&d->cfg, &d->plan, index, pixels, video);
}

br_status ltx_decoder_finish(br_decoder *d, float *video) {
    return ltx_vae_blend_finish(&d->cfg, &d->plan, video);
}
