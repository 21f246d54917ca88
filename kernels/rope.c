// rope.c: rotary position embedding applied to q or k over the whole channel axis (LTX rotates
// across heads, in adjacent pairs): out = x * cos + rot(x) * sin.
#include "kernels_cpu.h"

void cpu_rope(float *x, const float *cos_t, const float *sin_t, int B, int S, int D) {
    for (int r = 0; r < B * S; r++) {
        float *xr = x + (size_t)r * D;
        const float *c = cos_t + (size_t)(r % S) * D;
        const float *s = sin_t + (size_t)(r % S) * D;
        for (int i = 0; i + 1 < D; i += 2) {
            float a = xr[i], b = xr[i + 1];
            xr[i] = a * c[i] - b * s[i];
            xr[i + 1] = b * c[i + 1] + a * s[i + 1];
        }
    }
}
