// text_strip.c: Python's str.strip() on UTF-8 text (tokenizer.h), as pipelines strip a prompt.
#include <stdint.h>
#include <string.h>

#include "tokenizer.h"

// The code point at s (UTF-8) and its length in *len; a byte that starts no valid sequence is
// taken alone (it is not whitespace).
static uint32_t code_point(const unsigned char *s, const unsigned char *end, int *len) {
    const int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
                : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || s + n > end) return *len = 1, 0xFFFD;
    uint32_t c = n == 1 ? s[0] : s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return *len = 1, 0xFFFD;
        c = c << 6 | (s[i] & 0x3F);
    }
    return *len = n, c;
}

// Python's str.isspace(): the characters of bidirectional type WS, B or S, or category Zs.
static int is_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

// Whether the code point ending at end (a UTF-8 sequence starting at or after lo) is whitespace;
// *len its bytes.
static int space_before(const unsigned char *lo, const unsigned char *end, int *len) {
    const unsigned char *s = end - 1;
    while (s > lo && end - s < 4 && (*s & 0xC0) == 0x80) s--;
    int n;
    const uint32_t c = code_point(s, end, &n);
    if (s + n != end) return *len = 1, 0; // a stray continuation byte
    return *len = n, is_space(c);
}

void br_text_strip(const char *text, const char **begin, const char **end) {
    const unsigned char *b = (const unsigned char *)text, *e = b + strlen(text);
    int n;
    while (b < e && is_space(code_point(b, e, &n))) b += n;
    while (e > b && space_before(b, e, &n)) e -= n;
    *begin = (const char *)b, *end = (const char *)e;
}
