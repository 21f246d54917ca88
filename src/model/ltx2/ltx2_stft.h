// ltx2_stft.h: the causal log-mel spectrogram of LTX2VocoderWithBWE (MelSTFT): the first
// vocoder's waveform, one channel at a time, becomes the mel frames its bandwidth extender takes.
// Frames start window - hop samples before the signal (zeros there: causal), one every hop
// samples; each is a product with the checkpoint's windowed DFT basis (forward_basis: cosines
// then negated sines, as stored, in fp32), magnitudes, the mel filterbank, log(max(., 1e-5)).
// Legend: N samples, K filter_length, F = K/2 + 1 frequencies, B mel bands.
#ifndef BR_LTX2_STFT_H
#define BR_LTX2_STFT_H

#include "io/checkpoint.h"

typedef struct {
    int filter_length, hop, window, freqs, mels;
    float *basis;     // [2F, K]: rows 0 .. F-1 give the real parts, rows F .. 2F-1 the imaginary
    float *mel_basis; // [B, F]
} ltx2_mel_stft;

// mel_stft.stft_fn.forward_basis [2F, 1, K] and mel_stft.mel_basis [B, F].
br_status ltx2_mel_stft_load(br_checkpoint *ck, int filter_length, int hop, int window, int mels,
                             ltx2_mel_stft *s);
void ltx2_mel_stft_free(ltx2_mel_stft *s);
// Frames of a signal of N samples: (N + max(window - hop, 0) - K) / hop + 1 (at least 1 needed).
int ltx2_mel_stft_frames(const ltx2_mel_stft *s, int N);
// wave[N] -> mel[frames, B].
br_status ltx2_mel_stft_run(const ltx2_mel_stft *s, const float *wave, int N, float *mel);

#endif
