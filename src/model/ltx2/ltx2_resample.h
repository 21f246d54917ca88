// ltx2_resample.h: anti-aliased resampling of channels-last signals x[T, C] by an integer ratio,
// as diffusers' LTX-2 vocoder does it (BigVGAN's UpSample1d / DownSample1d), each channel
// filtered alone with replicate padding. The upsampler is ratio * conv_transpose1d of a low-pass
// filter with stride ratio, cropped to ratio*T samples; the downsampler a conv1d of one with
// stride ratio. The anti-aliased activations use Kaiser-windowed sinc filters (buffers in the
// checkpoint); LTX2VocoderWithBWE's x3 skip path a Hann-windowed sinc that the reference computes
// at construction (not in the checkpoint), and so does brigade, in the same fp32 steps.
// Legend: T input samples, C channels, K taps.
#ifndef BR_LTX2_RESAMPLE_H
#define BR_LTX2_RESAMPLE_H

#include "io/checkpoint.h"

typedef struct {
    int ratio, taps;
    int pad;      // input samples replicated before and after
    int crop;     // transposed-convolution outputs dropped before the first kept one
    float *filter; // [K]
} ltx2_upsampler;

typedef struct {
    int ratio, taps;
    int pad_left;  // input samples replicated before (K - 1 - pad_left after)
    float *filter; // [K]
} ltx2_downsampler;

// UpSample1d / DownSample1d with the Kaiser filter `name` [1, 1, K] of the checkpoint; K >= ratio.
br_status ltx2_upsampler_load(br_checkpoint *ck, const char *name, int ratio, int taps,
                              ltx2_upsampler *u);
br_status ltx2_downsampler_load(br_checkpoint *ck, const char *name, int ratio, int taps,
                                ltx2_downsampler *d);
// UpSample1d(window_type="hann"): 2*7*ratio + 1 taps of sinc(t) cos^2(pi t / 12) * 0.99 / ratio,
// t = (n / ratio - 7) * 0.99 (rolloff 0.99, 6 zero crossings).
br_status ltx2_upsampler_hann(int ratio, ltx2_upsampler *u);
void ltx2_upsampler_free(ltx2_upsampler *u);
void ltx2_downsampler_free(ltx2_downsampler *d);

// y[ratio*T, C] = the upsampled x[T, C].
void ltx2_upsample(const ltx2_upsampler *u, const float *x, int T, int C, float *y);
// y[(N - 1) / ratio + 1, C] = the downsampled x[N, C].
void ltx2_downsample(const ltx2_downsampler *d, const float *x, int N, int C, float *y);

#endif
