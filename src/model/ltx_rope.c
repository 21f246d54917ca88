// ltx_rope.c: RoPE tables. Token (f, h, w) has coordinates f*s_t*p_t/20, h*s_h*p/2048,
// w*s_w*p/2048; n = D / 6 frequencies w_j = 10000^(j/(n-1)) * pi/2; angle = w_j * (2*coord - 1);
// laid out frequency-major, axis-minor, each angle repeated for the pair (2i, 2i+1); when D is not
// a multiple of 6, the first D mod 6 channels hold cos 1, sin 0. Every step is rounded to fp32 in
// the reference's order, so the tables match it to the last bit or so.
#include "ltx_rope.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

static const float PI_F = 3.14159265358979323846f;
enum { BASE_FRAMES = 20, BASE_HEIGHT = 2048, BASE_WIDTH = 2048 };

// torch.linspace(0, 1, n) in fp32: the first half counts up from 0, the second down from 1.
static float linspace01(int j, int n) {
    if (n == 1) return 0.0f;
    float step = 1.0f / (float)(n - 1);
    return j < n / 2 ? (float)j * step : 1.0f - (float)(n - 1 - j) * step;
}

void ltx_rope_tables(float *cos_t, float *sin_t, const ltx_config *cfg, int frames, int height,
                     int width, const float scale[3]) {
    const int D = cfg->dim, n = D / 6, pad = D % 6;
    const float base[3] = {BASE_FRAMES, BASE_HEIGHT, BASE_WIDTH};
    const float patch[3] = {(float)cfg->patch_size_t, (float)cfg->patch_size,
                            (float)cfg->patch_size};
    int s = 0;
    for (int f = 0; f < frames; f++)
        for (int h = 0; h < height; h++)
            for (int w = 0; w < width; w++, s++) {
                const int index[3] = {f, h, w};
                float *c = cos_t + (size_t)s * D, *sn = sin_t + (size_t)s * D;
                for (int i = 0; i < pad; i++) c[i] = 1.0f, sn[i] = 0.0f;
                for (int j = 0; j < n; j++) {
                    float freq = (float)pow(10000.0, (double)linspace01(j, n));
                    freq = freq * PI_F / 2.0f;
                    for (int a = 0; a < 3; a++) {
                        float coord = (float)index[a] * scale[a] * patch[a] / base[a];
                        float angle = freq * (coord * 2.0f - 1.0f);
                        int ch = pad + 2 * (3 * j + a);
                        c[ch] = c[ch + 1] = (float)cos((double)angle);
                        sn[ch] = sn[ch + 1] = (float)sin((double)angle);
                    }
                }
            }
}

br_status ltx_rope_upload(br_backend *be, const ltx_config *cfg, int frames, int height,
                          int width, const float scale[3], float *cos_dev, float *sin_dev) {
    const size_t n = (size_t)frames * height * width * cfg->dim;
    float *c = malloc(n * sizeof(float)), *s = malloc(n * sizeof(float));
    if (!c || !s) {
        free(c), free(s);
        return br_fail(BR_ENOMEM, "out of memory for the RoPE tables");
    }
    ltx_rope_tables(c, s, cfg, frames, height, width, scale);
    be->upload(be, cos_dev, c, n);
    be->upload(be, sin_dev, s, n);
    free(c), free(s);
    return BR_OK;
}
