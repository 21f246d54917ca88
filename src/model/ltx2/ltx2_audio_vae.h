// ltx2_audio_vae.h: LTX-2's audio VAE decoder (the decoder of diffusers' AutoencoderKLLTX2Audio),
// audio latents -> mel spectrogram, on the host with the CPU kernels. In the audio path it comes
// after the transformer (whose packed tokens ltx2_audio_vae_unpack de-normalises and unpacks) and
// before the vocoder (ltx2_vocoder.h), as in LTX2Pipeline.
// A 2-D network over (time, mel bin): conv_in; a middle of two ResNet blocks; levels of ResNet
// blocks with a nearest x2 upsampling and a convolution between them; pixel norm, SiLU, conv_out.
// Every 3x3 convolution is causal in time (two zero rows before, none after; one zero column on
// each side) and each upsampler drops its first row, so L latent frames become 4L - 3 mel frames.
// A ResNet block: x + conv2(SiLU(norm(conv1(SiLU(norm(x)))))), through a 1x1 shortcut when the
// width changes; norm is the pixel norm x / sqrt(mean over channels of x^2 + 1e-6).
// Activations are channels-last [T, F, C] inside (each pixel's channels are a row, so that a
// convolution is gathered rows times a matrix, ltx2_conv_rows.h); the API takes and gives the
// reference's channels-first tensors without the batch.
// Left out, refused by the config parser naming config.json: the encoder; GroupNorm; attention
// blocks; causality axes other than "height" (no release uses them). Batch 1.
// Legend: C channels, L latent frames, M latent mel bins (mel_bins / 4), T mel frames, F mel bins.
#ifndef BR_LTX2_AUDIO_VAE_H
#define BR_LTX2_AUDIO_VAE_H

#include "io/checkpoint.h"

enum { LTX2_AUDIO_VAE_MAX_LEVELS = 8 };

typedef struct {
    int base_channels, latent_channels, output_channels, num_res_blocks;
    int levels; // entries of ch_mult
    int ch_mult[LTX2_AUDIO_VAE_MAX_LEVELS];
    int mel_bins;        // F: the decoded spectrogram's bins
    int latent_mel_bins; // M = mel_bins / 4, the latents' (the pipeline's compression ratio 4)
    int sample_rate, mel_hop_length; // of the mel frames: 16000 / 160 = 100 frames per second
} ltx2_audio_vae_config;

// A convolution as a product: w [C_out, taps * C_in], column (kh*3 + kw)*C_in + c of a 3x3 kernel
// (taps 9), as cpu_im2col_2d lays out its rows; b [C_out].
typedef struct {
    int c_in, c_out, taps;
    float *w, *b;
} ltx2_audio_conv;

typedef struct {
    int c_in, c_out;
    ltx2_audio_conv conv1, conv2; // 3x3
    ltx2_audio_conv shortcut;     // 1x1 (nin_shortcut), when c_in != c_out
} ltx2_audio_res;

typedef struct {
    ltx2_audio_vae_config cfg;
    float *latents_mean, *latents_std; // [C*M]: per packed feature c*M + m (the checkpoint's
                                       // [base_channels], which equals C*M)
    ltx2_audio_conv conv_in;           // C -> base * ch_mult[levels - 1]
    ltx2_audio_res mid[2];
    ltx2_audio_res *blocks;            // [levels * (num_res_blocks + 1)] in the order the decoder
                                       // runs them: level levels-1 first (up.{levels-1}), up.0 last
    ltx2_audio_conv upsample[LTX2_AUDIO_VAE_MAX_LEVELS]; // after run-order level i < levels - 1
    ltx2_audio_conv conv_out;          // base * ch_mult[0] -> output_channels
} ltx2_audio_vae;

// config.json -> cfg (path names the file in errors); refuses what is not implemented.
br_status ltx2_audio_vae_config_parse(ltx2_audio_vae_config *cfg, const cJSON *json,
                                      const char *path);
// Opens dir (a diffusers audio_vae/ folder) and loads the decoder and the latent statistics.
// Errors name config.json or the checkpoint file and tensor; on failure nothing stays allocated.
br_status ltx2_audio_vae_open(const char *dir, ltx2_audio_vae *vae);
// The same from an open checkpoint (path: its config.json, for messages).
br_status ltx2_audio_vae_load(br_checkpoint *ck, const char *path, ltx2_audio_vae *vae);
void ltx2_audio_vae_free(ltx2_audio_vae *vae);

// T, the mel frames of L latent frames: max(4L - 3, 1).
int ltx2_audio_vae_frames(const ltx2_audio_vae *vae, int L);
// packed[L, C*M] (the transformer's audio tokens, normalised; feature c*M + m) ->
// latents[C, L, M] = packed * latents_std + latents_mean (two fp32 roundings, as the pipeline).
void ltx2_audio_vae_unpack(const ltx2_audio_vae *vae, const float *packed, int L,
                           float *latents);
// latents[C, L, M] (de-normalised, unpacked) -> mel[output_channels, T, F] (T from
// ltx2_audio_vae_frames; the decoder's rows and bins beyond T and F cut, any missing zeros).
br_status ltx2_audio_vae_decode(const ltx2_audio_vae *vae, const float *latents, int L,
                                float *mel);

#endif
