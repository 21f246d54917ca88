// store.cuh: storing an fp32 result as fp32 or as bf16 (the operands of the bf16 path), so that
// one templated kernel writes either type. The bf16 rounding is bit manipulation (round to nearest
// even, NaN kept quiet: torch's rule) and needs no bf16 hardware, so it builds for sm_61 too.
#ifndef BR_STORE_CUH
#define BR_STORE_CUH

#include <stdint.h>

static __device__ __forceinline__ uint16_t f32_to_bf16_bits(float x) {
    const uint32_t u = __float_as_uint(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static __device__ __forceinline__ void store(float *p, float v) { *p = v; }
static __device__ __forceinline__ void store(uint16_t *p, float v) { *p = f32_to_bf16_bits(v); }

// Four consecutive values at once (p 16-byte aligned for fp32, 8-byte for bf16).
static __device__ __forceinline__ void store4(float *p, float4 v) {
    *reinterpret_cast<float4 *>(p) = v;
}
static __device__ __forceinline__ void store4(uint16_t *p, float4 v) {
    *reinterpret_cast<uint2 *>(p) =
        make_uint2(f32_to_bf16_bits(v.x) | (uint32_t)f32_to_bf16_bits(v.y) << 16,
                   f32_to_bf16_bits(v.z) | (uint32_t)f32_to_bf16_bits(v.w) << 16);
}

#endif
