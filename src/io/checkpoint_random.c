// checkpoint_random.c: a checkpoint of random weights, made in memory on demand, for benchmarks
// of real model sizes without a 26 GB download (`--transformer random:13b`). Each tensor's
// values come from a generator seeded by a hash of its name, so every rank that asks for a tensor
// gets the same values, and a rank makes only the tensors it owns. Scales keep activations sane:
// matrices and convolution kernels uniform in +-1/sqrt(fan_in), norm weights (the 1-D
// ".weight"s) and standard deviations ("*_std") near 1, other vectors small. Each row (along the
// first dimension) has a generator of its own, so a part of a tensor is made without the rest.
#define _POSIX_C_SOURCE 200809L // strdup
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "parallel.h"

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

// A generator state for row `row` of the tensor whose name hashed to h (splitmix64's mix).
static uint64_t row_seed(uint64_t h, int64_t row) {
    uint64_t z = h + (uint64_t)(row + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 1;
}

enum { RANDOM_ROWS = 16 }; // rows per task

typedef struct {
    uint64_t h;           // the name's hash
    int64_t row0, n_rows;
    size_t row;           // floats per row
    float scale, offset;
    float *x;
} fill_job;

static void fill_task(void *ctx, int task, int worker) {
    const fill_job *j = ctx;
    const int64_t r0 = (int64_t)task * RANDOM_ROWS;
    const int64_t r1 = r0 + RANDOM_ROWS < j->n_rows ? r0 + RANDOM_ROWS : j->n_rows;
    for (int64_t r = r0; r < r1; r++) {
        uint64_t s = row_seed(j->h, j->row0 + r);
        float *y = j->x + (size_t)r * j->row;
        for (size_t i = 0; i < j->row; i++) { // xorshift64*
            s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
            float u = (float)((s * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
            y[i] = j->offset + j->scale * u;
        }
    }
}

// Rows [row0, row0 + n_rows) of tensor name into x, on the CPU threads (13 B values).
static void fill_rows(uint64_t seed, const char *name, int ndim, const int64_t *shape, int64_t row0,
                      int64_t n_rows, float *x) {
    const size_t n = (size_t)br_numel(ndim, shape), rows = ndim > 0 ? (size_t)shape[0] : 1;
    fill_job j = {hash_name(name, seed), row0, n_rows, rows ? n / rows : 0, 0.02f, 0, x};
    if (ndim >= 2 && shape[0] > 0) j.scale = 1.0f / sqrtf((float)j.row);
    // Norm weights and the latents' standard deviations near 1 (a std near 0 would blow up a
    // normalisation).
    if (ndim == 1 && (ends_with(name, ".weight") || ends_with(name, "_std"))) j.offset = 1.0f;
    if (strstr(name, "scale_shift_table")) j.scale = 1.0f / sqrtf((float)shape[ndim - 1]);
    br_parallel_for((int)((n_rows + RANDOM_ROWS - 1) / RANDOM_ROWS), fill_task, &j);
}

br_status br_ckpt_random_rows(const br_checkpoint *c, const char *name, int ndim,
                              const int64_t *shape, int64_t row0, int64_t n_rows, float *x) {
    if (c->record && !br_set_find(c->record, name)) { // recorded whole, once
        float *all;
        BR_TRY(br_ckpt_random_tensor(c, name, ndim, shape, &all));
        free(all);
    }
    fill_rows(c->random_seed, name, ndim, shape, row0, n_rows, x);
    return BR_OK;
}

br_status br_ckpt_random_tensor(const br_checkpoint *c, const char *name, int ndim,
                                const int64_t *shape, float **out) {
    size_t n = (size_t)br_numel(ndim, shape);
    float *x = malloc((n ? n : 1) * sizeof(float));
    if (!x) return br_fail(BR_ENOMEM, "out of memory for random tensor %s", name);
    fill_rows(c->random_seed, name, ndim, shape, 0, ndim > 0 ? shape[0] : 1, x);
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
