// attention_bf16.cu: the tensor-core twin of attention_f32.cu (same layouts), on bf16 operands:
// q, k, v and out are bf16 bit patterns, the bias fp32. bf16 tensor cores (mma.sync m16n8k16,
// sm_80+) with fp32 accumulation and softmax, FlashAttention-2 style: each warp owns 16*MT query
// rows and walks all keys in tiles of KN, keeping its output rows in registers.
// Pipeline: K/V tiles go straight from global memory into padded shared buffers by cp.async (an
// NS-stage ring, one __syncthreads per tile), read by ldmatrix; Q is copied once per block the
// same way and read from shared memory each tile, or held in registers (QREG) where they suffice.
// The output goes through shared memory (Q's rows) for 16-byte stores.
// Other head dims and unaligned operands go to the general kernel (attention_any.cu); the launcher
// still asks for sm_80 for them (the bf16 backend's floor), cuda_attention_any_bf16 alone does not.
// H100, B=2 Sq=Sk=6144 H=32 (`attn_check alts`, 2026-11-23): 312 TFLOP/s at dh 64, 353 at dh
// 128 (on fp32 operands, before: 249 / 256); PyTorch 2.11 SDPA on bf16 there: FlashAttention-2
// 303 / 357, cuDNN 460 / 628 (both with Hopper-only wgmma).
#include <math.h>
#include <stdint.h>

#include <cuda_bf16.h>

#include "attention_common.cuh"
#include "kernels_cuda.h"

// ============================ bf16 tensor-core kernel (sm_80+) ==============================

// NW warps, each owning MT m16 tiles (16*MT query rows); KN keys per K/V tile; NS pipeline
// stages; QREG: Q's mma fragments stay in registers (else ldmatrix from shared memory per tile).
// More query rows per warp (MT) means fewer ldmatrix per mma (each K/V fragment feeds 2*MT of
// them), at the price of registers: dh 128 with MT 2 holds 128 accumulators per thread, which
// leaves no room for Q.
template <int DH, int NW, int MT, int KN, int NS, bool QREG> struct TcCfg {
    static constexpr int THREADS = NW * 32;
    static constexpr int BQ = NW * MT * 16;    // query rows per block
    static constexpr int DP = DH < 16 ? 16 : DH; // Q/K row length for the QK product: dh 8 is
                                               // zero-padded to the mma's k of 16
    static constexpr int LD = DP + 8;          // row stride (elements): 16 padding bytes shift
                                               // each row by 4 banks, so ldmatrix is conflict-free
    static constexpr int KV = 2 * KN * LD;     // elements per stage: K then V
    static constexpr size_t SMEM = (size_t)(BQ * LD + NS * KV) * 2 + (size_t)NS * KN * 4;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
static __device__ __forceinline__ uint32_t smem_u32(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}
// Shared memory is addressed by 32-bit offsets (the .shared window), one register each.
// 16 bytes global -> shared, asynchronous; src_bytes 0 writes zeros (rows past Sq or Sk).
static __device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}
static __device__ __forceinline__ void cp_async4(uint32_t dst, const void *src, int src_bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}
static __device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> static __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
static __device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], uint32_t a) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}
static __device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], uint32_t a) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}
static __device__ __forceinline__ void ldsm_x2_t(uint32_t (&r)[2], uint32_t a) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(a));
}
// d[16x8] += a[16x16] b[16x8], bf16 inputs, fp32 accumulators.
static __device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                                uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// 2^x, one MUFU op: flushing results below 2^-126 to zero is harmless for softmax weights (plain
// exp2f adds range fix-ups around each one, a quarter of the softmax's instructions).
static __device__ __forceinline__ float exp2_ftz(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}
// Two floats -> bf16x2 (round to nearest even), lo in the low half (the lower address/column).
static __device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 x = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&x);
}
#endif

// Per K/V tile t (stage t % NS): enqueue tile t+NS-1 into the stage freed by tile t-1 |
// S = Q K_t^T | online softmax | O += P V_t | wait for tile t+1, __syncthreads. A tile thus has
// NS-1 tiles' compute to arrive.
template <int DH, int NW, int MT, int KN, int NS, bool QREG, bool BIAS>
__global__ void __launch_bounds__(NW * 32)
    attention_tc_kernel(uint16_t *__restrict__ out, const uint16_t *__restrict__ q,
                        const uint16_t *__restrict__ k, const uint16_t *__restrict__ v,
                        const float *__restrict__ bias, int Sq, int Sk, int H, float rs,
                        float sc) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using C = TcCfg<DH, NW, MT, KN, NS, QREG>;
    constexpr int DP = C::DP, LD = C::LD, CPR = DH / 8; // CPR: 16-byte chunks per row
    static_assert(KN % 16 == 0 && NS >= 2, "tiling");
    static_assert(C::THREADS % CPR == 0, "copy tiling");
    extern __shared__ __align__(16) unsigned char smem[];
    uint16_t *Qs = reinterpret_cast<uint16_t *>(smem);     // [BQ][LD], at the end the output
    uint16_t *KVs = Qs + C::BQ * LD;                       // [NS][K: KN][LD | V: KN][LD]
    float *Bs = reinterpret_cast<float *>(KVs + NS * C::KV); // [NS][KN] raw bias (BIAS only)
    const uint32_t sQ = smem_u32(Qs), sKV = smem_u32(KVs), sB = smem_u32(Bs);
    constexpr int ROW = LD * 2, STB = C::KV * 2; // bytes per row, per stage
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int q0 = blockIdx.x * C::BQ, h = blockIdx.y, b = blockIdx.z;
    const size_t D = (size_t)H * DH;
    const int ntiles = (Sk + KN - 1) / KN;

    // Copies: thread tid moves chunk tid % CPR of rows tid / CPR + i * RSTEP (16 bytes each).
    // Key offsets multiply 32-bit factors (H*dh < 2^23 as H <= 65535; i*RSTEP < KN): fewer
    // registers than 64-bit products, which the dh 128 kernel needs to stay spill-free.
    constexpr int RSTEP = C::THREADS / CPR;
    const int row0 = tid / CPR, col0 = tid % CPR * 8;
    const uint32_t cp_dst = row0 * ROW + col0 * 2;
    const size_t kv_src = ((size_t)b * Sk + row0) * D + (size_t)h * DH + col0; // + key * D
    // Enqueue K/V tile `tile` into stage `st` (always commits a group, empty past the end, so
    // that the group counting stays uniform).
    auto issue = [&](int tile, int st) {
        if (tile < ntiles) {
            constexpr int N = KN * CPR, NCP = (N + C::THREADS - 1) / C::THREADS;
            const int k0 = tile * KN;
            const uint32_t dk = sKV + st * STB + cp_dst;
            const size_t src = kv_src + (size_t)(unsigned)k0 * (unsigned)(H * DH);
            const bool full = k0 + KN <= Sk;
#pragma unroll
            for (int i = 0; i < NCP; i++) {
                if (N % C::THREADS != 0 && tid + i * C::THREADS >= N) break;
                const bool ok = full || k0 + row0 + i * RSTEP < Sk; // zeros past Sk
                const size_t at = ok ? src + (unsigned)(i * RSTEP * H * DH) : 0;
                cp_async16(dk + i * RSTEP * ROW, k + at, ok ? 16 : 0);
                cp_async16(dk + (KN + i * RSTEP) * ROW, v + at, ok ? 16 : 0);
            }
            if (BIAS)
                for (int e = tid; e < KN; e += C::THREADS) {
                    const bool ok = k0 + e < Sk;
                    cp_async4(sB + (st * KN + e) * 4, bias + (size_t)b * Sk + (ok ? k0 + e : 0),
                              ok ? 4 : 0);
                }
        }
        cp_async_commit();
    };

    // dh 8: columns 8..15 of the Q and K rows are zeros, never overwritten by the copies.
    if (DP != DH)
        for (int r = tid; r < C::BQ + NS * KN; r += C::THREADS) {
            const int kr = r - C::BQ; // K row kr % KN of stage kr / KN
            uint16_t *row = kr < 0 ? Qs + r * LD : KVs + kr / KN * C::KV + kr % KN * LD;
            *reinterpret_cast<uint4 *>(row + DH) = make_uint4(0, 0, 0, 0);
        }
    // The Q tile joins K/V tile 0's group; rows past Sq are zeros.
    for (int r = row0; r < C::BQ; r += RSTEP) {
        const bool ok = q0 + r < Sq;
        cp_async16(sQ + r * ROW + col0 * 2,
                   ok ? q + ((size_t)b * Sq + q0 + r) * D + (size_t)h * DH + col0 : q, ok ? 16 : 0);
    }
#pragma unroll
    for (int t = 0; t < NS - 1; t++) issue(t, t);
    cp_async_wait<NS - 2>();
    __syncthreads(); // Q and tile 0 have landed

    // ldmatrix row addresses of this lane (bytes), at the first row/column of a fragment:
    //  Q (A fragments, rows x dims) and V (B fragments by .trans, keys x dims): matrices
    //  [0,8) x [0,8), [8,16) x [0,8), [0,8) x [8,16), [8,16) x [8,16);
    //  K (B fragments, keys x dims): [0,8) x [0,8), [0,8) x [8,16), [8,16) x [0,8),
    //  [8,16) x [8,16).
    const int wrow = warp * MT * 16; // first query row of this warp in the tile
    const uint32_t a_lane = ((lane & 7) + ((lane >> 3) & 1) * 8) * ROW + (lane >> 4) * 16;
    const uint32_t k_lane = ((lane & 7) + (lane >> 4) * 8) * ROW + ((lane >> 3) & 1) * 16;
    const uint32_t q_lane = sQ + wrow * ROW + a_lane;
    // A fragment of Q: rows wrow + mt*16 + [0,16), dims ks*16 + [0,16).
    auto load_q = [&](uint32_t(&a)[4], int mt, int ks) {
        ldsm_x4(a, q_lane + mt * 16 * ROW + ks * 32);
    };
    uint32_t qa[QREG ? MT : 1][QREG ? DP / 16 : 1][4];
    if (QREG)
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int ks = 0; ks < DP / 16; ks++) load_q(qa[QREG ? mt : 0][QREG ? ks : 0], mt, ks);

    // Accumulator layout (m16n8 C fragment): this thread holds rows g = lane/4 and g + 8
    // (half 0 and 1), columns 2*(lane%4) and +1 of every 8-column tile.
    float o[MT][DH / 8][4], m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int dn = 0; dn < DH / 8; dn++)
            o[mt][dn][0] = o[mt][dn][1] = o[mt][dn][2] = o[mt][dn][3] = 0.f;
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.f;
    }

    int st = 0; // stage of tile `tile`
    for (int tile = 0; tile < ntiles; tile++) {
        const uint32_t sK = sKV + st * STB, sV = sK + KN * ROW;
        const float *bs = Bs + st * KN;
        // The stage of tile-1, free since the barrier that ended the previous iteration.
        issue(tile + NS - 1, st == 0 ? NS - 1 : st - 1);

        // S = Q K^T: K rows are keys, so plain ldmatrix of K gives the "col" B fragments.
        float s[MT][KN / 8][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int n = 0; n < KN / 8; n++)
                s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < DP / 16; ks++) {
            uint32_t qf[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                if (QREG)
#pragma unroll
                    for (int j = 0; j < 4; j++) qf[mt][j] = qa[QREG ? mt : 0][QREG ? ks : 0][j];
                else
                    load_q(qf[mt], mt, ks);
            }
#pragma unroll
            for (int np = 0; np < KN / 16; np++) {
                uint32_t kb[4]; // keys np*16 + [0,8) | [8,16), dims ks*16 + [0,8) | [8,16)
                ldsm_x4(kb, sK + k_lane + np * 16 * ROW + ks * 32);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_bf16(s[mt][2 * np], qf[mt], kb[0], kb[1]);
                    mma_bf16(s[mt][2 * np + 1], qf[mt], kb[2], kb[3]);
                }
            }
        }

        // The exponents below are x*c - m (log2 units): without a bias, x is the raw product and
        // c = log2(e)/sqrt(dh) (sc); with one, x = product/sqrt(dh) + bias and c = log2(e). At
        // dh 128 the product is scaled first even without a bias: one more multiply per score,
        // but the folded form makes ptxas spill there (at 255 registers).
        constexpr bool FOLD = !BIAS && DH < 128;
        const float c = FOLD ? sc : ATTN_LOG2E;
        if (!FOLD)
#pragma unroll
            for (int n = 0; n < KN / 8; n++) {
                float2 bb = make_float2(0.f, 0.f);
                if (BIAS) bb = *reinterpret_cast<const float2 *>(bs + n * 8 + 2 * (lane & 3));
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
#pragma unroll
                    for (int e = 0; e < 4; e++)
                        s[mt][n][e] = fmaf(s[mt][n][e], rs, e & 1 ? bb.y : bb.x);
                }
            }
        // Keys past Sk in the last tile: -inf.
        if ((tile + 1) * KN > Sk) {
            const int lim = Sk - tile * KN - 2 * (lane & 3); // valid: column n*8 + (e&1) < lim
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int n = 0; n < KN / 8; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++)
                        if (n * 8 + (e & 1) >= lim) s[mt][n][e] = -INFINITY;
        }

        // Online softmax in fp32. Each row is spread over the 4 threads of a quad: the max is
        // reduced across the quad now, the sum l only at the end (it is rescaled linearly).
        // Maxima and sums go through 4 partial values each, to shorten the dependent chains.
        bool rescale = false;
        float alpha[MT][2];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                float mp[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
#pragma unroll
                for (int n = 0; n < KN / 8; n++)
#pragma unroll
                    for (int e = 0; e < 2; e++)
                        mp[(2 * n + e) & 3] = fmaxf(mp[(2 * n + e) & 3], s[mt][n][2 * hf + e]);
                float mx = fmaxf(fmaxf(mp[0], mp[1]), fmaxf(mp[2], mp[3])) * c;
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                mx = fmaxf(mx, m[mt][hf]);
                const float mref = mx == -INFINITY ? 0.f : mx; // all masked: avoid -inf - -inf
                alpha[mt][hf] = exp2_ftz(m[mt][hf] - mref);
                rescale |= mx != m[mt][hf];
                m[mt][hf] = mx;
                float sp[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
                for (int n = 0; n < KN / 8; n++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        float &x = s[mt][n][2 * hf + e];
                        x = exp2_ftz(fmaf(x, c, -mref));
                        sp[(2 * n + e) & 3] += x;
                    }
                l[mt][hf] = l[mt][hf] * alpha[mt][hf] + ((sp[0] + sp[1]) + (sp[2] + sp[3]));
            }
        // Once the maxima settle (after a few tiles) alpha is exactly 1: skip the multiplies
        // (same bits either way), warp-uniformly.
        if (__any_sync(0xffffffffu, rescale)) {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int dn = 0; dn < DH / 8; dn++) {
                    o[mt][dn][0] *= alpha[mt][0], o[mt][dn][1] *= alpha[mt][0];
                    o[mt][dn][2] *= alpha[mt][1], o[mt][dn][3] *= alpha[mt][1];
                }
        }

        // O += P V. Two adjacent S fragments (keys kk*16 + [0,16)) are exactly the A fragment of
        // P; V rows are keys, so ldmatrix.trans gives the B fragments.
#pragma unroll
        for (int kk = 0; kk < KN / 16; kk++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                pa[mt][0] = pack_bf16(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                pa[mt][1] = pack_bf16(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                pa[mt][2] = pack_bf16(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                pa[mt][3] = pack_bf16(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
            // keys kk*16 + [0,8) | [8,16), dims dp*16 + [0,8) | [8,16)
            const uint32_t vrow = sV + a_lane + kk * 16 * ROW;
            if (DH >= 16) {
#pragma unroll
                for (int dp = 0; dp < DH / 16; dp++) {
                    uint32_t vb[4];
                    ldsm_x4_t(vb, vrow + dp * 32);
#pragma unroll
                    for (int mt = 0; mt < MT; mt++) {
                        mma_bf16(o[mt][2 * dp], pa[mt], vb[0], vb[1]);
                        mma_bf16(o[mt][2 * dp + 1], pa[mt], vb[2], vb[3]);
                    }
                }
            } else { // dh 8: one n8 tile
                uint32_t vb[2];
                ldsm_x2_t(vb, vrow); // lanes 0-15 give the addresses
#pragma unroll
                for (int mt = 0; mt < MT; mt++) mma_bf16(o[mt][0], pa[mt], vb[0], vb[1]);
            }
        }
        cp_async_wait<NS - 2>();
        __syncthreads(); // tile+1 landed; everyone is done with this tile's stage
        st = st == NS - 1 ? 0 : st + 1;
    }

    // Normalize, round to bf16 into this warp's own Q rows (no other warp reads them; the last
    // tile's barrier ordered this warp's reads), then store whole rows with 16-byte writes.
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int hf = 0; hf < 2; hf++) {
            float sum = l[mt][hf];
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            const float inv = 1.0f / sum;
            uint16_t *dst = Qs + (wrow + mt * 16 + lane / 4 + hf * 8) * LD + 2 * (lane & 3);
#pragma unroll
            for (int dn = 0; dn < DH / 8; dn++)
                *reinterpret_cast<uint32_t *>(dst + dn * 8) =
                    pack_bf16(o[mt][dn][2 * hf] * inv, o[mt][dn][2 * hf + 1] * inv);
        }
    __syncwarp();
    for (int c = lane; c < MT * 16 * CPR; c += 32) {
        const int r = wrow + c / CPR, col = c % CPR * 8;
        if (q0 + r < Sq)
            *reinterpret_cast<uint4 *>(out + ((size_t)b * Sq + q0 + r) * D + (size_t)h * DH + col) =
                *reinterpret_cast<const uint4 *>(Qs + r * LD + col);
    }
#else
    __trap(); // not built for sm_80+: the launcher returns cudaErrorNotSupported before this
#endif
}

template <int DH, int NW, int MT, int KN, int NS, bool QREG, bool BIAS>
static cudaError_t launch_tc_(uint16_t *out, const uint16_t *q, const uint16_t *k,
                             const uint16_t *v, const float *bias, int B, int Sq, int Sk, int H,
                             cudaStream_t st) {
    using C = TcCfg<DH, NW, MT, KN, NS, QREG>;
    void (*kern)(uint16_t *, const uint16_t *, const uint16_t *, const uint16_t *, const float *,
                 int, int, int, float, float) = attention_tc_kernel<DH, NW, MT, KN, NS, QREG, BIAS>;
    // The image chosen for this device must come from sm_80+ code (a build for sm_75 only, JIT
    // compiled on an A100/H100, would hold the trapping body).
    cudaFuncAttributes fa;
    cudaError_t e = cudaFuncGetAttributes(&fa, kern);
    if (e != cudaSuccess) return e;
    if (fa.ptxVersion < 80 || fa.binaryVersion < 80) return cudaErrorNotSupported;
    e = cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)C::SMEM);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)((Sq + C::BQ - 1) / C::BQ), (unsigned)H, (unsigned)B);
    kern<<<grid, C::THREADS, C::SMEM, st>>>(out, q, k, v, bias, Sq, Sk, H, 1.0f / sqrtf((float)DH),
                                            ATTN_LOG2E / sqrtf((float)DH));
    return cudaGetLastError();
}

// Without a bias, the kernel needs no bias loads.
template <int DH, int NW, int MT, int KN, int NS, bool QREG>
static cudaError_t launch_tc(uint16_t *out, const uint16_t *q, const uint16_t *k,
                             const uint16_t *v, const float *bias, int B, int Sq, int Sk, int H,
                             cudaStream_t st) {
    return bias ? launch_tc_<DH, NW, MT, KN, NS, QREG, true>(out, q, k, v, bias, B, Sq, Sk, H, st)
                : launch_tc_<DH, NW, MT, KN, NS, QREG, false>(out, q, k, v, bias, B, Sq, Sk, H, st);
}

// The configurations (DH, NW, MT, KN, NS, QREG) of cuda_attention_bf16; `attn_check alts`
// (tests/attention_cuda_check.cu) times them against the alternatives in tc_alts below, at B=2
// Sq=Sk=6144 H=32. Four warps per block need two blocks per SM: dh 128's configuration takes
// 103 KiB of shared memory per block, which only the 228 KiB per SM of an H100 hold twice; other
// cards (A100: 164 KiB per SM, sm_86/89/120: 100) get the one with half the keys per tile
// (68 KiB). The others need at most 55 KiB.
#define TC_DH8 8, 4, 2, 64, 2, true
#define TC_DH16 16, 4, 2, 64, 2, true
#define TC_DH32 32, 4, 2, 64, 2, true
#define TC_DH64 64, 4, 2, 64, 2, true
#define TC_DH128 128, 4, 2, 64, 2, false
#define TC_DH128_SMALL 128, 4, 2, 32, 2, false

// cudaErrorNotSupported below sm_80, else the device's shared memory per SM.
static cudaError_t device_smem(int *smem_per_sm) {
    int dev, major;
    cudaError_t e;
    if ((e = cudaGetDevice(&dev)) != cudaSuccess) return e;
    if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev)) != cudaSuccess)
        return e;
    if (major < 8) return cudaErrorNotSupported;
    return cudaDeviceGetAttribute(smem_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev);
}

extern "C" cudaError_t cuda_attention_bf16(uint16_t *out, const uint16_t *q, const uint16_t *k,
                                           const uint16_t *v, const float *bias, int B, int Sq,
                                           int Sk, int H, int dh, cudaStream_t stream) {
    if (!attn_shape_ok(B, Sq, Sk, H, dh)) return cudaErrorInvalidValue;
    int smem;
    cudaError_t e = device_smem(&smem);
    if (e != cudaSuccess) return e;
    if (!attn_fast(dh, out, q, k, v)) // other dims, unaligned operands: attention_any.cu
        return cuda_attention_any_bf16(out, q, k, v, bias, B, Sq, Sk, H, dh, stream);
    switch (dh) {
    case 8: return launch_tc<TC_DH8>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 16: return launch_tc<TC_DH16>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 32: return launch_tc<TC_DH32>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 64: return launch_tc<TC_DH64>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 128:
        if (2 * (TcCfg<TC_DH128>::SMEM + 1024) <= (size_t)smem) // 1 KiB reserved per block
            return launch_tc<TC_DH128>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        return launch_tc<TC_DH128_SMALL>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    default: return cudaErrorInvalidValue;
    }
}

#ifdef BR_ATTN_TUNE // only in the check program's build: not part of the library
// ==================================== tuning hook ==========================================
// Alternative configurations, checked and timed side by side by `attn_check alts`
// (tests/attention_cuda_check.cu) to choose the ones above. The two entries are C++, declared
// there only (not in kernels_cuda.h). All alternatives are spill-free for sm_90 (ptxas -v); each
// is named by its template arguments.
#define TC_ALT(...) {#__VA_ARGS__, launch_tc<__VA_ARGS__>}
// attn_check_args looks at the addresses only (16-byte alignment), whatever their type.
static cudaError_t check_args(const uint16_t *out, const uint16_t *q, const uint16_t *k,
                              const uint16_t *v, int B, int Sq, int Sk, int H) {
    return attn_check_args((const float *)out, (const float *)q, (const float *)k,
                           (const float *)v, B, Sq, Sk, H);
}
static const struct {
    const char *name; // "DH, NW, MT, KN, NS, QREG"
    cudaError_t (*fn)(uint16_t *, const uint16_t *, const uint16_t *, const uint16_t *,
                      const float *, int, int, int, int, cudaStream_t);
} tc_alts[] = {
    TC_ALT(64, 4, 2, 64, 2, true),   TC_ALT(64, 4, 2, 64, 3, true),
    TC_ALT(64, 4, 2, 32, 2, true),   TC_ALT(64, 8, 2, 64, 2, true),
    TC_ALT(64, 8, 1, 64, 2, true),   TC_ALT(64, 4, 4, 32, 2, false),
    TC_ALT(128, 4, 2, 64, 2, false), TC_ALT(128, 4, 2, 64, 3, false),
    TC_ALT(128, 4, 2, 48, 2, false), TC_ALT(128, 4, 2, 48, 3, false),
    TC_ALT(128, 4, 2, 32, 2, false), TC_ALT(128, 4, 2, 32, 3, false),
    TC_ALT(128, 8, 2, 64, 2, false), TC_ALT(128, 8, 2, 32, 2, false),
    TC_ALT(128, 8, 1, 64, 2, true),
};

// Alternative i (0, 1, ...): its name, "DH, NW, MT, KN, NS, QREG", or NULL past the end.
const char *attention_bf16_alt_name(int i) {
    return i >= 0 && i < (int)(sizeof tc_alts / sizeof tc_alts[0]) ? tc_alts[i].name : nullptr;
}

// Runs alternative i with cuda_attention_bf16's arguments (dh is the alternative's own), with
// its errors, and cudaErrorInvalidValue past the end or when the alternative needs more shared
// memory than the device has.
cudaError_t attention_bf16_alt(int i, uint16_t *out, const uint16_t *q, const uint16_t *k,
                               const uint16_t *v, const float *bias, int B, int Sq, int Sk, int H,
                               cudaStream_t stream) {
    if (!attention_bf16_alt_name(i)) return cudaErrorInvalidValue;
    cudaError_t e = check_args(out, q, k, v, B, Sq, Sk, H);
    int smem;
    if (e == cudaSuccess) e = device_smem(&smem);
    return e == cudaSuccess ? tc_alts[i].fn(out, q, k, v, bias, B, Sq, Sk, H, stream) : e;
}
#endif
