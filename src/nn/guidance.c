// guidance.c: see guidance.h. Sums are accumulated in double: the reference reduces in fp32, and
// a double accumulator stays closer to the exact value than its pairwise fp32 sums.
#include "guidance.h"

#include <math.h>

// Unbiased standard deviation, accumulated in double.
static double std_dev(const float *x, size_t n) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += x[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
    return n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
}

void nn_cfg_std_rescale(float *v, const float *v_uncond, const float *v_cond, size_t n, float g,
                        float rescale) {
    for (size_t i = 0; i < n; i++) v[i] = v_uncond[i] + g * (v_cond[i] - v_uncond[i]);
    if (rescale <= 0) return;
    double s_cfg = std_dev(v, n);
    float ratio = s_cfg > 0 ? (float)(std_dev(v_cond, n) / s_cfg) : 1.0f;
    for (size_t i = 0; i < n; i++) v[i] = rescale * (v[i] * ratio) + (1.0f - rescale) * v[i];
}

// Each tensor operation of the pipeline rounds on its own (no contraction in ISO C); a Python
// number such as 1 - r is rounded from double.
static float x0_of(float x, float pred, float sigma) { return x - pred * sigma; }

void nn_x0_guide(float *v, const float *x, const nn_x0_guidance *gd, size_t n, float sigma) {
    const float cfg = (float)((double)gd->scale - 1.0), mod = (float)((double)gd->modality - 1.0);
    double mean_c = 0, m2_c = 0; // x0_cond's mean and squared deviations (Welford), taken here:
                                 // v may alias the cond prediction, read for the last time here
    for (size_t i = 0; i < n; i++) {
        const float c = x0_of(x[i], gd->cond[i], sigma);
        float sum = c;
        if (gd->uncond) sum = sum + cfg * (c - x0_of(x[i], gd->uncond[i], sigma));
        if (gd->perturbed) sum = sum + gd->stg * (c - x0_of(x[i], gd->perturbed[i], sigma));
        if (gd->isolated) sum = sum + mod * (c - x0_of(x[i], gd->isolated[i], sigma));
        v[i] = sum;
        const double d = c - mean_c;
        mean_c += d / (double)(i + 1);
        m2_c += d * (c - mean_c);
    }
    if (gd->rescale > 0) {
        const double s_g = std_dev(v, n), s_c = n > 1 ? sqrt(m2_c / (double)(n - 1)) : 0.0;
        const float ratio = s_g > 0 ? (float)(s_c / s_g) : 1.0f;
        const float keep = (float)(1.0 - (double)gd->rescale);
        for (size_t i = 0; i < n; i++) v[i] = gd->rescale * (v[i] * ratio) + keep * v[i];
    }
    for (size_t i = 0; i < n; i++) v[i] = (x[i] - v[i]) / sigma;
}

static float l2_norm(const float *x, int C) {
    double sq = 0;
    for (int c = 0; c < C; c++) sq += (double)x[c] * x[c];
    return (float)sqrt(sq);
}

void nn_true_cfg_norm(float *v, const float *v_uncond, const float *v_cond, int T, int C, float g) {
    for (int t = 0; t < T; t++) {
        const size_t o = (size_t)t * C;
        float *comb = v + o;
        for (int c = 0; c < C; c++) comb[c] = v_uncond[o + c] + g * (v_cond[o + c] - v_uncond[o + c]);
        // The pipeline divides the norms first, then multiplies (noise_pred = comb * (cond_norm /
        // noise_norm)); a zero comb gives 0/0 there too, so it is left as it is here.
        const float cond_norm = l2_norm(v_cond + o, C), comb_norm = l2_norm(comb, C);
        if (comb_norm == 0) continue;
        const float ratio = cond_norm / comb_norm;
        for (int c = 0; c < C; c++) comb[c] *= ratio;
    }
}
