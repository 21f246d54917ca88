// attention_ref.h: what the two standalone attention tools (attention_cuda_check.cu and
// attention_f32_tune.cu) share: the CUDA error check, the random inputs and the double-precision
// reference attention they are both held to.
#ifndef BR_ATTENTION_REF_H
#define BR_ATTENTION_REF_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

#include <cuda_runtime.h>

#define CK(x)                                                                              \
    do {                                                                                   \
        cudaError_t e_ = (x);                                                              \
        if (e_ != cudaSuccess) {                                                           \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(2);                                                                       \
        }                                                                                  \
    } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float urand() { // uniform in [-1, 1)
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0) - 1.0);
}

// Naive attention in double for query row i of (b, h); writes dh values.
static void ref_row(double *o, const float *q, const float *k, const float *v, const float *bias,
                    int Sq, int Sk, int H, int dh, int b, int h, int i) {
    const size_t D = (size_t)H * dh;
    std::vector<double> s(Sk);
    const float *qi = q + ((size_t)b * Sq + i) * D + (size_t)h * dh;
    double mx = -INFINITY;
    for (int j = 0; j < Sk; j++) {
        const float *kj = k + ((size_t)b * Sk + j) * D + (size_t)h * dh;
        double acc = 0;
        for (int d = 0; d < dh; d++) acc += (double)qi[d] * kj[d];
        s[j] = acc / sqrt((double)dh) + (bias ? bias[(size_t)b * Sk + j] : 0.0);
        mx = std::max(mx, s[j]);
    }
    double sum = 0;
    for (int j = 0; j < Sk; j++) sum += (s[j] = exp(s[j] - mx));
    for (int d = 0; d < dh; d++) o[d] = 0;
    for (int j = 0; j < Sk; j++) {
        const float *vj = v + ((size_t)b * Sk + j) * D + (size_t)h * dh;
        for (int d = 0; d < dh; d++) o[d] += s[j] / sum * vj[d];
    }
}

#endif
