// attention_any.cu: the general attention kernel, for every head dim 1 .. 512 and any operand
// alignment, in fp32 arithmetic on CUDA cores for fp32 and bf16 operands alike. It is what
// cuda_attention_f32 and cuda_attention_bf16 fall back to outside their fast kernels (dh 8, 16,
// 32, 64, 128 on 16-byte aligned operands), and it runs on sm_60 and newer (the Pascal path: no
// tensor cores, no bf16 instructions, no cp.async, static shared memory under 48 KiB). Same
// layouts and numerics as attention_f32.cu (see there): scores in log2 units, one exp2f each,
// an online softmax, deterministic (fixed reduction orders, no atomics). bf16 operands are
// widened exactly on load (bits << 16) and the output rounded to nearest even (store.cuh).
//
// Design. A warp owns R query rows of one (batch, head); lane x holds head dims x, x + 32, ...
// (NP = ceil(dh / 32) of them, zeros past dh) of each row's q (scaled) and output accumulator,
// so any dh costs at most 31 idle dims per row. A step takes KC = 32 / R keys, i.e. R x KC = 32
// scores per warp:
//  1. every lane computes the 32 partial dot products over its dims (NP FMAs each, R per value
//     of K it reads from shared memory);
//  2. a reduce-scatter (5 shuffle rounds, 16 + 8 + 4 + 2 + 1 values) leaves each lane one
//     complete score: lane x gets row x / KC, key x % KC;
//  3. the online softmax of that score: the row's max over its KC lanes (log2 KC shuffles), one
//     exp2f per lane, and the lane's share of the row sum (summed over the lanes at the end);
//  4. an all-gather (the reduce-scatter backwards) hands every lane the 32 probabilities, and
//     o += p v over its dims (R FMAs per value of V).
// The reduce-scatter needs no selects: lane x keeps the score of flattened (row, key) index f in
// slot f ^ x, so at each round it keeps the low half of its live slots and the partner's high
// half holds the same indices (attention_f32.cu does the same over fewer lanes). Slot r*KC + j
// of lane x is therefore row r ^ (x / KC) and key j ^ (x % KC): the lane loads its q rows and
// reads its K and V rows in that order. Per 32 scores: 64*NP FMAs against ~65 shuffles and
// 2*KC*NP shared loads, so at dh 96 FMAs take about half of the issue slots (this is no SGEMM
// tiling; the fast kernels are for the common dims).
//
// K and V tiles of BK keys (rows of 32*NP floats: each lane reads its own bank, conflict-free)
// are staged in shared memory by the block's 4 warps, with two barriers per tile; several
// blocks per SM hide the loads. Keys past Sk get a score of -inf and zero values.
#include <math.h>
#include <stdint.h>

#include "attention_common.cuh"
#include "kernels_cuda.h"
#include "store.cuh"

// Operand loads: fp32 as is, bf16 widened exactly.
static __device__ __forceinline__ float load_op(const float *p) { return *p; }
static __device__ __forceinline__ float load_op(const uint16_t *p) {
    return __uint_as_float((uint32_t)*p << 16);
}

template <int NP_> struct AnyCfg {
    static constexpr int NP = NP_;            // head dims per lane (its slice of q and output)
    static constexpr int R = NP <= 8 ? 8 : 4; // query rows per warp: 2*R*NP registers of q
                                              // and output, 128 at most (NP 8 and 16)
    static constexpr int KC = 32 / R;         // keys per step: R*KC = 32 scores
    static constexpr int NW = 4, T = 32 * NW; // warps and threads per block
    static constexpr int BQ = NW * R;         // query rows per block
    static constexpr int W = 32 * NP;         // floats per K or V row in shared memory
    static constexpr int BK_ = 96 / NP / KC * KC; // keys per tile: K and V about 24 KiB
    static constexpr int BK = BK_ < KC ? KC : BK_ > 64 ? 64 : BK_;
    static constexpr int PER = BK * W / T; // tile values each thread stages, per matrix
    static_assert(NP >= 1 && NP * 32 <= ATTN_MAX_DH, "1 to 16 dims per lane");
    static_assert(BK % KC == 0 && BK * W % T == 0 && BK <= T, "tile shape");
    static_assert((2 * BK * W + BK) * 4 <= 48 * 1024, "static shared memory");
};

// (The explicit minimum of 1 block per SM: without it, ptxas squeezes NP 1 into 64 registers and
// spills.)
template <class C, typename T>
__global__ void __launch_bounds__(C::T, 1)
    attention_any_kernel(T *__restrict__ out, const T *__restrict__ q, const T *__restrict__ k,
                         const T *__restrict__ v, const float *__restrict__ bias, int Sq, int Sk,
                         int H, int dh, float qscale) {
    constexpr int NP = C::NP, R = C::R, KC = C::KC, BK = C::BK, W = C::W;
    constexpr unsigned FULL = 0xffffffffu;
    __shared__ float ks[BK][W], vs[BK][W]; // the tile's K and V rows, zeros past dh and Sk
    __shared__ float bs[BK];               // bias * log2(e) of the tile's keys; -inf past Sk
    const int tid = threadIdx.x, lane = tid % 32;
    const int pr = lane / KC, pk = lane % KC; // slot permutation; also this lane's score
    const int q0 = blockIdx.x * C::BQ + tid / 32 * R, h = blockIdx.y, b = blockIdx.z;
    const size_t D = (size_t)H * dh;
    const T *qb = q + (size_t)b * Sq * D + (size_t)h * dh;
    const T *kb = k + (size_t)b * Sk * D + (size_t)h * dh;
    const T *vb = v + (size_t)b * Sk * D + (size_t)h * dh;
    const float *bias_b = bias ? bias + (size_t)b * Sk : nullptr;
    const bool active = q0 < Sq; // warp-uniform: a warp past Sq only helps stage the tiles

    // Row slot r is row q0 + (r ^ pr); rows past Sq compute on zeros and are not written.
    float qr[R][NP], o[R][NP];
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int row = q0 + (r ^ pr);
#pragma unroll
        for (int i = 0; i < NP; i++) {
            const int d = lane + 32 * i;
            qr[r][i] = row < Sq && d < dh ? load_op(qb + (size_t)row * D + d) * qscale : 0.f;
            o[r][i] = 0.f;
        }
    }
    // Of row pr (this lane's score row): the running max, and this lane's share of the sum.
    float m = -INFINITY, l = 0.f;

    const int ntiles = (Sk - 1) / BK + 1;
    for (int t = 0; t < ntiles; t++) {
        const int k0 = t * BK, n = Sk - k0 < BK ? Sk - k0 : BK;
        __syncthreads(); // the previous tile is no longer read
        // Value e of a tile is key e / W, column e % W: a warp loads 32 adjacent dims of a row.
#pragma unroll 8
        for (int p = 0; p < C::PER; p++) {
            const int e = p * C::T + tid, key = e / W, col = e % W;
            float kx = 0.f, vx = 0.f;
            if (key < n && col < dh) {
                const size_t at = (size_t)(k0 + key) * D + col;
                kx = load_op(kb + at), vx = load_op(vb + at);
            }
            ks[key][col] = kx, vs[key][col] = vx;
        }
        if (tid < BK)
            bs[tid] = tid < n ? (bias_b ? bias_b[k0 + tid] * ATTN_LOG2E : 0.f) : -INFINITY;
        __syncthreads();
        if (!active) continue;

#pragma unroll 1
        for (int j0 = 0; j0 < n; j0 += KC) { // keys j0 + j >= n: bs = -inf, zero rows
            // 1. Partial scores over this lane's dims; slot r*KC + j: row r ^ pr, key j ^ pk.
            float s[R * KC];
#pragma unroll
            for (int i = 0; i < R * KC; i++) s[i] = 0.f;
#pragma unroll
            for (int j = 0; j < KC; j++) {
                const float *kr = &ks[j0 + (j ^ pk)][lane];
#pragma unroll
                for (int i = 0; i < NP; i++) {
                    const float kk = kr[32 * i];
#pragma unroll
                    for (int r = 0; r < R; r++) s[r * KC + j] = fmaf(qr[r][i], kk, s[r * KC + j]);
                }
            }
            // 2. Reduce-scatter: slot i of the partner holds index i ^ partner, so its high
            // half is this lane's low half. (Constant inner bounds keep s in registers.)
#pragma unroll
            for (int off = 16; off >= 1; off /= 2)
#pragma unroll
                for (int i = 0; i < 16; i++)
                    if (i < off) s[i] += __shfl_xor_sync(FULL, s[i + off], off);

            // 3. Online softmax of s[0] = score of row pr, key j0 + pk. The mask is finite, so
            // key j0 gives every row a finite max; the -inf guard only keeps a caller's -inf
            // bias from making NaN of the rows it does not mask entirely.
            const float sc = s[0] + bs[j0 + pk];
            float mx = sc;
#pragma unroll
            for (int off = 1; off < KC; off *= 2) mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, off));
            mx = fmaxf(m, mx);
            const float mref = mx == -INFINITY ? 0.f : mx;
            const float alpha = exp2f(m - mref); // 0 on the first step, then 1 until m grows
            m = mx;
            const float p = exp2f(sc - mref);
            l = l * alpha + p;

            // 4. All-gather (the reduce-scatter backwards): s[r*KC + j] is then the
            // probability of row slot r, key slot j. Rescale only when some max of the warp
            // grew (past the first keys that is rare; a multiply by exactly 1 changes no bit).
            s[0] = p;
#pragma unroll
            for (int off = 1; off < 32; off *= 2)
#pragma unroll
                for (int i = 0; i < 16; i++)
                    if (i < off) s[i + off] = __shfl_xor_sync(FULL, s[i], off);
            if (__any_sync(FULL, alpha != 1.f)) {
#pragma unroll
                for (int r = 0; r < R; r++) {
                    // Row r ^ pr's factor is held by the lanes whose pr differs by r.
                    const float a = __shfl_xor_sync(FULL, alpha, r * KC);
#pragma unroll
                    for (int i = 0; i < NP; i++) o[r][i] *= a;
                }
            }
#pragma unroll
            for (int j = 0; j < KC; j++) {
                const float *vr = &vs[j0 + (j ^ pk)][lane];
#pragma unroll
                for (int i = 0; i < NP; i++) {
                    const float vv = vr[32 * i];
#pragma unroll
                    for (int r = 0; r < R; r++) o[r][i] = fmaf(s[r * KC + j], vv, o[r][i]);
                }
            }
        }
    }
    if (!active) return;

    // The row sum over its KC lanes (a + b == b + a: they all get the same bits), then the
    // inverse of row slot r from the lanes that hold row r ^ pr.
#pragma unroll
    for (int off = 1; off < KC; off *= 2) l += __shfl_xor_sync(FULL, l, off);
    const float inv = 1.0f / l;
    float a[R];
#pragma unroll
    for (int r = 0; r < R; r++) a[r] = __shfl_xor_sync(FULL, inv, r * KC);
    T *ob = out + (size_t)b * Sq * D + (size_t)h * dh;
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int row = q0 + (r ^ pr);
        if (row >= Sq) continue;
#pragma unroll
        for (int i = 0; i < NP; i++) {
            const int d = lane + 32 * i;
            if (d < dh) store(ob + (size_t)row * D + d, o[r][i] * a[r]);
        }
    }
}

template <class C, typename T>
static cudaError_t launch_any(T *out, const T *q, const T *k, const T *v, const float *bias,
                              int B, int Sq, int Sk, int H, int dh, cudaStream_t st) {
    dim3 grid((unsigned)((Sq - 1) / C::BQ + 1), (unsigned)H, (unsigned)B);
    attention_any_kernel<C, T><<<grid, C::T, 0, st>>>(out, q, k, v, bias, Sq, Sk, H, dh,
                                                      ATTN_LOG2E / sqrtf((float)dh));
    return cudaGetLastError();
}

// One kernel per dims-per-lane count, so that q and the output stay in registers.
template <typename T>
static cudaError_t attention_any(T *out, const T *q, const T *k, const T *v, const float *bias,
                                 int B, int Sq, int Sk, int H, int dh, cudaStream_t st) {
    if (!attn_shape_ok(B, Sq, Sk, H, dh)) return cudaErrorInvalidValue;
#define ANY_CASE(np) \
    case np: return launch_any<AnyCfg<np>>(out, q, k, v, bias, B, Sq, Sk, H, dh, st)
    switch ((dh + 31) / 32) {
        ANY_CASE(1); ANY_CASE(2); ANY_CASE(3); ANY_CASE(4);
        ANY_CASE(5); ANY_CASE(6); ANY_CASE(7); ANY_CASE(8);
        ANY_CASE(9); ANY_CASE(10); ANY_CASE(11); ANY_CASE(12);
        ANY_CASE(13); ANY_CASE(14); ANY_CASE(15); ANY_CASE(16);
    }
#undef ANY_CASE
    return cudaErrorInvalidValue;
}

extern "C" {

cudaError_t cuda_attention_any_f32(float *out, const float *q, const float *k, const float *v,
                                   const float *bias, int B, int Sq, int Sk, int H, int dh,
                                   cudaStream_t stream) {
    return attention_any(out, q, k, v, bias, B, Sq, Sk, H, dh, stream);
}

cudaError_t cuda_attention_any_bf16(uint16_t *out, const uint16_t *q, const uint16_t *k,
                                    const uint16_t *v, const float *bias, int B, int Sq, int Sk,
                                    int H, int dh, cudaStream_t stream) {
    return attention_any(out, q, k, v, bias, B, Sq, Sk, H, dh, stream);
}

int cuda_attention_max_head_dim(void) { return ATTN_MAX_DH; }

} // extern "C"
