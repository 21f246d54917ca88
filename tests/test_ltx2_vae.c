// test_ltx2_vae.c: LTX-2's video VAE and latent upsampler against diffusers
// (../shared/fixtures/ltx2-tiny: vae/, latent_upsampler/, case_vae, case_vae_encode,
// case_upsample): the decoder (LTX-Video's, src/model/ltx/ltx_vae.c, under LTX-2's config) on the
// CPU and, when a GPU is visible, on CUDA in fp32; the encoder's latent mean and log-variance for
// a video and for the image-to-video condition image, and their normalisation; the upsampler
// alone and as its pipeline runs it (defaults, AdaIN, tone map, normalised input); tiled against
// untiled decoding away from the cuts; the refusals, each one line naming the file or tensor.
// Bound: max |got - want| <= 1e-4 max |want|, as test_vae.c and test_qwen_vae.c: convolutions of
// at most 27 x 48 terms summed in another order than cuDNN's land near 1e-6, and an indexing or
// layout error shows at order 1. The encoder's log-variance is one channel, so its bound is the
// same relative to its own scale. Interior of a tiled decode: 1e-5, as test_vae.c.
// Usage: test_ltx2_vae FIXTURES
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "io/tensor_file.h"
#include "model/ltx/ltx_vae.h"
#include "model/ltx2/ltx2_upsampler.h"
#include "model/ltx2/ltx2_vae_encoder.h"

static const double BOUND = 1e-4;

static int read_case(const char *fixtures, const char *name, br_tensor_set *set) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ltx2-tiny/%s.safetensors", fixtures, name);
    memset(set, 0, sizeof *set);
    return CHECK(br_tensor_file_read(path, set) == BR_OK);
}

// --- decoder ---------------------------------------------------------------------------------

static void check_config(const ltx_vae_config *c) {
    CHECK(c->ltx2 && c->n_blocks == 4 && c->latent_channels == 8 && c->mid_channels == 32);
    CHECK(c->up[0].stride_t == 2 && c->up[0].stride_s == 2 && c->up[0].c_out == 16);
    CHECK(c->up[2].stride_t == 2 && c->up[2].stride_s == 1 && c->up[2].c_in == 16);
    CHECK(c->up[3].stride_t == 1 && c->up[3].stride_s == 2 && c->up[3].factor == 2);
    CHECK(c->n_up_time == 3 && c->n_up_space == 3 && c->final_channels == 4);
    CHECK(!c->decoder_causal && !c->timestep_conditioning && !c->up[0].residual);
}

// Along axis a (frames or columns), 32 latent cells cut into tiles [0, 21) and [11, 32): the
// cells that lie in one tile only and farther than the receptive radius from its cut equal the
// untiled decode (1e-5 relative). LTX-2's levels scale time and space apart, so this checks the
// per-axis geometry of the plan, the radius and the blend.
static void interior_exact(br_backend *be, const ltx_vae *vae, int a) {
    const int L = 32, F = a == 0 ? L : 1, W = a == 2 ? L : 1;
    const int margin = (int)ceil(ltx_vae_receptive_radius(&vae->cfg)) + 1;
    const size_t n_lat = (size_t)vae->cfg.latent_channels * L;
    float *lat = malloc(n_lat * sizeof(float));
    br_rng g = br_rng_make(21, (uint64_t)a);
    br_rng_normal(&g, lat, n_lat);
    const ltx_vae_tile whole = {0, F, 0, 1, 0, W};
    const size_t n = ltx_vae_tile_floats(&vae->cfg, &whole);
    float *untiled = malloc(n * sizeof(float)), *tiled = malloc(n * sizeof(float));
    ltx_vae_plan p;
    CHECK_OK(ltx_vae_decode_tile(be, vae, lat, F, 1, W, &whole, 0, 0, untiled));
    CHECK_OK(ltx_vae_plan_make(&vae->cfg, F, 1, W, a == 0 ? 21 : L, a ? 21 : L, 10, 10, &p));
    CHECK_OK(ltx_vae_decode(be, vae, lat, &p, 0, 0, tiled));
    int Fo, Ho, Wo;
    ltx_vae_output_size(&vae->cfg, F, 1, W, &Fo, &Ho, &Wo);
    const int len = a == 0 ? Fo : Wo, cell = a == 0 ? 1 << vae->cfg.n_up_time : Wo / W;
    // cells in one tile only and at least margin from its cut: [0, lo) and [hi, L)
    const int lo = p.end[a][0] - margin < p.start[a][1] ? p.end[a][0] - margin : p.start[a][1];
    const int hi = p.start[a][1] + margin > p.end[a][0] ? p.start[a][1] + margin : p.end[a][0];
    const int lo_end = lo * cell, hi_start = hi * cell;
    double err = 0, top = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t rest = i % ((size_t)Fo * Ho * Wo);
        const int v = a == 0 ? (int)(rest / ((size_t)Ho * Wo)) : (int)(rest % Wo);
        top = fmax(top, fabs(untiled[i]));
        if (v < lo_end || v >= hi_start) err = fmax(err, fabs((double)tiled[i] - untiled[i]));
    }
    const int ok = CHECK(lo_end > 0 && hi_start < len && err <= 1e-5 * top);
    printf("%s tiled %s: cells farther than %d from a cut within %.3g of the untiled decode\n",
           ok ? "ok  " : "FAIL", a == 0 ? "frames " : "columns", margin, err / top);
    free(lat), free(untiled), free(tiled);
}

static void test_decode(br_backend *be, const char *fixtures, const br_tensor_set *set,
                        int tiles) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vae", fixtures);
    br_checkpoint ck;
    ltx_vae_config cfg;
    ltx_vae vae;
    if (!CHECK(ltx_vae_open(dir, &ck, &cfg) == BR_OK)) return;
    check_config(&cfg);
    CHECK_OK(ltx_vae_load(be, &ck, &cfg, &vae));
    br_ckpt_close(&ck);
    const br_tensor *lat = br_set_find(set, "latents");
    if (CHECK(lat && lat->ndim == 5)) {
        const int F = (int)lat->shape[2], H = (int)lat->shape[3], W = (int)lat->shape[4];
        const ltx_vae_tile whole = {0, F, 0, H, 0, W};
        const size_t n = ltx_vae_tile_floats(&cfg, &whole);
        float *got = malloc(n * sizeof(float));
        CHECK_OK(ltx_vae_decode_tile(be, &vae, lat->data, F, H, W, &whole, 0, 0, got));
        char what[400];
        snprintf(what, sizeof what, "decode %dx%dx%d on %s", F, H, W, be->device_name);
        check_close(set, "video", got, n, BOUND, what);
        free(got);
    }
    if (tiles)
        for (int a = 0; a < 3; a += 2) interior_exact(be, &vae, a);
    ltx_vae_free(be, &vae);
}

// --- encoder ---------------------------------------------------------------------------------

// Encodes tensor `in` ([1, 3, F, H, W]) and compares the mean with `want_mean`, the normalised
// mean with `want_norm` and (when want_logvar) the log-variance.
static void encode_case(br_backend *be, const ltx2_vae_encoder *enc, const br_tensor_set *set,
                        const char *in, const char *want_mean, const char *want_logvar,
                        const char *want_norm) {
    const br_tensor *video = br_set_find(set, in);
    if (!CHECK(video && video->ndim == 5)) return;
    const int F = (int)video->shape[2], H = (int)video->shape[3], W = (int)video->shape[4];
    int Fl, Hl, Wl;
    CHECK_OK(ltx2_vae_latent_size(&enc->cfg, F, H, W, &Fl, &Hl, &Wl));
    const size_t cells = (size_t)Fl * Hl * Wl, n = cells * enc->cfg.latent_channels;
    float *mean = malloc(n * sizeof(float)), *logvar = malloc(n * sizeof(float));
    CHECK_OK(ltx2_vae_encode(be, enc, video->data, F, H, W, mean, want_logvar ? logvar : NULL));
    char what[200];
    snprintf(what, sizeof what, "encode %dx%dx%d", F, H, W);
    check_close(set, want_mean, mean, n, BOUND, what);
    if (want_logvar) check_close(set, want_logvar, logvar, n, BOUND, what);
    ltx2_vae_normalize(enc, mean, cells);
    check_close(set, want_norm, mean, n, BOUND, what);
    free(mean), free(logvar);
}

// vae/'s encoder, on the CPU.
static int load_encoder(const char *fixtures, ltx2_vae_encoder *enc) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vae", fixtures);
    br_checkpoint ck;
    ltx2_vae_encoder_config cfg;
    if (!CHECK(br_ckpt_open(&ck, dir) == BR_OK)) return 0;
    br_status st = ltx2_vae_encoder_config_parse(&cfg, ck.config, "vae/config.json");
    if (st == BR_OK) st = ltx2_vae_encoder_load(br_backend_cpu(), &ck, &cfg, enc);
    br_ckpt_close(&ck);
    if (!CHECK(st == BR_OK)) return 0;
    CHECK(cfg.n_blocks == 4 && cfg.time_factor == 8 && cfg.space_factor == 32 && cfg.causal);
    CHECK(cfg.down[0].st == 1 && cfg.down[0].ss == 2 && cfg.down[0].group == 4);
    CHECK(cfg.down[1].st == 2 && cfg.down[1].ss == 1 && cfg.down[1].conv_channels == 8);
    return 1;
}

static void test_encode(const char *fixtures, const ltx2_vae_encoder *enc) {
    br_tensor_set set;
    br_backend *be = br_backend_cpu();
    if (read_case(fixtures, "case_vae_encode", &set)) {
        encode_case(be, enc, &set, "video", "latent_mean", "latent_logvar", "latents_normalized");
        encode_case(be, enc, &set, "image", "image_latent_mean", NULL, "image_latents");
        float one;
        CHECK_FAILS(ltx2_vae_encode(be, enc, &one, 9, 60, 96, &one, NULL), "9 frames of 96x60",
                    "multiples of 32");
    }
    br_set_free(&set);
}

// --- upsampler -------------------------------------------------------------------------------

static void upsample_case(br_backend *be, const ltx2_latent_upsampler *up, const br_tensor_set *set,
                          const float *latents, int F, int H, int W,
                          const ltx2_latent_upsample_options *opt, const char *want,
                          const char *what) {
    const size_t n = (size_t)up->cfg.in_channels * F * H * W * 4;
    float *out = malloc(n * sizeof(float));
    CHECK_OK(ltx2_latent_upsample(be, up, latents, F, H, W, opt, out));
    check_close(set, want, out, n, BOUND, what);
    free(out);
}

static void test_upsample(const char *fixtures, const ltx2_vae_encoder *enc) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/latent_upsampler", fixtures);
    br_checkpoint ck;
    ltx2_latent_upsampler_config cfg;
    ltx2_latent_upsampler up;
    br_tensor_set set;
    br_backend *be = br_backend_cpu();
    if (!CHECK(ltx2_latent_upsampler_open(dir, &ck, &cfg) == BR_OK)) return;
    CHECK(cfg.in_channels == 8 && cfg.mid_channels == 32 && cfg.blocks == 2);
    CHECK_OK(ltx2_latent_upsampler_load(be, &ck, &cfg, &up));
    br_ckpt_close(&ck);
    const br_tensor *lat = read_case(fixtures, "case_upsample", &set) ? br_set_find(&set, "latents")
                                                                      : NULL;
    if (CHECK(lat && lat->ndim == 5)) {
        const int F = (int)lat->shape[2], H = (int)lat->shape[3], W = (int)lat->shape[4];
        const size_t n = (size_t)cfg.in_channels * F * H * W;
        float *out = malloc(n * 4 * sizeof(float)), *normed = malloc(n * sizeof(float));
        CHECK_OK(ltx2_latent_upsampler_forward(be, &up, lat->data, F, H, W, out));
        check_close(&set, "upsampler_out", out, n * 4, BOUND, "upsampler");
        ltx2_latent_upsample_options opt = {0};
        upsample_case(be, &up, &set, lat->data, F, H, W, &opt, "latents_out", "pipeline");
        opt.adain_factor = 1.0f;
        upsample_case(be, &up, &set, lat->data, F, H, W, &opt, "latents_out_adain", "AdaIN 1");
        opt = (ltx2_latent_upsample_options){.tone_map_compression_ratio = 0.5f};
        upsample_case(be, &up, &set, lat->data, F, H, W, &opt, "latents_out_tonemap",
                      "tone map 0.5");
        // normalised latents in: the pipeline de-normalises them with the VAE's statistics
        memcpy(normed, lat->data, n * sizeof(float));
        ltx2_vae_normalize(enc, normed, n / cfg.in_channels);
        opt = (ltx2_latent_upsample_options){.latents_normalized = 1,
                                             .latents_mean = enc->latents_mean,
                                             .latents_std = enc->latents_std,
                                             .scaling_factor = enc->cfg.scaling_factor};
        upsample_case(be, &up, &set, normed, F, H, W, &opt, "latents_out", "normalised input");
        opt = (ltx2_latent_upsample_options){.tone_map_compression_ratio = 2};
        CHECK_FAILS(ltx2_latent_upsample(be, &up, normed, F, H, W, &opt, out),
                    "tone_map_compression_ratio", "[0, 1]");
        free(out), free(normed);
    }
    ltx2_latent_upsampler_free(be, &up);
    br_set_free(&set);
}

// --- refusals --------------------------------------------------------------------------------

// The fixture's config.json of folder `name` with key set to the JSON value `value` (NULL:
// removed); the caller deletes it.
static cJSON *edited_config(const char *fixtures, const char *name, const char *key,
                            const char *value) {
    char dir[4096];
    br_checkpoint ck;
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/%s", fixtures, name);
    if (br_ckpt_open(&ck, dir) != BR_OK) return cJSON_CreateObject();
    cJSON *json = cJSON_Duplicate(ck.config, 1);
    br_ckpt_close(&ck);
    cJSON_DeleteItemFromObjectCaseSensitive(json, key);
    if (value) cJSON_AddItemToObject(json, key, cJSON_Parse(value));
    return json;
}

static void test_refusals(const char *fixtures) {
    ltx_vae_config dec;
    ltx2_vae_encoder_config enc;
    ltx2_latent_upsampler_config upc;
    cJSON *j = edited_config(fixtures, "vae", "decoder_spatial_padding_mode", "\"reflect\"");
    CHECK_FAILS(ltx_vae_config_parse(&dec, j, "vae/config.json"), "vae/config.json", "reflect");
    cJSON_Delete(j);
    j = edited_config(fixtures, "vae", "decoder_spatial_padding_mode", NULL);
    CHECK_FAILS(ltx_vae_config_parse(&dec, j, "vae/config.json"), "vae/config.json", "absent");
    cJSON_Delete(j);
    j = edited_config(fixtures, "vae", "upsample_type", "[\"spatial\", \"diagonal\"]");
    CHECK_FAILS(ltx_vae_config_parse(&dec, j, "vae/config.json"), "vae/config.json",
                "\"upsample_type\"");
    cJSON_Delete(j);
    j = edited_config(fixtures, "vae", "downsample_type",
                      "[\"conv\", \"temporal\", \"spatiotemporal\", \"spatiotemporal\"]");
    CHECK_FAILS(ltx2_vae_encoder_config_parse(&enc, j, "vae/config.json"), "vae/config.json",
                "\"downsample_type\" entry 0");
    cJSON_Delete(j);
    j = edited_config(fixtures, "latent_upsampler", "use_rational_resampler", NULL);
    CHECK_FAILS(ltx2_latent_upsampler_config_parse(&upc, j, "latent_upsampler/config.json"),
                "latent_upsampler/config.json", "use_rational_resampler");
    cJSON_Delete(j);

    // Widths the checkpoint does not have: the first tensor of another shape is named.
    char dir[4096];
    br_checkpoint ck;
    br_backend *be = br_backend_cpu();
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vae", fixtures);
    j = edited_config(fixtures, "vae", "decoder_block_out_channels", "[8, 16, 16, 64]");
    ltx_vae vae;
    if (CHECK(br_ckpt_open(&ck, dir) == BR_OK)) {
        CHECK_OK(ltx_vae_config_parse(&dec, j, "vae/config.json"));
        CHECK_FAILS(ltx_vae_load(be, &ck, &dec, &vae), "diffusion_pytorch_model.safetensors",
                    "decoder.conv_in.conv.weight");
        ltx_vae_free(be, &vae);
        br_ckpt_close(&ck);
    }
    cJSON_Delete(j);
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/latent_upsampler", fixtures);
    j = edited_config(fixtures, "latent_upsampler", "mid_channels", "64");
    ltx2_latent_upsampler up;
    if (CHECK(br_ckpt_open(&ck, dir) == BR_OK)) {
        CHECK_OK(ltx2_latent_upsampler_config_parse(&upc, j, "latent_upsampler/config.json"));
        CHECK_FAILS(ltx2_latent_upsampler_load(be, &ck, &upc, &up),
                    "diffusion_pytorch_model.safetensors", "initial_conv.weight");
        ltx2_latent_upsampler_free(be, &up);
        br_ckpt_close(&ck);
    }
    cJSON_Delete(j);
}

// --- CUDA ------------------------------------------------------------------------------------

// The decoder on CUDA in fp32; the encoder and the upsampler refuse CUDA (no space_to_depth or
// group_norm kernels yet) in one line.
static void test_cuda(const char *fixtures, const br_tensor_set *set) {
    if (br_cuda_device_count() == 0) {
        printf("(no GPU visible: the CUDA decode is not run)\n");
        return;
    }
    br_backend *gpu = NULL;
    CHECK_OK(br_backend_open("cuda", "fp32", "auto", 0, 0, &gpu));
    if (!gpu) return;
    test_decode(gpu, fixtures, set, 0);
    char dir[4096];
    br_checkpoint ck;
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vae", fixtures);
    ltx2_vae_encoder_config cfg;
    ltx2_vae_encoder enc;
    if (CHECK(br_ckpt_open(&ck, dir) == BR_OK)) {
        CHECK_OK(ltx2_vae_encoder_config_parse(&cfg, ck.config, "vae/config.json"));
        if (!gpu->space_to_depth)
            CHECK_FAILS(ltx2_vae_encoder_load(gpu, &ck, &cfg, &enc), "space_to_depth", "cuda");
        ltx2_vae_encoder_free(gpu, &enc);
        br_ckpt_close(&ck);
    }
    br_backend_close(gpu);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_ltx2_vae FIXTURES\n");
        return 2;
    }
    br_tensor_set set;
    if (read_case(argv[1], "case_vae", &set)) {
        test_decode(br_backend_cpu(), argv[1], &set, 1);
        test_cuda(argv[1], &set);
    }
    br_set_free(&set);
    ltx2_vae_encoder enc = {0};
    if (load_encoder(argv[1], &enc)) {
        test_encode(argv[1], &enc);
        test_upsample(argv[1], &enc); // its normalised input takes the VAE's statistics
    }
    ltx2_vae_encoder_free(br_backend_cpu(), &enc);
    test_refusals(argv[1]);
    return check_summary();
}
