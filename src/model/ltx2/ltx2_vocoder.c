// ltx2_vocoder.c: see ltx2_vocoder.h; LTX2VocoderWithBWE.forward step by step.
#include "ltx2_vocoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static br_status load(br_checkpoint *ck, ltx2_vocoder *voc) {
    const ltx2_vocoder_config *cfg = &voc->cfg;
    if (!cfg->bwe) return ltx2_generator_load(ck, "", &cfg->vocoder, &voc->vocoder);
    BR_TRY(ltx2_generator_load(ck, "vocoder.", &cfg->vocoder, &voc->vocoder));
    BR_TRY(ltx2_generator_load(ck, "bwe_generator.", &cfg->bwe_generator, &voc->bwe));
    BR_TRY(ltx2_mel_stft_load(ck, cfg->filter_length, cfg->hop_length, cfg->window_length,
                              cfg->num_mel_channels, &voc->stft));
    return ltx2_upsampler_hann(cfg->output_sampling_rate / cfg->input_sampling_rate,
                               &voc->resampler);
}

br_status ltx2_vocoder_load(br_checkpoint *ck, const char *path, ltx2_vocoder *voc) {
    memset(voc, 0, sizeof *voc);
    br_status st = ltx2_vocoder_config_parse(&voc->cfg, ck->config, path);
    if (st == BR_OK) st = load(ck, voc);
    if (st != BR_OK) ltx2_vocoder_free(voc);
    return st;
}

br_status ltx2_vocoder_open(const char *dir, ltx2_vocoder *voc) {
    memset(voc, 0, sizeof *voc);
    br_checkpoint ck;
    BR_TRY(br_ckpt_open(&ck, dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    br_status st = ltx2_vocoder_load(&ck, path, voc);
    br_ckpt_close(&ck);
    return st;
}

void ltx2_vocoder_free(ltx2_vocoder *voc) {
    ltx2_generator_free(&voc->vocoder);
    ltx2_generator_free(&voc->bwe);
    ltx2_mel_stft_free(&voc->stft);
    ltx2_upsampler_free(&voc->resampler);
}

int ltx2_vocoder_rate(const ltx2_vocoder *voc) { return voc->cfg.output_sampling_rate; }

int ltx2_vocoder_samples(const ltx2_vocoder *voc, int T) {
    const int N = ltx2_generator_samples(&voc->vocoder, T);
    return voc->cfg.bwe ? N * voc->resampler.ratio : N;
}

// The extender on x[S, N_pad] (N_pad a multiple of the hop): wave[S, n_out] =
// clamp(bwe(log-mel(x)) + resample(x), -1, 1), cut to n_out samples.
static br_status extend(const ltx2_vocoder *voc, const float *x, int S, int N_pad, int n_out,
                        float *wave) {
    const int frames = ltx2_mel_stft_frames(&voc->stft, N_pad), B = voc->stft.mels;
    const int n_res = frames > 0 ? ltx2_generator_samples(&voc->bwe, frames) : 0;
    const int n_skip = voc->resampler.ratio * N_pad;
    if (n_res != n_skip)
        return br_fail(BR_EINPUT, "vocoder: the bandwidth extender gives %d samples for %d, the "
                       "resampler %d: the config's STFT and upsampling factors do not fit", n_res,
                       N_pad, n_skip);
    float *mel = malloc(((size_t)S * frames * B + 2 * (size_t)S * n_res) * sizeof(float));
    if (!mel) return br_fail(BR_ENOMEM, "out of memory for the vocoder's bandwidth extension");
    float *residual = mel + (size_t)S * frames * B, *skip = residual + (size_t)S * n_res;
    br_status st = BR_OK;
    for (int s = 0; s < S && st == BR_OK; s++)
        st = ltx2_mel_stft_run(&voc->stft, x + (size_t)s * N_pad, N_pad,
                               mel + (size_t)s * frames * B);
    if (st == BR_OK) st = ltx2_generator_run(&voc->bwe, mel, S, frames, B, residual);
    for (int s = 0; s < S && st == BR_OK; s++) // one channel at a time: x is channels-first
        ltx2_upsample(&voc->resampler, x + (size_t)s * N_pad, N_pad, 1, skip + (size_t)s * n_skip);
    for (int s = 0; s < S && st == BR_OK; s++)
        for (int i = 0; i < n_out; i++) {
            const float v = residual[(size_t)s * n_res + i] + skip[(size_t)s * n_skip + i];
            wave[(size_t)s * n_out + i] = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
        }
    free(mel);
    return st;
}

br_status ltx2_vocoder_run(const ltx2_vocoder *voc, const float *mel, int S, int T, int M,
                           float *wave) {
    if (!voc->cfg.bwe) return ltx2_generator_run(&voc->vocoder, mel, S, T, M, wave);
    if (T < 1) return br_fail(BR_EINPUT, "the vocoder takes at least one mel frame, not %d", T);
    const int C = voc->cfg.vocoder.out_channels, hop = voc->cfg.hop_length;
    const int N = ltx2_generator_samples(&voc->vocoder, T);
    const int N_pad = (N + hop - 1) / hop * hop;
    if ((long long)N_pad * voc->resampler.ratio > LTX2_VOC_MAX_SAMPLES)
        return br_fail(BR_EINPUT, "the vocoder makes at most %d samples per channel: %d mel "
                       "frames are too many", LTX2_VOC_MAX_SAMPLES, T);
    float *x = calloc((size_t)C * N_pad + (size_t)C * N, sizeof(float));
    if (!x) return br_fail(BR_ENOMEM, "out of memory for the vocoder's %d-sample waveform", N);
    float *low = x + (size_t)C * N_pad; // [C, N], then into x's rows, zeros after
    br_status st = ltx2_generator_run(&voc->vocoder, mel, S, T, M, low);
    for (int c = 0; c < C && st == BR_OK; c++)
        memcpy(x + (size_t)c * N_pad, low + (size_t)c * N, (size_t)N * sizeof(float));
    if (st == BR_OK) st = extend(voc, x, C, N_pad, N * voc->resampler.ratio, wave);
    free(x);
    return st;
}
