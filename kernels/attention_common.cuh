// attention_common.cuh: what the fp32 and the bf16 attention kernels share (layouts in
// attention_f32.cu's header comment).
#pragma once
#include <stdint.h>

#include <cuda_runtime.h>

#define ATTN_LOG2E 1.4426950408889634f

static inline bool attn_aligned(const void *p) { return ((uintptr_t)p & 15) == 0; }

static inline cudaError_t attn_check_args(const float *out, const float *q, const float *k,
                                   const float *v, int B, int Sq, int Sk, int H) {
    // float4 / 16-byte cp.async accesses need 16-byte aligned bases (cudaMalloc gives 256).
    if (B < 1 || Sq < 1 || Sk < 1 || H < 1 || H > 65535 || B > 65535) return cudaErrorInvalidValue;
    if (!attn_aligned(out) || !attn_aligned(q) || !attn_aligned(k) || !attn_aligned(v))
        return cudaErrorInvalidValue;
    return cudaSuccess;
}

