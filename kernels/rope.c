// rope.c: rotary position embedding applied to q or k in adjacent channel pairs: out = x * cos +
// rot(x) * sin. The tables have one column per channel, over the whole row (LTX rotates across
// heads) or over one head's channels (Qwen-Image rotates every head alike). LTX-2's split layout
// pairs channel i of a head with channel i + dh/2 instead (cpu_rope_split).
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

void cpu_rope_split(float *x, const float *cos_t, const float *sin_t, int B, int S, int D, int dh) {
    const int half = dh / 2, W = D / 2;
    for (int r = 0; r < B * S; r++) {
        float *xr = x + (size_t)r * D;
        const float *c = cos_t + (size_t)(r % S) * W, *s = sin_t + (size_t)(r % S) * W;
        for (int h = 0; h < D / dh; h++)
            for (int i = 0; i < half; i++) {
                float *a = xr + h * dh + i, *b = a + half;
                const int j = h * half + i;
                const float first = *a, second = *b;
                *a = first * c[j] - second * s[j];
                *b = second * c[j] + first * s[j];
            }
    }
}
