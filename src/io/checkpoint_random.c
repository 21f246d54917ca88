// checkpoint_random.c: a checkpoint of random weights, made in memory on demand, for benchmarks
// of real model sizes without a 26 GB download (`--transformer random:13b`). Each tensor's
// values come from a generator seeded by a hash of its name, so every rank that asks for a tensor
// gets the same values, and a rank makes only the tensors it owns. Scales keep activations sane:
// matrices and convolution kernels uniform in +-1/sqrt(fan_in), norm weights (the 1-D
// ".weight"s) and standard deviations ("*_std") near 1, other vectors small.
#define _POSIX_C_SOURCE 200809L // strdup
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

static uint64_t hash_name(const char *s, uint64_t seed) {
    uint64_t h = 1469598103934665603ull ^ seed; // FNV-1a
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

br_status br_ckpt_open_random(br_checkpoint *c, cJSON *config, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->dir = strdup("random");
    c->config = config;
    c->random_seed = seed ? seed : 1;
    return c->dir ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
}

br_status br_ckpt_random_tensor(const br_checkpoint *c, const char *name, int ndim,
                                const int64_t *shape, float **out) {
    size_t n = (size_t)br_numel(ndim, shape);
    float *x = malloc((n ? n : 1) * sizeof(float));
    if (!x) return br_fail(BR_ENOMEM, "out of memory for random tensor %s", name);
    float scale = ndim >= 2 && shape[0] > 0 ? 1.0f / sqrtf((float)(n / (size_t)shape[0])) : 0.02f;
    // Norm weights and the latents' standard deviations near 1 (a std near 0 would blow up a
    // normalisation).
    float offset = ndim == 1 && (ends_with(name, ".weight") || ends_with(name, "_std")) ? 1.0f : 0;
    if (strstr(name, "scale_shift_table")) scale = 1.0f / sqrtf((float)shape[ndim - 1]);
    uint64_t s = hash_name(name, c->random_seed);
    for (size_t i = 0; i < n; i++) { // xorshift64*: fast enough for 13 B values spread over ranks
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        float u = (float)((s * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
        x[i] = offset + scale * u;
    }
    if (c->record && !br_set_find(c->record, name)) { // (two loaders may ask for one tensor)
        br_tensor *copy = br_set_add(c->record, name, ndim, shape);
        if (!copy) {
            free(x);
            return BR_ENOMEM;
        }
        memcpy(copy->data, x, n * sizeof(float));
    }
    *out = x;
    return BR_OK;
}
