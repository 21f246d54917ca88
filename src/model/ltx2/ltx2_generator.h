// ltx2_generator.h: one LTX2Vocoder of diffusers (a HiFi-GAN / BigVGAN generator), mel frames ->
// waveform, on the host with the CPU kernels. conv_in (7 taps); per stage: a leaky ReLU (LTX-2.0
// only), a transposed convolution that upsamples by the stage's factor and halves the channels,
// then the mean of the stage's ResBlocks, each run on that same signal (a ResBlock: for each of
// its dilations, x += conv2(act2(conv1(act1(x))))); act_out; conv_out (7 taps); tanh, clamp or
// nothing. LTX-2.0's vocoder is one generator; LTX-2.3's holds two (ltx2_vocoder.h).
// Signals are channels-last [N, C] inside; the API takes and gives channels-first arrays, the
// reference's tensors without the batch.
// Legend: S mel channels (stereo: 2), T mel frames, M mel bins, N samples, C channels.
#ifndef BR_LTX2_GENERATOR_H
#define BR_LTX2_GENERATOR_H

#include "io/checkpoint.h"
#include "ltx2_conv1d.h"
#include "ltx2_vocoder_act.h"
#include "ltx2_vocoder_config.h"

// The longest waveform a run gives, samples per channel (93 minutes at 48 kHz): lengths, and
// the extender's rate ratio times them, stay far inside an int.
enum { LTX2_VOC_MAX_SAMPLES = 1 << 28 };

typedef struct {
    int pairs; // entries of the ResBlock's dilations
    ltx2_conv1d conv1[LTX2_VOC_MAX_DILATIONS]; // dilation d_j
    ltx2_conv1d conv2[LTX2_VOC_MAX_DILATIONS]; // dilation 1
    ltx2_act act1[LTX2_VOC_MAX_DILATIONS], act2[LTX2_VOC_MAX_DILATIONS];
} ltx2_resblock;

typedef struct {
    ltx2_generator_config cfg;
    ltx2_conv1d conv_in;                           // in_channels -> hidden
    ltx2_conv_transpose1d up[LTX2_VOC_MAX_STAGES]; // stage i: hidden/2^i -> hidden/2^(i+1)
    ltx2_resblock *res;                            // [stages * kernels]: stage i's r-th at i*kernels + r
    ltx2_act act_out;       // anti-aliased SnakeBeta, or a leaky ReLU of slope 0.01 (not the config's)
    ltx2_conv1d conv_out;   // hidden/2^stages -> out_channels
} ltx2_generator;

// The weights under prefix ("vocoder.", "bwe_generator." or "" for a plain LTX2Vocoder); errors
// name the file and tensor. ltx2_generator_free is safe on a partly loaded generator.
br_status ltx2_generator_load(br_checkpoint *ck, const char *prefix,
                              const ltx2_generator_config *cfg, ltx2_generator *g);
void ltx2_generator_free(ltx2_generator *g);
// N, the samples per channel of T mel frames (T * the product of the factors, for the releases);
// a run refuses more than LTX2_VOC_MAX_SAMPLES.
int ltx2_generator_samples(const ltx2_generator *g, int T);
// mel[S, T, M] (S*M = in_channels; input channel s*M + m, the reference's transpose and
// flatten) -> wave[out_channels, N].
br_status ltx2_generator_run(const ltx2_generator *g, const float *mel, int S, int T, int M,
                             float *wave);

#endif
