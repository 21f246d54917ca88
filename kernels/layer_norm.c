// layer_norm.c: LayerNorm with its own weight and bias (torch.nn.LayerNorm with
// elementwise_affine), over rows of D: the VAE decoder's shortcut norm when a ResNet block
// changes width. The transformer's LayerNorm (no affine, AdaLN modulation) is in norm.c.
// Sums in double, as there.
#include <math.h>

#include "kernels_cpu.h"

void cpu_layer_norm(float *y, const float *x, const float *w, const float *b, int rows, int D,
                    float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = y + (size_t)r * D;
        double sum = 0.0, ss = 0.0;
        for (int i = 0; i < D; i++) sum += xr[i];
        const float mean = (float)(sum / D);
        for (int i = 0; i < D; i++) ss += (double)(xr[i] - mean) * (xr[i] - mean);
        const float inv = 1.0f / sqrtf((float)(ss / D) + eps);
        for (int i = 0; i < D; i++)
            yr[i] = (xr[i] - mean) * inv * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
    }
}
