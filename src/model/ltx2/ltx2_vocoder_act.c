// ltx2_vocoder_act.c: see ltx2_vocoder_act.h.
#include "ltx2_vocoder_act.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "parallel.h"

enum { TILE = 1024 }; // samples per task of the snake

br_status ltx2_act_load_snake(br_checkpoint *ck, const char *prefix, int C, int ratio, int taps,
                              ltx2_act *a) {
    char name[256];
    a->snake = 1, a->C = C;
    snprintf(name, sizeof name, "%s.act.alpha", prefix);
    BR_TRY(br_ckpt_load(ck, name, 1, (const int64_t[]){C}, &a->alpha));
    snprintf(name, sizeof name, "%s.act.beta", prefix);
    BR_TRY(br_ckpt_load(ck, name, 1, (const int64_t[]){C}, &a->inv_beta));
    for (int c = 0; c < C; c++) { // SnakeBeta's logscale: exp first, in fp32
        a->alpha[c] = expf(a->alpha[c]);
        a->inv_beta[c] = 1.0f / (expf(a->inv_beta[c]) + 1e-9f);
    }
    snprintf(name, sizeof name, "%s.upsample.filter", prefix);
    BR_TRY(ltx2_upsampler_load(ck, name, ratio, taps, &a->up));
    snprintf(name, sizeof name, "%s.downsample.filter", prefix);
    return ltx2_downsampler_load(ck, name, ratio, taps, &a->down);
}

void ltx2_act_leaky(int C, float slope, ltx2_act *a) {
    a->snake = 0, a->C = C;
    a->slope = slope;
}

void ltx2_act_free(ltx2_act *a) {
    free(a->alpha), free(a->inv_beta);
    a->alpha = a->inv_beta = NULL;
    ltx2_upsampler_free(&a->up);
    ltx2_downsampler_free(&a->down);
}

typedef struct {
    const ltx2_act *a;
    float *x;
    int T;
} snake_job;

static void snake_tile(void *ctx, int task, int worker) {
    (void)worker;
    const snake_job *j = ctx;
    const int C = j->a->C, t0 = task * TILE, t1 = j->T - t0 < TILE ? j->T : t0 + TILE;
    for (int t = t0; t < t1; t++) {
        float *x = j->x + (size_t)t * C;
        for (int c = 0; c < C; c++) {
            const float s = sinf(x[c] * j->a->alpha[c]);
            x[c] = x[c] + j->a->inv_beta[c] * (s * s);
        }
    }
}

void ltx2_act_apply(const ltx2_act *a, float *x, int T, float *workspace) {
    if (!a->snake) {
        for (size_t i = 0, n = (size_t)T * a->C; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : x[i] * a->slope;
        return;
    }
    const int T_up = a->up.ratio * T;
    ltx2_upsample(&a->up, x, T, a->C, workspace);
    snake_job j = {a, workspace, T_up};
    br_parallel_for((T_up + TILE - 1) / TILE, snake_tile, &j);
    ltx2_downsample(&a->down, workspace, T_up, a->C, x);
}
