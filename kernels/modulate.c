// modulate.c: LTX-2's two elementwise pieces around its attentions: the modulation of a tensor
// without a norm before it (the prompt's keys and values under cross-attention AdaLN) and the
// per-head gates of its gated attention.
#include <math.h>

#include "kernels_cpu.h"

void cpu_modulate(float *y, const float *x, const float *shift, const float *scale, int mod_stride,
                  int B, int S, int D) {
    for (int r = 0; r < B * S; r++) {
        const float *sh = shift + (size_t)(r / S) * mod_stride;
        const float *sc = scale + (size_t)(r / S) * mod_stride;
        for (int i = 0; i < D; i++) y[(size_t)r * D + i] = x[(size_t)r * D + i] * (1 + sc[i]) + sh[i];
    }
}

void cpu_head_gate(float *x, const float *logits, int rows, int H, int dh) {
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < H; h++) {
            // 2 sigmoid: a gate of zero logits is 1 (the reference's choice).
            const float gate = 2.0f / (1.0f + expf(-logits[(size_t)r * H + h]));
            float *xh = x + ((size_t)r * H + h) * dh;
            for (int j = 0; j < dh; j++) xh[j] *= gate;
        }
}
