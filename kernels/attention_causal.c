// attention_causal.c: causal self-attention on the CPU with grouped key/value heads and an
// optional sliding window (a decoder's text encoder: Gemma 3, whose local layers see the last
// `window` tokens only). Per batch element and query head h, out = softmax(q k^T / sqrt(dh)) v
// over the keys j of query i with j <= i and, when window > 0, i - j < window; key/value head
// h / (H / Hkv) serves the group of query heads h belongs to.
// As kernels/attention.c: queries in blocks of QBLOCK rows, both products SGEMMs over strided
// head slices, (batch, head, query block) tasks on brigade's threads (parallel.h). A block
// multiplies only the keys some of its rows can see, [lo, i0 + rows); the scores of keys a row
// cannot see inside that range are set to -inf before the softmax. No padding mask: a prompt's
// padding comes after its tokens, which causality already hides from them.
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "kernels_cpu.h"
#include "parallel.h"

enum { QBLOCK = 128 };

typedef struct {
    float *out, *scores; // scores: QBLOCK x max_keys per worker
    const float *q, *k, *v;
    int S, H, Hkv, dh, window, q_blocks, max_keys;
} causal_job;

// The first key query i sees.
static int first_key(int i, int window) { return window > 0 && i >= window ? i - window + 1 : 0; }

// Softmax of a block's scores [rows, nk] over the keys lo .. lo + nk - 1, row r being query
// i0 + r: the keys it may not see get -inf first. Key i itself is always seen, so every row's
// max is finite and exp(-inf - max) is exactly 0.
static void causal_softmax(float *scores, int rows, int nk, int i0, int lo, int window) {
    for (int r = 0; r < rows; r++) {
        float *s = scores + (size_t)r * nk;
        const int i = i0 + r, from = first_key(i, window) - lo, to = i - lo; // seen: from .. to
        for (int c = 0; c < from; c++) s[c] = -INFINITY;
        for (int c = to + 1; c < nk; c++) s[c] = -INFINITY;
        float mx = s[to];
        for (int c = from; c < to; c++) mx = s[c] > mx ? s[c] : mx;
        double sum = 0.0;
        for (int c = 0; c < nk; c++) {
            s[c] = expf(s[c] - mx);
            sum += s[c];
        }
        const float inv = (float)(1.0 / sum);
        for (int c = 0; c < nk; c++) s[c] *= inv;
    }
}

// One task: one query block of one query head of one batch element. The last query blocks see
// the most keys, so tasks run from the last block to the first (the pool claims tasks in order:
// the long ones start first and the short ones fill in at the end).
static void causal_block(void *ctx, int task, int worker) {
    const causal_job *j = ctx;
    const int D = j->H * j->dh, Dkv = j->Hkv * j->dh;
    const int qblock = j->q_blocks - 1 - task % j->q_blocks, i0 = qblock * QBLOCK;
    const int h = task / j->q_blocks % j->H, b = task / j->q_blocks / j->H;
    const int hkv = h / (j->H / j->Hkv);
    const int rows = j->S - i0 < QBLOCK ? j->S - i0 : QBLOCK;
    const int lo = first_key(i0, j->window), nk = i0 + rows - lo; // keys lo .. i0 + rows - 1
    const float scale = 1.0f / sqrtf((float)j->dh);
    float *scores = j->scores + (size_t)worker * QBLOCK * j->max_keys;
    const float *kb = j->k + ((size_t)b * j->S + lo) * Dkv + (size_t)hkv * j->dh;
    const float *vb = j->v + ((size_t)b * j->S + lo) * Dkv + (size_t)hkv * j->dh;
    const float *qb = j->q + ((size_t)b * j->S + i0) * D + (size_t)h * j->dh;
    float *ob = j->out + ((size_t)b * j->S + i0) * D + (size_t)h * j->dh;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nk, j->dh, scale, qb, D, kb, Dkv,
                0.0f, scores, nk);
    causal_softmax(scores, rows, nk, i0, lo, j->window);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, j->dh, nk, 1.0f, scores, nk, vb,
                Dkv, 0.0f, ob, D);
}

void cpu_attention_causal(float *out, const float *q, const float *k, const float *v, int B,
                          int S, int H, int Hkv, int dh, int window) {
    if (B <= 0 || S <= 0 || H <= 0 || Hkv <= 0 || H % Hkv) return;
    causal_job j = {out, NULL, q, k, v, S, H, Hkv, dh, window, (S + QBLOCK - 1) / QBLOCK, S};
    // A block sees at most QBLOCK - 1 + window keys (its first row's window and its own rows).
    if (window > 0 && window < S - QBLOCK + 1) j.max_keys = QBLOCK - 1 + window;
    j.scores = malloc((size_t)br_parallel_threads() * QBLOCK * j.max_keys * sizeof(float));
    if (!j.scores) abort(); // tens of MiB at most; the stage planned far larger buffers already
    br_parallel_for(B * H * j.q_blocks, causal_block, &j);
    free(j.scores);
}
