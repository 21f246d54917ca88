// test_io.c: the file readers and writers on files this test makes itself in a temporary folder:
// exactness of the bf16/fp16 conversions over every bit pattern, a safetensors write/read round
// trip, the rejection (with a one-line message naming the file and tensor) of each kind of
// broken file, and a sharded checkpoint folder. Optional arguments: a fixtures folder (its
// ltx-tiny checkpoints and inputs are read), then more fp32 checkpoint folders, each compared
// with the bf16 copy named FOLDER-bf16: test_io ../shared/fixtures data/ltx-odd/transformer
#define _POSIX_C_SOURCE 200809L // mkdtemp, ftruncate

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/checkpoint.h"
#include "io/dtype.h"
#include "io/json_keys.h"
#include "io/safetensors.h"
#include "io/wav_write.h"

static char tmp_dir[64];




static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static char *tmp_path(const char *name) {
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
        printf("cannot write %s\n", path);
        exit(2);
    }
}

static void write_text(const char *path, const char *text) {
    write_bytes(path, text, strlen(text));
}

// A safetensors file by hand: header length (given, or the real one when len == ~0), header
// text, then data_size bytes of data (from data, or a counting pattern).
static void write_st_raw(const char *path, uint64_t len, const char *header, const void *data,
                         size_t data_size) {
    size_t h = strlen(header);
    if (len == ~(uint64_t)0) len = h;
    unsigned char *buf = malloc(8 + h + data_size);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, h);
    for (size_t i = 0; i < data_size; i++)
        buf[8 + h + i] = data ? ((const unsigned char *)data)[i] : (unsigned char)i;
    write_bytes(path, buf, 8 + h + data_size);
    free(buf);
}

static void write_st(const char *path, const char *header, size_t data_size) {
    write_st_raw(path, ~(uint64_t)0, header, NULL, data_size);
}

// ---------------------------------------------------------------------------------------------

static void test_dtypes(void) {
    for (int t = 0; t < BR_DTYPE_COUNT; t++) {
        br_dtype back;
        CHECK(br_dtype_parse(br_dtype_name((br_dtype)t), &back) && back == (br_dtype)t);
        CHECK(br_dtype_size((br_dtype)t) >= 1 && br_dtype_size((br_dtype)t) <= 8);
    }
    br_dtype d;
    CHECK(!br_dtype_parse("F8_E4M3", &d) && !br_dtype_parse("f32", &d) && !br_dtype_parse("", &d));
    CHECK(br_dtype_size(BR_BF16) == 2 && br_dtype_size(BR_F64) == 8 && br_dtype_size(BR_BOOL) == 1);
}

static void test_bf16(void) {
    int bad = 0;
    unsigned char *src = malloc(2 * 65536 + 1);
    float *dst = malloc(65536 * sizeof(float));
    for (uint32_t h = 0; h < 65536; h++) {
        if (f32_bits(br_bf16_to_f32((uint16_t)h)) != h << 16) bad++;
        src[1 + 2 * h] = (unsigned char)h, src[2 + 2 * h] = (unsigned char)(h >> 8);
    }
    CHECK(bad == 0);
    CHECK(br_convert_to_f32(BR_BF16, src + 1, dst, 65536)); // unaligned on purpose
    bad = 0;
    for (uint32_t h = 0; h < 65536; h++) bad += f32_bits(dst[h]) != h << 16;
    CHECK(bad == 0);
    free(src);
    free(dst);
}

// fp16 by its definition: (-1)^s x 2^(e-15) x 1.m, or 2^-14 x 0.m for e = 0.
static double f16_naive(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static int f16_matches(uint16_t h, float got) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff, neg = h >> 15;
    if (!!signbit(got) != neg) return 0;
    if (e == 0x1f && m == 0) return isinf(got);
    if (e == 0x1f) return isnan(got) && ((f32_bits(got) >> 13) & 0x3ff) == (uint32_t)m; // payload
    return (double)got == f16_naive(h);
}

static void test_f16(void) {
    int bad = 0;
    unsigned char *src = malloc(2 * 65536 + 3);
    float *dst = malloc(65536 * sizeof(float));
    for (uint32_t h = 0; h < 65536; h++) {
        if (!f16_matches((uint16_t)h, br_f16_to_f32((uint16_t)h))) {
            if (bad++ < 5) printf("     f16 0x%04x -> %a, want %a\n", h, br_f16_to_f32((uint16_t)h),
                                  f16_naive((uint16_t)h));
        }
        src[3 + 2 * h] = (unsigned char)h, src[4 + 2 * h] = (unsigned char)(h >> 8);
    }
    CHECK(bad == 0);
    CHECK(br_convert_to_f32(BR_F16, src + 3, dst, 65536));
    bad = 0;
    for (uint32_t h = 0; h < 65536; h++) bad += !f16_matches((uint16_t)h, dst[h]);
    CHECK(bad == 0);
    CHECK(br_f16_to_f32(0x0001) == ldexpf(1, -24));   // smallest subnormal
    CHECK(br_f16_to_f32(0x03ff) == 1023 * ldexpf(1, -24)); // largest subnormal
    CHECK(br_f16_to_f32(0x3c00) == 1.0f && br_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(br_f16_to_f32(0xfc00) == -INFINITY && f32_bits(br_f16_to_f32(0x8000)) == 0x80000000u);
    free(src);
    free(dst);
}

// fp32 -> fp16 / bf16 against the definition: the nearest representable value (by f16_naive or
// the bf16's exact fp32), ties to the even code; every finite 16-bit code round-trips.
static int nearest_ok(float f, uint16_t r, double (*value)(uint16_t)) {
    const double d = fabs((double)f - value(r));
    for (int step = -1; step <= 1; step += 2) {
        uint16_t n = (uint16_t)(r + step);
        if ((n & 0x7fff) == 0x7fff || (n ^ r) & 0x8000) continue; // past the sign or the codes
        double dn = fabs((double)f - value(n));
        if (dn < d || (dn == d && (r & 1))) return 0;
    }
    return 1;
}
static double bf16_value(uint16_t h) { return br_bf16_to_f32(h); }

static void test_narrowing(void) {
    int bad16 = 0, bad_bf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t c = (uint16_t)h;
        if (((h >> 10) & 0x1f) != 0x1f) bad16 += br_f32_to_f16(br_f16_to_f32(c)) != c;
        if (((h >> 7) & 0xff) != 0xff) bad_bf += br_f32_to_bf16(br_bf16_to_f32(c)) != c;
    }
    CHECK(bad16 == 0 && bad_bf == 0);
    unsigned long long state = 12345;
    int bad_round = 0;
    for (int i = 0; i < 2000000; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t bits = (uint32_t)(state >> 32);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f)) continue;
        if (fabsf(f) < 65504.0f && !nearest_ok(f, br_f32_to_f16(f), f16_naive)) bad_round++;
        if (fabsf(f) < 3.38e38f && !nearest_ok(f, br_f32_to_bf16(f), bf16_value)) bad_round++;
    }
    CHECK(bad_round == 0);
    CHECK(br_f32_to_f16(65504.0f) == 0x7bff && br_f32_to_f16(65519.99f) == 0x7bff);
    CHECK(br_f32_to_f16(65520.0f) == 0x7c00 && br_f32_to_f16(-1e10f) == 0xfc00);
    CHECK(br_f32_to_f16(ldexpf(1, -24)) == 0x0001 && br_f32_to_f16(ldexpf(1, -25)) == 0x0000);
    CHECK(br_f32_to_f16(ldexpf(3, -25)) == 0x0002);              // 1.5 x 2^-24: tie to even
    CHECK(br_f32_to_f16(ldexpf(1.0001f, -25)) == 0x0001);
    CHECK(br_f32_to_f16(1.0f + ldexpf(1, -11)) == 0x3c00);       // tie to even (down)
    CHECK(br_f32_to_f16(1.0f + ldexpf(3, -11)) == 0x3c02);       // tie to even (up)
    CHECK((br_f32_to_f16(NAN) & 0x7fff) > 0x7c00 && (br_f32_to_bf16(NAN) & 0x7fff) > 0x7f80);
    CHECK(br_f32_to_bf16(1.0f + ldexpf(1, -8)) == 0x3f80);       // tie to even
}

static void test_f32_and_others(void) {
    float vals[3] = {1.5f, -0.0f, 3.0e38f}, out[3];
    unsigned char buf[13];
    memcpy(buf + 1, vals, sizeof vals); // little-endian host: the file layout
    CHECK(br_convert_to_f32(BR_F32, buf + 1, out, 3) && memcmp(out, vals, sizeof vals) == 0);
    CHECK(!br_convert_to_f32(BR_I32, buf, out, 3) && !br_convert_to_f32(BR_F64, buf, out, 1));
}

// ---------------------------------------------------------------------------------------------

static void test_round_trip(void) {
    br_tensor_set set = {0};
    int64_t s2[2] = {3, 5}, s1[1] = {7}, s0[1] = {0}, sz[2] = {0, 4};
    br_tensor *a = br_set_add(&set, "a.weight", 2, s2);
    br_tensor *b = br_set_add(&set, "b \"quoted\\name\"", 1, s1);
    br_tensor *c = br_set_add(&set, "scalar", 0, s0);
    CHECK(br_set_add(&set, "empty", 2, sz) != NULL);
    for (int i = 0; i < 15; i++) a->data[i] = (float)i * 0.1f - 0.7f;
    for (int i = 0; i < 7; i++) b->data[i] = ldexpf(1, -140 + 40 * i); // subnormal up to large
    c->data[0] = -INFINITY;
    double three = 3, half = 0.5, tiny = -1e-300, big = 1e20, rope[3] = {0.32, 32, 32};
    double third = 1.0 / 3;
    CHECK_OK(br_set_add_setting(&set, "num_frames", 1, &three));
    CHECK_OK(br_set_add_setting(&set, "guidance", 1, &half));
    CHECK_OK(br_set_add_setting(&set, "tiny", 1, &tiny));
    CHECK_OK(br_set_add_setting(&set, "big", 1, &big));
    CHECK_OK(br_set_add_setting(&set, "third", 1, &third));
    CHECK_OK(br_set_add_setting(&set, "rope_interpolation_scale", 3, rope));

    const char *path = tmp_path("rt.safetensors");
    CHECK_OK(br_st_write(path, &set));
    CHECK(!exists(tmp_path("rt.safetensors.tmp")));

    br_st_file f;
    CHECK_OK(br_st_open(&f, path));
    CHECK(f.n_entries == 4 && (f.data - f.map) % 8 == 0);
    const char *nf = br_st_meta(&f, "num_frames");
    CHECK(nf && strcmp(nf, "3") == 0);
    CHECK(br_st_meta(&f, "guidance") && strcmp(br_st_meta(&f, "guidance"), "0.5") == 0);
    const char *r = br_st_meta(&f, "rope_interpolation_scale");
    CHECK(r && strcmp(r, "[0.32, 32, 32]") == 0);
    CHECK(br_st_find(&f, "a.weight") && !br_st_find(&f, "a.weigh") && !br_st_find(&f, "zzz"));
    br_st_close(&f);

    br_tensor_set back = {0};
    CHECK_OK(br_st_read_all(path, &back));
    CHECK(back.n_tensors == set.n_tensors && back.n_settings == set.n_settings);
    for (int i = 0; i < set.n_tensors; i++) {
        const br_tensor *t = &set.tensors[i], *u = br_set_find(&back, t->name);
        int64_t n = br_numel(t->ndim, t->shape);
        CHECK(u && u->ndim == t->ndim &&
              memcmp(u->shape, t->shape, (size_t)t->ndim * sizeof(int64_t)) == 0 &&
              memcmp(u->data, t->data, (size_t)n * sizeof(float)) == 0);
    }
    for (int i = 0; i < set.n_settings; i++) {
        const br_setting *s = &set.settings[i], *u = br_set_find_setting(&back, s->name);
        CHECK(u && u->count == s->count &&
              memcmp(u->values, s->values, (size_t)s->count * sizeof(double)) == 0);
    }

    // Reading into a set that already has the names fails, and leaves the set as it was.
    int n_before = back.n_tensors;
    CHECK_FAILS(br_st_read_all(path, &back), "rt.safetensors", "is already in the set");
    CHECK(back.n_tensors == n_before);

    // An unwritable destination: an error naming it, and no temporary left behind.
    const char *nowhere = tmp_path("no/such/dir/out.safetensors");
    CHECK_FAILS(br_st_write(nowhere, &set), nowhere, NULL);
    // A destination that is a directory: the rename fails, the temporary is removed.
    mkdir(tmp_path("adir"), 0700);
    CHECK_FAILS(br_st_write(tmp_path("adir"), &set), "adir", "rename");
    CHECK(!exists(tmp_path("adir.tmp")));
    br_set_free(&set);
    br_set_free(&back);
}

static void test_read_all_conversions(void) {
    // bf16 1.0, -2.0; f16 1.0, 2^-24 (subnormal); i32 in another file.
    unsigned char data[8] = {0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3c, 0x01, 0x00};
    const char *path = tmp_path("half.safetensors");
    write_st_raw(path, ~(uint64_t)0,
                 "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                 "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]},"
                 "\"__metadata__\":{\"note\":\"\\\"text\\\"\",\"fmt\":\"pt\",\"n\":\" 7 \","
                 "\"mixed\":\"[1, \\\"a\\\"]\",\"empty\":\"[]\"}}",
                 data, sizeof data);
    br_tensor_set set = {0};
    CHECK_OK(br_st_read_all(path, &set));
    const br_tensor *h = br_set_find(&set, "h"), *b = br_set_find(&set, "b");
    CHECK(h && h->data[0] == 1.0f && h->data[1] == ldexpf(1, -24));
    CHECK(b && b->ndim == 2 && b->data[0] == 1.0f && b->data[1] == -2.0f);
    CHECK(set.n_settings == 1 && br_set_find_setting(&set, "n") &&
          br_set_find_setting(&set, "n")->values[0] == 7);
    br_set_free(&set);

    path = tmp_path("int.safetensors");
    write_st(path, "{\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    CHECK_FAILS(br_st_read_all(path, &set), "int.safetensors", "\"ids\" has dtype I32");
    CHECK(set.n_tensors == 0);

    // A setting holds up to BR_SETTING_MAX numbers; nested lists (Qwen-Image's img_shapes) are
    // flattened in order; a list with anything but numbers is descriptive text, not a setting.
    char meta[800];
    int used = snprintf(meta, sizeof meta, "{\"__metadata__\":{\"l\":\"[");
    for (int i = 0; i <= BR_SETTING_MAX; i++)
        used += snprintf(meta + used, sizeof meta - used, "%s%d", i ? "," : "", i);
    snprintf(meta + used, sizeof meta - used, "]\"}}");
    path = tmp_path("long.safetensors");
    write_st(path, meta, 0);
    CHECK_FAILS(br_st_read_all(path, &set), "long.safetensors", "\"l\" is a list of 65");
    br_set_free(&set);
    path = tmp_path("nested.safetensors");
    write_st(path, "{\"__metadata__\":{\"s\":\"[[[1,4,6],[1,5,4]]]\",\"t\":\"[[1,\\\"a\\\"]]\"}}", 0);
    CHECK_OK(br_st_read_all(path, &set));
    const br_setting *s = br_set_find_setting(&set, "s");
    CHECK(s && s->count == 6 && s->values[2] == 6 && s->values[4] == 5);
    CHECK(!br_set_find_setting(&set, "t"));
    br_set_free(&set);

    char header[400], name[200];
    memset(name, 'x', 150);
    name[150] = '\0';
    snprintf(header, sizeof header,
             "{\"%s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", name);
    path = tmp_path("longname.safetensors");
    write_st(path, header, 4);
    br_st_file f;
    CHECK_OK(br_st_open(&f, path)); // long names are fine in a file ...
    br_st_close(&f);
    // ... but not in a set
    CHECK_FAILS(br_st_read_all(path, &set), "longname.safetensors", "longer than");
    br_set_free(&set);
}

// Each broken file must be rejected by br_st_open with a message naming it (and the tensor).
static void bad_file(const char *file, const char *header, size_t data_size, const char *want,
                     int line) {
    const char *path = tmp_path(file);
    write_st(path, header, data_size);
    br_st_file f;
    br_clear_error();
    check_fails_(br_st_open(&f, path), header, file, want, __FILE__, line);
    br_st_close(&f); // safe after a failed open
}

#define F32_A "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}"

static void test_bad_files(void) {
    br_st_file f;
    const char *path = tmp_path("four.safetensors");
    write_bytes(path, "\x10\0\0\0", 4);
    CHECK_FAILS(br_st_open(&f, path), "four.safetensors", "4 bytes");
    br_st_close(&f);
    br_st_close(&f); // twice, and on a zeroed struct
    CHECK_FAILS(br_st_open(&f, tmp_path("absent.safetensors")), "absent.safetensors", NULL);
    CHECK_FAILS(br_st_open(&f, tmp_dir), tmp_dir, "not a regular file");

    path = tmp_path("past.safetensors");
    write_st_raw(path, 1000, "{}      ", NULL, 2);
    CHECK_FAILS(br_st_open(&f, path), "past.safetensors",
                "header length 1000 exceeds file size 18");
    write_st_raw(path, ~(uint64_t)1, "{}      ", NULL, 0);
    CHECK_FAILS(br_st_open(&f, path), "past.safetensors", "18446744073709551614 exceeds file size");
    path = tmp_path("zero.safetensors");
    write_st_raw(path, 0, "{}", NULL, 0);
    CHECK_FAILS(br_st_open(&f, path), "zero.safetensors", "header length is 0");

    // A header length over the 100 MiB bound, inside a (sparse) file that large.
    path = tmp_path("huge.safetensors");
    write_st_raw(path, BR_ST_MAX_HEADER + 8ull, "{}", NULL, 0);
    if (truncate(path, BR_ST_MAX_HEADER + 16ll) == 0)
        CHECK_FAILS(br_st_open(&f, path), "huge.safetensors", "exceeds the limit");
    remove(path);

    bad_file("json.safetensors", "{\"a\": ", 0, "not valid JSON", __LINE__);
    bad_file("array.safetensors", "[1, 2]  ", 0, "not an object", __LINE__);
    bad_file("stray.safetensors", "{} x", 0, "stray bytes", __LINE__);
    bad_file("entry.safetensors", "{\"a\": 5}", 0, "\"a\": entry is not a JSON object", __LINE__);
    bad_file("dtype.safetensors", "{\"a\":{\"dtype\":\"F8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
             4, "\"a\": unknown dtype \"F8\"", __LINE__);
    bad_file("nodtype.safetensors", "{\"a\":{\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
             "\"a\": \"dtype\" missing", __LINE__);
    bad_file("neg.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", 16,
             "\"a\": shape entry 0", __LINE__);
    bad_file("frac.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[4,1.5],\"data_offsets\":[0,16]}}", 16,
             "\"a\": shape entry 1", __LINE__);
    bad_file("big.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e17],\"data_offsets\":[0,16]}}", 16,
             "\"a\": shape entry 0", __LINE__);
    bad_file("overflow.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],"
             "\"data_offsets\":[0,16]}}",
             16, "\"a\": shape has too many elements", __LINE__);
    bad_file("dims.safetensors",
             "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
             "\"a\" has 9 dimensions", __LINE__);
    bad_file("end.safetensors",
             "{\"proj_in.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,999999]}}",
             16,
             "tensor \"proj_in.weight\": data_offsets [0, 999999] end past the data block "
             "(16 bytes)",
             __LINE__);
    bad_file("order.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16,
             "\"a\": data_offsets [8, 4] end before begin", __LINE__);
    bad_file("offs.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}",
             16, "\"a\": \"data_offsets\" must be 2 integers", __LINE__);
    bad_file("size.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16,
             "\"a\": data_offsets [0, 12] hold 12 bytes, but F32 [2, 2] needs 16", __LINE__);
    bad_file("overlap.safetensors",
             "{" F32_A ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24,
             "\"a\" [0, 16] and \"b\" [8, 24] overlap", __LINE__);
    bad_file("inside.safetensors",
             "{\"big\":{\"dtype\":\"U8\",\"shape\":[32],\"data_offsets\":[0,32]},"
             "\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[30,32]},"
             "\"m\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}",
             32, "\"big\" [0, 32] and \"m\" [4, 6] overlap", __LINE__);
    bad_file("dup.safetensors",
             "{" F32_A ",\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 32,
             "tensor \"a\" appears twice", __LINE__);
    bad_file("meta.safetensors", "{\"__metadata__\": 5, " F32_A "}", 16,
             "\"__metadata__\" is not a JSON object", __LINE__);
    bad_file("metaval.safetensors", "{\"__metadata__\": {\"k\": 3}, " F32_A "}", 16,
             "__metadata__ \"k\" is not a string", __LINE__);
    bad_file("ctrl.safetensors",
             "{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
             "control character", __LINE__);

    // Empty tensors occupy no bytes, so they overlap nothing; gaps between tensors are allowed.
    path = tmp_path("fine.safetensors");
    write_st(path,
             "{" F32_A ",\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
             "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}   ",
             24);
    CHECK_OK(br_st_open(&f, path));
    CHECK(f.n_entries == 3 && strcmp(f.entries[0].name, "a") == 0 &&
          strcmp(f.entries[1].name, "c") == 0 && strcmp(f.entries[2].name, "e") == 0);
    br_st_close(&f);

    // The same file from memory (br_st_open_memory, the fuzzer's entry point): the same verdicts,
    // and the bytes are not copied.
    unsigned char bytes[256];
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(bytes, 1, sizeof bytes, fp) : 0;
    if (fp) fclose(fp);
    CHECK_OK(br_st_open_memory(&f, "fine (memory)", bytes, n));
    CHECK(f.n_entries == 3 && f.data + f.data_size == bytes + n);
    float out[4];
    CHECK_OK(br_st_read_f32(&f, br_st_find(&f, "a"), out));
    br_st_close(&f);
    CHECK_FAILS(br_st_open_memory(&f, "cut (memory)", bytes, n - 1), "cut (memory)",
                "end past the data block");
    CHECK_FAILS(br_st_open_memory(&f, "seven (memory)", bytes, 7), "seven (memory)",
                "7 bytes, too short");
    CHECK_FAILS(br_st_open_memory(&f, "none (memory)", NULL, 0), "none (memory)", "0 bytes");
    path = tmp_path("empty.safetensors"); // 0 bytes: not mapped (mmap refuses it), still refused
    write_bytes(path, "", 0);
    CHECK_FAILS(br_st_open(&f, path), "empty.safetensors", "0 bytes, too short");
}

// ---------------------------------------------------------------------------------------------

static void add_filled(br_tensor_set *set, const char *name, int ndim, const int64_t *shape,
                       float base) {
    br_tensor *t = br_set_add(set, name, ndim, shape);
    for (int64_t i = 0; i < br_numel(ndim, shape); i++) t->data[i] = base + (float)i;
}

static void make_sharded(const char *dir) {
    char path[256];
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, "{\"num_layers\": 2, \"attention_head_dim\": 8}");
    br_tensor_set s1 = {0};
    int64_t w[2] = {2, 3}, v[1] = {3};
    add_filled(&s1, "a.weight", 2, w, 10);
    add_filled(&s1, "a.bias", 1, v, 20);
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", dir);
    CHECK_OK(br_st_write(path, &s1));
    br_set_free(&s1);
    // Shard 2 by hand: a BF16 tensor and an I32 one.
    unsigned char data[12] = {0x80, 0x3f, 0x00, 0x40, 1, 0, 0, 0, 2, 0, 0, 0};
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
    write_st_raw(path, ~(uint64_t)0,
                 "{\"c.weight\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                 "\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                 data, sizeof data);
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors.index.json", dir);
    write_text(path, "{\"metadata\": {\"total_size\": 40}, \"weight_map\": {"
                     "\"a.weight\": \"model-00001-of-00002.safetensors\","
                     "\"c.weight\": \"model-00002-of-00002.safetensors\","
                     "\"ids\": \"model-00002-of-00002.safetensors\","
                     "\"ghost\": \"model-00002-of-00002.safetensors\","
                     "\"a.bias\": \"model-00001-of-00002.safetensors\"}}");
}

static void test_sharded(void) {
    const char *dir = tmp_path("sharded");
    make_sharded(dir);
    br_checkpoint c;
    CHECK_OK(br_ckpt_open(&c, dir));
    CHECK(c.n_shards == 2 && c.n_map == 5 && !c.shards[0].map && !c.shards[1].map);
    CHECK(cJSON_GetObjectItem(c.config, "num_layers") &&
          cJSON_GetObjectItem(c.config, "num_layers")->valuedouble == 2);

    float *x = NULL;
    int64_t w[2] = {2, 3}, v[1] = {3}, two[1] = {2}, any[2] = {-1, 3}, wrong[2] = {3, 2};
    CHECK_OK(br_ckpt_load(&c, "a.weight", 2, w, &x));
    CHECK(x && x[0] == 10 && x[5] == 15);
    CHECK(c.shards[0].map && !c.shards[1].map); // only the shard used is opened
    free(x);
    CHECK_OK(br_ckpt_load(&c, "a.bias", 1, v, &x));
    CHECK(x && x[2] == 22);
    free(x);
    CHECK_OK(br_ckpt_load(&c, "a.weight", 2, any, &x)); // a negative dimension matches any size
    free(x);
    CHECK_OK(br_ckpt_load(&c, "c.weight", 1, two, &x));
    CHECK(x && x[0] == 1.0f && x[1] == 2.0f);
    free(x);

    float rows[3] = {0};
    CHECK_OK(br_ckpt_load_rows(&c, "a.weight", 2, w, 1, 1, rows)); // row 1 alone: 13, 14, 15
    CHECK(rows[0] == 13 && rows[1] == 14 && rows[2] == 15);
    CHECK_OK(br_ckpt_load_rows(&c, "c.weight", 1, two, 1, 1, rows)); // bf16, converted
    CHECK(rows[0] == 2.0f);
    CHECK_FAILS(br_ckpt_load_rows(&c, "a.weight", 2, w, 1, 2, rows), "\"a.weight\"",
                "rows [1, 3) asked of 2");
    CHECK_FAILS(br_ckpt_load_rows(&c, "a.weight", 2, any, 0, 1, rows), "\"a.weight\"",
                "asked of"); // the shape must be given whole
    CHECK_FAILS(br_ckpt_load_rows(&c, "a.weight", 2, wrong, 0, 1, rows), "\"a.weight\"",
                "has shape [2, 3]");
    CHECK_FAILS(br_ckpt_load_rows(&c, "ids", 1, two, 0, 1, rows), "\"ids\"", "dtype I32");

    x = (float *)&c; // must be reset to NULL on failure
    CHECK_FAILS(br_ckpt_load(&c, "transformer_blocks.3.attn1.to_q.weight", 2, w, &x),
                "sharded: tensor \"transformer_blocks.3.attn1.to_q.weight\" not found",
                "5 tensors");
    CHECK(x == NULL);
    CHECK_FAILS(br_ckpt_load(&c, "a.weight", 2, wrong, &x),
                "model-00001-of-00002.safetensors: tensor \"a.weight\"",
                "has shape [2, 3], the config implies [3, 2]");
    CHECK_FAILS(br_ckpt_load(&c, "a.bias", 2, w, &x), "\"a.bias\" has shape [3]", "[2, 3]");
    CHECK_FAILS(br_ckpt_load(&c, "ghost", 1, two, &x), "model-00002-of-00002.safetensors",
                "\"ghost\" is listed in");
    CHECK_FAILS(br_ckpt_load(&c, "ids", 1, two, &x), "\"ids\"", "dtype I32");

    br_clear_error();
    br_ckpt_close(&c);
    br_ckpt_close(&c); // twice is safe

    char path[256];
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors.index.json", dir);
    write_text(path, "{\"weight_map\": {\"a.weight\": \"../evil\"}}");
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "\"../evil\" is not a plain file name");
    write_text(path, "{\"weight_map\": {\"a.weight\": \"..\"}}");
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "\"..\" is not a plain file name");
    write_text(path, "{\"weight_map\": [1]}");
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "weight_map");
    write_text(path, "{\"weight_map\": {\"a\": \"s1\", \"a\": \"s2\"}}");
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "\"a\" is listed twice");
    // Found by tests/fuzz/fuzz_index: a newline in a name broke the one-line message; a NUL byte
    // hid the rest of the file from cJSON.
    write_text(path, "{\"weight_map\": {\"a\": \"x\\ny\"}}");
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "shard \"(unprintable)\" is not a plain file");
    write_text(path, "{\"weight_map\": {\"a\\u007f\": \"s1\"}}");
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "tensor name in weight_map contains a control");
    write_bytes(path, "{\"weight_map\": {\"a\": \"s1\"}}\0{", 29);
    CHECK_FAILS(br_ckpt_open(&c, dir), "index.json", "a NUL byte at byte 27");
    write_text(path, "{\"weight_map\": {\"a\": \"absent.safetensors\"}}");
    CHECK_OK(br_ckpt_open(&c, dir)); // the shard is only opened on use
    CHECK_FAILS(br_ckpt_load(&c, "a", 1, two, &x), "absent.safetensors", "cannot open");
    br_ckpt_close(&c);
    br_ckpt_close(&c);
}

// A random checkpoint's rows are the whole tensor's values there, whichever rows are asked,
// and a tensor asked for again (another rank) gets the same values.
static void test_random_rows(void) {
    br_checkpoint c;
    CHECK_OK(br_ckpt_open_random(&c, cJSON_CreateObject(), 7));
    const int64_t shape[2] = {5, 4}, vec[1] = {6};
    float *whole = NULL, *again = NULL, part[8], elems[2];
    CHECK_OK(br_ckpt_load(&c, "m.weight", 2, shape, &whole));
    CHECK_OK(br_ckpt_load(&c, "m.weight", 2, shape, &again));
    CHECK(whole && again && memcmp(whole, again, 20 * sizeof(float)) == 0);
    CHECK_OK(br_ckpt_load_rows(&c, "m.weight", 2, shape, 3, 2, part));
    CHECK(whole && memcmp(part, whole + 12, 8 * sizeof(float)) == 0);
    CHECK(whole && whole[0] != whole[4] && fabsf(whole[0]) <= 0.5f); // rows differ; 1/sqrt(4)
    free(whole), free(again);
    CHECK_OK(br_ckpt_load(&c, "n.weight", 1, vec, &whole)); // a norm weight: near 1
    CHECK_OK(br_ckpt_load_rows(&c, "n.weight", 1, vec, 4, 2, elems));
    CHECK(whole && elems[0] == whole[4] && elems[1] == whole[5] && fabsf(whole[5] - 1) <= 0.02f);
    free(whole);
    CHECK_FAILS(br_ckpt_load_rows(&c, "m.weight", 2, shape, 4, 2, part), "m.weight",
                "rows [4, 6) asked of 5");
    br_ckpt_close(&c);
}

static void test_single_and_config(void) {
    const char *dir = tmp_path("single");
    char path[256];
    mkdir(dir, 0700);
    br_checkpoint c;
    CHECK_FAILS(br_ckpt_open(&c, dir), "single/config.json", "cannot open");
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, "{\"a\": ");
    CHECK_FAILS(br_ckpt_open(&c, dir), "single/config.json", "not valid JSON");
    write_text(path, "[1]");
    CHECK_FAILS(br_ckpt_open(&c, dir), "single/config.json", "not a JSON object");
    write_text(path, "{\"in_channels\": 4}\n");
    CHECK_FAILS(br_ckpt_open(&c, dir), "single: neither", NULL);

    br_tensor_set set = {0};
    int64_t s[2] = {4, 2};
    add_filled(&set, "proj_in.weight", 2, s, 0.5f);
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    CHECK_OK(br_st_write(path, &set));
    br_set_free(&set);
    char with_slash[300];
    snprintf(with_slash, sizeof with_slash, "%s/", dir);
    CHECK_OK(br_ckpt_open(&c, with_slash));
    float *x = NULL;
    CHECK_OK(br_ckpt_load(&c, "proj_in.weight", 2, s, &x));
    CHECK(x && x[7] == 7.5f);
    free(x);
    CHECK_FAILS(br_ckpt_load(&c, "proj_out.weight", 2, s, &x), "proj_out.weight",
                "not found (checkpoint has 1 tensors)");
    int64_t t[2] = {5, 2};
    CHECK_FAILS(br_ckpt_load(&c, "proj_in.weight", 2, t, &x),
                "single/diffusion_pytorch_model.safetensors: tensor \"proj_in.weight\" has shape",
                "[4, 2], the config implies [5, 2]");
    br_ckpt_close(&c);

    // A broken weights file is reported when first used, naming the file.
    write_bytes(path, "abc", 3);
    CHECK_OK(br_ckpt_open(&c, dir));
    CHECK_FAILS(br_ckpt_load(&c, "proj_in.weight", 2, s, &x),
                "single/diffusion_pytorch_model.safetensors", "3 bytes");
    br_ckpt_close(&c);
    br_checkpoint z;
    memset(&z, 0, sizeof z);
    br_ckpt_close(&z);
}

// ---------------------------------------------------------------------------------------------
// Optional: the shared ltx-tiny fixture (fp32 and bf16 checkpoints, and an inputs file).

// Loads every tensor of the fp32 checkpoint dir32 and of its bf16 copy dir16, each with the
// shape the fp32 file gives it, and checks that bf16 is fp32 rounded to 8 significant bits.
// The test opens the fp32 shard files itself to list the tensors and their shapes.
static void compare_checkpoints(const char *dir32, const char *dir16) {
    br_checkpoint c32, c16;
    CHECK_OK(br_ckpt_open(&c32, dir32));
    CHECK_OK(br_ckpt_open(&c16, dir16));
    int n = 0, loaded = 0;
    double worst = 0;
    for (int s = 0; s < c32.n_shards; s++) {
        br_st_file shard = {0};
        if (!CHECK(br_st_open(&shard, c32.shard_paths[s]) == BR_OK)) break;
        for (int i = 0; i < shard.n_entries; i++, n++) {
            const br_st_entry *e = &shard.entries[i];
            float *a = NULL, *b = NULL;
            if (br_ckpt_load(&c32, e->name, e->ndim, e->shape, &a) != BR_OK ||
                br_ckpt_load(&c16, e->name, e->ndim, e->shape, &b) != BR_OK) {
                CHECK(!"loads");
                printf("     %s\n", br_error());
                br_clear_error();
            } else {
                loaded++;
                for (int64_t k = 0; k < br_numel(e->ndim, e->shape); k++)
                    if (a[k] != 0) worst = fmax(worst, fabs((double)a[k] - b[k]) / fabs(a[k]));
            }
            free(a);
            free(b);
        }
        br_st_close(&shard);
    }
    CHECK(n > 0 && loaded == n && worst <= 1.0 / 256);
    printf("ok   %s: %d tensors (%d shards), bf16 copy within %.3g relative\n", dir32, loaded,
           c32.n_shards, worst);
    br_ckpt_close(&c32);
    br_ckpt_close(&c16);
}

static void test_fixtures(const char *fixtures) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ltx-tiny/case_forward.safetensors", fixtures);
    br_tensor_set set = {0};
    CHECK_OK(br_st_read_all(path, &set));
    const br_setting *nf = br_set_find_setting(&set, "num_frames");
    const br_setting *rs = br_set_find_setting(&set, "rope_interpolation_scale");
    CHECK(nf && nf->count == 1 && nf->values[0] == 3);
    CHECK(rs && rs->count == 3 && rs->values[0] == 0.32 && rs->values[2] == 32);
    CHECK(!br_set_find_setting(&set, "note") && set.n_tensors > 0);
    printf("ok   %s: %d tensors, %d settings\n", path, set.n_tensors, set.n_settings);
    br_set_free(&set);

    char p16[1024];
    snprintf(path, sizeof path, "%s/ltx-tiny/transformer", fixtures);
    snprintf(p16, sizeof p16, "%s/ltx-tiny/transformer-bf16", fixtures);
    compare_checkpoints(path, p16);
}

// ---------------------------------------------------------------------------------------------

static void remove_tree(const char *dir) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); // our own mkdtemp folder
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
}

// A config's _class_name: absent or null is accepted (as every key: null gives the default); any
// other value must be the expected class, else one line names the file and the class.
static void test_class_name(void) {
    const char *ok[] = {"{}", "{\"_class_name\": null}", "{\"_class_name\": \"Model\"}"};
    for (int i = 0; i < 3; i++) {
        cJSON *j = cJSON_Parse(ok[i]);
        CHECK_OK(br_json_class(j, "m/config.json", "Model"));
        cJSON_Delete(j);
    }
    const char *bad[] = {"{\"_class_name\": \"Other\"}", "{\"_class_name\": 5}",
                         "{\"_class_name\": [\"Model\"]}"};
    for (int i = 0; i < 3; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        CHECK_FAILS(br_json_class(j, "m/config.json", "Model"), "m/config.json",
                    "_class_name is not Model");
        cJSON_Delete(j);
    }
}

// A WAV file's data chunk: its 16-bit samples into out (at most max); how many, or -1.
static long wav_samples(const char *path, int16_t *out, long max, int *channels, int *rate) {
    FILE *f = fopen(path, "rb");
    unsigned char head[12], chunk[8];
    long n = -1;
    if (!f || fread(head, 1, 12, f) != 12 || memcmp(head, "RIFF", 4) || memcmp(head + 8, "WAVE", 4))
        goto done;
    while (fread(chunk, 1, 8, f) == 8) {
        const long size = chunk[4] | chunk[5] << 8 | chunk[6] << 16 | (long)chunk[7] << 24;
        if (!memcmp(chunk, "fmt ", 4)) {
            unsigned char fmt[16];
            if (size < 16 || fread(fmt, 1, 16, f) != 16) goto done;
            *channels = fmt[2] | fmt[3] << 8, *rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16;
            fseek(f, size - 16, SEEK_CUR);
        } else if (!memcmp(chunk, "data", 4)) {
            n = size / 2 < max ? size / 2 : max;
            for (long i = 0; i < n; i++) {
                unsigned char b[2];
                if (fread(b, 1, 2, f) != 2) { n = -1; break; }
                out[i] = (int16_t)(b[0] | b[1] << 8);
            }
            goto done;
        } else {
            fseek(f, size + (size & 1), SEEK_CUR);
        }
    }
done:
    if (f) fclose(f);
    return n;
}

// A stereo waveform as 16-bit WAV: clipped, scaled by 32767 and truncated as diffusers' export,
// interleaved; the header's channels and rate; a folder that is not there named in one line.
static void test_wav(void) {
    const float wave[2][4] = {{0.0f, 0.5f, 1.5f, NAN}, {-0.5f, -2.0f, 1e-5f, 0.99999f}};
    const int16_t want[8] = {0, -16383, 16383, -32767, 32767, 0, 0, 32766};
    char path[600];
    snprintf(path, sizeof path, "%s/a.wav", tmp_dir);
    br_status st = br_wav_write(path, &wave[0][0], 2, 4, 48000);
    if (st != BR_OK && strstr(br_error(), "without libsndfile")) {
        printf("SKIP wav: %s\n", br_error()); // a build without libsndfile says so, and no more
        br_clear_error();
        return;
    }
    CHECK(st == BR_OK);
    int16_t got[16];
    int channels = 0, rate = 0;
    long n = wav_samples(path, got, 16, &channels, &rate);
    CHECK(n == 8 && channels == 2 && rate == 48000 && !memcmp(got, want, sizeof want));
    snprintf(path, sizeof path, "%s/absent/a.wav", tmp_dir);
    CHECK_FAILS(br_wav_write(path, &wave[0][0], 2, 4, 48000), "absent/a.wav", NULL);
    CHECK_FAILS(br_wav_write(path, &wave[0][0], 0, 4, 48000), "not a waveform", NULL);
}

int main(int argc, char **argv) {
    strcpy(tmp_dir, "/tmp/test_io.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_dtypes();
    test_bf16();
    test_f16();
    test_narrowing();
    test_f32_and_others();
    test_round_trip();
    test_read_all_conversions();
    test_bad_files();
    test_sharded();
    test_random_rows();
    test_single_and_config();
    test_class_name();
    test_wav();
    if (argc > 1) test_fixtures(argv[1]);
    for (int i = 2; i < argc; i++) { // checkpoint folders with a "-bf16" copy beside them
        char p16[1024];
        snprintf(p16, sizeof p16, "%s-bf16", argv[i]);
        compare_checkpoints(argv[i], p16);
    }
    remove_tree(tmp_dir);
    return check_summary();
}
