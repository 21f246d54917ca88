// attention.c: scaled dot-product attention on the CPU, per batch element and head:
// out = softmax(q k^T / sqrt(dh) + bias) v. Queries go in blocks of QBLOCK rows so that the
// scores in memory are QBLOCK x Sk, never Sq x Sk; both products are SGEMMs over strided head
// slices (heads are interleaved in the channel axis, so the leading dimension is H*dh).
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "kernels_cpu.h"

enum { QBLOCK = 128 };

static void softmax_rows(float *scores, int rows, int Sk, const float *bias) {
    for (int i = 0; i < rows; i++) {
        float *s = scores + (size_t)i * Sk;
        if (bias)
            for (int j = 0; j < Sk; j++) s[j] += bias[j];
        float mx = s[0];
        for (int j = 1; j < Sk; j++) mx = s[j] > mx ? s[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < Sk; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < Sk; j++) s[j] *= inv;
    }
}

void cpu_attention(float *out, const float *q, const float *k, const float *v, const float *bias,
                   int B, int Sq, int Sk, int H, int dh) {
    const int D = H * dh;
    const float scale = 1.0f / sqrtf((float)dh);
    float *scores = malloc((size_t)QBLOCK * Sk * sizeof(float));
    if (!scores) abort(); // a few MiB at most; the stage planned far larger buffers already
    for (int b = 0; b < B; b++) {
        const float *bias_b = bias ? bias + (size_t)b * Sk : NULL;
        for (int h = 0; h < H; h++) {
            const float *kb = k + (size_t)b * Sk * D + (size_t)h * dh;
            const float *vb = v + (size_t)b * Sk * D + (size_t)h * dh;
            for (int i0 = 0; i0 < Sq; i0 += QBLOCK) {
                int rows = Sq - i0 < QBLOCK ? Sq - i0 : QBLOCK;
                const float *qb = q + ((size_t)b * Sq + i0) * D + (size_t)h * dh;
                float *ob = out + ((size_t)b * Sq + i0) * D + (size_t)h * dh;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, Sk, dh, scale, qb, D,
                            kb, D, 0.0f, scores, Sk);
                softmax_rows(scores, rows, Sk, bias_b);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dh, Sk, 1.0f, scores,
                            Sk, vb, D, 0.0f, ob, D);
            }
        }
    }
    free(scores);
}
