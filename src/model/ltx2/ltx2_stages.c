// ltx2_stages.c: LTX-2.3's distilled recipe as the recipe's stages (recipe.h), diffusers'
// "distilled checkpoint generation" (docs/source/en/api/pipelines/ltx2.md):
//   stage 1  LTX2Pipeline at half the height and width, the 8 distilled sigmas
//   between  the video latents de-normalised, upsampled x2 in height and width by the latent
//            upsampler (LTX2LatentUpsamplePipeline's defaults), normalised and packed again; the
//            audio latents as they are; both noised at stage 2's first sigma s: s noise + (1 - s) x
//   stage 2  LTX2Pipeline at the full size from there, the last 3 distilled sigmas
// No guidance (one pass a step): the distilled checkpoint was trained without it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ltx2_family.h"
#include "ltx2_upsampler.h"
#include "model/ltx/ltx_vae_config.h"
#include "nn/latents.h"

static const float STAGE1_SIGMAS[] = {1.0f, 0.99375f, 0.9875f, 0.98125f,
                                      0.975f, 0.909375f, 0.725f, 0.421875f};
static const float STAGE2_SIGMAS[] = {0.909375f, 0.725f, 0.421875f};

static int distilled(const br_run_request *req) {
    return req->recipe && strcmp(req->recipe, "distilled") == 0;
}

int ltx2_stages(const br_run_request *req) {
    if (!req->recipe || strcmp(req->recipe, "full") == 0) return 1;
    if (distilled(req)) return 2;
    br_fail(BR_EINPUT, "--recipe %s: LTX-2 runs full (LTX2Pipeline) or distilled (two stages)",
            req->recipe);
    return -1;
}

const br_guidance *ltx2_guidance_for(const char *recipe) {
    static const br_guidance none = {.scale = 1, .modality = 1, .audio_scale = 1,
                                     .audio_modality = 1};
    return recipe && strcmp(recipe, "distilled") == 0 ? &none : NULL;
}

// Refused before any step: a pipeline folder without its latent upsampler.
static br_status check_upsampler(const br_model *m) {
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/latent_upsampler", m->pipeline_dir);
    br_checkpoint ck;
    ltx2_latent_upsampler_config cfg;
    BR_TRY(ltx2_latent_upsampler_open(dir, &ck, &cfg));
    br_ckpt_close(&ck);
    return BR_OK;
}

br_status ltx2_stage_request(const br_model *m, int s, br_run_request *req, float *sigmas,
                             int *steps) {
    *steps = 0;
    if (!distilled(req)) return BR_OK;
    if (req->n_images)
        return br_fail(BR_EINPUT, "--image with --recipe distilled (image to video in two "
                       "stages) is not implemented yet: run it with --recipe full");
    if (req->height % 64 || req->width % 64)
        return br_fail(BR_EINPUT, "--height %d --width %d: the distilled recipe's first stage "
                       "halves them: multiples of 64", req->height, req->width);
    if (s == 1) BR_TRY(check_upsampler(m));
    const float *given = s ? STAGE2_SIGMAS : STAGE1_SIGMAS;
    *steps = s ? 3 : 8;
    memcpy(sigmas, given, (size_t)*steps * sizeof(float));
    if (s == 0) req->height /= 2, req->width /= 2;
    return BR_OK;
}

// The video VAE's statistics (vae/: latents_mean, latents_std, scaling_factor).
typedef struct {
    float *mean, *std, scaling;
} vae_stats;

static br_status read_stats(const br_model *m, int C, vae_stats *v) {
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/vae", m->pipeline_dir);
    br_checkpoint ck;
    ltx_vae_config cfg;
    BR_TRY(ltx_vae_open(dir, &ck, &cfg));
    const int64_t shape[1] = {C};
    br_status st = cfg.latent_channels == C
                       ? br_ckpt_load(&ck, "latents_mean", 1, shape, &v->mean)
                       : br_fail(BR_EINPUT, "%s: latent_channels %d, the transformer takes %d", dir,
                                 cfg.latent_channels, C);
    if (st == BR_OK) st = br_ckpt_load(&ck, "latents_std", 1, shape, &v->std);
    v->scaling = cfg.scaling_factor;
    br_ckpt_close(&ck);
    return st;
}

// One job's video tokens from [F, H, W] into [F, 2H, 2W], through the upsampler.
static br_status upsample_video(br_backend *be, const ltx2_latent_upsampler *up,
                                const vae_stats *v, const br_geometry *from, const float *x_from,
                                float *x_to, int C, float *a, float *b) {
    const int F = from->grid[0][0], H = from->grid[0][1], W = from->grid[0][2];
    const ltx2_latent_upsample_options opt = {0};
    nn_unpack_latents(a, x_from, C, F, H, W, 1, 1);
    nn_denormalize_latents(a, v->mean, v->std, v->scaling, C, F * H * W);
    BR_TRY(ltx2_latent_upsample(be, up, a, F, H, W, &opt, b));
    nn_normalize_latents(b, v->mean, v->std, v->scaling, C, F * 4 * H * W);
    nn_pack_latents(x_to, b, C, F, 2 * H, 2 * W, 1, 1);
    return BR_OK;
}

// x = s noise + (1 - s) x, each product rounded on its own (the pipeline's _create_noised_state).
static void renoise(float *x, const float *noise, size_t n, float s) {
    const float keep = (float)(1.0 - (double)s);
    for (size_t i = 0; i < n; i++) {
        const float a = s * noise[i], b = keep * x[i];
        x[i] = a + b;
    }
}

br_status ltx2_next_stage(const br_model *m, br_backend *be, const br_geometry *from,
                          const float *x_from, const br_geometry *to, float *x_to, int n,
                          float sigma, uint64_t seed, const float *noise, int noise_rows) {
    const int C = m->in_channels, S1 = from->shift_tokens, S2 = to->shift_tokens;
    const int Sa = from->latent_tokens - S1;
    const size_t job_from = (size_t)from->latent_tokens * C, job_to = (size_t)to->latent_tokens * C;
    if (to->grid[0][0] != from->grid[0][0] || to->grid[0][1] != 2 * from->grid[0][1] ||
        to->grid[0][2] != 2 * from->grid[0][2] || to->latent_tokens - S2 != Sa)
        return br_fail(BR_EINPUT, "the distilled recipe's stages must differ by x2 in height and "
                       "width only");
    // The upsampler's group norm has no GPU kernel yet: the CPU's where the device lacks it.
    br_backend *on = be->group_norm ? be : br_backend_cpu();
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/latent_upsampler", m->pipeline_dir);
    br_checkpoint ck;
    ltx2_latent_upsampler_config cfg;
    ltx2_latent_upsampler up = {0};
    vae_stats v = {0};
    BR_TRY(ltx2_latent_upsampler_open(dir, &ck, &cfg));
    br_status st = ltx2_latent_upsampler_load(on, &ck, &cfg, &up);
    br_ckpt_close(&ck);
    if (st == BR_OK) st = read_stats(m, C, &v);
    float *a = malloc((size_t)S2 * C * sizeof(float)), *b = malloc((size_t)S2 * C * sizeof(float));
    float *drawn = noise ? NULL : malloc(job_to * sizeof(float));
    if (st == BR_OK && (!a || !b || (!noise && !drawn)))
        st = br_fail(BR_ENOMEM, "out of memory for the upsampling");
    for (int j = 0; j < n && st == BR_OK; j++) {
        float *x = x_to + (size_t)j * job_to;
        st = upsample_video(on, &up, &v, from, x_from + (size_t)j * job_from, x, C, a, b);
        memcpy(x + (size_t)S2 * C, x_from + (size_t)j * job_from + (size_t)S1 * C,
               (size_t)Sa * C * sizeof(float));
        const float *z = noise ? noise + (noise_rows == 1 ? 0 : (size_t)j * job_to) : drawn;
        if (!noise) {
            br_rng rng = br_rng_make(seed, 20000 + (uint64_t)j); // stage 2's stream of job j
            br_rng_normal(&rng, drawn, job_to);
        }
        if (st == BR_OK) renoise(x, z, job_to, sigma);
    }
    free(a), free(b), free(drawn), free(v.mean), free(v.std);
    ltx2_latent_upsampler_free(on, &up);
    return st;
}
