// activation.c: SiLU (time embedding) and GELU with the tanh approximation (caption projection,
// feed-forward), element-wise in place, in fp32 as torch computes them.
#include <math.h>

#include "kernels_cpu.h"

void cpu_silu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

void cpu_gelu_tanh(float *x, size_t n) {
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}
