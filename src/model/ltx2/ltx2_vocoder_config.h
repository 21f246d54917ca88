// ltx2_vocoder_config.h: the hyper-parameters of LTX-2's vocoders, read from a diffusers
// config.json with the reference's defaults for absent keys: LTX2Vocoder (LTX-2.0: one
// generator, leaky ReLU, tanh out, 24 kHz) or LTX2VocoderWithBWE (LTX-2.3: a generator at 16 kHz
// with anti-aliased SnakeBeta, then a bandwidth extender: a second generator of the same kind on
// the causal log-mel of the first one's waveform, added to that waveform resampled, 48 kHz).
// Refused, naming the file and the key: what the reference cannot run, and the combinations no
// release uses and brigade leaves out (act_fn "snake", SnakeBeta without anti-aliasing, leaky
// ReLU with it).
#ifndef BR_LTX2_VOCODER_CONFIG_H
#define BR_LTX2_VOCODER_CONFIG_H

#include "core/status.h"

typedef struct cJSON cJSON;

enum { LTX2_VOC_MAX_STAGES = 8, LTX2_VOC_MAX_KERNELS = 8, LTX2_VOC_MAX_DILATIONS = 8 };

typedef enum { LTX2_VOC_FINAL_NONE, LTX2_VOC_FINAL_TANH, LTX2_VOC_FINAL_CLAMP } ltx2_voc_final;

// One LTX2Vocoder (a HiFi-GAN / BigVGAN generator), keys as config.json spells them.
typedef struct {
    int in_channels, hidden_channels, out_channels;
    int stages; // entries of upsample_factors (and of upsample_kernel_sizes)
    int upsample_kernel_sizes[LTX2_VOC_MAX_STAGES], upsample_factors[LTX2_VOC_MAX_STAGES];
    int kernels; // ResBlocks per stage: entries of resnet_kernel_sizes (and resnet_dilations)
    int resnet_kernel_sizes[LTX2_VOC_MAX_KERNELS];
    int dilations[LTX2_VOC_MAX_KERNELS]; // convolution pairs of each ResBlock
    int resnet_dilations[LTX2_VOC_MAX_KERNELS][LTX2_VOC_MAX_DILATIONS];
    int snake;           // act_fn "snakebeta" with antialias; 0: "leaky_relu" without
    float leaky_slope;   // leaky_relu_negative_slope
    int antialias_ratio, antialias_kernel_size;
    ltx2_voc_final final_act; // final_act_fn
    int final_bias;
} ltx2_generator_config;

typedef struct {
    int bwe;                  // LTX2VocoderWithBWE (else LTX2Vocoder)
    ltx2_generator_config vocoder;       // the generator (BWE: the first one, at the input rate)
    ltx2_generator_config bwe_generator; // BWE only, as the keys below
    int filter_length, hop_length, window_length, num_mel_channels;
    int input_sampling_rate;  // the first generator's rate; output / input is an integer
    int output_sampling_rate; // the waveform's
} ltx2_vocoder_config;

// Fills cfg from the parsed config.json (path names the file in errors).
br_status ltx2_vocoder_config_parse(ltx2_vocoder_config *cfg, const cJSON *json,
                                    const char *path);

#endif
