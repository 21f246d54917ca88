// qwen_vae.h: AutoencoderKLQwenImage (the VAE of Qwen-Image, Qwen-Image-Edit and FireRed-Image-
// Edit) on one frame: the encoder (image -> latent mean, what the edit pipeline uses) and the
// decoder (latents -> image), on a br_backend. On a single frame every causal 3x3x3 convolution
// meets data only through its last temporal tap (the two frames before are zero padding), so it
// is a 2-D 3x3 convolution with that slice of the weights, and the temporal convolutions of the
// resamplers are skipped (they only fill a cache on the first frame): the same arithmetic as the
// reference's first-frame pass. Activations are channels-last [H, W, C] inside a run (so that
// the norms, SiLU and the linear op apply as they are); each 3x3 convolution is im2col + linear,
// by chunks of output pixels so that the im2col workspace stays bounded.
// What it leaves out: video (more than one frame); tiles (one image is one piece).
// Legend: C channels (z latent channels), H, W pixels or latent cells, base the config's
// base_dim; the encoder's widths base x [1, dim_mult...], the decoder's base x [dim_mult[-1],
// reversed dim_mult...].
#ifndef BR_QWEN_VAE_H
#define BR_QWEN_VAE_H

#include "core/backend.h"
#include "io/checkpoint.h"
#include "nn/linear.h"

enum { QWEN_VAE_MAX_LEVELS = 8, QWEN_VAE_MAX_Z = 64 };

typedef struct {
    int base_dim, z_dim, num_res_blocks, input_channels;
    int levels;                           // len(dim_mult)
    int dim_mult[QWEN_VAE_MAX_LEVELS];
    float latents_mean[QWEN_VAE_MAX_Z];   // the pipeline's normalisation of the latents
    float latents_std[QWEN_VAE_MAX_Z];
} qwen_vae_config;

// config.json -> cfg (path names the file in errors); refuses what is not implemented.
br_status qwen_vae_config_parse(qwen_vae_config *cfg, const cJSON *json, const char *path);
// Opens dir (config.json + weights; or random:qwen-image, random weights of the real shape, for
// benchmarks) and parses its config.
br_status qwen_vae_open(const char *dir, br_checkpoint *ck, qwen_vae_config *cfg);

// A 3x3 (taps 9) or 1x1 (taps 1) convolution as a linear: weight [C_out, taps * C_in], column
// tap * C_in + c, storage dtype; bias [C_out].
typedef struct {
    nn_linear l;
    int taps;
} qwen_vae_conv;

// QwenImageResidualBlock: x + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))), through conv_shortcut
// when the width changes.
typedef struct {
    int c_in, c_out;
    float *norm1, *norm2;       // [C_in], [C_out]: the RMS norms' gamma
    qwen_vae_conv conv1, conv2; // 3x3
    qwen_vae_conv shortcut;     // 1x1, when c_in != c_out
} qwen_vae_res;

// The middle block: res, single-head attention over the pixels, res.
typedef struct {
    qwen_vae_res res[2];
    float *attn_norm;             // [C]
    nn_linear to_q, to_k, to_v;   // to_qkv's three thirds: [C, C] each
    nn_linear proj;               // [C, C]
} qwen_vae_mid;

typedef struct {
    qwen_vae_config cfg;
    // encoder
    qwen_vae_conv enc_conv_in;                     // 3 -> base
    qwen_vae_res *enc_res;                          // [levels * num_res_blocks]
    qwen_vae_conv enc_down[QWEN_VAE_MAX_LEVELS];   // after each level but the last: stride 2
    qwen_vae_mid enc_mid;
    float *enc_norm_out;
    qwen_vae_conv enc_conv_out;                    // -> 2z
    qwen_vae_conv quant_conv;                      // 1x1, 2z -> 2z: (mean | logvar)
    // decoder
    qwen_vae_conv post_quant_conv;                 // 1x1, z -> z
    qwen_vae_conv dec_conv_in;                     // z -> the first width
    qwen_vae_mid dec_mid;
    qwen_vae_res *dec_res;                          // [levels * (num_res_blocks + 1)]
    qwen_vae_conv dec_up[QWEN_VAE_MAX_LEVELS];     // after each up block but the last: C -> C/2
    float *dec_norm_out;
    qwen_vae_conv dec_conv_out;                    // -> 3
} qwen_vae;

// Loads the encoder and/or the decoder (whichever is asked for) onto be. Errors name the file and
// tensor. qwen_vae_free is safe on a partly loaded vae.
br_status qwen_vae_load(br_backend *be, br_checkpoint *ck, const qwen_vae_config *cfg,
                        int encoder, int decoder, qwen_vae *vae);
void qwen_vae_free(br_backend *be, qwen_vae *vae);

// Encodes image (host, [3, H, W] in [-1, 1], channels first as the pipeline's tensor; H and W
// multiples of 8) into the latent mean (host, [z, H/8, W/8]: the mode, what the edit pipeline
// takes), not yet normalised.
br_status qwen_vae_encode(br_backend *be, const qwen_vae *vae, const float *image, int H, int W,
                          float *mean);
// Decodes latents (host, [z, h, w], de-normalised) into image (host, [3, 8h, 8w]), clamped to
// [-1, 1] when clamp is set (as the reference's whole-image decode; its tiled decode clamps
// nothing before the tiles are blended).
br_status qwen_vae_decode(br_backend *be, const qwen_vae *vae, const float *latents, int h, int w,
                          int clamp, float *image);
// Device bytes a decode to H x W pixels allocates besides the weights (an upper bound).
size_t qwen_vae_decode_bytes(const qwen_vae_config *cfg, int H, int W);

#endif
