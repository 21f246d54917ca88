// ltx_vae_conv.c: loading a VAE convolution (checkpoint layout -> the tap-major matrix) and
// applying it through the backend's im2col and linear ops.
#include "ltx_vae_conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// [c_out, c_in, taps] -> [c_out, taps, c_in], into a new array (src is freed).
static br_status taps_major(float *src, int c_in, int c_out, int taps, const char *name,
                            float **out) {
    float *dst = malloc((size_t)c_out * taps * c_in * sizeof(float));
    if (dst)
        for (size_t o = 0; o < (size_t)c_out; o++)
            for (int t = 0; t < taps; t++)
                for (int c = 0; c < c_in; c++)
                    dst[(o * taps + t) * c_in + c] = src[(o * c_in + c) * taps + t];
    free(src);
    *out = dst;
    return dst ? BR_OK : br_fail(BR_ENOMEM, "out of host memory for %s", name);
}

br_status ltx_vae_conv_read(br_checkpoint *ck, const char *name, int dims, int k, int c_in,
                            int c_out, float **w, float **b) {
    char key[256];
    const int64_t shape[5] = {c_out, c_in, k, k, k};
    const int taps = dims == 3 ? k * k * k : k * k;
    *w = *b = NULL;
    snprintf(key, sizeof key, "%s.weight", name);
    BR_TRY(br_ckpt_load(ck, key, 2 + dims, shape, w));
    BR_TRY(taps_major(*w, c_in, c_out, taps, key, w));
    snprintf(key, sizeof key, "%s.bias", name);
    const br_status st = br_ckpt_load(ck, key, 1, shape, b);
    if (st != BR_OK) {
        free(*w);
        *w = NULL;
    }
    return st;
}

br_status ltx_vae_conv_adopt(br_backend *be, const char *name, int c_in, int c_out, int taps,
                             float *w, float *b, ltx_vae_conv *cv) {
    char key[256];
    cv->c_in = c_in, cv->c_out = c_out, cv->taps = taps;
    snprintf(key, sizeof key, "%s.weight", name);
    if (!(cv->weight = be->adopt_matrix(be, w, (size_t)c_out, (size_t)taps * c_in, key))) {
        free(b);
        return BR_ENOMEM;
    }
    snprintf(key, sizeof key, "%s.bias", name);
    cv->bias = be->adopt_vector(be, b, (size_t)c_out, key);
    return cv->bias ? BR_OK : BR_ENOMEM;
}

br_status ltx_vae_conv_load(br_backend *be, br_checkpoint *ck, const char *name, int dims, int k,
                            int c_in, int c_out, ltx_vae_conv *cv) {
    float *w, *b;
    BR_TRY(ltx_vae_conv_read(ck, name, dims, k, c_in, c_out, &w, &b));
    return ltx_vae_conv_adopt(be, name, c_in, c_out, dims == 3 ? k * k * k : k * k, w, b, cv);
}

void ltx_vae_conv_free(br_backend *be, ltx_vae_conv *cv) {
    if (cv->weight) be->release_matrix(be, cv->weight);
    if (cv->bias) be->release(be, cv->bias);
    memset(cv, 0, sizeof *cv);
}

void ltx_vae_conv_apply(br_backend *be, const ltx_vae_conv *cv, float *y, const float *x, int F,
                        int H, int W, int causal, int row0, int n_rows, float *cols,
                        size_t cols_floats) {
    const int n_in = cv->taps * cv->c_in;
    if (cv->taps == 1) {
        be->linear(be, y, x + (size_t)row0 * cv->c_in, cv->weight, cv->bias, n_rows, cv->c_in,
                   cv->c_out);
        return;
    }
    const size_t fit = cols_floats / (size_t)n_in;
    const int chunk = fit < (size_t)n_rows ? (int)fit : n_rows;
    for (int r = 0; r < n_rows; r += chunk) {
        const int n = n_rows - r < chunk ? n_rows - r : chunk;
        be->im2col_3d(be, cols, x, F, H, W, cv->c_in, causal, row0 + r, n);
        be->linear(be, y + (size_t)r * cv->c_out, cols, cv->weight, cv->bias, n, n_in, cv->c_out);
    }
}
