// ltx2_conv1d.c: see ltx2_conv1d.h.
#include "ltx2_conv1d.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"
#include "ltx2_conv_rows.h"
#include "parallel.h"

// --- Conv1d ------------------------------------------------------------------------------------

br_status ltx2_conv1d_load(br_checkpoint *ck, const char *prefix, int c_in, int c_out, int taps,
                           int dilation, int bias, ltx2_conv1d *cv) {
    char name[256];
    float *w;
    snprintf(name, sizeof name, "%s.weight", prefix);
    BR_TRY(br_ckpt_load(ck, name, 3, (const int64_t[]){c_out, c_in, taps}, &w));
    cv->c_in = c_in, cv->c_out = c_out, cv->taps = taps, cv->dilation = dilation;
    cv->w = malloc((size_t)c_out * taps * c_in * sizeof(float));
    if (!cv->w) {
        free(w);
        return br_fail(BR_ENOMEM, "out of memory for %s", name);
    }
    for (int o = 0; o < c_out; o++)
        for (int c = 0; c < c_in; c++)
            for (int k = 0; k < taps; k++)
                cv->w[((size_t)o * taps + k) * c_in + c] = w[((size_t)o * c_in + c) * taps + k];
    free(w);
    snprintf(name, sizeof name, "%s.bias", prefix);
    return bias ? br_ckpt_load(ck, name, 1, (const int64_t[]){c_out}, &cv->b) : BR_OK;
}

void ltx2_conv1d_free(ltx2_conv1d *cv) {
    free(cv->w), free(cv->b);
    cv->w = cv->b = NULL;
}

typedef struct {
    const float *x;
    int T, C, taps, dilation, pad;
} gather_1d;

// Row r: the K taps x[t + k*dilation - pad] of output t = row0 + r, zeros outside the signal.
static void gather(const void *ctx, float *cols, int row0, int n_rows) {
    const gather_1d *g = ctx;
    const size_t bytes = (size_t)g->C * sizeof(float);
    for (int r = 0; r < n_rows; r++)
        for (int k = 0; k < g->taps; k++) {
            const int t = row0 + r + k * g->dilation - g->pad;
            float *out = cols + ((size_t)r * g->taps + k) * g->C;
            if (t < 0 || t >= g->T) memset(out, 0, bytes);
            else memcpy(out, g->x + (size_t)t * g->C, bytes);
        }
}

void ltx2_conv1d_apply(const ltx2_conv1d *cv, const float *x, int T, float *y, float *scratch) {
    const gather_1d g = {x, T, cv->c_in, cv->taps, cv->dilation, cv->dilation * (cv->taps - 1) / 2};
    ltx2_conv_rows(y, T, cv->taps * cv->c_in, cv->c_out, cv->w, cv->b, gather, &g, scratch);
}

// --- ConvTranspose1d ---------------------------------------------------------------------------

br_status ltx2_conv_transpose1d_load(br_checkpoint *ck, const char *prefix, int c_in, int c_out,
                                     int taps, int stride, ltx2_conv_transpose1d *up) {
    char name[256];
    float *w;
    snprintf(name, sizeof name, "%s.weight", prefix);
    BR_TRY(br_ckpt_load(ck, name, 3, (const int64_t[]){c_in, c_out, taps}, &w));
    up->c_in = c_in, up->c_out = c_out, up->taps = taps, up->stride = stride;
    up->pad = (taps - stride) / 2;
    up->w = malloc((size_t)taps * c_out * c_in * sizeof(float));
    if (!up->w) {
        free(w);
        return br_fail(BR_ENOMEM, "out of memory for %s", name);
    }
    for (int i = 0; i < c_in; i++)
        for (int o = 0; o < c_out; o++)
            for (int k = 0; k < taps; k++)
                up->w[((size_t)k * c_out + o) * c_in + i] = w[((size_t)i * c_out + o) * taps + k];
    free(w);
    snprintf(name, sizeof name, "%s.bias", prefix);
    return br_ckpt_load(ck, name, 1, (const int64_t[]){c_out}, &up->b);
}

void ltx2_conv_transpose1d_free(ltx2_conv_transpose1d *up) {
    free(up->w), free(up->b);
    up->w = up->b = NULL;
}

int ltx2_conv_transpose1d_len(const ltx2_conv_transpose1d *up, int T) {
    return (T - 1) * up->stride - 2 * up->pad + up->taps;
}

typedef struct {
    const ltx2_conv_transpose1d *up;
    const float *z;
    float *y;
    int T, T_out;
} overlap_job;

// Output t gathers input j's tap k wherever j*stride + k = t + pad, taps in increasing order;
// then the bias.
static void overlap_tile(void *ctx, int task, int worker) {
    (void)worker;
    const overlap_job *j = ctx;
    const ltx2_conv_transpose1d *up = j->up;
    const int C = up->c_out, t0 = task * LTX2_CONV_TILE;
    const int t1 = j->T_out - t0 < LTX2_CONV_TILE ? j->T_out : t0 + LTX2_CONV_TILE;
    for (int t = t0; t < t1; t++) {
        float *y = j->y + (size_t)t * C;
        memset(y, 0, (size_t)C * sizeof(float));
        for (int k = (t + up->pad) % up->stride; k < up->taps; k += up->stride) {
            const int in = (t + up->pad - k) / up->stride;
            if (in >= j->T) continue;
            if (in < 0) break;
            const float *z = j->z + ((size_t)in * up->taps + k) * C;
            for (int o = 0; o < C; o++) y[o] += z[o];
        }
        for (int o = 0; o < C; o++) y[o] += up->b[o];
    }
}

void ltx2_conv_transpose1d_apply(const ltx2_conv_transpose1d *up, const float *x, int T,
                                 float *y, float *z) {
    cpu_linear(z, x, up->w, NULL, T, up->c_in, up->taps * up->c_out);
    overlap_job j = {up, z, y, T, ltx2_conv_transpose1d_len(up, T)};
    br_parallel_for((j.T_out + LTX2_CONV_TILE - 1) / LTX2_CONV_TILE, overlap_tile, &j);
}
