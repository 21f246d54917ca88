// wav_write.h: a waveform out as a 16-bit PCM WAV file (libsndfile), written to a temporary name
// and renamed.
#ifndef BR_WAV_WRITE_H
#define BR_WAV_WRITE_H

#include "../core/status.h"

// Writes wave [channels, samples] at rate (samples per second) to path: each value clipped to
// [-1, 1], times 32767 and truncated toward zero, as diffusers' export turns LTX-2's audio into
// 16-bit samples (NaN becomes 0).
br_status br_wav_write(const char *path, const float *wave, int channels, long samples, int rate);

// Whether this build writes WAV files (0: built without libsndfile, wav_write_absent.c).
int br_wav_available(void);

#endif
