// ltx2_vocoder.h: LTX-2's vocoders, mel spectrogram -> stereo waveform, on the host with the
// CPU kernels; the last step of the audio path (latents -> ltx2_audio_vae -> mel -> here).
// The config picks the kind:
// - LTX2Vocoder (LTX-2.0): one generator (ltx2_generator.h), 24 kHz.
// - LTX2VocoderWithBWE (LTX-2.3): the generator gives a 16 kHz waveform x (zero-padded at the end
//   to a multiple of hop_length); its causal log-mel (ltx2_stft.h) feeds a second generator, the
//   bandwidth extender, whose output is a residual over x resampled by output/input rate with a
//   Hann-windowed sinc (ltx2_resample.h): clamp(residual + skip, -1, 1), cut to N * rate ratio
//   samples, 48 kHz.
// Batch 1. Legend: S mel channels (stereo: 2), T mel frames, M mel bins, N samples per channel.
#ifndef BR_LTX2_VOCODER_H
#define BR_LTX2_VOCODER_H

#include "io/checkpoint.h"
#include "ltx2_generator.h"
#include "ltx2_resample.h"
#include "ltx2_stft.h"
#include "ltx2_vocoder_config.h"

typedef struct {
    ltx2_vocoder_config cfg;
    ltx2_generator vocoder;     // the generator (BWE: the first one, at the input rate)
    ltx2_generator bwe;         // BWE only, as the three below
    ltx2_mel_stft stft;         // the extender's input: log-mel [S, frames, num_mel_channels]
    ltx2_upsampler resampler;   // x (output / input rate), the skip path
} ltx2_vocoder;

// Opens dir (config.json + weights: a diffusers vocoder/ folder) and loads every weight. Errors
// name config.json or the checkpoint file and tensor; on failure nothing stays allocated.
br_status ltx2_vocoder_open(const char *dir, ltx2_vocoder *voc);
// The same from an open checkpoint (path: its config.json, for messages).
br_status ltx2_vocoder_load(br_checkpoint *ck, const char *path, ltx2_vocoder *voc);
void ltx2_vocoder_free(ltx2_vocoder *voc);
// The waveform's sample rate (Hz) and its samples per channel for T mel frames.
int ltx2_vocoder_rate(const ltx2_vocoder *voc);
int ltx2_vocoder_samples(const ltx2_vocoder *voc, int T);
// mel[S, T, M] (what the audio VAE decodes; S*M = the config's in_channels) ->
// wave[out_channels, ltx2_vocoder_samples(T)].
br_status ltx2_vocoder_run(const ltx2_vocoder *voc, const float *mel, int S, int T, int M,
                           float *wave);

#endif
