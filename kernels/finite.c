// finite.c: the numeric guard's scan: how many values are NaN or Inf, and the largest finite
// magnitude (what tells an fp16/bf16 overflow from a genuinely broken input).
#include <math.h>

#include "kernels_cpu.h"

size_t cpu_count_non_finite(const float *x, size_t n, float *max_abs) {
    size_t bad = 0;
    float mx = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) bad++;
        else if (fabsf(x[i]) > mx) mx = fabsf(x[i]);
    }
    *max_abs = mx;
    return bad;
}
