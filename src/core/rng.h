// rng.h: brigade's own deterministic random numbers (initial latents, the decoder's noise).
// Not torch's generator: the same seed gives the same bits on every machine, rank and backend,
// which is what resume and the "N ranks = 1 rank" tests need; a user who wants diffusers' exact
// noise passes it with --latents. Generator: SplitMix64; normals: Box-Muller in double.
#ifndef BR_RNG_H
#define BR_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t state;
} br_rng;

// A stream for (seed, stream): e.g. the initial latents of job j are stream j of --seed.
br_rng br_rng_make(uint64_t seed, uint64_t stream);
uint64_t br_rng_next(br_rng *r);
// x[n] ~ N(0, 1).
void br_rng_normal(br_rng *r, float *x, size_t n);

#endif
