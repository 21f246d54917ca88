// wav_write.c: see wav_write.h. libsndfile writes the header and the interleaved samples into the
// descriptor of a br_atomic_file, which renames the file once all of it is on disk.
#define _POSIX_C_SOURCE 200809L // fileno
#include "wav_write.h"

#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>

#include "atomic_file.h"

static int16_t to_pcm16(float x) {
    if (!(x > -1.0f)) return x != x ? 0 : -32767; // NaN: silence
    if (x >= 1.0f) return 32767;
    return (int16_t)(x * 32767.0f); // the reference's .to(torch.int16): truncation
}

// Planar [channels, samples] -> interleaved frames, through libsndfile into f's descriptor.
static br_status write_samples(FILE *f, const char *path, const float *wave, int channels,
                               long samples, int rate) {
    SF_INFO info = {.samplerate = rate, .channels = channels,
                    .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open_fd(fileno(f), SFM_WRITE, &info, 0);
    if (!sf) return br_fail(BR_EIO, "%s: %s", path, sf_strerror(NULL));
    enum { FRAMES = 4096 };
    int16_t *buf = malloc((size_t)FRAMES * channels * sizeof *buf);
    br_status st = buf ? BR_OK : br_fail(BR_ENOMEM, "out of memory for %s", path);
    for (long at = 0; st == BR_OK && at < samples; at += FRAMES) {
        const long n = samples - at < FRAMES ? samples - at : FRAMES;
        for (long i = 0; i < n; i++)
            for (int c = 0; c < channels; c++)
                buf[i * channels + c] = to_pcm16(wave[(size_t)c * samples + at + i]);
        if (sf_writef_short(sf, buf, n) != n)
            st = br_fail(BR_EIO, "%s: %s", path, sf_strerror(sf));
    }
    if (sf_close(sf) != 0 && st == BR_OK) st = br_fail(BR_EIO, "%s: %s", path, sf_strerror(NULL));
    free(buf);
    return st;
}

br_status br_wav_write(const char *path, const float *wave, int channels, long samples, int rate) {
    if (channels < 1 || channels > 64 || samples < 0 || rate < 1)
        return br_fail(BR_EINPUT, "%s: %d channels of %ld samples at %d Hz: not a waveform", path,
                       channels, samples, rate);
    br_atomic_file a;
    BR_TRY(br_atomic_create(&a, path));
    br_status st = write_samples(a.f, path, wave, channels, samples, rate);
    if (st == BR_OK) fflush(a.f); // libsndfile wrote through the descriptor: nothing buffered
    return br_atomic_finish(&a, path, st);
}

int br_wav_available(void) { return 1; }
