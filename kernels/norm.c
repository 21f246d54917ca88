// norm.c: the normalisations of the transformer blocks, fused with their AdaLN modulation where
// the model applies one: RMSNorm (no weight) or LayerNorm (no affine) * (1 + scale) + shift
// before attention and feed-forward, RMSNorm with weight over q and k (whole rows or per head),
// LayerNorm (no affine) before proj_out.
// Sums are accumulated in double: the reference reduces in fp32 with pairwise sums, and a double
// accumulator stays closer to the exact value than either.
#include <math.h>
#include <string.h>

#include "kernels_cpu.h"

// 1 / sqrt(mean((x - mean)^2) + eps) over D values (mean 0: RMSNorm).
static float inv_std(const float *x, int D, float mean, float eps) {
    double ss = 0.0;
    for (int i = 0; i < D; i++) ss += (double)(x[i] - mean) * (x[i] - mean);
    return 1.0f / sqrtf((float)(ss / D) + eps);
}

// The modulated norms: y = (x - mean) / std * (1 + scale_b) + shift_b; centre = 0 is RMSNorm,
// 1 is LayerNorm without affine.
static void norm_mod(float *y, const float *x, const float *shift, const float *scale,
                     int mod_stride, int B, int S, int D, float eps, int centre) {
    for (int r = 0; r < B * S; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = y + (size_t)r * D;
        const float *sh = shift + (size_t)(r / S) * mod_stride;
        const float *sc = scale + (size_t)(r / S) * mod_stride;
        float mean = 0.0f;
        if (centre) {
            double sum = 0.0;
            for (int i = 0; i < D; i++) sum += xr[i];
            mean = (float)(sum / D);
        }
        float inv = inv_std(xr, D, mean, eps);
        for (int i = 0; i < D; i++) yr[i] = (xr[i] - mean) * inv * (1.0f + sc[i]) + sh[i];
    }
}

void cpu_rms_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                      int mod_stride, int B, int S, int D, float eps) {
    norm_mod(y, x, shift, scale, mod_stride, B, S, D, eps, 0);
}

void cpu_rms_norm(float *x, const float *w, int rows, int D, float eps) {
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * D;
        float inv = inv_std(xr, D, 0.0f, eps);
        for (int i = 0; i < D; i++) xr[i] = xr[i] * inv * (w ? w[i] : 1.0f);
    }
}

void cpu_qk_norm_rope(float *y, const float *x, const float *w, const float *cos_t,
                      const float *sin_t, const br_qk_shape *sh) {
    const size_t row_floats = (size_t)sh->S * sh->D;
    for (int b = 0; b < sh->B; b++) {
        float *yb = y + ((size_t)b * sh->y_rows + sh->y_offset) * sh->D;
        const float *xb = x + (size_t)b * row_floats;
        if (yb != xb) memcpy(yb, xb, row_floats * sizeof(float));
        // Groups of `group` channels are rows of their own: w has `group` weights.
        cpu_rms_norm(yb, w, sh->S * (sh->D / sh->group), sh->group, sh->eps);
        if (cos_t && sh->split_dh) cpu_rope_split(yb, cos_t, sin_t, 1, sh->S, sh->D, sh->split_dh);
        else if (cos_t) cpu_rope(yb, cos_t, sin_t, 1, sh->S, sh->D, sh->table_width);
    }
}

void cpu_layer_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                        int mod_stride, int B, int S, int D, float eps) {
    norm_mod(y, x, shift, scale, mod_stride, B, S, D, eps, 1);
}
