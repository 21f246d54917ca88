// attention_bf16.cu: the tensor-core twin of attention_f32.cu (same contract and layouts):
// bf16 tensor cores (mma.sync m16n8k16, sm_80+), FlashAttention-2 style: each warp owns 16*MT
// query rows; fp32 K/V tiles arrive by cp.async (double buffered), are rounded once per block to
// bf16 into a second, double-buffered shared buffer, and read with ldmatrix. H100, B=2
// Sq=Sk=6144 H=32: 249 TFLOP/s at dh 64, 256 at dh 128 (PyTorch 2.11 SDPA on bf16 inputs there:
// FlashAttention-2 303 / 357, cuDNN 460 / 628, both with Hopper-only wgmma).
#include <math.h>
#include <stdint.h>

#include <cuda_bf16.h>

#include "attention_common.cuh"
#include "kernels_cuda.h"

// ============================ bf16 tensor-core kernel (sm_80+) ==============================

// NW warps, each owning MT m16 tiles (16*MT query rows); KN keys per K/V tile. Configurations
// (cuda_attention_bf16) are the fastest of those tried on an H100 at the large shape above; 128+
// query rows per block matter most, since every block streams the whole fp32 K and V of its
// head (twice the bytes of bf16) through L2 and shared memory.
template <int DH, int NW, int MT, int KN> struct TcCfg {
    static constexpr int THREADS = NW * 32;
    static constexpr int BQ = NW * MT * 16;        // query rows per block
    static constexpr int LD = DH + 8;              // bf16 row stride: 16 padding bytes shift each
                                                   // row by 4 banks, so ldmatrix is conflict-free
    static constexpr int STAGE = 2 * KN * DH + KN; // floats per cp.async stage: K, V, bias
    static constexpr int KVB = 2 * KN * LD;        // bf16 elements per K+V buffer
    static constexpr int BF = BQ * LD > 2 * KVB ? BQ * LD : 2 * KVB; // Q, later 2 K+V buffers
    static constexpr size_t SMEM = 2 * STAGE * 4 + (size_t)BF * 2 + 2 * KN * 4;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
static __device__ __forceinline__ uint32_t smem_u32(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}
// 16 bytes global -> shared, asynchronous; src_bytes 0 writes zeros (masked keys).
static __device__ __forceinline__ void cp_async16(void *dst, const void *src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)),
                 "l"(src), "r"(src_bytes));
}
static __device__ __forceinline__ void cp_async4(void *dst, const void *src, int src_bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
                 "r"(src_bytes));
}
static __device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> static __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
static __device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
static __device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
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
static __device__ __forceinline__ uint4 pack8_bf16(float4 a, float4 b) {
    return make_uint4(pack_bf16(a.x, a.y), pack_bf16(a.z, a.w), pack_bf16(b.x, b.y),
                      pack_bf16(b.z, b.w));
}
#endif

// Pipeline, per K/V tile t (one __syncthreads per tile):
//   cp.async fp32 tile t+2 -> stage[t%2] | S = Q K_t^T | round stage[(t+1)%2] -> bf16 buffer
//   (t+1)%2 (independent of the mma, so the two interleave) | softmax | O += P V_t | wait, barrier.
// The fp32 tile t+2 thus has one tile's compute to arrive; rounding happens once per block.
template <int DH, int NW, int MT, int KN, bool BIAS>
__global__ void __launch_bounds__(NW * 32)
    attention_tc_kernel(float *__restrict__ out, const float *__restrict__ q,
                        const float *__restrict__ k, const float *__restrict__ v,
                        const float *__restrict__ bias, int Sq, int Sk, int H, float sc) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using C = TcCfg<DH, NW, MT, KN>;
    static_assert(DH % 16 == 0 && KN % 16 == 0, "mma tiling needs multiples of 16");
    static_assert(C::THREADS % (DH / 4) == 0 && KN * DH / 4 % C::THREADS == 0, "copy tiling");
    extern __shared__ __align__(16) unsigned char smem[];
    float *stage = reinterpret_cast<float *>(smem); // [2][K | V | bias] fp32, cp.async targets
    __nv_bfloat16 *bf = reinterpret_cast<__nv_bfloat16 *>(smem + 2 * C::STAGE * 4);
    __nv_bfloat16 *Qb = bf;                         // [BQ][LD]: only until Q is in registers
    float *Bs = reinterpret_cast<float *>(bf + C::BF); // [2][KN] bias * log2(e), -inf masked
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int q0 = blockIdx.x * C::BQ, h = blockIdx.y, b = blockIdx.z;
    const size_t D = (size_t)H * DH;
    const float *kg = k + (size_t)b * Sk * D + (size_t)h * DH;
    const float *vg = v + (size_t)b * Sk * D + (size_t)h * DH;
    const float *bg = BIAS ? bias + (size_t)b * Sk : nullptr;
    const int ntiles = (Sk + KN - 1) / KN;

    // Each thread copies (and later rounds) the 16-byte chunk tid % (DH/4) of the keys
    // tid / (DH/4) + i * KSTEP of a tile.
    constexpr int KSTEP = C::THREADS / (DH / 4), NCP = KN / KSTEP;
    const int key0 = tid / (DH / 4);
    const size_t cp_off = (size_t)key0 * D + (tid % (DH / 4)) * 4, cp_step = KSTEP * D;
    // Enqueue tile `tile` into stage `st` (always commits a group, empty past the end, so the
    // group counting stays uniform).
    auto issue = [&](int tile, int st) {
        if (tile < ntiles) {
            float *sk = stage + st * C::STAGE + tid * 4, *sv = sk + KN * DH;
            const int k0 = tile * KN;
            const float *pk = kg + (size_t)k0 * D + cp_off, *pv = vg + (size_t)k0 * D + cp_off;
            if (k0 + KN <= Sk) {
#pragma unroll
                for (int i = 0; i < NCP; i++) {
                    cp_async16(sk + i * C::THREADS * 4, pk + i * cp_step, 16);
                    cp_async16(sv + i * C::THREADS * 4, pv + i * cp_step, 16);
                }
            } else { // the last, partial tile: zeros past Sk
#pragma unroll
                for (int i = 0; i < NCP; i++) {
                    const bool ok = k0 + key0 + i * KSTEP < Sk;
                    cp_async16(sk + i * C::THREADS * 4, ok ? pk + i * cp_step : kg, ok ? 16 : 0);
                    cp_async16(sv + i * C::THREADS * 4, ok ? pv + i * cp_step : vg, ok ? 16 : 0);
                }
            }
            if (BIAS)
                for (int e = tid; e < KN; e += C::THREADS)
                    cp_async4(stage + st * C::STAGE + 2 * KN * DH + e,
                              bg + (k0 + e < Sk ? k0 + e : 0), k0 + e < Sk ? 4 : 0);
        }
        cp_async_commit();
    };
    // Round the fp32 tile in stage tile%2 to bf16 buffer tile%2 (+ the bias, masked past Sk).
    // 16-byte reads at consecutive addresses and 8-byte writes: no bank conflicts.
    auto convert = [&](int tile) {
        const float4 *sk = reinterpret_cast<const float4 *>(stage + (tile & 1) * C::STAGE);
        const float4 *sv = sk + KN * DH / 4;
        __nv_bfloat16 *kb = bf + (tile & 1) * C::KVB, *vb = kb + KN * C::LD;
#pragma unroll
        for (int i = 0; i < NCP; i++) {
            const int e = tid + i * C::THREADS, at = (key0 + i * KSTEP) * C::LD + (tid % (DH / 4)) * 4;
            const float4 x = sk[e], y = sv[e];
            *reinterpret_cast<uint2 *>(kb + at) = make_uint2(pack_bf16(x.x, x.y), pack_bf16(x.z, x.w));
            *reinterpret_cast<uint2 *>(vb + at) = make_uint2(pack_bf16(y.x, y.y), pack_bf16(y.z, y.w));
        }
        if (BIAS) {
            const float *sb = stage + (tile & 1) * C::STAGE + 2 * KN * DH;
            for (int e = tid; e < KN; e += C::THREADS)
                Bs[(tile & 1) * KN + e] = tile * KN + e < Sk ? sb[e] * ATTN_LOG2E : -INFINITY;
        }
    };
    issue(0, 0);
    issue(1, 1);

    // Q tile -> bf16 in shared memory -> A fragments in registers for the whole key loop.
    for (int e = tid; e < C::BQ * DH / 8; e += C::THREADS) {
        const int row = e / (DH / 8), c = e % (DH / 8);
        float4 x0 = make_float4(0.f, 0.f, 0.f, 0.f), x1 = x0;
        if (q0 + row < Sq) {
            const float4 *src = reinterpret_cast<const float4 *>(
                q + ((size_t)b * Sq + q0 + row) * D + (size_t)h * DH + c * 8);
            x0 = src[0];
            x1 = src[1];
        }
        *reinterpret_cast<uint4 *>(Qb + row * C::LD + c * 8) = pack8_bf16(x0, x1);
    }
    __syncthreads();
    const int wrow = warp * MT * 16; // first query row of this warp in the tile
    uint32_t qa[MT][DH / 16][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int ks = 0; ks < DH / 16; ks++)
            ldsm_x4(qa[mt][ks], Qb + (wrow + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * C::LD +
                                    ks * 16 + (lane >> 4) * 8);
    cp_async_wait<1>();
    __syncthreads(); // tile 0 has landed; Q's space is free
    convert(0);
    cp_async_wait<0>();
    __syncthreads(); // bf16 tile 0 ready, fp32 tile 1 landed, stage 0 free

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

    for (int tile = 0; tile < ntiles; tile++) {
        const __nv_bfloat16 *Kb = bf + (tile & 1) * C::KVB, *Vb = Kb + KN * C::LD;
        const float *bs = Bs + (tile & 1) * KN;
        issue(tile + 2, tile & 1);

        // S = Q K^T: K rows are keys, so plain ldmatrix of K gives the "col" B fragments.
        float s[MT][KN / 8][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int n = 0; n < KN / 8; n++) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < DH / 16; ks++)
#pragma unroll
            for (int np = 0; np < KN / 16; np++) {
                uint32_t kb[4]; // keys np*16 + [0,8) | [8,16), dims ks*16 + [0,8) | [8,16)
                ldsm_x4(kb, Kb + (np * 16 + (lane & 7) + (lane >> 4) * 8) * C::LD + ks * 16 +
                                ((lane >> 3) & 1) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_bf16(s[mt][2 * np], qa[mt][ks], kb[0], kb[1]);
                    mma_bf16(s[mt][2 * np + 1], qa[mt][ks], kb[2], kb[3]);
                }
            }
        if (tile + 1 < ntiles) convert(tile + 1);

        // Keys past Sk in the last tile: -inf (with a bias, its -inf entries do this).
        if (!BIAS && (tile + 1) * KN > Sk) {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int n = 0; n < KN / 8; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++)
                        if (tile * KN + n * 8 + 2 * (lane & 3) + (e & 1) >= Sk) s[mt][n][e] = -INFINITY;
        }

        // Online softmax in fp32. Each row is spread over the 4 threads of a quad: the max is
        // reduced across the quad now, the sum l only at the end (it is rescaled linearly).
        // Scores in log2 units are x*scl - m: without a bias x is the raw product (scl = sc);
        // with one, x = product*sc + bias*log2(e) (scl = 1). Maxima and sums go through 4
        // partial values each, to shorten the dependent chains.
        const float scl = BIAS ? 1.f : sc;
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
                    for (int e = 0; e < 2; e++) {
                        float &x = s[mt][n][2 * hf + e];
                        if (BIAS) x = fmaf(x, sc, bs[n * 8 + 2 * (lane & 3) + e]);
                        mp[(2 * n + e) & 3] = fmaxf(mp[(2 * n + e) & 3], x);
                    }
                float mx = fmaxf(fmaxf(mp[0], mp[1]), fmaxf(mp[2], mp[3])) * scl;
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
                        x = exp2_ftz(fmaf(x, scl, -mref));
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
#pragma unroll
            for (int dp = 0; dp < DH / 16; dp++) {
                uint32_t vb[4]; // keys kk*16 + [0,8) | [8,16), dims dp*16 + [0,8) | [8,16)
                ldsm_x4_t(vb, Vb + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * C::LD +
                                  dp * 16 + (lane >> 4) * 8);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_bf16(o[mt][2 * dp], pa[mt], vb[0], vb[1]);
                    mma_bf16(o[mt][2 * dp + 1], pa[mt], vb[2], vb[3]);
                }
            }
        }
        cp_async_wait<0>();
        __syncthreads(); // tile+1 rounded and visible, tile+2 landed, tile's buffers free
    }

#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int hf = 0; hf < 2; hf++) {
            float sum = l[mt][hf];
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            const int row = q0 + wrow + mt * 16 + lane / 4 + hf * 8;
            if (row >= Sq) continue;
            const float inv = 1.0f / sum;
            float *dst = out + ((size_t)b * Sq + row) * D + (size_t)h * DH + 2 * (lane & 3);
#pragma unroll
            for (int dn = 0; dn < DH / 8; dn++)
                *reinterpret_cast<float2 *>(dst + dn * 8) =
                    make_float2(o[mt][dn][2 * hf] * inv, o[mt][dn][2 * hf + 1] * inv);
        }
#else
    __trap(); // not built for sm_80+: the launcher returns cudaErrorNotSupported before this
#endif
}

template <int DH, int NW, int MT, int KN, bool BIAS>
static cudaError_t launch_tc_(float *out, const float *q, const float *k, const float *v,
                             const float *bias, int B, int Sq, int Sk, int H, cudaStream_t st) {
    using C = TcCfg<DH, NW, MT, KN>;
    void (*kern)(float *, const float *, const float *, const float *, const float *, int, int,
                 int, float) = attention_tc_kernel<DH, NW, MT, KN, BIAS>;
    // The image chosen for this device must come from sm_80+ code (a build for sm_75 only, JIT
    // compiled on an A100/H100, would hold the trapping body).
    cudaFuncAttributes fa;
    cudaError_t e = cudaFuncGetAttributes(&fa, kern);
    if (e != cudaSuccess) return e;
    if (fa.ptxVersion < 80 || fa.binaryVersion < 80) return cudaErrorNotSupported;
    e = cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)C::SMEM);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)((Sq + C::BQ - 1) / C::BQ), (unsigned)H, (unsigned)B);
    kern<<<grid, C::THREADS, C::SMEM, st>>>(out, q, k, v, bias, Sq, Sk, H,
                                            ATTN_LOG2E / sqrtf((float)DH));
    return cudaGetLastError();
}

// Without a bias, the kernel needs no bias loads and masks only the last tile.
template <int DH, int NW, int MT, int KN>
static cudaError_t launch_tc(float *out, const float *q, const float *k, const float *v,
                             const float *bias, int B, int Sq, int Sk, int H, cudaStream_t st) {
    return bias ? launch_tc_<DH, NW, MT, KN, true>(out, q, k, v, bias, B, Sq, Sk, H, st)
                : launch_tc_<DH, NW, MT, KN, false>(out, q, k, v, bias, B, Sq, Sk, H, st);
}

extern "C" cudaError_t cuda_attention_bf16(float *out, const float *q, const float *k,
                                           const float *v, const float *bias, int B, int Sq,
                                           int Sk, int H, int dh, cudaStream_t stream) {
    cudaError_t e = attn_check_args(out, q, k, v, B, Sq, Sk, H);
    if (e != cudaSuccess) return e;
    int dev, major, smem;
    if ((e = cudaGetDevice(&dev)) != cudaSuccess) return e;
    if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev)) != cudaSuccess)
        return e;
    if (major < 8) return cudaErrorNotSupported;
    if ((e = cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)))
        return e;
    // The dh 64 and 128 configurations want 101 and 133 KiB of shared memory (fine on A100 and
    // H100); cards with 99 KiB per block (sm_86, sm_89, sm_120) get smaller tiles (34 and 66 KiB;
    // on an H100 those ran at 211 and 235 TFLOP/s instead of 250 and 256).
    switch (dh) {
    // dh 8 is below the k = 16 of one mma step: the fp32 kernel does it (exact, and cheap at dh 8).
    case 8: return cuda_attention_f32(out, q, k, v, bias, B, Sq, Sk, H, 8, stream);
    case 16: return launch_tc<16, 4, 1, 64>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 32: return launch_tc<32, 4, 2, 64>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 64:
        if ((size_t)smem >= TcCfg<64, 8, 2, 64>::SMEM)
            return launch_tc<64, 8, 2, 64>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        return launch_tc<64, 4, 2, 16>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 128:
        if ((size_t)smem >= TcCfg<128, 16, 1, 32>::SMEM)
            return launch_tc<128, 16, 1, 32>(out, q, k, v, bias, B, Sq, Sk, H, stream);
        return launch_tc<128, 4, 2, 16>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    default: return cudaErrorInvalidValue;
    }
}
