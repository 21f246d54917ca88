// dtype.h: the element types found in checkpoints, and their exact conversion to fp32.
// bf16 -> fp32 is a 16-bit shift (bf16 is the top half of an fp32), never a reinterpretation
// as fp16; fp16 -> fp32 is exact too (every fp16 value, subnormals included, is an fp32 value).
#ifndef BR_DTYPE_H
#define BR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    BR_F32, BR_F16, BR_BF16, BR_U8, // the types brigade converts (U8: images)
    BR_F64, BR_I64, BR_I32, BR_I16, BR_I8, BR_BOOL, // parsed and size-checked, not converted
    BR_DTYPE_COUNT
} br_dtype;

// Size in bytes of one element.
size_t br_dtype_size(br_dtype t);
// The safetensors spelling ("F32", "BF16", ...).
const char *br_dtype_name(br_dtype t);
// Parses a safetensors dtype string; returns 0 when unknown.
int br_dtype_parse(const char *s, br_dtype *out);

float br_bf16_to_f32(uint16_t h);
float br_f16_to_f32(uint16_t h);
// fp32 -> bf16 / fp16, rounding to nearest even (torch's rule); NaN stays a (quiet) NaN. fp16
// overflows to +-inf from 65520 on: callers that store weights in fp16 count |x| > 65504 first.
uint16_t br_f32_to_bf16(float f);
uint16_t br_f32_to_f16(float f);

// Converts n little-endian elements of type t at src into fp32 at dst (src may be unaligned).
// Returns 0 for a type that is not F32/F16/BF16/U8.
int br_convert_to_f32(br_dtype t, const void *src, float *dst, size_t n);

#endif
