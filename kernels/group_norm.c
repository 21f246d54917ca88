// group_norm.c: GroupNorm with its own weight and bias (torch.nn.GroupNorm with affine) on
// channels-last rows [rows, C], the rows being every frame and pixel of one sample: each group
// of C / groups consecutive channels is normalised by the mean and (biased) variance of all its
// values in all rows, as torch takes them over (C / groups, F, H, W). LTX-2's latent upsampler.
// Sums in double, as layer_norm.c.
#include <math.h>

#include "kernels_cpu.h"

void cpu_group_norm(float *y, const float *x, const float *w, const float *b, int rows, int C,
                    int groups, float eps) {
    const int cg = C / groups;
    const double n = (double)rows * cg;
    for (int g = 0; g < groups; g++) {
        const int c0 = g * cg;
        double sum = 0.0, ss = 0.0;
        for (int r = 0; r < rows; r++)
            for (int c = c0; c < c0 + cg; c++) sum += x[(size_t)r * C + c];
        const float mean = (float)(sum / n);
        for (int r = 0; r < rows; r++)
            for (int c = c0; c < c0 + cg; c++) {
                const double d = x[(size_t)r * C + c] - mean;
                ss += d * d;
            }
        const float inv = 1.0f / sqrtf((float)(ss / n) + eps);
        for (int r = 0; r < rows; r++)
            for (int c = c0; c < c0 + cg; c++) {
                const size_t i = (size_t)r * C + c;
                y[i] = (x[i] - mean) * inv * w[c] + b[c];
            }
    }
}
