// norm.cu: the CUDA twins of kernels/norm.c: RMSNorm (+ AdaLN modulation), RMSNorm with weight
// over q or k, whole rows or per group of channels (+ RoPE in adjacent pairs or LTX-2's split
// layout; the layouts of qk_shape.h), LayerNorm (no affine) + modulation. One block per row (q
// and k across heads: per position); the sums are reduced in double like the CPU twin, so both
// land on the same value to within fp32 rounding of the final scaling (double throughput is low on
// consumer cards, but a row is only D wide).
// Outputs that feed a bf16 product are stored as bf16 (out_bf16), in the same pass.
#include "kernels_cuda.h"
#include "store.cuh"

enum { THREADS = 256 };

// Sum over the block, in double. Every thread gets the result.
__device__ double block_sum(double v) {
    __shared__ double partial[THREADS / 32];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); // partial[] may still be read by a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    double total = 0;
    for (int w = 0; w < THREADS / 32; w++) total += partial[w];
    return total;
}

// mode 0: RMSNorm * (1 + scale) + shift; 1: RMSNorm * w (w may be NULL); 2: LayerNorm * (1 +
// scale) + shift. Row r of batch r / S.
template <typename T>
__global__ void norm_kernel(T *y, const float *x, const float *shift, const float *scale,
                            const float *w, int stride, int S, int D, float eps, int mode) {
    const size_t r = blockIdx.x;
    const float *xr = x + r * D;
    T *yr = y + r * D;
    float mean = 0.0f;
    if (mode == 2) {
        double s = 0;
        for (int i = threadIdx.x; i < D; i += THREADS) s += xr[i];
        mean = (float)(block_sum(s) / D);
    }
    double ss = 0;
    for (int i = threadIdx.x; i < D; i += THREADS) {
        double d = (double)(xr[i] - mean);
        ss += d * d;
    }
    float inv = 1.0f / sqrtf((float)(block_sum(ss) / D) + eps);
    const float *sh = shift ? shift + (r / S) * stride : NULL;
    const float *sc = scale ? scale + (r / S) * stride : NULL;
    for (int i = threadIdx.x; i < D; i += THREADS) {
        float v = (xr[i] - mean) * inv;
        store(yr + i, mode == 1 ? v * (w ? w[i] : 1.0f) : v * (1.0f + sc[i]) + sh[i]);
    }
}

// The rotation of one pair with each product rounded (no FMA contraction), as the CPU twin
// computes it: the per-group kernel and the split layout give cpu_qk_norm_rope's bits (up to the
// order of the double sums, which almost never moves the fp32 inverse).
static __device__ __forceinline__ float2 rotate(float a, float b, float c0, float c1, float s0,
                                                float s1) {
    return make_float2(__fsub_rn(__fmul_rn(a, c0), __fmul_rn(b, s0)),
                       __fadd_rn(__fmul_rn(b, c1), __fmul_rn(a, s1)));
}

// v * inv * g per component, in the CPU twin's order.
static __device__ __forceinline__ float4 scaled4(float4 v, float inv, float4 g) {
    return make_float4(v.x * inv * g.x, v.y * inv * g.y, v.z * inv * g.z, v.w * inv * g.w);
}

// The split layout (qk_shape.h): pair p of a row (p < D/2) is channel i = p % (dh/2) of head
// h = p / (dh/2) with channel i + dh/2, both rotated by column p of the tables' row (D/2 wide).
// The thread of a pair reads only the two channels it writes. norm(k): channel k normalised and
// weighted.
template <typename T, typename Norm>
static __device__ void rope_split_pair(T *yr, int p, int dh, const float *c, const float *sn,
                                       Norm norm) {
    const int half = dh / 2, a = p / half * dh + p % half;
    const float2 r = rotate(norm(a), norm(a + half), c[p], c[p], sn[p], sn[p]);
    store(yr + a, r.x);
    store(yr + a + half, r.y);
}

// Pairs 4q .. 4q + 3 at once (dh a multiple of 8, rows and tables 16-byte aligned): one head's,
// with float4 q of the tables' row. norm4(k): float4 k of the row normalised and weighted.
template <typename T, typename Norm4>
static __device__ void rope_split_quad(T *yr, int q, int dh, const float *c, const float *sn,
                                       Norm4 norm4) {
    const int half = dh / 2, a = 4 * q / half * dh + 4 * q % half;
    const float4 f = norm4(a / 4), g = norm4((a + half) / 4);
    const float4 cc = reinterpret_cast<const float4 *>(c)[q];
    const float4 ss = reinterpret_cast<const float4 *>(sn)[q];
    const float2 r0 = rotate(f.x, g.x, cc.x, cc.x, ss.x, ss.x);
    const float2 r1 = rotate(f.y, g.y, cc.y, cc.y, ss.y, ss.y);
    const float2 r2 = rotate(f.z, g.z, cc.z, cc.z, ss.z, ss.z);
    const float2 r3 = rotate(f.w, g.w, cc.w, cc.w, ss.w, ss.w);
    store4(yr + a, make_float4(r0.x, r1.x, r2.x, r3.x));
    store4(yr + a + half, make_float4(r0.y, r1.y, r2.y, r3.y));
}

// Pairs [p0, p1) of a row in the split layout (whole heads), by the block's threads.
template <typename T, typename Norm, typename Norm4>
static __device__ void rope_split(T *yr, int p0, int p1, int dh, const float *c, const float *sn,
                                  bool by4, Norm norm, Norm4 norm4) {
    if (by4)
        for (int q = p0 / 4 + threadIdx.x; q < p1 / 4; q += THREADS)
            rope_split_quad(yr, q, dh, c, sn, norm4);
    else
        for (int p = p0 + threadIdx.x; p < p1; p += THREADS)
            rope_split_pair(yr, p, dh, c, sn, norm);
}

// q or k, normalised over the whole row (group == D, LTX-Video): RMSNorm * w, then RoPE over
// adjacent channel pairs with the row's position (tables NULL: none), into row b*y_rows +
// y_offset + s of y. The same fp32 operations as cpu_rms_norm then cpu_rope (up to nvcc's
// contraction of the rotation into FMAs, whose bits LTX's tests pin). One block per position s
// does the rows of every batch element there, so the tables' row (2 x table_width floats, as
// large as the activations' row) is read from memory once and then from cache. Rows of a
// multiple of 4 values (by4: tables too, all bases 16-byte aligned) go by float4 (two rotated
// pairs per access): scalar accesses left this memory-bound kernel at about half the bandwidth.
// The split layout (LTX-2) takes rope_split, by float4 when dh is a multiple of 8 (by4).
template <typename T>
__global__ void qk_norm_rope_kernel(T *y, const float *x, const float *w, const float *cos_t,
                                    const float *sin_t, br_qk_shape sh, bool by4) {
    const size_t s = blockIdx.x;
    const int D = sh.D, TW = sh.split_dh ? D / 2 : sh.table_width; // the tables' row
    const float *c = cos_t ? cos_t + s * TW : NULL, *sn = sin_t ? sin_t + s * TW : NULL;
    for (int b = 0; b < sh.B; b++) {
        const float *xr = x + ((size_t)b * sh.S + s) * D;
        T *yr = y + ((size_t)b * sh.y_rows + sh.y_offset + s) * D;
        const float4 *x4 = reinterpret_cast<const float4 *>(xr); // read only when by4
        const float4 *w4 = reinterpret_cast<const float4 *>(w);
        double ss = 0;
        for (int i = threadIdx.x; i < D; i += THREADS) ss += (double)xr[i] * xr[i];
        const float inv = 1.0f / sqrtf((float)(block_sum(ss) / D) + sh.eps);
        if (c && sh.split_dh) {
            rope_split(yr, 0, D / 2, sh.split_dh, c, sn, by4,
                       [&](int k) { return xr[k] * inv * w[k]; },
                       [&](int k) { return scaled4(x4[k], inv, w4[k]); });
        } else if (by4) {
            for (int i = threadIdx.x; i < D / 4; i += THREADS) {
                const float4 v = x4[i], g = w4[i];
                const float a0 = v.x * inv * g.x, b0 = v.y * inv * g.y;
                const float a1 = v.z * inv * g.z, b1 = v.w * inv * g.w;
                float4 o = make_float4(a0, b0, a1, b1);
                if (c) {
                    const int j = i < TW / 4 ? i : i % (TW / 4); // the table's column / 4
                    const float4 cc = reinterpret_cast<const float4 *>(c)[j];
                    const float4 ss4 = reinterpret_cast<const float4 *>(sn)[j];
                    o = make_float4(a0 * cc.x - b0 * ss4.x, b0 * cc.y + a0 * ss4.y,
                                    a1 * cc.z - b1 * ss4.z, b1 * cc.w + a1 * ss4.w);
                }
                store4(yr + 4 * i, o);
            }
        } else if (!c) {
            for (int i = threadIdx.x; i < D; i += THREADS) store(yr + i, xr[i] * inv * w[i]);
        } else {
            for (int i = 2 * threadIdx.x; i + 1 < D; i += 2 * THREADS) {
                const int j = i < TW ? i : i % TW;
                const float a = xr[i] * inv * w[i], b1 = xr[i + 1] * inv * w[i + 1];
                store(yr + i, a * c[j] - b1 * sn[j]);
                store(yr + i + 1, b1 * c[j + 1] + a * sn[j + 1]);
            }
        }
    }
}

enum { GSLICE = 1024 }; // group inverses per pass: an even count, so no pair straddles passes

// q or k, normalised per group of channels (group < D, per head: Qwen-Image), then RoPE, into
// row b*y_rows + y_offset + s of y. One block per row (grid S x B): its warps first reduce one
// group each (sum of squares in double, as the CPU) into shared inverses, then the block does the
// element-wise pass, where a rotated pair takes each channel's own group (an odd group splits a
// pair). Rows of more than `slice` (<= GSLICE) groups go in several passes; in the split layout
// a pass ends on a head's boundary. by4: float4 accesses, when group, D and table_width (split:
// dh / 2) are multiples of 4 and every base is 16-byte aligned (a float4 then lies in one group
// and one table row).
template <typename T>
__global__ void qk_group_norm_rope_kernel(T *y, const float *x, const float *w,
                                          const float *cos_t, const float *sin_t, br_qk_shape sh,
                                          int slice, bool by4) {
    __shared__ float inv_s[GSLICE];
    const int s = blockIdx.x, b = blockIdx.y, D = sh.D, G = sh.group;
    const int TW = sh.split_dh ? D / 2 : sh.table_width; // the tables' row
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, ng = D / G;
    const float *xr = x + ((size_t)b * sh.S + s) * D;
    T *yr = y + ((size_t)b * sh.y_rows + sh.y_offset + s) * D;
    const float *c = cos_t ? cos_t + (size_t)s * TW : NULL;
    const float *sn = sin_t ? sin_t + (size_t)s * TW : NULL;
    const float4 *x4 = reinterpret_cast<const float4 *>(xr); // read only when by4
    const float4 *w4 = reinterpret_cast<const float4 *>(w);
    for (int g0 = 0; g0 < ng; g0 += slice) {
        const int g1 = ng - g0 < slice ? ng : g0 + slice;
        for (int g = g0 + warp; g < g1; g += THREADS / 32) {
            const float *xg = xr + (size_t)g * G;
            double ss = 0;
            for (int i = lane; i < G; i += 32) ss += (double)xg[i] * xg[i];
            for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
            if (lane == 0) inv_s[g - g0] = 1.0f / sqrtf((float)(ss / G) + sh.eps);
        }
        __syncthreads();
        const int c0 = g0 * G, c1 = g1 * G; // this pass's channels (c0 even, c0 % 4 == 0 by4)
        if (c && sh.split_dh) {
            rope_split(yr, c0 / 2, c1 / 2, sh.split_dh, c, sn, by4,
                       [&](int k) { return xr[k] * inv_s[k / G - g0] * w[k % G]; },
                       [&](int k) {
                           return scaled4(x4[k], inv_s[4 * k / G - g0], w4[k % (G / 4)]);
                       });
        } else if (by4) {
            for (int i = c0 / 4 + threadIdx.x; i < c1 / 4; i += THREADS) {
                const float inv = inv_s[4 * i / G - g0];
                const float4 v = x4[i], g = w4[i % (G / 4)];
                const float a0 = v.x * inv * g.x, b0 = v.y * inv * g.y;
                const float a1 = v.z * inv * g.z, b1 = v.w * inv * g.w;
                float4 o = make_float4(a0, b0, a1, b1);
                if (c) {
                    const int j = i % (TW / 4);
                    const float4 cc = reinterpret_cast<const float4 *>(c)[j];
                    const float4 ss4 = reinterpret_cast<const float4 *>(sn)[j];
                    const float2 p0 = rotate(a0, b0, cc.x, cc.y, ss4.x, ss4.y);
                    const float2 p1 = rotate(a1, b1, cc.z, cc.w, ss4.z, ss4.w);
                    o = make_float4(p0.x, p0.y, p1.x, p1.y);
                }
                store4(yr + 4 * i, o);
            }
        } else if (!c) {
            for (int i = c0 + threadIdx.x; i < c1; i += THREADS)
                store(yr + i, xr[i] * inv_s[i / G - g0] * w[i % G]);
        } else {
            for (int i = c0 + 2 * threadIdx.x; i + 1 < c1; i += 2 * THREADS) {
                const int j = i % TW;
                const float a = xr[i] * inv_s[i / G - g0] * w[i % G];
                const float b1 = xr[i + 1] * inv_s[(i + 1) / G - g0] * w[(i + 1) % G];
                const float2 p = rotate(a, b1, c[j], c[j + 1], sn[j], sn[j + 1]);
                store(yr + i, p.x);
                store(yr + i + 1, p.y);
            }
        }
        __syncthreads(); // inv_s is rewritten by the next pass
    }
}

// 16-byte aligned: float4 accesses (bf16 rows by 8 bytes, which D % 4 == 0 then gives too).
static bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

// Groups per pass of the per-group kernel: GSLICE, or in the split layout the most that end on a
// head's boundary (a multiple of dh / gcd(group, dh); at least 1 when dh <= GSLICE), so that no
// pair straddles two passes.
static int group_slice(const br_qk_shape *sh, bool split) {
    if (!split) return GSLICE;
    int a = sh->group, b = sh->split_dh;
    while (b) {
        const int t = a % b;
        a = b, b = t;
    }
    const int period = sh->split_dh / a; // the fewest groups that end on a head's boundary
    return GSLICE / period * period;
}

template <typename T>
static cudaError_t launch_norm(T *y, const float *x, const float *shift, const float *scale,
                               const float *w, int stride, int rows, int S, int D, float eps,
                               int mode, cudaStream_t s) {
    norm_kernel<T><<<(unsigned)rows, THREADS, 0, s>>>(y, x, shift, scale, w, stride, S, D, eps,
                                                      mode);
    return cudaGetLastError();
}

extern "C" {

cudaError_t cuda_rms_norm_mod(void *y, int y_bf16, const float *x, const float *shift,
                              const float *scale, int mod_stride, int B, int S, int D, float eps,
                              cudaStream_t s) {
    if (y_bf16)
        return launch_norm((uint16_t *)y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 0, s);
    return launch_norm((float *)y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 0, s);
}

cudaError_t cuda_rms_norm(float *x, const float *w, int rows, int D, float eps, cudaStream_t s) {
    // In place: each element is read before it is written by the same thread.
    return launch_norm(x, x, NULL, NULL, w, 0, rows, 1, D, eps, 1, s);
}

cudaError_t cuda_qk_norm_rope(void *y, int y_bf16, const float *x, const float *w,
                              const float *cos_t, const float *sin_t, const br_qk_shape *shape,
                              cudaStream_t s) {
    // No cos table: no rope (sin_t is then not read).
    if (!shape || !y || !x || !w || (cos_t && !sin_t)) return cudaErrorInvalidValue;
    const br_qk_shape sh = *shape;
    if (sh.B < 0 || sh.B > 65535 || sh.S < 0 || sh.D < 1 || sh.group < 1 || sh.D % sh.group ||
        sh.y_offset < 0 || sh.y_rows < 0 || sh.S > sh.y_rows - sh.y_offset)
        return cudaErrorInvalidValue;
    const bool split = cos_t && sh.split_dh, whole = sh.group == sh.D;
    if (split && (sh.split_dh < 2 || sh.split_dh % 2 || sh.D % sh.split_dh ||
                  (!whole && sh.split_dh > GSLICE)))
        return cudaErrorInvalidValue;
    if (cos_t && !split && (sh.table_width < 2 || sh.table_width % 2 || sh.D % sh.table_width))
        return cudaErrorInvalidValue;
    if (sh.B == 0 || sh.S == 0) return cudaSuccess;
    bool by4 = sh.D % 4 == 0 && (whole || sh.group % 4 == 0) && aligned16(x) && aligned16(w) &&
               aligned16(y);
    if (cos_t) by4 = by4 && aligned16(cos_t) && aligned16(sin_t);
    if (split) by4 = by4 && sh.split_dh % 8 == 0;
    else if (cos_t) by4 = by4 && sh.table_width % 4 == 0;
    if (whole) {
        if (y_bf16)
            qk_norm_rope_kernel<<<(unsigned)sh.S, THREADS, 0, s>>>((uint16_t *)y, x, w, cos_t,
                                                                  sin_t, sh, by4);
        else
            qk_norm_rope_kernel<<<(unsigned)sh.S, THREADS, 0, s>>>((float *)y, x, w, cos_t, sin_t,
                                                                  sh, by4);
    } else {
        const dim3 grid((unsigned)sh.S, (unsigned)sh.B);
        const int slice = group_slice(&sh, split);
        if (y_bf16)
            qk_group_norm_rope_kernel<<<grid, THREADS, 0, s>>>((uint16_t *)y, x, w, cos_t, sin_t,
                                                               sh, slice, by4);
        else
            qk_group_norm_rope_kernel<<<grid, THREADS, 0, s>>>((float *)y, x, w, cos_t, sin_t, sh,
                                                               slice, by4);
    }
    return cudaGetLastError();
}

cudaError_t cuda_layer_norm_mod(void *y, int y_bf16, const float *x, const float *shift,
                                const float *scale, int mod_stride, int B, int S, int D, float eps,
                                cudaStream_t s) {
    if (y_bf16)
        return launch_norm((uint16_t *)y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 2, s);
    return launch_norm((float *)y, x, shift, scale, NULL, mod_stride, B * S, S, D, eps, 2, s);
}

} // extern "C"
