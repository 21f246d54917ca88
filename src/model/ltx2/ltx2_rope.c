// ltx2_rope.c: see ltx2_rope.h. Every step in fp32 where the reference computes in fp32, so that
// the tables match its to an ulp of cos and sin; and a division by a number as the product with
// the number's fp32 reciprocal, as PyTorch divides a tensor by a scalar on the GPU (where the
// reference runs): the two differ by an ulp now and then, which an angle of thousands of radians
// turns into 1e-4 of a cosine.
#define _DEFAULT_SOURCE // M_PI
#include "ltx2_rope.h"

#include <math.h>
#include <stdlib.h>

void ltx2_rope_size(const ltx2_config *cfg, const br_geometry *g, ltx2_rope_kind kind, int *rows,
                    int *cols) {
    const int video = kind == LTX2_ROPE_VIDEO || kind == LTX2_ROPE_CROSS_VIDEO;
    *rows = video ? g->grid[0][0] * g->grid[0][1] * g->grid[0][2] : g->grid[1][0];
    *cols = (kind == LTX2_ROPE_VIDEO ? cfg->video.dim : cfg->audio.dim) / 2;
}

// torch.linspace(0, 1, n) in double: the first half counts up from 0, the second down from 1.
static double linspace01(int i, int n) {
    if (n == 1) return 0.0;
    const double step = 1.0 / (n - 1);
    return i < n / 2 ? i * step : 1.0 - (n - 1 - i) * step;
}

static float divide(float x, float by) { return x * (1.0f / by); }

// The midpoint of the latent cell [i, i + 1) of one video axis, in seconds (axis 0) or pixels.
static float video_position(const ltx2_config *cfg, const br_geometry *g, int axis, int i) {
    const float scale = (float)cfg->vae_scale[axis];
    float start = (float)i * scale, end = (float)(i + 1) * scale;
    if (axis == 0) { // the causal VAE's first frame: the bounds shift back and clamp at 0
        const float shift = (float)cfg->causal_offset - scale;
        start = divide(fmaxf(start + shift, 0.0f), g->frame_rate);
        end = divide(fmaxf(end + shift, 0.0f), g->frame_rate);
    }
    return (start + end) / 2.0f;
}

// The midpoint of audio latent frame i in seconds.
static float audio_position(const ltx2_config *cfg, int i) {
    const float scale = (float)cfg->audio_scale_factor, shift = (float)cfg->causal_offset - scale;
    const float start = divide(fmaxf((float)i * scale + shift, 0.0f) * (float)cfg->hop_length,
                               (float)cfg->sampling_rate);
    const float end = divide(fmaxf((float)(i + 1) * scale + shift, 0.0f) * (float)cfg->hop_length,
                             (float)cfg->sampling_rate);
    return (start + end) / 2.0f;
}

void ltx2_rope_row(double theta, int double_precision, const float *pos, int axes, int cols,
                   float *c, float *s) {
    const int n = 2 * cols / (2 * axes), pad = cols - n * axes;
    for (int j = 0; j < pad; j++) c[j] = 1.0f, s[j] = 0.0f;
    for (int k = 0; k < n; k++) {
        const double lin = linspace01(k, n);
        const float freq = double_precision
                               ? (float)(pow(theta, lin) * M_PI / 2.0)
                               : powf((float)theta, (float)lin) * (float)M_PI / 2.0f;
        for (int a = 0; a < axes; a++) {
            const float angle = (pos[a] * 2.0f - 1.0f) * freq;
            c[pad + k * axes + a] = cosf(angle);
            s[pad + k * axes + a] = sinf(angle);
        }
    }
}

void ltx2_rope_table(const ltx2_config *cfg, const br_geometry *g, ltx2_rope_kind kind,
                     float *cos_t, float *sin_t) {
    int rows, cols;
    ltx2_rope_size(cfg, g, kind, &rows, &cols);
    const int H = g->grid[0][1], W = g->grid[0][2];
    // The audio-video tables count time only, against the larger of the two frame bases.
    const int cross_max = cfg->video.pos_max > cfg->audio.pos_max ? cfg->video.pos_max
                                                                   : cfg->audio.pos_max;
    for (int r = 0; r < rows; r++) {
        float pos[3];
        int axes = 1;
        switch (kind) {
        case LTX2_ROPE_VIDEO: {
            const int cell[3] = {r / (H * W), r / W % H, r % W};
            const float base[3] = {(float)cfg->video.pos_max, (float)cfg->base_height,
                                   (float)cfg->base_width};
            for (int a = 0; a < 3; a++) pos[a] = divide(video_position(cfg, g, a, cell[a]), base[a]);
            axes = 3;
            break;
        }
        case LTX2_ROPE_CROSS_VIDEO:
            pos[0] = divide(video_position(cfg, g, 0, r / (H * W)), (float)cross_max);
            break;
        case LTX2_ROPE_AUDIO:
            pos[0] = divide(audio_position(cfg, r), (float)cfg->audio.pos_max);
            break;
        case LTX2_ROPE_CROSS_AUDIO:
            pos[0] = divide(audio_position(cfg, r), (float)cross_max);
            break;
        }
        ltx2_rope_row(cfg->theta, cfg->double_precision, pos, axes, cols, cos_t + (size_t)r * cols, sin_t + (size_t)r * cols);
    }
}
