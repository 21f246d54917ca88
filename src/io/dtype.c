// dtype.c: safetensors element types (names, sizes) and their exact conversion to fp32.
// All conversions are integer bit manipulation, so they are exact and do not depend on the
// rounding mode or on the compiler's treatment of subnormals. Sources are read byte by byte as
// little-endian, which is unaligned-safe and independent of the host's byte order.
#include "dtype.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[BR_DTYPE_COUNT] = {
    [BR_F32] = {"F32", 4}, [BR_F16] = {"F16", 2},   [BR_BF16] = {"BF16", 2},
    [BR_F64] = {"F64", 8}, [BR_I64] = {"I64", 8},   [BR_I32] = {"I32", 4},
    [BR_I16] = {"I16", 2}, [BR_I8] = {"I8", 1},     [BR_U8] = {"U8", 1},
    [BR_BOOL] = {"BOOL", 1},
};

size_t br_dtype_size(br_dtype t) {
    return (unsigned)t < BR_DTYPE_COUNT ? dtype_info[t].size : 0;
}

const char *br_dtype_name(br_dtype t) {
    return (unsigned)t < BR_DTYPE_COUNT ? dtype_info[t].name : "?";
}

int br_dtype_parse(const char *s, br_dtype *out) {
    for (int i = 0; i < BR_DTYPE_COUNT; i++)
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (br_dtype)i;
            return 1;
        }
    return 0;
}

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float br_bf16_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

static uint32_t f32_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

uint16_t br_f32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

uint16_t br_f32_to_f16(float f) {
    const uint32_t u = f32_to_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  // NaN
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); // 65520 and up round to inf
    if (a < 0x38800000u) { // under 2^-14: a subnormal (or zero) half, k x 2^-24 with k <= 1024
        float mag;
        memcpy(&mag, &a, sizeof mag);
        return (uint16_t)(sign | (uint32_t)lrintf(mag * 16777216.0f)); // exact scaling, even ties
    }
    const uint32_t m = a - 0x38000000u; // exponent rebiased from 127 to 15
    return (uint16_t)(sign | ((m + 0xfffu + ((m >> 13) & 1u)) >> 13));
}

// fp16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. fp32: 1, 8 (bias 127), 23.
float br_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | man << 13); // inf, nan (payload kept)
    if (exp != 0) return bits_to_f32(sign | (exp + 112) << 23 | man << 13); // 112 = 127 - 15
    if (man == 0) return bits_to_f32(sign); // +-0
    // Subnormal: man x 2^-24. Shift the leading 1 up to the implicit-bit position (bit 10);
    // each shift lowers the exponent by one from that of the smallest normal (2^-14).
    int e = -14;
    while (!(man & 0x400)) {
        man <<= 1;
        e--;
    }
    return bits_to_f32(sign | (uint32_t)(e + 127) << 23 | (man & 0x3ff) << 13);
}

static uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int br_convert_to_f32(br_dtype t, const void *src, float *dst, size_t n) {
    const uint8_t *p = src;
    switch (t) {
    case BR_F32:
        for (size_t i = 0; i < n; i++) dst[i] = bits_to_f32(load_u32(p + 4 * i));
        return 1;
    case BR_F16:
        for (size_t i = 0; i < n; i++) dst[i] = br_f16_to_f32(load_u16(p + 2 * i));
        return 1;
    case BR_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = br_bf16_to_f32(load_u16(p + 2 * i));
        return 1;
    case BR_U8: // images (pixels 0..255): every value is an fp32 value
        for (size_t i = 0; i < n; i++) dst[i] = (float)p[i];
        return 1;
    default:
        return 0;
    }
}
