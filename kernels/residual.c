// residual.c: gated residual adds (h += x * gate) and the AdaLN table add (table + temb).
#include "kernels_cpu.h"

void cpu_add_gated(float *h, const float *x, const float *gate, int gate_stride, int B, int S,
                   int D) {
    for (int r = 0; r < B * S; r++) {
        float *hr = h + (size_t)r * D;
        const float *xr = x + (size_t)r * D;
        if (!gate) {
            for (int i = 0; i < D; i++) hr[i] += xr[i];
            continue;
        }
        const float *g = gate + (size_t)(r / S) * gate_stride;
        for (int i = 0; i < D; i++) hr[i] += xr[i] * g[i];
    }
}

void cpu_add_table(float *y, const float *table, const float *rows, int B, int n) {
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++) y[(size_t)b * n + i] = table[i] + rows[(size_t)b * n + i];
}
