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

#endif
