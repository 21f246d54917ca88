// ltx2_resample.c: see ltx2_resample.h. Both filters run over tiles of output samples that the
// threads share; each output is one sum over its taps in a fixed order.
#include "ltx2_resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

enum { TILE = 1024 }; // output samples per task

static const float PI_F = 3.14159265358979323846f;

br_status ltx2_upsampler_load(br_checkpoint *ck, const char *name, int ratio, int taps,
                              ltx2_upsampler *u) {
    u->ratio = ratio, u->taps = taps;
    u->pad = taps / ratio - 1;
    u->crop = u->pad * ratio + (taps - ratio) / 2;
    return br_ckpt_load(ck, name, 3, (const int64_t[]){1, 1, taps}, &u->filter);
}

br_status ltx2_downsampler_load(br_checkpoint *ck, const char *name, int ratio, int taps,
                                ltx2_downsampler *d) {
    d->ratio = ratio, d->taps = taps;
    d->pad_left = taps / 2 + taps % 2 - 1;
    return br_ckpt_load(ck, name, 3, (const int64_t[]){1, 1, taps}, &d->filter);
}

br_status ltx2_upsampler_hann(int ratio, ltx2_upsampler *u) {
    const float rolloff = 0.99f;
    const int zeros = 6, width = (int)ceil(zeros / 0.99); // 7
    u->ratio = ratio, u->taps = 2 * width * ratio + 1;
    u->pad = width, u->crop = 2 * width * ratio;
    if (!(u->filter = malloc((size_t)u->taps * sizeof(float))))
        return br_fail(BR_ENOMEM, "out of memory for the vocoder's resampling filter");
    for (int n = 0; n < u->taps; n++) { // each step rounded to fp32, as torch computes them
        const float t = ((float)n / (float)ratio - (float)width) * rolloff;
        const float clamped = t < -zeros ? (float)-zeros : t > zeros ? (float)zeros : t;
        float window = cosf(clamped * PI_F / (float)zeros / 2.0f);
        window = window * window;
        const float sinc = t == 0.0f ? 1.0f : sinf(PI_F * t) / (PI_F * t);
        u->filter[n] = sinc * window * rolloff / (float)ratio;
    }
    return BR_OK;
}

void ltx2_upsampler_free(ltx2_upsampler *u) {
    free(u->filter);
    u->filter = NULL;
}

void ltx2_downsampler_free(ltx2_downsampler *d) {
    free(d->filter);
    d->filter = NULL;
}

static int clamp_index(int i, int n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

typedef struct {
    const ltx2_upsampler *u;
    const ltx2_downsampler *d;
    const float *x;
    float *y;
    int n_in, n_out, C;
} resample_job;

// Output m is transposed-convolution output n = m + crop: the padded inputs j with
// 0 <= n - ratio*j < K, padded input j being x[clamp(j - pad)]; times ratio after the sum.
static void up_tile(void *ctx, int task, int worker) {
    (void)worker;
    const resample_job *j = ctx;
    const ltx2_upsampler *u = j->u;
    const int C = j->C, m0 = task * TILE, m1 = j->n_out - m0 < TILE ? j->n_out : m0 + TILE;
    const int last = j->n_in + 2 * u->pad - 1; // the last padded input
    for (int m = m0; m < m1; m++) {
        float *y = j->y + (size_t)m * C;
        const int n = m + u->crop, lo = n - u->taps + 1;
        const int first = lo <= 0 ? 0 : (lo + u->ratio - 1) / u->ratio;
        const int end = n / u->ratio < last ? n / u->ratio : last;
        memset(y, 0, (size_t)C * sizeof(float));
        for (int p = first; p <= end; p++) {
            const float f = u->filter[n - u->ratio * p];
            const float *x = j->x + (size_t)clamp_index(p - u->pad, j->n_in) * C;
            for (int c = 0; c < C; c++) y[c] += x[c] * f;
        }
        for (int c = 0; c < C; c++) y[c] *= (float)u->ratio;
    }
}

void ltx2_upsample(const ltx2_upsampler *u, const float *x, int T, int C, float *y) {
    resample_job j = {.u = u, .x = x, .y = y, .n_in = T, .n_out = u->ratio * T, .C = C};
    br_parallel_for((j.n_out + TILE - 1) / TILE, up_tile, &j);
}

// Output m: sum over k of x[clamp(ratio*m + k - pad_left)] * filter[k].
static void down_tile(void *ctx, int task, int worker) {
    (void)worker;
    const resample_job *j = ctx;
    const ltx2_downsampler *d = j->d;
    const int C = j->C, m0 = task * TILE, m1 = j->n_out - m0 < TILE ? j->n_out : m0 + TILE;
    for (int m = m0; m < m1; m++) {
        float *y = j->y + (size_t)m * C;
        memset(y, 0, (size_t)C * sizeof(float));
        for (int k = 0; k < d->taps; k++) {
            const float *x = j->x + (size_t)clamp_index(d->ratio * m + k - d->pad_left, j->n_in) * C;
            for (int c = 0; c < C; c++) y[c] += x[c] * d->filter[k];
        }
    }
}

void ltx2_downsample(const ltx2_downsampler *d, const float *x, int N, int C, float *y) {
    resample_job j = {.d = d, .x = x, .y = y, .n_in = N, .n_out = (N - 1) / d->ratio + 1, .C = C};
    br_parallel_for((j.n_out + TILE - 1) / TILE, down_tile, &j);
}
