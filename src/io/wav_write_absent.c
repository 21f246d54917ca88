// wav_write_absent.c: br_wav_write in a build without libsndfile (a machine that cannot install
// it): the sound of a job is refused with the remedy, the rest of the outputs are written.
#include "wav_write.h"

br_status br_wav_write(const char *path, const float *wave, int channels, long samples, int rate) {
    (void)wave, (void)channels, (void)samples, (void)rate;
    return br_fail(BR_EINPUT, "%s: brigade was built without libsndfile (apt-get install "
                   "libsndfile1-dev, then rebuild)", path);
}
