// ltx2_generator.c: see ltx2_generator.h; LTX2Vocoder.forward and ResBlock.forward op by op.
#include "ltx2_generator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2_conv_rows.h"

static const int IO_TAPS = 7; // conv_in's and conv_out's kernel

// --- weights -----------------------------------------------------------------------------------

// An activation of C channels: prefix names an AntiAliasAct1d (snake) or nothing (leaky ReLU).
static br_status load_act(br_checkpoint *ck, const ltx2_generator_config *cfg,
                          const char *prefix, int C, float slope, ltx2_act *a) {
    if (!cfg->snake) {
        ltx2_act_leaky(C, slope, a);
        return BR_OK;
    }
    return ltx2_act_load_snake(ck, prefix, C, cfg->antialias_ratio, cfg->antialias_kernel_size,
                               a);
}

static br_status load_resblock(br_checkpoint *ck, const ltx2_generator_config *cfg,
                               const char *prefix, int kernel, int C, ltx2_resblock *r) {
    char name[320]; // prefix (up to 255) and the layer's suffix
    r->pairs = cfg->dilations[kernel];
    for (int j = 0; j < r->pairs; j++) {
        const int taps = cfg->resnet_kernel_sizes[kernel];
        snprintf(name, sizeof name, "%s.convs1.%d", prefix, j);
        BR_TRY(ltx2_conv1d_load(ck, name, C, C, taps, cfg->resnet_dilations[kernel][j], 1,
                                &r->conv1[j]));
        snprintf(name, sizeof name, "%s.convs2.%d", prefix, j);
        BR_TRY(ltx2_conv1d_load(ck, name, C, C, taps, 1, 1, &r->conv2[j]));
        snprintf(name, sizeof name, "%s.acts1.%d", prefix, j);
        BR_TRY(load_act(ck, cfg, name, C, cfg->leaky_slope, &r->act1[j]));
        snprintf(name, sizeof name, "%s.acts2.%d", prefix, j);
        BR_TRY(load_act(ck, cfg, name, C, cfg->leaky_slope, &r->act2[j]));
    }
    return BR_OK;
}

br_status ltx2_generator_load(br_checkpoint *ck, const char *prefix,
                              const ltx2_generator_config *cfg, ltx2_generator *g) {
    char name[256];
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    if (!(g->res = calloc((size_t)cfg->stages * cfg->kernels, sizeof *g->res)))
        return br_fail(BR_ENOMEM, "out of memory for the vocoder's ResBlocks");
    snprintf(name, sizeof name, "%sconv_in", prefix);
    BR_TRY(ltx2_conv1d_load(ck, name, cfg->in_channels, cfg->hidden_channels, IO_TAPS, 1, 1,
                            &g->conv_in));
    int C = cfg->hidden_channels;
    for (int i = 0; i < cfg->stages; i++, C /= 2) {
        snprintf(name, sizeof name, "%supsamplers.%d", prefix, i);
        BR_TRY(ltx2_conv_transpose1d_load(ck, name, C, C / 2, cfg->upsample_kernel_sizes[i],
                                          cfg->upsample_factors[i], &g->up[i]));
        for (int r = 0; r < cfg->kernels; r++) {
            const int index = i * cfg->kernels + r;
            snprintf(name, sizeof name, "%sresnets.%d", prefix, index);
            BR_TRY(load_resblock(ck, cfg, name, r, C / 2, &g->res[index]));
        }
    }
    snprintf(name, sizeof name, "%sact_out", prefix);
    BR_TRY(load_act(ck, cfg, name, C, 0.01f, &g->act_out));
    snprintf(name, sizeof name, "%sconv_out", prefix);
    return ltx2_conv1d_load(ck, name, C, cfg->out_channels, IO_TAPS, 1, cfg->final_bias,
                            &g->conv_out);
}

void ltx2_generator_free(ltx2_generator *g) {
    ltx2_conv1d_free(&g->conv_in);
    for (int i = 0; i < g->cfg.stages; i++) ltx2_conv_transpose1d_free(&g->up[i]);
    for (int i = 0; g->res && i < g->cfg.stages * g->cfg.kernels; i++)
        for (int j = 0; j < g->res[i].pairs; j++) {
            ltx2_conv1d_free(&g->res[i].conv1[j]), ltx2_conv1d_free(&g->res[i].conv2[j]);
            ltx2_act_free(&g->res[i].act1[j]), ltx2_act_free(&g->res[i].act2[j]);
        }
    free(g->res);
    g->res = NULL;
    ltx2_act_free(&g->act_out);
    ltx2_conv1d_free(&g->conv_out);
}

// The samples of T frames, or LTX2_VOC_MAX_SAMPLES + 1 when there would be more.
static long long samples(const ltx2_generator *g, long long T) {
    for (int i = 0; i < g->cfg.stages && T <= LTX2_VOC_MAX_SAMPLES; i++)
        T = (T - 1) * g->up[i].stride - 2 * g->up[i].pad + g->up[i].taps;
    return T <= LTX2_VOC_MAX_SAMPLES ? T : LTX2_VOC_MAX_SAMPLES + 1LL;
}

int ltx2_generator_samples(const ltx2_generator *g, int T) { return (int)samples(g, T); }

// --- run ---------------------------------------------------------------------------------------

// The buffers of one run, sized for its largest stage.
typedef struct {
    float *h, *u, *x, *a, *b; // signals: the stream, a stage's upsampled input, a ResBlock's
                              // stream, two temporaries
    float *act;     // the anti-aliased activations' upsampled signal
    float *z;       // the transposed convolutions' per-input contributions
    float *scratch; // the convolutions' im2col tiles
} gen_work;

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

// One allocation holding every buffer of a run of T frames.
static br_status work_alloc(const ltx2_generator *g, int T, gen_work *w, float **block) {
    const ltx2_generator_config *cfg = &g->cfg;
    int widest_tap = IO_TAPS;
    for (int r = 0; r < cfg->kernels; r++)
        widest_tap = cfg->resnet_kernel_sizes[r] > widest_tap ? cfg->resnet_kernel_sizes[r]
                                                                 : widest_tap;
    size_t n = (size_t)T * cfg->in_channels, z = 0, cols = (size_t)IO_TAPS * cfg->in_channels;
    size_t C = (size_t)cfg->hidden_channels, len = (size_t)T;
    n = max_size(n, len * C);
    for (int i = 0; i < cfg->stages; i++) {
        z = max_size(z, len * g->up[i].taps * (C / 2));
        len = (size_t)ltx2_conv_transpose1d_len(&g->up[i], (int)len), C /= 2;
        n = max_size(n, len * C);
        cols = max_size(cols, (size_t)widest_tap * C);
    }
    n = max_size(n, len * cfg->out_channels);
    const size_t act = cfg->snake ? (size_t)cfg->antialias_ratio * n : 0;
    const size_t scratch = ltx2_conv_rows_scratch((int)cols);
    if (!(*block = malloc((5 * n + act + z + scratch) * sizeof(float))))
        return br_fail(BR_ENOMEM, "out of memory for the vocoder's activations (%d mel frames)",
                       T);
    float *p = *block;
    float **bufs[] = {&w->h, &w->u, &w->x, &w->a, &w->b};
    for (int i = 0; i < 5; i++, p += n) *bufs[i] = p;
    w->act = p, w->z = p + act, w->scratch = p + act + z;
    return BR_OK;
}

// x[N, C] += the ResBlock's branches, one dilation after the other.
static void resblock(const ltx2_resblock *r, gen_work *w, int N) {
    const size_t n = (size_t)N * r->conv1[0].c_in;
    for (int j = 0; j < r->pairs; j++) {
        memcpy(w->a, w->x, n * sizeof(float));
        ltx2_act_apply(&r->act1[j], w->a, N, w->act);
        ltx2_conv1d_apply(&r->conv1[j], w->a, N, w->b, w->scratch);
        ltx2_act_apply(&r->act2[j], w->b, N, w->act);
        ltx2_conv1d_apply(&r->conv2[j], w->b, N, w->a, w->scratch);
        for (size_t i = 0; i < n; i++) w->x[i] += w->a[i];
    }
}

// Stage i on h[*N, C]: upsample, then h = the mean of the ResBlocks on the upsampled signal.
static void stage(const ltx2_generator *g, int i, gen_work *w, int *N) {
    const ltx2_generator_config *cfg = &g->cfg;
    const ltx2_conv_transpose1d *up = &g->up[i];
    if (!cfg->snake)
        for (size_t k = 0, n = (size_t)*N * up->c_in; k < n; k++)
            w->h[k] = w->h[k] > 0.0f ? w->h[k] : w->h[k] * cfg->leaky_slope;
    ltx2_conv_transpose1d_apply(up, w->h, *N, w->u, w->z);
    *N = ltx2_conv_transpose1d_len(up, *N);
    const size_t n = (size_t)*N * up->c_out;
    for (int r = 0; r < cfg->kernels; r++) {
        memcpy(w->x, w->u, n * sizeof(float));
        resblock(&g->res[i * cfg->kernels + r], w, *N);
        if (r == 0) memcpy(w->h, w->x, n * sizeof(float));
        else for (size_t k = 0; k < n; k++) w->h[k] += w->x[k];
    }
    const float inv = (float)(1.0 / cfg->kernels); // torch.mean on CUDA: sum * (1/n)
    for (size_t k = 0; k < n; k++) w->h[k] *= inv;
}

static float final_act(ltx2_voc_final f, float v) {
    if (f == LTX2_VOC_FINAL_TANH) return tanhf(v);
    if (f == LTX2_VOC_FINAL_CLAMP) return v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
    return v;
}

br_status ltx2_generator_run(const ltx2_generator *g, const float *mel, int S, int T, int M,
                             float *wave) {
    const ltx2_generator_config *cfg = &g->cfg;
    if ((long long)S * M != cfg->in_channels || T < 1)
        return br_fail(BR_EINPUT, "the vocoder takes mel channels x bins = %d and at least one "
                       "frame; it was given %d x %d, %d frames", cfg->in_channels, S, M, T);
    if (samples(g, T) > LTX2_VOC_MAX_SAMPLES)
        return br_fail(BR_EINPUT, "the vocoder makes at most %d samples per channel: %d mel "
                       "frames are too many", LTX2_VOC_MAX_SAMPLES, T);
    gen_work w = {0};
    float *block;
    BR_TRY(work_alloc(g, T, &w, &block));
    for (int s = 0; s < S; s++) // a[t, s*M + m] = mel[s, t, m]
        for (int t = 0; t < T; t++)
            memcpy(w.a + ((size_t)t * S + s) * M, mel + ((size_t)s * T + t) * M,
                   (size_t)M * sizeof(float));
    ltx2_conv1d_apply(&g->conv_in, w.a, T, w.h, w.scratch);
    int N = T;
    for (int i = 0; i < cfg->stages; i++) stage(g, i, &w, &N);
    ltx2_act_apply(&g->act_out, w.h, N, w.act);
    ltx2_conv1d_apply(&g->conv_out, w.h, N, w.a, w.scratch);
    const int C = cfg->out_channels;
    for (int t = 0; t < N; t++)
        for (int c = 0; c < C; c++)
            wave[(size_t)c * N + t] = final_act(cfg->final_act, w.a[(size_t)t * C + c]);
    free(block);
    return BR_OK;
}
