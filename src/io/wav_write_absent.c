// wav_write_absent.c: br_wav_write in a build without libsndfile (a machine that cannot install
// it): a run says so before any work and makes no sound (decode.c asks br_wav_available); a
// write asked anyway is refused with the remedy.
#include "wav_write.h"

int br_wav_available(void) { return 0; }

br_status br_wav_write(const char *path, const float *wave, int channels, long samples, int rate) {
    (void)wave, (void)channels, (void)samples, (void)rate;
    return br_fail(BR_EINPUT, "%s: brigade was built without libsndfile (apt-get install "
                   "libsndfile1-dev, then rebuild)", path);
}
