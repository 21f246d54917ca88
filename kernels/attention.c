// attention.c: scaled dot-product attention on the CPU, per batch element and head:
// out = softmax(q k^T / sqrt(dh) + bias) v. Queries go in blocks of QBLOCK rows so that the
// scores in memory are QBLOCK x Sk, never Sq x Sk; both products are SGEMMs over strided head
// slices (heads are interleaved in the channel axis, so the leading dimension is H*dh). The
// (batch, head, query block) tasks share brigade's threads (parallel.h).
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "kernels_cpu.h"
#include "parallel.h"

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

typedef struct {
    float *out, *scores; // scores: QBLOCK x Sk per worker
    const float *q, *k, *v, *bias;
    int Sq, Sk, H, dh, q_blocks;
} attention_job;

// One task: one query block of one head of one batch element.
static void attention_block(void *ctx, int task, int worker) {
    const attention_job *j = ctx;
    const int D = j->H * j->dh, i0 = task % j->q_blocks * QBLOCK;
    const int h = task / j->q_blocks % j->H, b = task / j->q_blocks / j->H;
    const int rows = j->Sq - i0 < QBLOCK ? j->Sq - i0 : QBLOCK;
    const float scale = 1.0f / sqrtf((float)j->dh);
    float *scores = j->scores + (size_t)worker * QBLOCK * j->Sk;
    const float *kb = j->k + (size_t)b * j->Sk * D + (size_t)h * j->dh;
    const float *vb = j->v + (size_t)b * j->Sk * D + (size_t)h * j->dh;
    const float *qb = j->q + ((size_t)b * j->Sq + i0) * D + (size_t)h * j->dh;
    float *ob = j->out + ((size_t)b * j->Sq + i0) * D + (size_t)h * j->dh;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, j->Sk, j->dh, scale, qb, D, kb, D,
                0.0f, scores, j->Sk);
    softmax_rows(scores, rows, j->Sk, j->bias ? j->bias + (size_t)b * j->Sk : NULL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, j->dh, j->Sk, 1.0f, scores, j->Sk,
                vb, D, 0.0f, ob, D);
}

void cpu_attention(float *out, const float *q, const float *k, const float *v, const float *bias,
                   int B, int Sq, int Sk, int H, int dh) {
    if (B <= 0 || Sq <= 0 || H <= 0) return;
    attention_job j = {out, NULL, q, k, v, bias, Sq, Sk, H, dh, (Sq + QBLOCK - 1) / QBLOCK};
    j.scores = malloc((size_t)br_parallel_threads() * QBLOCK * Sk * sizeof(float));
    if (!j.scores) abort(); // tens of MiB at most; the stage planned far larger buffers already
    br_parallel_for(B * H * j.q_blocks, attention_block, &j);
    free(j.scores);
}
