// rng.c: SplitMix64 and Box-Muller normals (see rng.h).
#include "rng.h"

#include <math.h>

br_rng br_rng_make(uint64_t seed, uint64_t stream) {
    br_rng r = {seed ^ (0x9e3779b97f4a7c15ull * (stream + 1))};
    br_rng_next(&r); // decorrelate neighbouring seeds
    return r;
}

uint64_t br_rng_next(br_rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// A uniform double in (0, 1]: never 0, so log() below is finite.
static double uniform(br_rng *r) { return ((br_rng_next(r) >> 11) + 1) * 0x1.0p-53; }

void br_rng_normal(br_rng *r, float *x, size_t n) {
    const double two_pi = 6.283185307179586;
    for (size_t i = 0; i < n; i += 2) {
        double radius = sqrt(-2.0 * log(uniform(r))), angle = two_pi * uniform(r);
        x[i] = (float)(radius * cos(angle));
        if (i + 1 < n) x[i + 1] = (float)(radius * sin(angle));
    }
}
