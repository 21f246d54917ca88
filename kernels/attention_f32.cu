// attention_f32.cu: fused scaled dot-product attention in fp32, the CUDA twin of
// kernels/attention.c: out = softmax(q k^T / sqrt(dh) + bias) v per batch element and head, heads
// interleaved in the channel axis (element (b, s, h, d) at ((b*S + s)*H + h)*dh + d).
//
// "Flash" style: one block per (query tile, head, batch), K/V streamed through shared memory in
// tiles of keys, and an online softmax (running max m and sum l per query row; when the max
// grows, what was accumulated is rescaled by exp(m_old - m_new)), so no Sq x Sk matrix ever
// exists. Scores are kept in log2 units (q k^T * log2(e)/sqrt(dh) + bias * log2(e)), which makes
// every exponential one exp2f (2 ulp, subnormal results kept). Masked tail keys (beyond Sk) get a
// score of -inf. The bias must be finite (a mask is a large negative number): key 0 then gives
// every row a finite max in the first step. Deterministic: fixed reduction orders, no atomics.
//
// Plain fp32 on CUDA cores, sm_60-safe (no tensor cores, no bf16, no cp.async, static shared
// memory <= 48 KiB): the path of old cards (Tesla P40), benchmarked on an H100.
//
// Why this design. An SM issues 4 warp-wide FFMAs per clock but moves only 32 values (one 32-bit
// value per lane of one warp) per clock out of shared memory or through a shuffle; a float4 load
// counts 4, even when all lanes read the same address. So a thread must do about 4 FMAs per value
// it loads or shuffles, which SGEMM gets from an 8 x 8 register tile (16 values per k step for
// 64 FMAs). The previous kernel (2 query rows x 32 head dims per thread) did 2 FMAs per value and
// sat near half of the fp32 peak (30 TFLOP/s at dh 64 on an H100, 23 at 128). An SGEMM-like
// kernel with Q, K, V and P all in shared memory does not fit 48 KiB at dh 128 with tiles large
// enough to give each thread an 8 x 8 tile of both products (Q alone is 32 KiB for 64 rows).
//
// So q stays in registers, and each thread owns an 8 x 8 tile: R = 8 query rows x DS = 8 head
// dims, its slice of q (scaled) and of the output accumulators (64 + 64 registers). The
// NX = dh / DS threads with the same rows (a "row group", consecutive lanes of one warp) split
// the head dims. For a step of KC = 4 keys:
//  1. partial scores s[r][j] = q[r] . k[j] over the thread's DS dims: R*DS*KC FMAs for the
//     DS*KC values of K it loads (all row groups read the same K row: a broadcast);
//  2. a reduce-scatter over the NX lanes (log2 NX shuffle rounds, each halving what is
//     exchanged) leaves every lane W = R*KC/NX complete scores (R*KC*(1 - 1/NX) shuffles);
//  3. the lanes do the online softmax of the scores they hold (2 lanes per row at dh 128,
//     1 at dh 64), and an all-gather (the reduce-scatter backwards) hands every lane all R x KC
//     probabilities; the rescale factors follow only when a row max of the warp grew (a vote:
//     past the first few hundred keys that is rare, and skipping a multiply by exactly 1 changes
//     no bit);
//  4. o[r] += p[r][j] v[j] over the thread's DS dims: R*DS*KC FMAs for DS*KC values of V.
// The reduce-scatter needs no selects: lane x computes its R x KC partial scores in an order
// permuted by x (slot i holds the flattened (row, key) index i ^ (x*W)), so at every round each
// lane keeps the low half of its live slots and sends the high half, which the partner's
// permutation makes the partner's own low half. The permutation moves rows (and where W < KC,
// dh 128, also keys: odd lanes read key j ^ 2 for slot j); q, the output, K and V follow it.
//
// Per step and thread (R = DS = 8, KC = 4): 512 FMAs against 64 loaded and ~60 shuffled values,
// about 4 FMAs per moved value (like SGEMM's 8 x 8 tile), where the old kernel had 2. The other
// instructions (16 LDS.128, ~60 shuffles, ~30 adds of the reduce-scatter, ~25 of softmax and
// ~30 of address and prefetch arithmetic) leave FFMAs ~75% of the issue slots.
//
// K and V tiles (BK keys) are double-buffered in shared memory: during the steps of a tile every
// thread loads its part of the next tile from global memory into registers before a step's math
// and stores it into the other buffer after it, so the loads' latency hides behind the math and
// one __syncthreads per tile suffices. Shared memory: 2 x 2 x BK x dh x 4 bytes = 32 KiB at
// dh 128 (BK 16) and dh 64 (BK 32). Registers (-Xptxas -v, no spills): 219 at dh 128 and 213 at
// dh 64 on sm_90 with 4-key steps (203, 198 on sm_75; 8-key steps, the ones in use, take more,
// still without spills), so 2 blocks of 128 threads (8 warps) per SM on an H100 and on a P40
// alike (64K registers each). The latency of the shuffle rounds and the softmax is
// covered by the other warp of the scheduler and by the FMAs around it.
// tests/attention_f32_tune.cu times other configurations (F32Cfg) in one GPU run. Other head dims
// and unaligned operands go to the general kernel (attention_any.cu).
#include <math.h>

#include "attention_common.cuh"
#include "kernels_cuda.h"

// ================================ fp32 kernel (sm_60+) =====================================

template <int DH_, int R_, int DS_, int KC_, int BK_, int T_, int MINB_ = 1> struct F32Cfg {
    static constexpr int DH = DH_;
    static constexpr int R = R_;       // query rows per thread
    static constexpr int DS = DS_;     // head dims per thread (its slice of q and of the output)
    static constexpr int KC = KC_;     // keys per online-softmax step
    static constexpr int BK = BK_;     // keys per shared-memory tile
    static constexpr int T = T_;       // threads per block
    static constexpr int MINB = MINB_; // blocks per SM the register allocation must allow
    static constexpr int NX = DH / DS;         // lanes of a row group (they split the head dims)
    static constexpr int NY = T / NX;          // row groups per block
    static constexpr int BQ = NY * R;          // query rows per block
    static constexpr int C4 = DH / 4;          // float4 per key row
    static constexpr int NV = DS / 4;          // float4 of a row per thread
    static constexpr int W = R * KC / NX;      // complete scores per lane after the reduce-scatter
    static constexpr int KE = W < KC ? W : KC; // of which in one row
    static constexpr int OWN = W / KE;         // rows a lane does the softmax of
    static constexpr int LPR = KC / KE;        // lanes sharing the softmax of a row
    static constexpr int NCH = BK / KC;        // steps per tile
    static constexpr int TILE4 = 2 * BK * C4;  // float4 in a tile: BK rows of K, then of V
    static constexpr int PPT = TILE4 / T;      // tile float4 each thread loads
    static constexpr int PPC = (PPT + NCH - 1) / NCH; // ... per step (the prefetch registers)
    static_assert(DS % 4 == 0 && NX * DS == DH, "DS: a multiple of 4 dividing dh");
    static_assert(NX <= 32 && (NX & (NX - 1)) == 0, "a row group lies in one warp");
    static_assert((R & (R - 1)) == 0 && (KC & (KC - 1)) == 0, "the slot permutation is an XOR");
    static_assert(W >= 1 && W * NX == R * KC, "every lane keeps a score");
    static_assert(T % 32 == 0 && BK % KC == 0 && TILE4 % T == 0 && BK <= T, "tile shape");
    static_assert(2 * TILE4 * 16 + 2 * BK * 4 <= 48 * 1024, "static shared memory");
};

// Float4 e of a tile of n keys starting at k0 (rows of K, then of V); zeros past n: 0 * p is 0,
// never NaN.
template <class C>
__device__ __forceinline__ float4 tile_part(const float4 *__restrict__ k4,
                                            const float4 *__restrict__ v4, size_t D4, int k0,
                                            int n, int e) {
    const bool isv = e >= C::BK * C::C4;
    const int ee = isv ? e - C::BK * C::C4 : e, key = ee / C::C4;
    if (key >= n) return make_float4(0.f, 0.f, 0.f, 0.f);
    return (isv ? v4 : k4)[(size_t)(k0 + key) * D4 + ee % C::C4];
}

// Bias of key k0 + e in log2 units; -inf past the tile's n keys.
static __device__ __forceinline__ float tile_bias(const float *bias_b, int k0, int n, int e) {
    return e < n ? (bias_b ? bias_b[k0 + e] * ATTN_LOG2E : 0.f) : -INFINITY;
}

// a[0, OWN) holds one value per row this lane did the softmax of; afterwards a[r] holds the
// value of row slot r, for all R. The all-gather rounds whose exchanged scores cover whole rows
// (off * W >= KC) move rows; in the others the partner shares this lane's row.
template <class C> __device__ __forceinline__ void gather_rows(float (&a)[C::R]) {
#pragma unroll
    for (int off = 1; off < C::NX; off *= 2) {
        if (off * C::W < C::KC) continue;
        const int hr = off * C::W / C::KC;
#pragma unroll
        for (int r = 0; r < C::R / 2; r++)
            if (r < hr) a[r + hr] = __shfl_xor_sync(0xffffffffu, a[r], off);
    }
}

template <class C>
__global__ void __launch_bounds__(C::T, C::MINB)
    attention_f32_kernel(float *__restrict__ out, const float *__restrict__ q,
                         const float *__restrict__ k, const float *__restrict__ v,
                         const float *__restrict__ bias, int Sq, int Sk, int H, float qscale) {
    constexpr int R = C::R, KC = C::KC, NX = C::NX, NV = C::NV, C4 = C::C4, BK = C::BK,
                  T = C::T, W = C::W;
    constexpr unsigned FULL = 0xffffffffu;
    __shared__ float4 kv[2][C::TILE4]; // double buffer: BK rows of K, then BK rows of V
    __shared__ float bs[2][BK];        // bias * log2(e) of the tile's keys; -inf past Sk
    const int tid = threadIdx.x, x = tid % NX;
    // Slot i of this lane's R x KC scores is the flattened (row, key) index i ^ (x*W): row slot
    // r is row r ^ pr of the row group, key slot j is key j ^ pk of the step.
    const int pr = x * W / KC, pk = x * W % KC;
    const int q0 = blockIdx.x * C::BQ + tid / NX * R, h = blockIdx.y, b = blockIdx.z;
    const size_t D4 = (size_t)H * C4; // row stride in float4
    const float4 *q4 = reinterpret_cast<const float4 *>(q) + (size_t)b * Sq * D4 + (size_t)h * C4;
    const float4 *k4 = reinterpret_cast<const float4 *>(k) + (size_t)b * Sk * D4 + (size_t)h * C4;
    const float4 *v4 = reinterpret_cast<const float4 *>(v) + (size_t)b * Sk * D4 + (size_t)h * C4;
    const float *bias_b = bias ? bias + (size_t)b * Sk : nullptr;

    // The lane's dims are the float4 chunks x, x + NX, ...: for one load the NX lanes of a row
    // group read adjacent 16-byte chunks of a key row (no bank conflicts beyond the minimum),
    // and the row groups read the same ones. Rows past Sq compute on zeros and are not written.
    float4 qr[R][NV], o[R][NV];
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int row = q0 + (r ^ pr);
#pragma unroll
        for (int i = 0; i < NV; i++) {
            float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
            if (row < Sq) t = q4[(size_t)row * D4 + x + i * NX];
            qr[r][i] = make_float4(t.x * qscale, t.y * qscale, t.z * qscale, t.w * qscale);
            o[r][i] = make_float4(0.f, 0.f, 0.f, 0.f);
        }
    }
    float m[C::OWN], l[C::OWN]; // of the rows this lane does the softmax of
#pragma unroll
    for (int u = 0; u < C::OWN; u++) m[u] = -INFINITY, l[u] = 0.f;

    { // tile 0
        const int n0 = Sk < BK ? Sk : BK;
#pragma unroll
        for (int p = 0; p < C::PPT; p++)
            kv[0][p * T + tid] = tile_part<C>(k4, v4, D4, 0, n0, p * T + tid);
        if (tid < BK) bs[0][tid] = tile_bias(bias_b, 0, n0, tid);
        __syncthreads();
    }

    const int ntiles = (Sk + BK - 1) / BK;
    for (int t = 0; t < ntiles; t++) {
        const int cur = t & 1, k0 = t * BK, n = Sk - k0 < BK ? Sk - k0 : BK;
        const bool more = t + 1 < ntiles;
        const int n1 = Sk - k0 - BK < BK ? Sk - k0 - BK : BK; // keys of the next tile
        const float4 *kt = kv[cur], *vt = kv[cur] + BK * C4;
#pragma unroll 1
        for (int c = 0; c < C::NCH; c++) {
            // Prefetch this step's share of the next tile; stored after the math.
            float4 st[C::PPC];
            float sb = 0.f;
            if (more) {
#pragma unroll
                for (int u = 0; u < C::PPC; u++) {
                    const int p = c * C::PPC + u;
                    if (p < C::PPT) st[u] = tile_part<C>(k4, v4, D4, k0 + BK, n1, p * T + tid);
                }
                if (c == 0 && tid < BK) sb = tile_bias(bias_b, k0 + BK, n1, tid);
            }

            const int j0 = c * KC; // keys j0 + j >= n are masked by bs = -inf
            if (j0 < n) {
                // 1. Partial scores over this lane's dims, in the permuted slot order.
                float s[R * KC];
#pragma unroll
                for (int i = 0; i < R * KC; i++) s[i] = 0.f;
#pragma unroll
                for (int j = 0; j < KC; j++) {
                    const float4 *kr = kt + (j0 + (j ^ pk)) * C4 + x;
#pragma unroll
                    for (int i = 0; i < NV; i++) {
                        const float4 kk = kr[i * NX];
#pragma unroll
                        for (int r = 0; r < R; r++) {
                            float &a = s[r * KC + j];
                            a = fmaf(qr[r][i].x, kk.x, a);
                            a = fmaf(qr[r][i].y, kk.y, a);
                            a = fmaf(qr[r][i].z, kk.z, a);
                            a = fmaf(qr[r][i].w, kk.w, a);
                        }
                    }
                }
                // 2. Reduce-scatter: keep the low half of the live slots, add the partner's
                // high half (which holds the same scores); W complete scores remain in s[0, W).
                // (The inner loops run to a constant bound, so that nvcc unrolls both loops
                // and s stays in registers.)
#pragma unroll
                for (int off = NX / 2; off >= 1; off /= 2)
#pragma unroll
                    for (int i = 0; i < R * KC / 2; i++)
                        if (i < off * W) s[i] += __shfl_xor_sync(FULL, s[i + off * W], off);

                // 3. Online softmax of the held scores: s[u*KE + e] is key pk + e of row slot u
                // (pk = 0 when a lane holds whole rows). LPR lanes share a row's max.
                float alpha[C::OWN];
                bool grew = false;
#pragma unroll
                for (int u = 0; u < C::OWN; u++) {
                    float mx = -INFINITY;
#pragma unroll
                    for (int e = 0; e < C::KE; e++) {
                        s[u * C::KE + e] += bs[cur][j0 + pk + e];
                        mx = fmaxf(mx, s[u * C::KE + e]);
                    }
#pragma unroll
                    for (int off = 1; off < C::LPR; off *= 2)
                        mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, off));
                    mx = fmaxf(m[u], mx);
                    alpha[u] = exp2f(m[u] - mx);
                    grew |= alpha[u] != 1.f;
                    m[u] = mx;
                    float sum = 0.f;
#pragma unroll
                    for (int e = 0; e < C::KE; e++) {
                        s[u * C::KE + e] = exp2f(s[u * C::KE + e] - mx);
                        sum += s[u * C::KE + e];
                    }
                    l[u] = l[u] * alpha[u] + sum;
                }
                // All-gather: the reduce-scatter backwards; s[r*KC + j] is then the probability
                // of row slot r, key slot j.
#pragma unroll
                for (int off = 1; off < NX; off *= 2)
#pragma unroll
                    for (int i = 0; i < R * KC / 2; i++)
                        if (i < off * W) s[i + off * W] = __shfl_xor_sync(FULL, s[i], off);
                if (__any_sync(FULL, grew)) { // some row max of the warp grew: rescale
                    float a[R];
#pragma unroll
                    for (int u = 0; u < C::OWN; u++) a[u] = alpha[u];
                    gather_rows<C>(a);
#pragma unroll
                    for (int r = 0; r < R; r++)
#pragma unroll
                        for (int i = 0; i < NV; i++) {
                            o[r][i].x *= a[r], o[r][i].y *= a[r];
                            o[r][i].z *= a[r], o[r][i].w *= a[r];
                        }
                }
                // 4. o += p v over this lane's dims.
#pragma unroll
                for (int j = 0; j < KC; j++) {
                    const float4 *vr = vt + (j0 + (j ^ pk)) * C4 + x;
#pragma unroll
                    for (int i = 0; i < NV; i++) {
                        const float4 vv = vr[i * NX];
#pragma unroll
                        for (int r = 0; r < R; r++) {
                            const float p = s[r * KC + j];
                            o[r][i].x = fmaf(p, vv.x, o[r][i].x);
                            o[r][i].y = fmaf(p, vv.y, o[r][i].y);
                            o[r][i].z = fmaf(p, vv.z, o[r][i].z);
                            o[r][i].w = fmaf(p, vv.w, o[r][i].w);
                        }
                    }
                }
            }

            if (more) { // the other buffer was last read before the previous __syncthreads
#pragma unroll
                for (int u = 0; u < C::PPC; u++) {
                    const int p = c * C::PPC + u;
                    if (p < C::PPT) kv[cur ^ 1][p * T + tid] = st[u];
                }
                if (c == 0 && tid < BK) bs[cur ^ 1][tid] = sb;
            }
        }
        __syncthreads(); // the next tile is stored; this one is no longer read
    }

    // l: the sum over the LPR lanes of a row (a + b == b + a: they all get the same bits).
    float a[R];
#pragma unroll
    for (int u = 0; u < C::OWN; u++) {
#pragma unroll
        for (int off = 1; off < C::LPR; off *= 2) l[u] += __shfl_xor_sync(FULL, l[u], off);
        a[u] = 1.0f / l[u];
    }
    gather_rows<C>(a);
    float4 *o4 = reinterpret_cast<float4 *>(out) + (size_t)b * Sq * D4 + (size_t)h * C4;
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int row = q0 + (r ^ pr);
        if (row >= Sq) continue;
#pragma unroll
        for (int i = 0; i < NV; i++)
            o4[(size_t)row * D4 + x + i * NX] =
                make_float4(o[r][i].x * a[r], o[r][i].y * a[r], o[r][i].z * a[r], o[r][i].w * a[r]);
    }
}

template <class C>
static cudaError_t launch_f32(float *out, const float *q, const float *k, const float *v,
                              const float *bias, int B, int Sq, int Sk, int H, cudaStream_t st) {
    dim3 grid((unsigned)((Sq + C::BQ - 1) / C::BQ), (unsigned)H, (unsigned)B);
    attention_f32_kernel<C><<<grid, C::T, 0, st>>>(out, q, k, v, bias, Sq, Sk, H,
                                                   ATTN_LOG2E / sqrtf((float)C::DH));
    return cudaGetLastError();
}

// The configurations in use: F32Cfg<dh, R, DS, KC, BK, T>. dh 64 and 128 take steps of 8 keys,
// the fastest in tests/attention_f32_tune.cu on an H100 (B=2 Sq=Sk=6144 H=32, 2026-11-23:
// 33.3 TFLOP/s at dh 64 and 30.3 at dh 128, against 29.7 and 26.6 with 4 keys; the halved
// shuffle latency per FMA outweighs the registers); dh 8-32 are untimed.
typedef F32Cfg<8, 4, 8, 4, 32, 64> F32Dh8;      // 1 lane per row group: no shuffles
typedef F32Cfg<16, 8, 8, 4, 32, 64> F32Dh16;
typedef F32Cfg<32, 8, 8, 4, 32, 128> F32Dh32;
typedef F32Cfg<64, 8, 8, 8, 32, 128> F32Dh64;
typedef F32Cfg<128, 8, 8, 8, 16, 128> F32Dh128;

extern "C" cudaError_t cuda_attention_f32(float *out, const float *q, const float *k,
                                          const float *v, const float *bias, int B, int Sq,
                                          int Sk, int H, int dh, cudaStream_t stream) {
    if (!attn_shape_ok(B, Sq, Sk, H, dh)) return cudaErrorInvalidValue;
    if (attn_fast(dh, out, q, k, v)) {
        switch (dh) {
        case 8: return launch_f32<F32Dh8>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        case 16: return launch_f32<F32Dh16>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        case 32: return launch_f32<F32Dh32>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        case 64: return launch_f32<F32Dh64>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        case 128: return launch_f32<F32Dh128>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        }
    }
    return cuda_attention_any_f32(out, q, k, v, bias, B, Sq, Sk, H, dh, stream); // attention_any.cu
}
