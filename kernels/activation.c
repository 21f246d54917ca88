// activation.c: SiLU (time embedding), GELU with the tanh approximation (caption projection,
// feed-forward) and the gated GELU of a fused gate/up projection (Gemma 3's MLP), in fp32 as
// torch computes them.
#include <math.h>

#include "kernels_cpu.h"

void cpu_silu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

// One formula for both GELUs, so that cpu_gelu_gate's gate is cpu_gelu_tanh's value bit for bit.
static inline float gelu_tanh(float v) {
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

void cpu_gelu_tanh(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = gelu_tanh(x[i]);
}

void cpu_gelu_gate(float *y, const float *x, int rows, int F) {
    for (size_t r = 0; r < (size_t)rows; r++) {
        const float *gate = x + r * 2 * F, *up = gate + F;
        float *yr = y + r * F;
        for (int c = 0; c < F; c++) yr[c] = gelu_tanh(gate[c]) * up[c];
    }
}
