// qwen_decoder.c: Qwen-Image's VAE decoder behind the recipe's interface (recipe.h): the job's
// packed latents unpacked and de-normalised as the pipeline does (x / (1 / std) + mean), decoded
// in one piece (one tile: the image), clamped to [-1, 1].
#include <stdlib.h>

#include "nn/latents.h"
#include "qwen_family.h"
#include "qwen_vae.h"

struct br_decoder {
    br_checkpoint ck;
    qwen_vae vae;
    int h, w; // latent cells
};

void qwen_decoder_close(br_decoder *d, br_backend *be) {
    if (!d) return;
    qwen_vae_free(be, &d->vae);
    br_ckpt_close(&d->ck);
    free(d);
}

static br_status open_decoder(const br_model *m, const char *dir, br_backend *be,
                              const br_geometry *g, const br_decode_settings *s, br_decoder *d,
                              br_decode_shape *shape) {
    qwen_vae_config cfg;
    BR_TRY(qwen_vae_open(dir, &d->ck, &cfg));
    if (4 * cfg.z_dim != m->in_channels)
        return br_fail(BR_EINPUT, "%s: z_dim %d packs into %d features, the transformer takes %d",
                       dir, cfg.z_dim, 4 * cfg.z_dim, m->in_channels);
    d->h = 2 * g->grid[0][1], d->w = 2 * g->grid[0][2];
    const int scale = 1 << (cfg.levels - 1);
    if (d->h * scale != s->height || d->w * scale != s->width)
        return br_fail(BR_EINPUT, "%s: decodes %d x %d latents to %d x %d, not the %d x %d asked "
                       "for", dir, d->w, d->h, d->w * scale, d->h * scale, s->width, s->height);
    BR_TRY(qwen_vae_load(be, &d->ck, &cfg, 0, 1, &d->vae));
    *shape = (br_decode_shape){.n_tiles = 1, .frames = 1, .height = s->height, .width = s->width,
                               .input_floats = (size_t)cfg.z_dim * d->h * d->w,
                               .most_tile_floats = (size_t)3 * s->height * s->width};
    return BR_OK;
}

br_status qwen_decoder_open(const br_model *m, const char *dir, br_backend *be,
                            const br_geometry *g, const br_decode_settings *s, br_decoder **out,
                            br_decode_shape *shape) {
    br_decoder *d = calloc(1, sizeof *d);
    if (!d) return br_fail(BR_ENOMEM, "out of memory");
    br_status st = open_decoder(m, dir, be, g, s, d, shape);
    if (st != BR_OK) {
        qwen_decoder_close(d, be);
        d = NULL;
    }
    *out = d;
    return st;
}

br_status qwen_decoder_input(br_decoder *d, const float *latents, int job, float *input) {
    const qwen_vae_config *cfg = &d->vae.cfg;
    const size_t cells = (size_t)d->h * d->w;
    nn_unpack_latents(input, latents, cfg->z_dim, 1, d->h, d->w, 2, 1);
    for (int c = 0; c < cfg->z_dim; c++) {
        const float inv_std = 1.0f / cfg->latents_std[c]; // the pipeline divides by 1 / std
        for (size_t i = 0; i < cells; i++) {
            float *v = input + c * cells + i;
            *v = *v / inv_std + cfg->latents_mean[c];
        }
    }
    (void)job;
    return BR_OK;
}

size_t qwen_decoder_tile_floats(const br_decoder *d, int tile) {
    return (size_t)3 * 8 * d->h * 8 * d->w;
}

br_status qwen_decoder_tile(br_decoder *d, br_backend *be, const float *input, int tile,
                            float *pixels) {
    return qwen_vae_decode(be, &d->vae, input, d->h, d->w, pixels);
}

void qwen_decoder_blend(br_decoder *d, int tile, const float *pixels, float *video) {
    const size_t n = qwen_decoder_tile_floats(d, tile);
    for (size_t i = 0; i < n; i++) video[i] = pixels[i]; // one tile: the image, [3, 1, H, W]
}

br_status qwen_decoder_finish(br_decoder *d, float *video) { return BR_OK; }
