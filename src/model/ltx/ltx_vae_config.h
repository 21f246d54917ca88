// ltx_vae_config.h: the hyper-parameters of AutoencoderKLLTXVideo's decoder, or of
// AutoencoderKLLTX2Video's (LTX-2), read from a diffusers config.json (the encoder's keys are
// ignored) with the class's defaults for absent keys, and the decoder's layout derived from them:
// the up blocks in the order the decoder runs them (config.json lists them in the encoder's
// order; the decoder reverses every list but LTX-2's upsample_type) with the channels each one
// receives and gives. LTX-2's decoder is LTX-Video's with other defaults, upsamplers that may
// double time or space alone (upsample_type), a plain Conv3d as the ResNets' 1x1x1 shortcut, and
// a spatial padding mode. Parsing rejects, naming the file and the key, what the reference cannot
// run and what brigade does not implement (patch_size_t != 1; LTX-2.0's "reflect" padding).
// Legend: C channels; F, H, W latent frames, rows, columns.
#ifndef BR_LTX_VAE_CONFIG_H
#define BR_LTX_VAE_CONFIG_H

#include "core/status.h"
#include "io/checkpoint.h"

typedef struct cJSON cJSON;

enum {
    LTX_VAE_MAX_BLOCKS = 8,      // up blocks (released checkpoints: 3 or 4)
    LTX_VAE_MAX_LAYERS = 64,     // ResNets per block (released: at most 8)
    LTX_VAE_TIME_CHANNELS = 256, // sinusoid width of every time embedder
};

// One up block, in the decoder's order.
typedef struct {
    int c_in;         // channels it receives
    int c_out;        // channels of its ResNets and of what it gives on
    int layers;       // ResNets after the upsampler
    int conv_in;      // a ResNet c_in -> c_out first (the width changes; factor 1 only)
    int upsample;     // depth-to-space (decoder_spatio_temporal_scaling), by:
    int stride_t;     // 2 or 1 in time and
    int stride_s;     // 2 or 1 in height and width (upsample_type: LTX-Video always 2, 2)
    int residual;     // the upsampler adds its own input, shuffled (upsample_residual)
    int factor;       // upsample_factor: the upsampler's conv maps c_out*factor ->
                      // stride_t*stride_s^2*c_out (8*c_out in LTX-Video)
    int inject_noise; // its ResNets add seeded spatial noise (decoder_inject_noise)
} ltx_vae_up_block;

typedef struct {
    int ltx2; // the class is AutoencoderKLLTX2Video

    // As config.json spells them, in its (the encoder's) block order.
    int latent_channels;  // C_lat (128 in LTX-Video)
    int out_channels;     // 3
    int patch_size;       // 4: the unpatchify's spatial factor
    int patch_size_t;     // 1 (the only value implemented: every release uses it)
    int n_blocks;         // entries of decoder_block_out_channels
    int decoder_block_out_channels[LTX_VAE_MAX_BLOCKS];
    int decoder_layers_per_block[LTX_VAE_MAX_BLOCKS + 1]; // n_blocks + 1: the last is the mid block's
    int decoder_spatio_temporal_scaling[LTX_VAE_MAX_BLOCKS];
    int decoder_inject_noise[LTX_VAE_MAX_BLOCKS + 1];     // n_blocks + 1, as the layers
    int upsample_residual[LTX_VAE_MAX_BLOCKS];
    int upsample_factor[LTX_VAE_MAX_BLOCKS];
    int timestep_conditioning; // the decoder takes decode_timestep (0.9.1 and later)
    int decoder_causal;        // time padding: 2 copies of the first frame (else 1 + 1 of the last)
    float resnet_norm_eps;     // eps of the shortcut LayerNorm
    float scaling_factor;      // latents are de-normalised as x * std / scaling_factor + mean

    // Derived: the decoder's layout.
    int mid_channels;     // conv_in's output, the mid block's width
    int mid_layers;       // ResNets of the mid block
    int mid_inject_noise;
    ltx_vae_up_block up[LTX_VAE_MAX_BLOCKS]; // n_blocks, in the order the decoder runs them
    int final_channels;   // into norm_out and conv_out
    int n_upsamplers;     // up blocks that upsample, of which
    int n_up_time;        // n_up_time double the frames: Fo = 2^n_up_time (F - 1) + 1, and
    int n_up_space;       // n_up_space the rows and columns: Ho = 2^n_up_space * patch_size * H
} ltx_vae_config;

// Fills cfg from the parsed config.json (path names the file in errors).
br_status ltx_vae_config_parse(ltx_vae_config *cfg, const cJSON *json, const char *path);

// Opens a VAE checkpoint folder (config.json + weights) and parses its config.
br_status ltx_vae_open(const char *dir, br_checkpoint *ck, ltx_vae_config *cfg);

#endif
