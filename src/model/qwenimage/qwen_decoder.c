// qwen_decoder.c: Qwen-Image's VAE decoder behind the recipe's interface (recipe.h): the job's
// packed latents unpacked and de-normalised as the pipeline does (x / (1 / std) + mean), then
// decoded in one piece when that fits the --decode-tile budget, else in diffusers' tiles
// (AutoencoderKLQwenImage.tiled_decode with its defaults: 256-pixel tiles every 192 pixels),
// which any rank decodes and rank 0 blends in diffusers' order: each tile, in place, first with
// the one above over 64 rows, then with the one to its left over 64 columns (linear ramps), then
// cropped to 192 x 192. The same tiles and blend as the reference's tiled decode, so a tiled
// image matches what diffusers gives with tiling on.
#include <stdlib.h>
#include <string.h>

#include "nn/latents.h"
#include "qwen_family.h"
#include "qwen_vae.h"

enum { TILE = 32, STRIDE = 24, BLEND = 64 }; // latent cells, latent cells, pixels

struct br_decoder {
    br_checkpoint ck;
    qwen_vae vae;
    int h, w;         // latent cells
    int rows, cols;   // tiles: 1 x 1 for the whole image
    float **tiles;    // rank 0: each decoded tile [3, 8 th, 8 tw], kept for the blend
};

void qwen_decoder_close(br_decoder *d, br_backend *be) {
    if (!d) return;
    for (int t = 0; d->tiles && t < d->rows * d->cols; t++) free(d->tiles[t]);
    free(d->tiles);
    qwen_vae_free(be, &d->vae);
    br_ckpt_close(&d->ck);
    free(d);
}

// Tile t's latent rows [*r0, *r1) and columns [*c0, *c1).
static void tile_rect(const br_decoder *d, int t, int *r0, int *r1, int *c0, int *c1) {
    if (d->rows * d->cols == 1) {
        *r0 = *c0 = 0, *r1 = d->h, *c1 = d->w;
        return;
    }
    *r0 = t / d->cols * STRIDE, *c0 = t % d->cols * STRIDE;
    *r1 = *r0 + TILE < d->h ? *r0 + TILE : d->h, *c1 = *c0 + TILE < d->w ? *c0 + TILE : d->w;
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
    d->rows = d->cols = 1;
    if (s->tile_bytes && qwen_vae_decode_bytes(&cfg, s->height, s->width) > s->tile_bytes &&
        (d->h > TILE || d->w > TILE)) // as the reference: tiles only beyond one tile's size
        d->rows = (d->h + STRIDE - 1) / STRIDE, d->cols = (d->w + STRIDE - 1) / STRIDE;
    if (!(d->tiles = calloc((size_t)d->rows * d->cols, sizeof *d->tiles)))
        return br_fail(BR_ENOMEM, "out of memory");
    BR_TRY(qwen_vae_load(be, &d->ck, &cfg, 0, 1, &d->vae));
    *shape = (br_decode_shape){.n_tiles = d->rows * d->cols, .frames = 1, .height = s->height,
                               .width = s->width,
                               .input_floats = (size_t)cfg.z_dim * d->h * d->w};
    for (int t = 0; t < shape->n_tiles; t++) {
        const size_t n = qwen_decoder_tile_floats(d, t);
        shape->most_tile_floats = n > shape->most_tile_floats ? n : shape->most_tile_floats;
    }
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
    int r0, r1, c0, c1;
    tile_rect(d, tile, &r0, &r1, &c0, &c1);
    return (size_t)3 * 8 * (r1 - r0) * 8 * (c1 - c0);
}

br_status qwen_decoder_tile(br_decoder *d, br_backend *be, const float *input, int tile,
                            float *pixels) {
    const int z = d->vae.cfg.z_dim, whole = d->rows * d->cols == 1;
    if (whole) return qwen_vae_decode(be, &d->vae, input, d->h, d->w, 1, pixels);
    int r0, r1, c0, c1;
    tile_rect(d, tile, &r0, &r1, &c0, &c1);
    const int th = r1 - r0, tw = c1 - c0;
    float *part = malloc((size_t)z * th * tw * sizeof(float));
    if (!part) return br_fail(BR_ENOMEM, "out of memory for a decode tile");
    for (int c = 0; c < z; c++)
        for (int r = 0; r < th; r++)
            memcpy(part + ((size_t)c * th + r) * tw, input + ((size_t)c * d->h + r0 + r) * d->w + c0,
                   (size_t)tw * sizeof(float));
    br_status st = qwen_vae_decode(be, &d->vae, part, th, tw, 0, pixels);
    free(part);
    return st;
}

void qwen_decoder_blend(br_decoder *d, int tile, const float *pixels, float *video) {
    const size_t n = qwen_decoder_tile_floats(d, tile);
    if (d->rows * d->cols == 1) { // the whole image: [3, 1, H, W]
        memcpy(video, pixels, n * sizeof(float));
        return;
    }
    if ((d->tiles[tile] = malloc(n * sizeof(float)))) memcpy(d->tiles[tile], pixels, n * sizeof(float));
}

// b's first rows (vertical: v = 1) or columns blended with a's last, in place:
// b[y] = a[end - extent + y] (1 - y / extent) + b[y] (y / extent), the weights rounded to fp32
// as torch takes Python scalars, the extent shortened to the smaller tile.
static void blend(const float *a, int ah, int aw, float *b, int bh, int bw, int v) {
    int extent = v ? (ah < bh ? ah : bh) : (aw < bw ? aw : bw);
    extent = extent < BLEND ? extent : BLEND;
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < extent; k++) {
            const float wa = (float)(1.0 - (double)k / extent), wb = (float)((double)k / extent);
            const int n = v ? bw : bh;
            for (int i = 0; i < n; i++) {
                float *y = v ? b + ((size_t)c * bh + k) * bw + i : b + ((size_t)c * bh + i) * bw + k;
                const float x = v ? a[((size_t)c * ah + ah - extent + k) * aw + i]
                                  : a[((size_t)c * ah + i) * aw + aw - extent + k];
                *y = x * wa + *y * wb;
            }
        }
}

br_status qwen_decoder_finish(br_decoder *d, float *video) {
    const int n = d->rows * d->cols, H = 8 * d->h, W = 8 * d->w, keep = 8 * STRIDE;
    if (n == 1) return BR_OK;
    for (int t = 0; t < n; t++)
        if (!d->tiles[t]) return br_fail(BR_ENOMEM, "out of memory for the decode tiles");
    for (int t = 0; t < n; t++) { // in diffusers' order: above first, then left, in place
        const int i = t / d->cols, j = t % d->cols;
        int r0, r1, c0, c1, ar0, ar1, ac0, ac1;
        tile_rect(d, t, &r0, &r1, &c0, &c1);
        const int bh = 8 * (r1 - r0), bw = 8 * (c1 - c0);
        if (i > 0) {
            tile_rect(d, t - d->cols, &ar0, &ar1, &ac0, &ac1);
            blend(d->tiles[t - d->cols], 8 * (ar1 - ar0), 8 * (ac1 - ac0), d->tiles[t], bh, bw, 1);
        }
        if (j > 0) {
            tile_rect(d, t - 1, &ar0, &ar1, &ac0, &ac1);
            blend(d->tiles[t - 1], 8 * (ar1 - ar0), 8 * (ac1 - ac0), d->tiles[t], bh, bw, 0);
        }
        // Its first 192 x 192 pixels (fewer at the image's edge) land at (8 r0, 8 c0).
        const int kh = bh < keep ? bh : keep, kw = bw < keep ? bw : keep;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < kh && 8 * r0 + y < H; y++)
                memcpy(video + ((size_t)c * H + 8 * r0 + y) * W + 8 * c0,
                       d->tiles[t] + ((size_t)c * bh + y) * bw,
                       (size_t)(8 * c0 + kw <= W ? kw : W - 8 * c0) * sizeof(float));
    }
    for (int t = 0; t < n; t++) free(d->tiles[t]), d->tiles[t] = NULL;
    return BR_OK;
}
