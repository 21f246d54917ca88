// attention_common.cuh: what the attention kernels share (layouts in attention_f32.cu's header
// comment): the argument checks and which kernel a call takes. The fast kernels (attention_f32.cu,
// attention_bf16.cu) cover dh 8, 16, 32, 64, 128 on 16-byte aligned operands; every other call
// with a valid shape goes to the general kernel (attention_any.cu).
#pragma once
#include <stdint.h>

#include <cuda_runtime.h>

#define ATTN_LOG2E 1.4426950408889634f
#define ATTN_MAX_DH 512 // the general kernel's widest head: 16 dims per lane of a warp

static inline bool attn_aligned(const void *p) { return ((uintptr_t)p & 15) == 0; }

// The shapes every launcher takes: B and H are grid dimensions (<= 65535).
static inline bool attn_shape_ok(int B, int Sq, int Sk, int H, int dh) {
    return B >= 1 && Sq >= 1 && Sk >= 1 && H >= 1 && H <= 65535 && B <= 65535 && dh >= 1 &&
           dh <= ATTN_MAX_DH;
}

// Whether the fast kernels take the call: their float4 / 16-byte cp.async accesses need 16-byte
// aligned bases (cudaMalloc gives 256), and their tilings exist for these head dims only.
static inline bool attn_fast(int dh, const void *out, const void *q, const void *k,
                             const void *v) {
    return (dh == 8 || dh == 16 || dh == 32 || dh == 64 || dh == 128) && attn_aligned(out) &&
           attn_aligned(q) && attn_aligned(k) && attn_aligned(v);
}

// The fast kernels' own check (the tuning hooks call them directly): shape and alignment.
static inline cudaError_t attn_check_args(const float *out, const float *q, const float *k,
                                   const float *v, int B, int Sq, int Sk, int H) {
    if (B < 1 || Sq < 1 || Sk < 1 || H < 1 || H > 65535 || B > 65535) return cudaErrorInvalidValue;
    if (!attn_aligned(out) || !attn_aligned(q) || !attn_aligned(k) || !attn_aligned(v))
        return cudaErrorInvalidValue;
    return cudaSuccess;
}
