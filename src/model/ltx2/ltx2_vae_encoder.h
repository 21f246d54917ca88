// ltx2_vae_encoder.h: the encoder of LTX-2's video VAE (LTX2VideoEncoder3d, in diffusers'
// AutoencoderKLLTX2Video), video -> latents, on a br_backend: what image-to-video needs to put
// the condition image into latent frame 0. Its decoder is LTX-Video's (src/model/ltx/ltx_vae.h).
// The network: patchify (p x p pixels become 3 p^2 channels), conv_in, down blocks of ResNets
// each followed by a downsampler, a mid block of ResNets, RMSNorm, SiLU, conv_out giving the
// latent mean and one shared log-variance channel. Every 3x3x3 convolution is causal in time (the
// first frame repeated twice in front; encoder_causal) with zero padding in height and width. A
// ResNet: x + conv2(SiLU(norm(conv1(SiLU(norm(x)))))), norm = x / sqrt(mean over channels of
// x^2 + 1e-8). A downsampler by (st, ss, ss): st - 1 copies of frame 0 in front, then the sum of
// space-to-depth(conv(x)) and the space-to-depth of x itself averaged over runs of channels.
// Activations are channels-last [F, H, W, C] inside; the API takes and gives the reference's
// channels-first tensors without the batch (batch 1).
// Left out, refused by the config parser naming config.json: downsample_type "conv", blocks that
// change width without downsampling, padding modes other than zeros, patch_size_t != 1; tiled
// encoding (one piece); the CUDA backend, which has no space_to_depth op yet.
// Legend: C channels (C_lat latent); F, H, W video frames, rows, columns; Fl, Hl, Wl latent ones;
// p patch size.
#ifndef BR_LTX2_VAE_ENCODER_H
#define BR_LTX2_VAE_ENCODER_H

#include <stddef.h>

#include "core/backend.h"
#include "io/checkpoint.h"
#include "model/ltx/ltx_vae_conv.h"

typedef struct cJSON cJSON;

enum { LTX2_VAE_MAX_DOWN = 8, LTX2_VAE_MAX_LAYERS = 64 };

// One down block: ResNets c_in -> c_in, then the downsampler c_in -> c_out (when st ss > 1).
typedef struct {
    int c_in, c_out;
    int layers;
    int st, ss; // the downsampler's factors in time and in height and width (1, 1: none)
    int conv_channels; // its convolution's width: c_out / (st ss^2)
    int group;         // channels of the shuffled input averaged into one: c_in st ss^2 / c_out
} ltx2_vae_down_block;

typedef struct {
    int in_channels;     // 3
    int latent_channels; // C_lat: conv_in's width, conv_out gives C_lat + 1
    int patch_size;      // p
    int causal;          // encoder_causal
    int n_blocks;
    ltx2_vae_down_block down[LTX2_VAE_MAX_DOWN];
    int mid_channels, mid_layers;
    int time_factor, space_factor; // the compression: Fl = (F - 1) / time + 1, Hl = H / space
    float scaling_factor;          // latents are normalised as (x - mean) * scaling_factor / std
} ltx2_vae_encoder_config;

typedef struct {
    ltx_vae_conv conv1, conv2; // [C, C, 3, 3, 3]
} ltx2_vae_resnet;

typedef struct {
    ltx2_vae_encoder_config cfg;
    ltx_vae_conv conv_in;                      // [C_lat, 3 p^2, 3, 3, 3]
    ltx2_vae_resnet *resnets;                  // every down block's, in order, then the mid block's
    ltx_vae_conv downsampler[LTX2_VAE_MAX_DOWN]; // [conv_channels, c_in, 3, 3, 3]
    ltx_vae_conv conv_out;                     // [C_lat + 1, C_mid, 3, 3, 3]
    float *latents_mean, *latents_std;         // [C_lat] host
} ltx2_vae_encoder;

// The encoder's keys of an AutoencoderKLLTX2Video config.json (path names the file in errors).
br_status ltx2_vae_encoder_config_parse(ltx2_vae_encoder_config *cfg, const cJSON *json,
                                        const char *path);
// Loads encoder.* onto be and the latent statistics onto the host (ck: the VAE's folder, opened
// with ltx_vae_open or br_ckpt_open). Refuses a backend without space_to_depth. Errors name the
// checkpoint file and tensor; ltx2_vae_encoder_free is safe on a partly loaded encoder.
br_status ltx2_vae_encoder_load(br_backend *be, br_checkpoint *ck,
                                const ltx2_vae_encoder_config *cfg, ltx2_vae_encoder *enc);
void ltx2_vae_encoder_free(br_backend *be, ltx2_vae_encoder *enc);

// The latent grid of a video of F frames of H x W, or a one-line error naming the sizes when the
// encoder cannot take it (F must be 1 + a multiple of time_factor, H and W multiples of
// space_factor, as the reference's reshapes need).
br_status ltx2_vae_latent_size(const ltx2_vae_encoder_config *cfg, int F, int H, int W, int *Fl,
                               int *Hl, int *Wl);
// video[3, F, H, W] (host, in [-1, 1]) -> mean[C_lat, Fl, Hl, Wl], the distribution's mode (what
// image-to-video takes), and logvar (may be NULL) [C_lat, Fl, Hl, Wl]: the shared channel,
// clamped to [-30, 20] and repeated. Fails (BR_ENOMEM) when the workspace does not fit.
br_status ltx2_vae_encode(br_backend *be, const ltx2_vae_encoder *enc, const float *video, int F,
                          int H, int W, float *mean, float *logvar);
// The pipeline's normalisation, in place on latents[C_lat, cells] (host, channels first):
// (x - latents_mean) * scaling_factor / latents_std, each step rounded to fp32 as torch does.
void ltx2_vae_normalize(const ltx2_vae_encoder *enc, float *latents, size_t cells);

#endif
