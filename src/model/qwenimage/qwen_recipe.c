// qwen_recipe.c: QwenImageEditPlusPipeline's run (FireRed-Image-Edit-1.0, Qwen-Image-Edit-2509)
// as the recipe's data (recipe.h):
//   sizes      each reference is resized (Lanczos, as PIL) to the area the VAE takes (1024^2)
//              with its aspect ratio, sides multiples of 32; the target defaults to 1024^2 with
//              the last reference's ratio, floored to multiples of 16 (2 x 2 latent patches of
//              the VAE's 8x compression)
//   encode     each reference through the VAE's encoder (its mean), normalised by the config's
//              latents_mean / latents_std and packed: the conditioning tokens after the target's
//   passes     true CFG (scale > 1): the negative prompt's pass, then the prompt's; the combined
//              prediction rescaled per token to the norm of the conditional one
//   timestep   the scheduler's timestep (sigma x 1000 in fp32) / 1000
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "nn/guidance.h"
#include "qwen_config.h"
#include "qwen_family.h"
#include "qwen_vae.h"

// The pipeline's calculate_dimensions: the sides of a target area at an aspect ratio, each
// rounded to a multiple of 32 by Python's round (ties to even), in double as Python computes.
static void dimensions(double area, double ratio, int *width, int *height) {
    const double w = sqrt(area * ratio), h = w / ratio;
    *width = (int)nearbyint(w / 32) * 32, *height = (int)nearbyint(h / 32) * 32;
}

static br_status geometry(const br_model *m, br_run_request *req, br_geometry *g) {
    if (req->n_images < 1)
        return br_fail(BR_EINPUT, "--image: Qwen-Image-Edit edits an image: give one with --image "
                       "FILE.png (up to %d)", BR_MAX_GRIDS - 1);
    if (req->frames > 1)
        return br_fail(BR_EINPUT, "--frames %d: Qwen-Image makes one image", req->frames);
    if (!(req->image_area >= 1024 && req->image_area <= 16384.0 * 16384.0))
        return br_fail(BR_EINPUT, "--image-area %g: must be in 1024..16384^2 pixels",
                       req->image_area);
    const int unit = 16; // the VAE's 8x and the 2 x 2 patch
    if (!req->height || !req->width) {
        const br_image *last = &req->images[req->n_images - 1];
        int w, h;
        dimensions(1024.0 * 1024.0, (double)last->width / last->height, &w, &h);
        req->height = req->height ? req->height : h, req->width = req->width ? req->width : w;
    }
    if (req->height < unit || req->width < unit || req->height > 16384 || req->width > 16384)
        return br_fail(BR_EINPUT, "--height %d --width %d: the sides must be in 16..16384 (they "
                       "are floored to multiples of 16)", req->height, req->width);
    req->height = req->height / unit * unit, req->width = req->width / unit * unit;
    req->frames = 1;
    *g = (br_geometry){.n_grids = 1 + req->n_images,
                       .grid = {{1, req->height / unit, req->width / unit}},
                       .step_values = 1, .prompt_masks = 1};
    g->tokens = g->latent_tokens = g->grid[0][1] * g->grid[0][2];
    for (int i = 0; i < req->n_images; i++) {
        int w, h;
        dimensions(req->image_area, (double)req->images[i].width / req->images[i].height, &w, &h);
        if (w < 32 || h < 32)
            return br_fail(BR_EINPUT, "--image %d: its aspect ratio %d x %d leaves a side under 32 "
                           "pixels at --image-area %g", i + 1, req->images[i].width,
                           req->images[i].height, req->image_area);
        g->grid[1 + i][0] = 1, g->grid[1 + i][1] = h / unit, g->grid[1 + i][2] = w / unit;
        g->tokens += (h / unit) * (w / unit);
    }
    return BR_OK;
}

// The VAE's input of one reference: resized to the grid's size (PIL's Lanczos), then
// (u / 255) * 2 - 1 in fp32, channels first [3, H, W].
static br_status vae_input(const br_image *img, int width, int height, float *x) {
    br_image resized = {0};
    BR_TRY(br_image_resize_lanczos(img, width, height, &resized));
    const size_t px = (size_t)width * height;
    for (size_t p = 0; p < px; p++)
        for (int c = 0; c < 3; c++)
            x[c * px + p] = (float)resized.rgb[3 * p + c] / 255.0f * 2.0f - 1.0f;
    br_image_free(&resized);
    return BR_OK;
}

// Normalised latents [z, h, w] -> packed tokens [(h/2)(w/2), 4z]: feature c*4 + di*2 + dj of
// token (i, j) is latent (c, 2i + di, 2j + dj).
static void pack(float *tokens, const float *x, int z, int h, int w) {
    for (int i = 0; i < h / 2; i++)
        for (int j = 0; j < w / 2; j++)
            for (int c = 0; c < z; c++)
                for (int d = 0; d < 4; d++)
                    tokens[((size_t)i * (w / 2) + j) * 4 * z + c * 4 + d] =
                        x[((size_t)c * h + 2 * i + d / 2) * w + 2 * j + d % 2];
}

static br_status encode_one(br_backend *be, const qwen_vae *vae, const br_image *img, int h,
                            int w, float *tokens) {
    const qwen_vae_config *cfg = &vae->cfg;
    const int H = 8 * h, W = 8 * w, z = cfg->z_dim;
    float *x = malloc((size_t)3 * H * W * sizeof(float) + (size_t)z * h * w * sizeof(float));
    if (!x) return br_fail(BR_ENOMEM, "out of memory for the reference image");
    float *mean = x + (size_t)3 * H * W;
    br_status st = vae_input(img, W, H, x);
    if (st == BR_OK) st = qwen_vae_encode(be, vae, x, H, W, mean);
    for (int c = 0; st == BR_OK && c < z; c++)
        for (int p = 0; p < h * w; p++) {
            float *v = mean + (size_t)c * h * w + p;
            *v = (*v - cfg->latents_mean[c]) / cfg->latents_std[c];
        }
    if (st == BR_OK) pack(tokens, mean, z, h, w);
    free(x);
    return st;
}

static br_status encode(const br_model *m, const char *dir, br_backend *be,
                        const br_run_request *req, const br_geometry *g, float *cond) {
    br_checkpoint ck;
    qwen_vae_config cfg;
    qwen_vae vae;
    memset(&vae, 0, sizeof vae);
    br_status st = qwen_vae_open(dir, &ck, &cfg);
    if (st == BR_OK && 4 * cfg.z_dim != m->in_channels)
        st = br_fail(BR_EINPUT, "%s: z_dim %d packs into %d features, the transformer takes %d",
                     dir, cfg.z_dim, 4 * cfg.z_dim, m->in_channels);
    if (st == BR_OK) st = qwen_vae_load(be, &ck, &cfg, 1, 0, &vae);
    float *at = cond;
    for (int i = 0; st == BR_OK && i < req->n_images; i++) {
        const int h = 2 * g->grid[1 + i][1], w = 2 * g->grid[1 + i][2];
        st = encode_one(be, &vae, &req->images[i], h, w, at);
        at += (size_t)(h / 2) * (w / 2) * m->in_channels;
    }
    qwen_vae_free(be, &vae);
    br_ckpt_close(&ck);
    return st;
}

static float timestep(float sigma, int num_train_timesteps) {
    return sigma * (float)num_train_timesteps / 1000.0f;
}

static int passes(const br_guidance *gs, br_pass *pass) {
    if (!(gs->scale > 1.0f)) return pass[0] = BR_PASS_COND, 1;
    pass[0] = BR_PASS_UNCOND, pass[1] = BR_PASS_COND;
    return 2;
}

static void guide(const br_model *m, const br_geometry *g, const br_guidance *gs, float sigma,
                  const float *x, float *v, const float *const *pred) {
    (void)sigma, (void)x;
    nn_true_cfg_norm(v, pred[0], pred[1], g->latent_tokens, m->in_channels, gs->scale);
}

const br_recipe qwen_recipe = {
    .default_steps = 40,
    .default_guidance = {.scale = 4.0f},
    .max_images = BR_MAX_GRIDS - 1,
    .image_output = 1,
    .geometry = geometry,
    .encode = encode,
    .timestep = timestep,
    .passes = passes,
    .guide = guide,
    .decoder_open = qwen_decoder_open,
    .decoder_input = qwen_decoder_input,
    .tile_floats = qwen_decoder_tile_floats,
    .decode_tile = qwen_decoder_tile,
    .blend_tile = qwen_decoder_blend,
    .blend_finish = qwen_decoder_finish,
    .decoder_close = qwen_decoder_close,
};
