// ltx2_image.c: LTX2ImageToVideoPipeline's conditioning as the recipe's (recipe.h): the first
// frame's image through the video VAE's encoder (its mode), normalised and packed into the tokens
// of latent frame 0, which the run holds (their timestep 0, their velocity 0: they stay the
// image's latents bit for bit); every other token starts from noise and denoises as in
// LTX2Pipeline. The image is taken at the clip's size (image_crf 0: no re-compression).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "ltx2_family.h"
#include "ltx2_vae_encoder.h"
#include "model/ltx/ltx_vae_config.h"
#include "nn/latents.h"

void ltx2_step_values(const br_geometry *g, float timestep, float *values) {
    const int Tv = g->step_values - 3; // the video's values: one, or one per token
    for (int i = 0; i < g->step_values; i++) values[i] = timestep;
    for (int i = 0; Tv > 1 && i < g->held_tokens; i++) values[i] = 0.0f;
}

// The image as the encoder takes it: [3, 1, H, W], 2 (u / 255) - 1 in fp32.
static br_status image_input(const br_image *img, int height, int width, float *video) {
    if (img->height != height || img->width != width)
        return br_fail(BR_EINPUT, "--image is %dx%d, the clip %dx%d: give the first frame at the "
                       "clip's size (brigade does not resize it yet)", img->width, img->height,
                       width, height);
    const size_t px = (size_t)height * width;
    for (size_t p = 0; p < px; p++)
        for (int c = 0; c < 3; c++)
            video[c * px + p] = (float)img->rgb[3 * p + c] / 255.0f * 2.0f - 1.0f;
    return BR_OK;
}

br_status ltx2_encode_image(const br_model *m, const char *dir, br_backend *be,
                            const br_run_request *req, const br_geometry *g, float *cond) {
    const int C = m->in_channels, h = g->grid[0][1], w = g->grid[0][2];
    char vae_dir[4300]; // --vae none leaves out the decode, not the encoder of the pipeline's VAE
    snprintf(vae_dir, sizeof vae_dir, "%s/vae", m->pipeline_dir);
    if (strcmp(dir, "none") == 0) dir = vae_dir;
    br_checkpoint ck;
    ltx_vae_config vae_cfg;
    ltx2_vae_encoder_config cfg;
    ltx2_vae_encoder enc = {0};
    char path[4400];
    snprintf(path, sizeof path, "%s/config.json", dir);
    BR_TRY(ltx_vae_open(dir, &ck, &vae_cfg));
    // The encoder's space-to-depth has no GPU kernel yet: the CPU's where the device lacks it.
    br_backend *on = be->space_to_depth ? be : br_backend_cpu();
    br_status st = ltx2_vae_encoder_config_parse(&cfg, ck.config, path);
    if (st == BR_OK) st = ltx2_vae_encoder_load(on, &ck, &cfg, &enc);
    br_ckpt_close(&ck);
    int Fl, Hl, Wl;
    if (st == BR_OK) st = ltx2_vae_latent_size(&cfg, 1, req->height, req->width, &Fl, &Hl, &Wl);
    if (st == BR_OK && (Fl != 1 || Hl != h || Wl != w || cfg.latent_channels != C))
        st = br_fail(BR_EINPUT, "%s: encodes the %dx%d image to %d x %d x %d latents of %d "
                     "channels; the transformer takes %d x %d of %d", path, req->width,
                     req->height, Fl, Hl, Wl, cfg.latent_channels, h, w, C);
    float *video = malloc((size_t)3 * req->height * req->width * sizeof(float));
    float *mean = malloc((size_t)C * h * w * sizeof(float));
    if (st == BR_OK && (!video || !mean)) st = br_fail(BR_ENOMEM, "out of memory for the image");
    if (st == BR_OK) st = image_input(&req->images[0], req->height, req->width, video);
    if (st == BR_OK) st = ltx2_vae_encode(on, &enc, video, 1, req->height, req->width, mean, NULL);
    if (st == BR_OK) {
        ltx2_vae_normalize(&enc, mean, (size_t)h * w);
        nn_pack_latents(cond, mean, C, 1, h, w, 1, 1); // latent frame 0's tokens
    }
    free(video), free(mean);
    ltx2_vae_encoder_free(on, &enc);
    return st;
}
