// ltx_rope.c: RoPE tables. Token (f, h, w) has coordinates f*s_t*p_t/20, h*s_h*p/2048,
// w*s_w*p/2048; n = D / 6 frequencies w_j = 10000^(j/(n-1)) * pi/2; angle = w_j * (2*coord - 1);
// laid out frequency-major, axis-minor, each angle repeated for the pair (2i, 2i+1); when D is not
// a multiple of 6, the first D mod 6 channels hold cos 1, sin 0. Every step is rounded to fp32 in
// the reference's order, so the tables match it to the last bit or so.
#include "ltx_rope.h"

#include <math.h>
#include <stddef.h>

#include "nn/rope.h"

static const float PI_F = 3.14159265358979323846f;
enum { BASE_FRAMES = 20, BASE_HEIGHT = 2048, BASE_WIDTH = 2048 };

// torch.linspace(0, 1, n) in fp32: the first half counts up from 0, the second down from 1.
static float linspace01(int j, int n) {
    if (n == 1) return 0.0f;
    float step = 1.0f / (float)(n - 1);
    return j < n / 2 ? (float)j * step : 1.0f - (float)(n - 1 - j) * step;
}

typedef struct {
    const ltx_config *cfg;
    int height, width;
    const float *scale;
} grid;

// Row s of the tables: the token (f, h, w) in (frame, height, width) order.
static void fill_row(const void *ctx, int s, float *c, float *sn) {
    const grid *g = ctx;
    const ltx_config *cfg = g->cfg;
    const int D = cfg->dim, n = D / 6, pad = D % 6;
    const float base[3] = {BASE_FRAMES, BASE_HEIGHT, BASE_WIDTH};
    const float patch[3] = {(float)cfg->patch_size_t, (float)cfg->patch_size,
                            (float)cfg->patch_size};
    const int index[3] = {s / (g->height * g->width), s / g->width % g->height, s % g->width};
    for (int i = 0; i < pad; i++) c[i] = 1.0f, sn[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        float freq = (float)pow(10000.0, (double)linspace01(j, n));
        freq = freq * PI_F / 2.0f;
        for (int a = 0; a < 3; a++) {
            float coord = (float)index[a] * g->scale[a] * patch[a] / base[a];
            float angle = freq * (coord * 2.0f - 1.0f);
            nn_rope_pair(c + pad, sn + pad, 3 * j + a, angle);
        }
    }
}

br_status ltx_rope_upload(br_backend *be, const ltx_config *cfg, int frames, int height,
                          int width, const float scale[3], float *cos_dev, float *sin_dev) {
    const grid g = {cfg, height, width, scale};
    return nn_rope_upload(be, frames * height * width, cfg->dim, fill_row, &g, cos_dev, sin_dev);
}
