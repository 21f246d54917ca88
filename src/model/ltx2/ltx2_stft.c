// ltx2_stft.c: see ltx2_stft.h. The two products (DFT, filterbank) are cpu_linear.
#include "ltx2_stft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"

br_status ltx2_mel_stft_load(br_checkpoint *ck, int filter_length, int hop, int window, int mels,
                             ltx2_mel_stft *s) {
    s->filter_length = filter_length, s->hop = hop, s->window = window, s->mels = mels;
    s->freqs = filter_length / 2 + 1;
    BR_TRY(br_ckpt_load(ck, "mel_stft.stft_fn.forward_basis", 3,
                        (const int64_t[]){2 * s->freqs, 1, filter_length}, &s->basis));
    return br_ckpt_load(ck, "mel_stft.mel_basis", 2, (const int64_t[]){mels, s->freqs},
                        &s->mel_basis);
}

void ltx2_mel_stft_free(ltx2_mel_stft *s) {
    free(s->basis), free(s->mel_basis);
    s->basis = s->mel_basis = NULL;
}

static int lead(const ltx2_mel_stft *s) { return s->window > s->hop ? s->window - s->hop : 0; }

int ltx2_mel_stft_frames(const ltx2_mel_stft *s, int N) {
    const int padded = N + lead(s);
    return padded < s->filter_length ? 0 : (padded - s->filter_length) / s->hop + 1;
}

br_status ltx2_mel_stft_run(const ltx2_mel_stft *s, const float *wave, int N, float *mel) {
    const int frames = ltx2_mel_stft_frames(s, N), K = s->filter_length, F = s->freqs;
    if (frames < 1)
        return br_fail(BR_EINPUT, "the vocoder's mel STFT needs %d samples; the waveform has %d",
                       K - lead(s), N);
    float *cols = malloc(((size_t)frames * K + (size_t)frames * 2 * F) * sizeof(float));
    if (!cols) return br_fail(BR_ENOMEM, "out of memory for the vocoder's mel STFT");
    float *spec = cols + (size_t)frames * K; // [frames, 2F], then the magnitudes [frames, F]
    for (int f = 0; f < frames; f++)
        for (int k = 0; k < K; k++) {
            const int t = f * s->hop + k - lead(s);
            cols[(size_t)f * K + k] = t < 0 ? 0.0f : wave[t];
        }
    cpu_linear(spec, cols, s->basis, NULL, frames, K, 2 * F);
    float *mag = cols; // the frames are no longer needed
    for (int f = 0; f < frames; f++)
        for (int k = 0; k < F; k++) {
            const float re = spec[(size_t)f * 2 * F + k], im = spec[(size_t)f * 2 * F + F + k];
            mag[(size_t)f * F + k] = sqrtf(re * re + im * im);
        }
    cpu_linear(mel, mag, s->mel_basis, NULL, frames, F, s->mels);
    for (size_t i = 0; i < (size_t)frames * s->mels; i++) // a NaN stays NaN, as in torch.clamp
        mel[i] = logf(mel[i] < 1e-5f ? 1e-5f : mel[i]);
    free(cols);
    return BR_OK;
}
