// attention_f32.cu: fused scaled dot-product attention in fp32, the CUDA twin of
// kernels/attention.c: out = softmax(q k^T / sqrt(dh) + bias) v per batch element and head, heads
// interleaved in the channel axis (element (b, s, h, d) at ((b*S + s)*H + h)*dh + d).
//
// "Flash" style: one block per (query tile, head, batch), K/V streamed through shared memory in
// tiles of keys, and an online softmax (running max m and sum l per query row; when the max
// grows, what was accumulated is rescaled by exp(m_old - m_new)), so no Sq x Sk matrix ever
// exists. Scores are kept in log2 units (q k^T * log2(e)/sqrt(dh) + bias * log2(e)), which makes
// every exponential one exp2f. Masked tail keys (beyond Sk) get a score of -inf. Deterministic:
// fixed reduction orders, no atomics.
//
// Plain fp32 on CUDA cores, sm_60-safe (no tensor cores, no bf16, no cp.async): each thread owns
// 2 query rows x up to 32 head dims (q and the output accumulators in registers), threads sharing
// a row add their partial dot products with __shfl_xor_sync. H100, B=2 Sq=Sk=6144 H=32:
// 30 TFLOP/s at dh 64, 23 at dh 128.
#include <math.h>

#include "attention_common.cuh"
#include "kernels_cuda.h"

// ================================ fp32 kernel (sm_60+) =====================================

template <int DH, int DPT_> struct F32Cfg {
    static constexpr int DPT = DPT_;              // head dims per thread (launch: min(DH, 32);
                                                  // 16 was 20% slower: more shuffles per FMA)
    static constexpr int NV = DPT / 4;            // float4 per row per thread
    static constexpr int TPR = DH / DPT;          // threads sharing a query row (1..8, one warp)
    static constexpr int RPT = 2;                 // query rows per thread: each K/V value read
                                                  // from shared memory feeds 2 FMAs
    static constexpr int THREADS = DH >= 128 ? 256 : 128;
    static constexpr int GROUPS = THREADS / TPR;      // sets of threads that share rows
    static constexpr int BQ = GROUPS * RPT;           // query rows per block (256 or 128)
    static constexpr int KT = 4096 / DH < 128 ? 4096 / DH : 128; // keys per tile (<= 32 KiB K+V)
    static constexpr int KC = 16;                     // keys per online-softmax step
};

template <int DH, int DPT>
__global__ void __launch_bounds__(F32Cfg<DH, DPT>::THREADS)
    attention_f32_kernel(float *__restrict__ out, const float *__restrict__ q,
                         const float *__restrict__ k, const float *__restrict__ v,
                         const float *__restrict__ bias, int Sq, int Sk, int H, float qscale) {
    using C = F32Cfg<DH, DPT>;
    constexpr int C4 = DH / 4; // float4 per key row
    __shared__ float4 Ks[C::KT * C4], Vs[C::KT * C4];
    __shared__ float Bs[C::KT]; // bias * log2(e) of the tile; -inf past Sk
    const int tid = threadIdx.x, t = tid % C::TPR, grp = tid / C::TPR;
    const int q0 = blockIdx.x * C::BQ, h = blockIdx.y, b = blockIdx.z;
    const size_t D4 = (size_t)H * C4; // row stride in float4
    const float4 *q4 = reinterpret_cast<const float4 *>(q) + (size_t)b * Sq * D4 + (size_t)h * C4;
    const float4 *k4 = reinterpret_cast<const float4 *>(k) + (size_t)b * Sk * D4 + (size_t)h * C4;
    const float4 *v4 = reinterpret_cast<const float4 *>(v) + (size_t)b * Sk * D4 + (size_t)h * C4;
    const float *bias_b = bias ? bias + (size_t)b * Sk : nullptr;

    // Thread t of a row owns the float4 chunks t, t+TPR, ...: in one shared-memory load the TPR
    // threads of a row read adjacent 16-byte chunks (no bank conflicts), and all rows read the
    // same key (broadcast). Rows past Sq compute on zeros and are not written.
    float4 qr[C::RPT][C::NV], o[C::RPT][C::NV];
    float m[C::RPT], l[C::RPT];
#pragma unroll
    for (int r = 0; r < C::RPT; r++) {
        const int row = q0 + grp + r * C::GROUPS;
#pragma unroll
        for (int i = 0; i < C::NV; i++) {
            float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
            if (row < Sq) x = q4[(size_t)row * D4 + t + i * C::TPR];
            qr[r][i] = make_float4(x.x * qscale, x.y * qscale, x.z * qscale, x.w * qscale);
            o[r][i] = make_float4(0.f, 0.f, 0.f, 0.f);
        }
        m[r] = -INFINITY;
        l[r] = 0.f;
    }

    for (int k0 = 0; k0 < Sk; k0 += C::KT) {
        const int n = Sk - k0 < C::KT ? Sk - k0 : C::KT;
        __syncthreads(); // the previous tile is no longer read
        for (int e = tid; e < C::KT * C4; e += C::THREADS) {
            const int key = e / C4, c = e % C4;
            float4 kk = make_float4(0.f, 0.f, 0.f, 0.f), vv = kk; // zeros: 0 * p, never NaN
            if (key < n) {
                kk = k4[(size_t)(k0 + key) * D4 + c];
                vv = v4[(size_t)(k0 + key) * D4 + c];
            }
            Ks[e] = kk;
            Vs[e] = vv;
        }
        for (int e = tid; e < C::KT; e += C::THREADS)
            Bs[e] = e < n ? (bias_b ? bias_b[k0 + e] * ATTN_LOG2E : 0.f) : -INFINITY;
        __syncthreads();

        for (int j0 = 0; j0 < n; j0 += C::KC) { // keys j0+jj >= n are masked by Bs = -inf
            float s[C::RPT][C::KC];
#pragma unroll
            for (int jj = 0; jj < C::KC; jj++) {
#pragma unroll
                for (int r = 0; r < C::RPT; r++) s[r][jj] = 0.f;
#pragma unroll
                for (int i = 0; i < C::NV; i++) {
                    const float4 kk = Ks[(j0 + jj) * C4 + t + i * C::TPR];
#pragma unroll
                    for (int r = 0; r < C::RPT; r++) {
                        s[r][jj] = fmaf(qr[r][i].x, kk.x, s[r][jj]);
                        s[r][jj] = fmaf(qr[r][i].y, kk.y, s[r][jj]);
                        s[r][jj] = fmaf(qr[r][i].z, kk.z, s[r][jj]);
                        s[r][jj] = fmaf(qr[r][i].w, kk.w, s[r][jj]);
                    }
                }
            }
            // Butterfly sum over the TPR threads of a row: every one ends with the same bits.
#pragma unroll
            for (int off = 1; off < C::TPR; off <<= 1)
#pragma unroll
                for (int r = 0; r < C::RPT; r++)
#pragma unroll
                    for (int jj = 0; jj < C::KC; jj++)
                        s[r][jj] += __shfl_xor_sync(0xffffffffu, s[r][jj], off);
            // Online softmax. Key 0 (finite bias) is in the first step, so m is finite after it
            // and exp2f(-inf - m) = 0 rescales the empty start and drops masked keys.
#pragma unroll
            for (int r = 0; r < C::RPT; r++) {
                float mx = m[r];
#pragma unroll
                for (int jj = 0; jj < C::KC; jj++) {
                    s[r][jj] += Bs[j0 + jj];
                    mx = fmaxf(mx, s[r][jj]);
                }
                const float alpha = exp2f(m[r] - mx);
                m[r] = mx;
                l[r] *= alpha;
#pragma unroll
                for (int i = 0; i < C::NV; i++) {
                    o[r][i].x *= alpha, o[r][i].y *= alpha, o[r][i].z *= alpha, o[r][i].w *= alpha;
                }
#pragma unroll
                for (int jj = 0; jj < C::KC; jj++) {
                    s[r][jj] = exp2f(s[r][jj] - mx);
                    l[r] += s[r][jj];
                }
            }
#pragma unroll
            for (int jj = 0; jj < C::KC; jj++) {
#pragma unroll
                for (int i = 0; i < C::NV; i++) {
                    const float4 vv = Vs[(j0 + jj) * C4 + t + i * C::TPR];
#pragma unroll
                    for (int r = 0; r < C::RPT; r++) {
                        o[r][i].x = fmaf(s[r][jj], vv.x, o[r][i].x);
                        o[r][i].y = fmaf(s[r][jj], vv.y, o[r][i].y);
                        o[r][i].z = fmaf(s[r][jj], vv.z, o[r][i].z);
                        o[r][i].w = fmaf(s[r][jj], vv.w, o[r][i].w);
                    }
                }
            }
        }
    }

    float4 *o4 = reinterpret_cast<float4 *>(out) + (size_t)b * Sq * D4 + (size_t)h * C4;
#pragma unroll
    for (int r = 0; r < C::RPT; r++) {
        const int row = q0 + grp + r * C::GROUPS;
        if (row >= Sq) continue;
        const float inv = 1.0f / l[r];
#pragma unroll
        for (int i = 0; i < C::NV; i++)
            o4[(size_t)row * D4 + t + i * C::TPR] =
                make_float4(o[r][i].x * inv, o[r][i].y * inv, o[r][i].z * inv, o[r][i].w * inv);
    }
}

template <int DH, int DPT = DH < 32 ? DH : 32>
static cudaError_t launch_f32(float *out, const float *q, const float *k, const float *v,
                              const float *bias, int B, int Sq, int Sk, int H, cudaStream_t st) {
    using C = F32Cfg<DH, DPT>;
    dim3 grid((unsigned)((Sq + C::BQ - 1) / C::BQ), (unsigned)H, (unsigned)B);
    attention_f32_kernel<DH, DPT><<<grid, C::THREADS, 0, st>>>(out, q, k, v, bias, Sq, Sk, H,
                                                          ATTN_LOG2E / sqrtf((float)DH));
    return cudaGetLastError();
}

extern "C" cudaError_t cuda_attention_f32(float *out, const float *q, const float *k,
                                          const float *v, const float *bias, int B, int Sq,
                                          int Sk, int H, int dh, cudaStream_t stream) {
    cudaError_t e = attn_check_args(out, q, k, v, B, Sq, Sk, H);
    if (e != cudaSuccess) return e;
    switch (dh) {
    case 8: return launch_f32<8>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 16: return launch_f32<16>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 32: return launch_f32<32>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 64: return launch_f32<64>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    case 128: return launch_f32<128>(out, q, k, v, bias, B, Sq, Sk, H, stream);
    default: return cudaErrorInvalidValue;
    }
}

