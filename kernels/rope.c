// rope.c: rotary position embedding applied to q or k in adjacent channel pairs: out = x * cos +
// rot(x) * sin. The tables have one column per channel, over the whole row (LTX rotates across
// heads) or over one head's channels (Qwen-Image rotates every head alike).
#include "kernels_cpu.h"

void cpu_rope(float *x, const float *cos_t, const float *sin_t, int B, int S, int D, int W) {
    for (int r = 0; r < B * S; r++) {
        float *xr = x + (size_t)r * D;
        const float *c = cos_t + (size_t)(r % S) * W;
        const float *s = sin_t + (size_t)(r % S) * W;
        for (int i = 0; i + 1 < D; i += 2) {
            const int j = i % W;
            float a = xr[i], b = xr[i + 1];
            xr[i] = a * c[j] - b * s[j];
            xr[i + 1] = b * c[j + 1] + a * s[j + 1];
        }
    }
}
