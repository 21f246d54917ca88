// norm.c: the normalisations of an LTX block, fused with their AdaLN modulation where the model
// applies one: RMSNorm (no weight) * (1 + scale) + shift before self-attention and feed-forward,
// RMSNorm with weight over the whole q and k, LayerNorm (no affine) before proj_out.
// Sums are accumulated in double: the reference reduces in fp32 with pairwise sums, and a double
// accumulator stays closer to the exact value than either.
#include <math.h>

#include "kernels_cpu.h"

static float inv_rms(const float *x, int D, float eps) {
    double ss = 0.0;
    for (int i = 0; i < D; i++) ss += (double)x[i] * x[i];
    return 1.0f / sqrtf((float)(ss / D) + eps);
}

void cpu_rms_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                      int mod_stride, int B, int S, int D, float eps) {
    for (int r = 0; r < B * S; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = y + (size_t)r * D;
        const float *sh = shift + (size_t)(r / S) * mod_stride;
        const float *sc = scale + (size_t)(r / S) * mod_stride;
        float inv = inv_rms(xr, D, eps);
        for (int i = 0; i < D; i++) yr[i] = xr[i] * inv * (1.0f + sc[i]) + sh[i];
    }
}

void cpu_rms_norm(float *x, const float *w, int rows, int D, float eps) {
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * D;
        float inv = inv_rms(xr, D, eps);
        for (int i = 0; i < D; i++) xr[i] = xr[i] * inv * (w ? w[i] : 1.0f);
    }
}

void cpu_layer_norm_mod(float *y, const float *x, const float *shift, const float *scale,
                        int mod_stride, int B, int S, int D, float eps) {
    for (int r = 0; r < B * S; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = y + (size_t)r * D;
        const float *sh = shift + (size_t)(r / S) * mod_stride;
        const float *sc = scale + (size_t)(r / S) * mod_stride;
        double sum = 0.0, ss = 0.0;
        for (int i = 0; i < D; i++) sum += xr[i];
        float mean = (float)(sum / D);
        for (int i = 0; i < D; i++) ss += (double)(xr[i] - mean) * (xr[i] - mean);
        float inv = 1.0f / sqrtf((float)(ss / D) + eps);
        for (int i = 0; i < D; i++) yr[i] = (xr[i] - mean) * inv * (1.0f + sc[i]) + sh[i];
    }
}
