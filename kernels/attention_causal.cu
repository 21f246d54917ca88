// attention_causal.cu: causal self-attention with grouped key/value heads and an optional sliding
// window, the CUDA twin of kernels/attention_causal.c (a decoder's text encoder: Gemma 3). Query
// i of (batch b, query head h) attends to keys j <= i (and i - j < window when window > 0) of
// key/value head h / (H / Hkv); q and out are [B, S, H*dh], k and v [B, S, Hkv*dh], heads
// interleaved in the channel axis. fp32 and bf16 operands, fp32 arithmetic for both (bf16 widened
// exactly on load, the output rounded to nearest even by store.cuh: bit manipulation, no bf16
// hardware), so every path runs on sm_60 and newer (the Pascal path: no tensor cores, no
// cp.async, static shared memory under 48 KiB). Head dims 1 .. 256.
//
// Design: attention_any.cu's (see there for the details), with the causal mask in place of the
// bias. A block owns BQ = 32 consecutive queries of one (batch, query head): each of its 4 warps
// R = 8 rows, lane x holding head dims x, x + 32, ... (NP = ceil(dh / 32) of them) of each row's
// q (scaled into log2 units) and output accumulator. K/V tiles of BK keys are staged in shared
// memory (zeros past dh), and each step of KC = 4 keys computes the warp's 32 scores with a
// reduce-scatter (each lane ends with one complete score: row pr, key pk), does the online
// softmax of it (running max and sum; one exp2f per lane) and, after an all-gather of the 32
// probabilities, o += p v. Deterministic: fixed reduction orders, no atomics.
//
// What the mask changes. A block only stages the keys one of its rows can see: from the first
// row's window start to its last row. A warp skips the steps that none of its rows can see
// (warp-uniform: the shuffles stay whole-warp). Within a step a key a row may not see gets a
// score of -inf; a row whose steps so far were all masked keeps m = -inf, l = 0 and o = 0 (the
// guard takes the reference max 0 there, so no -inf - -inf), and every row sees itself, so its
// sum ends positive. Blocks of later queries see more keys: they go first (blockIdx.y counts
// query tiles from the last), with all heads of a tile side by side (blockIdx.x), so the short
// ones fill the GPU's tail.
#include <math.h>
#include <stdint.h>

#include "attention_common.cuh"
#include "kernels_cuda.h"
#include "store.cuh"

#define CAUSAL_MAX_DH 256 // 8 dims per lane: q and the output fit in 128 registers per thread

// Operand loads: fp32 as is, bf16 widened exactly.
static __device__ __forceinline__ float widen(const float *p) { return *p; }
static __device__ __forceinline__ float widen(const uint16_t *p) {
    return __uint_as_float((uint32_t)*p << 16);
}

template <int NP_> struct CausalCfg {
    static constexpr int NP = NP_;      // head dims per lane (its slice of q and output)
    static constexpr int R = 8, KC = 4; // query rows per warp, keys per step: R*KC = 32 scores
    static constexpr int NW = 4, T = 32 * NW; // warps and threads per block
    static constexpr int BQ = NW * R;   // query rows per block
    static constexpr int W = 32 * NP;   // floats per K or V row in shared memory
    static constexpr int BK_ = 96 / NP / KC * KC; // keys per tile: K and V about 24 KiB
    static constexpr int BK = BK_ > 64 ? 64 : BK_;
    static constexpr int PER = BK * W / T; // tile values each thread stages, per matrix
    static_assert(NP >= 1 && NP * 32 <= CAUSAL_MAX_DH, "1 to 8 dims per lane");
    static_assert(BK % KC == 0 && BK * W % T == 0, "tile shape");
    static_assert(2 * BK * W * 4 <= 48 * 1024, "static shared memory");
};

// The first key query i sees.
static __device__ __forceinline__ int first_key(int i, int window) {
    return window > 0 && i >= window ? i - window + 1 : 0;
}

template <class C, typename T>
__global__ void __launch_bounds__(C::T, 1)
    attention_causal_kernel(T *__restrict__ out, const T *__restrict__ q, const T *__restrict__ k,
                            const T *__restrict__ v, int S, int H, int Hkv, int dh, int window,
                            float qscale) {
    constexpr int NP = C::NP, R = C::R, KC = C::KC, BK = C::BK, W = C::W;
    constexpr unsigned FULL = 0xffffffffu;
    __shared__ float ks[BK][W], vs[BK][W]; // the tile's K and V rows, zeros past dh
    const int tid = threadIdx.x, lane = tid % 32;
    const int pr = lane / KC, pk = lane % KC; // slot permutation; also this lane's score
    const int qb0 = (gridDim.y - 1 - blockIdx.y) * C::BQ, h = blockIdx.x, b = blockIdx.z;
    const int q0 = qb0 + tid / 32 * R, hkv = h / (H / Hkv);
    const size_t D = (size_t)H * dh, Dkv = (size_t)Hkv * dh;
    const T *qb = q + (size_t)b * S * D + (size_t)h * dh;
    const T *kb = k + (size_t)b * S * Dkv + (size_t)hkv * dh;
    const T *vb = v + (size_t)b * S * Dkv + (size_t)hkv * dh;
    const bool active = q0 < S; // warp-uniform: a warp past S only helps stage the tiles

    // Row slot r is row q0 + (r ^ pr); rows past S compute on zeros and are not written.
    float qr[R][NP], o[R][NP];
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int row = q0 + (r ^ pr);
#pragma unroll
        for (int i = 0; i < NP; i++) {
            const int d = lane + 32 * i;
            qr[r][i] = row < S && d < dh ? widen(qb + (size_t)row * D + d) * qscale : 0.f;
            o[r][i] = 0.f;
        }
    }
    // Of row q0 + pr (this lane's score row): the running max, and this lane's share of the sum.
    float m = -INFINITY, l = 0.f;
    const int my_row = q0 + pr;
    // The keys the block stages, [lo, hi), and those some row of this warp sees, [wlo, whi).
    const int lo = first_key(qb0, window), hi = min(S, qb0 + C::BQ);
    const int wlo = first_key(q0, window), whi = min(S, q0 + R);

    for (int k0 = lo; k0 < hi; k0 += BK) {
        const int n = min(BK, hi - k0);
        __syncthreads(); // the previous tile is no longer read
        // Value e of a tile is key e / W, column e % W: a warp loads 32 adjacent dims of a row.
#pragma unroll 8
        for (int p = 0; p < C::PER; p++) {
            const int e = p * C::T + tid, key = e / W, col = e % W;
            float kx = 0.f, vx = 0.f;
            if (key < n && col < dh) {
                const size_t at = (size_t)(k0 + key) * Dkv + col;
                kx = widen(kb + at), vx = widen(vb + at);
            }
            ks[key][col] = kx, vs[key][col] = vx;
        }
        __syncthreads();
        if (!active) continue;

#pragma unroll 1
        for (int j0 = 0; j0 < n; j0 += KC) {
            // Steps no row of the warp sees (before its first row's window, after its last row).
            if (k0 + j0 >= whi || k0 + j0 + KC <= wlo) continue;
            // 1. Partial scores over this lane's dims; slot r*KC + j: row r ^ pr, key j ^ pk
            // (keys past the tile's n read the zero rows staged for them).
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
            // 2. Reduce-scatter (attention_any.cu): s[0] ends as the score of row my_row, key
            // k0 + j0 + pk.
#pragma unroll
            for (int off = 16; off >= 1; off /= 2)
#pragma unroll
                for (int i = 0; i < 16; i++)
                    if (i < off) s[i] += __shfl_xor_sync(FULL, s[i + off], off);

            // 3. The mask, then the online softmax of s[0].
            const int key = k0 + j0 + pk;
            const bool seen =
                j0 + pk < n && key <= my_row && (window <= 0 || my_row - key < window);
            const float sc = seen ? s[0] : -INFINITY;
            float mx = sc;
#pragma unroll
            for (int off = 1; off < KC; off *= 2) mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, off));
            mx = fmaxf(m, mx);
            const float mref = mx == -INFINITY ? 0.f : mx; // no key of the row seen yet
            const float alpha = exp2f(m - mref); // 0 on the first seen step, then 1 until m grows
            m = mx;
            const float p = exp2f(sc - mref);
            l = l * alpha + p;

            // 4. All-gather: s[r*KC + j] is then the probability of row slot r, key slot j.
            // Rescale only when some max of the warp grew (a multiply by 1 changes no bit).
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

    // The row sum over its KC lanes, then the inverse of row slot r from the lanes that hold
    // row r ^ pr (a row past S may have seen nothing: its inf is never stored).
#pragma unroll
    for (int off = 1; off < KC; off *= 2) l += __shfl_xor_sync(FULL, l, off);
    const float inv = 1.0f / l;
    float a[R];
#pragma unroll
    for (int r = 0; r < R; r++) a[r] = __shfl_xor_sync(FULL, inv, r * KC);
    T *ob = out + (size_t)b * S * D + (size_t)h * dh;
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int row = q0 + (r ^ pr);
        if (row >= S) continue;
#pragma unroll
        for (int i = 0; i < NP; i++) {
            const int d = lane + 32 * i;
            if (d < dh) store(ob + (size_t)row * D + d, o[r][i] * a[r]);
        }
    }
}

template <class C, typename T>
static cudaError_t launch_causal(T *out, const T *q, const T *k, const T *v, int B, int S, int H,
                                 int Hkv, int dh, int window, cudaStream_t st) {
    dim3 grid((unsigned)H, (unsigned)((S - 1) / C::BQ + 1), (unsigned)B);
    attention_causal_kernel<C, T><<<grid, C::T, 0, st>>>(out, q, k, v, S, H, Hkv, dh, window,
                                                         ATTN_LOG2E / sqrtf((float)dh));
    return cudaGetLastError();
}

// One kernel per dims-per-lane count, so that q and the output stay in registers. The grid's
// y (query tiles) and z (B) take at most 65535 each; x (H) far more.
template <typename T>
static cudaError_t attention_causal(T *out, const T *q, const T *k, const T *v, int B, int S,
                                    int H, int Hkv, int dh, int window, cudaStream_t st) {
    const int tiles = (S - 1) / CausalCfg<1>::BQ + 1;
    if (B < 1 || B > 65535 || S < 1 || tiles > 65535 || H < 1 || Hkv < 1 || H % Hkv || dh < 1 ||
        dh > CAUSAL_MAX_DH || window < 0)
        return cudaErrorInvalidValue;
#define CAUSAL_CASE(np) \
    case np: return launch_causal<CausalCfg<np>>(out, q, k, v, B, S, H, Hkv, dh, window, st)
    switch ((dh + 31) / 32) {
        CAUSAL_CASE(1); CAUSAL_CASE(2); CAUSAL_CASE(3); CAUSAL_CASE(4);
        CAUSAL_CASE(5); CAUSAL_CASE(6); CAUSAL_CASE(7); CAUSAL_CASE(8);
    }
#undef CAUSAL_CASE
    return cudaErrorInvalidValue;
}

extern "C" {

cudaError_t cuda_attention_causal_f32(float *out, const float *q, const float *k, const float *v,
                                      int B, int S, int H, int Hkv, int dh, int window,
                                      cudaStream_t stream) {
    return attention_causal(out, q, k, v, B, S, H, Hkv, dh, window, stream);
}

cudaError_t cuda_attention_causal_bf16(uint16_t *out, const uint16_t *q, const uint16_t *k,
                                       const uint16_t *v, int B, int S, int H, int Hkv, int dh,
                                       int window, cudaStream_t stream) {
    return attention_causal(out, q, k, v, B, S, H, Hkv, dh, window, stream);
}

int cuda_attention_causal_max_head_dim(void) { return CAUSAL_MAX_DH; }

} // extern "C"
