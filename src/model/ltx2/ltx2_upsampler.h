// ltx2_upsampler.h: LTX-2's latent upsampler (LTX2LatentUpsamplerModel) and what
// LTX2LatentUpsamplePipeline does around it with output_type="latent", on a br_backend: the
// latents of a first, smaller generation become latents twice as wide and high, which a second
// stage refines. It sits between two transformer runs, on de-normalised latents.
// The network (dims 3): conv_in (Conv3d), GroupNorm, SiLU; ResBlocks; per frame a Conv2d to 4 C
// channels and a pixel shuffle x2 in height and width; ResBlocks; final_conv (Conv3d). Every
// convolution is 3x3(x3) with zero padding 1 on every axis (time included: not causal).
// ResBlock: h = SiLU(norm1(conv1(x))); out = SiLU(norm2(conv2(h)) + x), the norms GroupNorm(32
// groups, eps 1e-5) with their statistics over a group's channels and all frames and pixels.
// The pipeline around it: de-normalise the latents first when they are normalised; after, AdaIN
// toward the input's per-channel statistics (adain_factor) and a sigmoid tone map
// (tone_map_compression_ratio), each when its factor is above 0.
// Left out, refused by the config parser naming config.json: dims 2, temporal upsampling, the
// rational resampler (LTX-2.0's, use_rational_resampler); the pipeline's video input (it encodes
// a video first: the caller can with ltx2_vae_encode) and its decode; the CUDA backend, which has
// no group_norm op yet. Batch 1. Activations are channels-last [F, H, W, C] inside; the API takes
// and gives the reference's channels-first latents without the batch.
// Legend: C latent channels; M mid_channels; F, H, W latent frames, rows, columns.
#ifndef BR_LTX2_UPSAMPLER_H
#define BR_LTX2_UPSAMPLER_H

#include <stddef.h>

#include "core/backend.h"
#include "io/checkpoint.h"
#include "model/ltx/ltx_vae_conv.h"

typedef struct cJSON cJSON;

enum { LTX2_LATENT_UPSAMPLER_GROUPS = 32 }; // of every GroupNorm

typedef struct {
    int in_channels;  // C
    int mid_channels; // M, a multiple of 32
    int blocks;       // num_blocks_per_stage: ResBlocks before and after the upsampling
} ltx2_latent_upsampler_config;

typedef struct {
    ltx_vae_conv conv1, conv2;        // [M, M, 3, 3, 3]
    float *norm1_weight, *norm1_bias; // [M]
    float *norm2_weight, *norm2_bias; // [M]
} ltx2_latent_upsampler_block;

typedef struct {
    ltx2_latent_upsampler_config cfg;
    ltx_vae_conv initial_conv;                      // [M, C, 3, 3, 3]
    float *initial_norm_weight, *initial_norm_bias; // [M]
    ltx2_latent_upsampler_block *res; // [2 blocks]: res_blocks, then post_upsample_res_blocks
    ltx_vae_conv upsampler;           // upsampler.0: Conv2d [4 M, M, 3, 3]
    ltx_vae_conv final_conv;          // [C, M, 3, 3, 3]
} ltx2_latent_upsampler;

// config.json -> cfg (path names the file in errors); refuses what is not implemented.
br_status ltx2_latent_upsampler_config_parse(ltx2_latent_upsampler_config *cfg,
                                             const cJSON *json, const char *path);
// Opens dir (a diffusers latent_upsampler/ folder) and parses its config; ck stays open on
// success (br_ckpt_close it after loading).
br_status ltx2_latent_upsampler_open(const char *dir, br_checkpoint *ck,
                                     ltx2_latent_upsampler_config *cfg);
// Loads the weights onto be; refuses a backend without group_norm. Errors name the checkpoint
// file and tensor; ltx2_latent_upsampler_free is safe on a partly loaded model.
br_status ltx2_latent_upsampler_load(br_backend *be, br_checkpoint *ck,
                                     const ltx2_latent_upsampler_config *cfg,
                                     ltx2_latent_upsampler *up);
void ltx2_latent_upsampler_free(br_backend *be, ltx2_latent_upsampler *up);

// The model alone: latents[C, F, H, W] (host) -> out[C, F, 2H, 2W] (host).
br_status ltx2_latent_upsampler_forward(br_backend *be, const ltx2_latent_upsampler *up,
                                        const float *latents, int F, int H, int W, float *out);

// LTX2LatentUpsamplePipeline's options (its __call__ defaults: all 0 / NULL).
typedef struct {
    int latents_normalized;                  // the latents are normalised: de-normalise them with
    const float *latents_mean, *latents_std; // [C] the VAE's statistics and
    float scaling_factor;                    // its scaling_factor first
    float adain_factor;               // > 0: AdaIN toward the input's statistics, lerped by it
    float tone_map_compression_ratio; // in [0, 1]; > 0: the sigmoid compression of the result
} ltx2_latent_upsample_options;

// The pipeline with output_type="latent": latents[C, F, H, W] (host) -> out[C, F, 2H, 2W],
// de-normalised (never re-normalised: the pipeline returns them so). Fails naming the option
// on a tone map ratio outside [0, 1] or normalised latents without statistics.
br_status ltx2_latent_upsample(br_backend *be, const ltx2_latent_upsampler *up,
                               const float *latents, int F, int H, int W,
                               const ltx2_latent_upsample_options *opt, float *out);
// AdaIN in place: for each channel c of u[C, n_u], y = (u - mean(u_c)) / std(u_c) * std(r_c) +
// mean(r_c) with r = ref[C, n_ref] (std unbiased), then u = lerp(u, y, factor) as torch.lerp.
void ltx2_latent_upsample_adain(float *u, const float *ref, int C, size_t n_u, size_t n_ref,
                                float factor);
// Tone map in place: s = 0.75 compression, u *= 1 - 0.8 s sigmoid(4 s (|u| - 1)).
void ltx2_latent_upsample_tone_map(float *u, size_t n, float compression);

#endif
