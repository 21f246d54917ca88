// ltx2_sound.c: LTX2Pipeline's sound behind the recipe (recipe.h): the audio tokens of a job's
// latents (after the video's) de-normalised and unpacked, the audio VAE's mel spectrogram, the
// vocoder's stereo waveform. The decoders of the pipeline folder's audio_vae/ and vocoder/ run on
// the host (ltx2_audio_vae.h, ltx2_vocoder.h).
#include <stdio.h>
#include <stdlib.h>

#include "ltx2_audio_vae.h"
#include "ltx2_family.h"
#include "ltx2_vocoder.h"

struct br_sound {
    ltx2_audio_vae vae;
    ltx2_vocoder vocoder;
    int video_tokens, audio_tokens, C; // of a job's packed latents
};

void ltx2_sound_close(br_sound *s) {
    if (!s) return;
    ltx2_audio_vae_free(&s->vae);
    ltx2_vocoder_free(&s->vocoder);
    free(s);
}

br_status ltx2_sound_open(const br_model *m, const br_geometry *g, br_sound **out) {
    char dir[4400];
    br_sound *s = *out = calloc(1, sizeof *s);
    if (!s) return br_fail(BR_ENOMEM, "out of memory");
    s->video_tokens = g->shift_tokens, s->audio_tokens = g->latent_tokens - g->shift_tokens;
    s->C = m->in_channels;
    snprintf(dir, sizeof dir, "%s/audio_vae", m->pipeline_dir);
    BR_TRY(ltx2_audio_vae_open(dir, &s->vae));
    const ltx2_audio_vae_config *c = &s->vae.cfg;
    if (c->latent_channels * c->latent_mel_bins != s->C)
        return br_fail(BR_EINPUT, "%s: %d latent channels x %d latent mel bins differ from the "
                       "transformer's %d audio features", dir, c->latent_channels,
                       c->latent_mel_bins, s->C);
    snprintf(dir, sizeof dir, "%s/vocoder", m->pipeline_dir);
    BR_TRY(ltx2_vocoder_open(dir, &s->vocoder));
    if (c->output_channels * c->mel_bins != s->vocoder.cfg.vocoder.in_channels)
        return br_fail(BR_EINPUT, "%s: the vocoder takes %d channels, the audio VAE gives %d x %d",
                       dir, s->vocoder.cfg.vocoder.in_channels, c->output_channels, c->mel_bins);
    return BR_OK;
}

br_status ltx2_sound(br_sound *s, const float *latents, float **wave, int *channels,
                     long *samples, int *rate) {
    const ltx2_audio_vae_config *c = &s->vae.cfg;
    const int L = s->audio_tokens, T = ltx2_audio_vae_frames(&s->vae, L);
    const size_t n_latents = (size_t)s->C * L, n_mel = (size_t)c->output_channels * T * c->mel_bins;
    *channels = s->vocoder.cfg.vocoder.out_channels, *rate = ltx2_vocoder_rate(&s->vocoder);
    *samples = ltx2_vocoder_samples(&s->vocoder, T);
    float *unpacked = malloc(n_latents * sizeof(float)), *mel = malloc(n_mel * sizeof(float));
    *wave = malloc((size_t)*channels * *samples * sizeof(float));
    br_status st = unpacked && mel && *wave ? BR_OK : br_fail(BR_ENOMEM, "out of memory for the sound");
    if (st == BR_OK) {
        ltx2_audio_vae_unpack(&s->vae, latents + (size_t)s->video_tokens * s->C, L, unpacked);
        st = ltx2_audio_vae_decode(&s->vae, unpacked, L, mel);
    }
    if (st == BR_OK) st = ltx2_vocoder_run(&s->vocoder, mel, c->output_channels, T, c->mel_bins, *wave);
    free(unpacked), free(mel);
    return st;
}
