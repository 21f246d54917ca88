// ltx_vae_tiles.c: tiled decoding's geometry and blending, on the host: the plan (a grid of
// overlapping tiles of the latent grid), the choice of a tile size from a memory budget, and the
// blend of decoded tiles into the video with linear ramps over their overlaps (the weighted
// form of diffusers' blend_t / blend_v / blend_h, symmetric and normalised). No device work
// here except in ltx_vae_decode, which runs a whole plan on one backend.
#include <stdlib.h>
#include <string.h>

#include "ltx_vae.h"

void ltx_vae_output_size(const ltx_vae_config *cfg, int F, int H, int W, int *Fo, int *Ho,
                         int *Wo) {
    // each doubling in time: 2F - 1 frames; in space: 2H x 2W
    const int up_t = 1 << cfg->n_up_time, up_s = 1 << cfg->n_up_space;
    *Fo = 1 + up_t * (F - 1);
    *Ho = H * up_s * cfg->patch_size;
    *Wo = W * up_s * cfg->patch_size;
}

size_t ltx_vae_tile_floats(const ltx_vae_config *cfg, const ltx_vae_tile *t) {
    int Fo, Ho, Wo;
    ltx_vae_output_size(cfg, t->f1 - t->f0, t->h1 - t->h0, t->w1 - t->w0, &Fo, &Ho, &Wo);
    return (size_t)cfg->out_channels * Fo * Ho * Wo;
}

// The radius along time (time != 0) or along rows and columns: the levels scale each apart.
static double axis_radius(const ltx_vae_config *cfg, int time) {
    double r = 1 + 2 * cfg->mid_layers, scale = 1; // conv_in, two convolutions per ResNet
    for (int i = 0; i < cfg->n_blocks; i++) {
        const ltx_vae_up_block *b = &cfg->up[i];
        r += (2 * b->conv_in + b->upsample) / scale; // the upsampler's conv runs before the x2
        scale *= b->upsample && (time ? b->stride_t : b->stride_s) == 2 ? 2 : 1;
        r += 2 * b->layers / scale;
    }
    return r + 1 / scale; // conv_out
}

double ltx_vae_receptive_radius(const ltx_vae_config *cfg) {
    const double t = axis_radius(cfg, 1), s = axis_radius(cfg, 0);
    return t > s ? t : s;
}

// --- the plan --------------------------------------------------------------------------------

static const char *const AXIS[3] = {"frames", "rows", "columns"};

// Splits [0, L) into the fewest segments of `size` cells overlapping by at least `overlap`,
// spread evenly (the first starts at 0, the last ends at L).
static br_status split_axis(int a, int L, int size, int overlap, ltx_vae_plan *p) {
    if (size >= L) {
        p->n[a] = 1, p->start[a][0] = 0, p->end[a][0] = L;
        return BR_OK;
    }
    if (overlap >= size)
        return br_fail(BR_EINPUT, "VAE tiles: an overlap of %d %s needs tiles larger than %d",
                       overlap, AXIS[a], size);
    const long long n = 1 + (L - size + (size - overlap) - 1) / (size - overlap);
    if (n > LTX_VAE_MAX_SPLITS)
        return br_fail(BR_EINPUT, "VAE tiles: %lld tiles along the %s (at most %d): tiles of %d "
                                  "are too small for %d", n, AXIS[a], LTX_VAE_MAX_SPLITS, size, L);
    p->n[a] = (int)n;
    for (int i = 0; i < n; i++) {
        p->start[a][i] = (int)((long long)i * (L - size) / (n - 1));
        p->end[a][i] = p->start[a][i] + size;
    }
    return BR_OK;
}

br_status ltx_vae_plan_make(const ltx_vae_config *cfg, int F, int H, int W, int tile_f,
                            int tile_hw, int overlap_f, int overlap_hw, ltx_vae_plan *plan) {
    memset(plan, 0, sizeof *plan);
    if (F < 1 || H < 1 || W < 1 || tile_f < 1 || tile_hw < 1 || overlap_f < 0 || overlap_hw < 0)
        return br_fail(BR_EINPUT, "VAE tiles: grid %d x %d x %d, tiles %d x %d, overlaps %d, %d: "
                                  "sizes must be positive, overlaps not negative",
                       F, H, W, tile_f, tile_hw, overlap_f, overlap_hw);
    if (tile_f < F && overlap_f < 1)
        return br_fail(BR_EINPUT, "VAE tiles: tiles split in time must share at least one latent "
                                  "frame (overlap_f >= 1)");
    plan->F = F, plan->H = H, plan->W = W;
    BR_TRY(split_axis(0, F, tile_f, overlap_f, plan));
    BR_TRY(split_axis(1, H, tile_hw, overlap_hw, plan));
    BR_TRY(split_axis(2, W, tile_hw, overlap_hw, plan));
    plan->n_tiles = plan->n[0] * plan->n[1] * plan->n[2];
    return BR_OK;
}

void ltx_vae_plan_tile(const ltx_vae_plan *p, int index, ltx_vae_tile *t) {
    const int k0 = index / (p->n[1] * p->n[2]), k1 = index / p->n[2] % p->n[1], k2 = index % p->n[2];
    *t = (ltx_vae_tile){p->start[0][k0], p->end[0][k0], p->start[1][k1], p->end[1][k1],
                        p->start[2][k2], p->end[2][k2]};
}

// Segments split_axis makes for (L, size, overlap); 0 when it would refuse.
static long long axis_count(int L, int size, int overlap) {
    if (size >= L) return 1;
    if (overlap >= size) return 0;
    const long long n = 1 + (L - size + (size - overlap) - 1) / (size - overlap);
    return n <= LTX_VAE_MAX_SPLITS ? n : 0;
}

// Latent cells decoded by the plan of (tf, thw), overlaps counted; 0 when no such plan.
static double plan_volume(int F, int H, int W, int tf, int thw, int overlap_f, int overlap_hw) {
    if (tf < F && overlap_f < 1) return 0;
    const long long nf = axis_count(F, tf, overlap_f), nh = axis_count(H, thw, overlap_hw);
    const long long nw = axis_count(W, thw, overlap_hw);
    return (double)nf * (tf < F ? tf : F) * nh * (thw < H ? thw : H) * nw * (thw < W ? thw : W);
}

static size_t tile_bytes(const ltx_vae_config *cfg, int F, int H, int W, int tf, int thw) {
    const ltx_vae_tile t = {0, tf < F ? tf : F, 0, thw < H ? thw : H, 0, thw < W ? thw : W};
    return ltx_vae_tile_workspace_bytes(cfg, &t);
}

br_status ltx_vae_plan_for_budget(const ltx_vae_config *cfg, int F, int H, int W,
                                  size_t budget_bytes, int overlap_f, int overlap_hw,
                                  ltx_vae_plan *plan) {
    const int max_hw = H > W ? H : W;
    int best_f = 0, best_hw = 0;
    double best = 0;
    // The least work (latent cells decoded, overlaps included); on a tie the larger tiles.
    for (int tf = F; tf >= 1; tf--)
        for (int thw = max_hw; thw >= 1; thw--) {
            const double v = plan_volume(F, H, W, tf, thw, overlap_f, overlap_hw);
            if (v > 0 && (best == 0 || v < best) &&
                tile_bytes(cfg, F, H, W, tf, thw) <= budget_bytes)
                best = v, best_f = tf, best_hw = thw;
        }
    if (best == 0)
        return br_fail(BR_ENOMEM, "VAE tiles: even a tile of %d x %d x %d latent cells needs "
                                  "%.1f MiB of device memory, more than the %.1f MiB budget",
                       F > 1 ? overlap_f + 1 : 1, overlap_hw + 1, overlap_hw + 1,
                       tile_bytes(cfg, F, H, W, overlap_f + 1, overlap_hw + 1) / 1048576.0,
                       budget_bytes / 1048576.0);
    return ltx_vae_plan_make(cfg, F, H, W, best_f, best_hw, overlap_f, overlap_hw, plan);
}

// --- blending --------------------------------------------------------------------------------

// Video coordinates of segment k of axis a, half-open: a tile's first video frame is its first
// latent frame's last (T f0), its last is T (f1 - 1); rows and columns scale by S.
static void video_range(const ltx_vae_config *cfg, const ltx_vae_plan *p, int a, int k, int *v0,
                        int *v1) {
    const int up_t = 1 << cfg->n_up_time, up_s = 1 << cfg->n_up_space;
    const int s = p->start[a][k], e = p->end[a][k];
    *v0 = a == 0 ? up_t * s : up_s * cfg->patch_size * s;
    *v1 = a == 0 ? up_t * (e - 1) + 1 : up_s * cfg->patch_size * e;
}

// Weight of segment k of axis a at video coordinate v (inside it): ramps up across the overlap
// with the previous segment, (j + 1) / (o + 1), and down across the next one, (o - j) / (o + 1),
// so that two neighbours' weights sum to 1 on an overlap of o cells.
static float ramp(const ltx_vae_config *cfg, const ltx_vae_plan *p, int a, int k, int v) {
    int v0, v1, u0, u1;
    double w = 1.0;
    video_range(cfg, p, a, k, &v0, &v1);
    if (k > 0) {
        video_range(cfg, p, a, k - 1, &u0, &u1);
        if (v < u1) w *= (double)(v - v0 + 1) / (u1 - v0 + 1);
    }
    if (k + 1 < p->n[a]) {
        video_range(cfg, p, a, k + 1, &u0, &u1);
        if (v >= u0) w *= (double)(v1 - v) / (v1 - u0 + 1);
    }
    return (float)w;
}

void ltx_vae_blend_tile(const ltx_vae_config *cfg, const ltx_vae_plan *plan, int index,
                        const float *pixels, float *video) {
    enum { CHUNK = 1024 }; // columns whose weights are computed at once
    int Fo, Ho, Wo, k[3], v0[3], v1[3];
    float wx[CHUNK];
    ltx_vae_output_size(cfg, plan->F, plan->H, plan->W, &Fo, &Ho, &Wo);
    k[0] = index / (plan->n[1] * plan->n[2]), k[1] = index / plan->n[2] % plan->n[1];
    k[2] = index % plan->n[2];
    for (int a = 0; a < 3; a++) video_range(cfg, plan, a, k[a], &v0[a], &v1[a]);
    const int nt = v1[0] - v0[0], ny = v1[1] - v0[1], nx = v1[2] - v0[2];
    for (int x0 = 0; x0 < nx; x0 += CHUNK) {
        const int n = nx - x0 < CHUNK ? nx - x0 : CHUNK;
        for (int x = 0; x < n; x++) wx[x] = ramp(cfg, plan, 2, k[2], v0[2] + x0 + x);
        for (int c = 0; c < cfg->out_channels; c++)
            for (int t = 0; t < nt; t++) {
                const float wt = ramp(cfg, plan, 0, k[0], v0[0] + t);
                for (int y = 0; y < ny; y++) {
                    const float wty = wt * ramp(cfg, plan, 1, k[1], v0[1] + y);
                    const float *src = pixels + (((size_t)c * nt + t) * ny + y) * nx + x0;
                    float *dst = video + (((size_t)c * Fo + v0[0] + t) * Ho + v0[1] + y) * Wo +
                                 v0[2] + x0;
                    for (int x = 0; x < n; x++) dst[x] += wty * wx[x] * src[x];
                }
            }
    }
}

// sum[v] = the weights of axis a's segments at video coordinate v, for v < len.
static void axis_sums(const ltx_vae_config *cfg, const ltx_vae_plan *p, int a, float *sum, int len) {
    memset(sum, 0, (size_t)len * sizeof *sum);
    for (int k = 0; k < p->n[a]; k++) {
        int v0, v1;
        video_range(cfg, p, a, k, &v0, &v1);
        for (int v = v0; v < v1; v++) sum[v] += ramp(cfg, p, a, k, v);
    }
}

br_status ltx_vae_blend_finish(const ltx_vae_config *cfg, const ltx_vae_plan *plan, float *video) {
    int Fo, Ho, Wo;
    ltx_vae_output_size(cfg, plan->F, plan->H, plan->W, &Fo, &Ho, &Wo);
    float *st = malloc(((size_t)Fo + Ho + Wo) * sizeof(float)), *sy = st + Fo, *sx = sy + Ho;
    if (!st) return br_fail(BR_ENOMEM, "out of host memory for the VAE blend");
    axis_sums(cfg, plan, 0, st, Fo);
    axis_sums(cfg, plan, 1, sy, Ho);
    axis_sums(cfg, plan, 2, sx, Wo);
    for (int c = 0; c < cfg->out_channels; c++)
        for (int t = 0; t < Fo; t++)
            for (int y = 0; y < Ho; y++) {
                float *row = video + (((size_t)c * Fo + t) * Ho + y) * Wo;
                for (int x = 0; x < Wo; x++) row[x] /= st[t] * sy[y] * sx[x];
            }
    free(st);
    return BR_OK;
}

br_status ltx_vae_decode(br_backend *be, const ltx_vae *vae, const float *latents,
                         const ltx_vae_plan *plan, float decode_timestep, uint64_t noise_seed,
                         float *video) {
    const ltx_vae_config *cfg = &vae->cfg;
    int Fo, Ho, Wo;
    ltx_vae_output_size(cfg, plan->F, plan->H, plan->W, &Fo, &Ho, &Wo);
    memset(video, 0, (size_t)cfg->out_channels * Fo * Ho * Wo * sizeof(float));
    ltx_vae_tile t;
    ltx_vae_plan_tile(plan, 0, &t); // the first tile is a largest one: segments are equal
    float *pixels = malloc(ltx_vae_tile_floats(cfg, &t) * sizeof(float));
    if (!pixels) return br_fail(BR_ENOMEM, "out of host memory for a decoded VAE tile");
    br_status st = BR_OK;
    for (int i = 0; i < plan->n_tiles && st == BR_OK; i++) {
        ltx_vae_plan_tile(plan, i, &t);
        st = ltx_vae_decode_tile(be, vae, latents, plan->F, plan->H, plan->W, &t,
                                 decode_timestep, noise_seed, pixels);
        if (st == BR_OK) ltx_vae_blend_tile(cfg, plan, i, pixels, video);
    }
    free(pixels);
    return st == BR_OK ? ltx_vae_blend_finish(cfg, plan, video) : st;
}
