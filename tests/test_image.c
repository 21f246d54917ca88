// test_image.c: src/io/image.c. The reference PNG of ../shared/fixtures/qwenimage-tiny read and
// resized to 128 x 96, both compared byte for byte with what the diffusers pipeline computed
// (case_edit_pipeline: reference_image, and reference_resized from Pillow's LANCZOS); synthetic
// resizes against hashes of Pillow's output; the refusal, in one line naming the file, of every
// kind of PNG but 8-bit RGB and of broken files (written here with libpng); the write/read round
// trip. Usage: test_image FIXTURES
#define _POSIX_C_SOURCE 200809L // mkdtemp, truncate

#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/image.h"
#include "io/remove_tree.h"
#include "io/tensor_file.h"

static char tmp_dir[64];

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

static long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

// A pattern with steep edges (the & 255 wraps), so that the Lanczos lobes overshoot and the
// clipping to 0..255 is exercised.
static br_image pattern(int width, int height) {
    br_image img = {height, width, malloc((size_t)width * height * 3)};
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < 3; c++)
                img.rgb[((size_t)y * width + x) * 3 + c] =
                    (unsigned char)((x * 37 + y * 91 + c * 53 + (x * y) % 29 * 7) & 255);
    return img;
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

// ---------------------------------------------------------------------------------------------
// The fixture

// Compares img with the U8 tensor name of set (read as floats 0..255), every byte.
static void check_equals_tensor(const br_image *img, const br_tensor_set *set, const char *name) {
    const br_tensor *t = br_set_find(set, name);
    if (!CHECK(t && t->ndim == 3 && t->shape[0] == img->height && t->shape[1] == img->width &&
               t->shape[2] == 3))
        return;
    size_t n = (size_t)img->height * img->width * 3, differ = 0;
    for (size_t i = 0; i < n; i++) differ += t->data[i] != (float)img->rgb[i];
    printf("%s %s [%d, %d, 3]: %zu of %zu bytes differ\n", differ ? "FAIL" : "ok  ", name,
           img->height, img->width, differ, n);
    CHECK(differ == 0);
}

static void test_fixture(const char *fixtures) {
    char png[4096], st[4096];
    snprintf(png, sizeof png, "%s/qwenimage-tiny/reference.png", fixtures);
    snprintf(st, sizeof st, "%s/qwenimage-tiny/case_edit_pipeline.safetensors", fixtures);
    br_tensor_set set = {0};
    br_image ref = {0}, resized = {0};
    if (!CHECK(br_tensor_file_read(st, &set) == BR_OK) ||
        !CHECK(br_image_read_png(png, &ref) == BR_OK))
        goto done;
    check_equals_tensor(&ref, &set, "reference_image");
    // 128 x 96 (W x H): the width grows, the height shrinks
    CHECK_OK(br_image_resize_lanczos(&ref, 128, 96, &resized));
    if (resized.rgb) check_equals_tensor(&resized, &set, "reference_resized");
done:
    br_image_free(&ref), br_image_free(&resized);
    br_set_free(&set);
}

// ---------------------------------------------------------------------------------------------
// Synthetic resizes

// Hashes of Pillow's output on pattern(w, h), from Debian's python3-pil 9.4.0:
//   a = np.stack([(x*37 + y*91 + c*53 + ((x*y) % 29) * 7) & 255 for c in range(3)], -1)
//   np.asarray(Image.fromarray(a.astype(np.uint8)).resize((W, H), Image.LANCZOS)), FNV-1a 64.
// The last two are over 100 times taller than wide and shrink in height: Pillow 12.2 resizes
// their columns first (emulated on 9.4 with two resizes); 1 pixel wide, the order is immaterial.
static void test_pillow_hashes(void) {
    static const struct {
        int w, h, W, H;
        uint64_t hash;
    } cases[] = {
        {37, 23, 64, 9, 0x9900cdd4836bb6c7ull},    {300, 7, 11, 40, 0x457777cfdbf2ce05ull},
        {1000, 3, 7, 500, 0xd77683164ee255d4ull},  {1, 50, 1, 20, 0xfaccbd4df60b5432ull},
        {1, 300, 4, 90, 0xf44d1d6cd0112addull},
        {3, 400, 5, 37, 0x4bd4e668ffb0e98full}, // rows first (Pillow < 12.2): 0x8af0b90831def44a
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        br_image in = pattern(cases[i].w, cases[i].h), out = {0};
        CHECK_OK(br_image_resize_lanczos(&in, cases[i].W, cases[i].H, &out));
        const uint64_t h = out.rgb ? fnv1a(out.rgb, (size_t)out.width * out.height * 3) : 0;
        const int ok = out.width == cases[i].W && out.height == cases[i].H && h == cases[i].hash;
        printf("%s %d x %d -> %d x %d: hash 0x%016llx, Pillow's 0x%016llx\n", ok ? "ok  " : "FAIL",
               cases[i].w, cases[i].h, cases[i].W, cases[i].H, (unsigned long long)h,
               (unsigned long long)cases[i].hash);
        CHECK(ok);
        br_image_free(&in), br_image_free(&out);
    }
}

static void test_resize_properties(void) {
    // The same size: the same bytes, in a new buffer.
    br_image in = pattern(17, 11), out = {0};
    CHECK_OK(br_image_resize_lanczos(&in, 17, 11, &out));
    CHECK(out.rgb && out.rgb != in.rgb && out.width == 17 && out.height == 11 &&
          memcmp(out.rgb, in.rgb, 17 * 11 * 3) == 0);
    br_image_free(&out);

    // A constant image stays constant: the fixed-point weights of an output sum to 2^22 within
    // a few units, far from moving the rounding of v * 2^22 + 2^21.
    const int sizes[][4] = {{10, 7, 33, 29}, {50, 40, 7, 5}, {64, 1, 3, 9}, {1, 1, 6, 4},
                            {9, 2, 1, 1}};
    const unsigned char values[] = {0, 1, 128, 254, 255};
    int constant = 1;
    for (int s = 0; s < 5; s++)
        for (int v = 0; v < 5; v++) {
            const size_t n = (size_t)sizes[s][0] * sizes[s][1] * 3;
            br_image flat = {sizes[s][1], sizes[s][0], malloc(n)};
            memset(flat.rgb, values[v], n);
            CHECK_OK(br_image_resize_lanczos(&flat, sizes[s][2], sizes[s][3], &out));
            for (size_t i = 0; out.rgb && i < (size_t)sizes[s][2] * sizes[s][3] * 3; i++)
                constant &= out.rgb[i] == values[v];
            br_image_free(&flat), br_image_free(&out);
        }
    CHECK(constant);

    // One pixel wide, resized in height only: every output pixel is a copy from one column.
    br_image col = pattern(1, 40);
    CHECK_OK(br_image_resize_lanczos(&col, 1, 13, &out));
    CHECK(out.width == 1 && out.height == 13);
    br_image_free(&out);
    // One pixel to many: each output pixel is that pixel.
    br_image one = pattern(1, 1);
    one.rgb[0] = 10, one.rgb[1] = 200, one.rgb[2] = 255;
    CHECK_OK(br_image_resize_lanczos(&one, 5, 7, &out));
    int same = out.rgb != NULL;
    for (int i = 0; out.rgb && i < 35; i++)
        same &= out.rgb[i * 3] == 10 && out.rgb[i * 3 + 1] == 200 && out.rgb[i * 3 + 2] == 255;
    CHECK(same);
    br_image_free(&out);

    // Extreme ratios both ways and the largest side (run under ASan: no access out of bounds).
    br_image wide = pattern(BR_IMAGE_MAX_SIDE, 2);
    CHECK_OK(br_image_resize_lanczos(&wide, 1, 300, &out));
    br_image_free(&out);
    CHECK_OK(br_image_resize_lanczos(&col, 3000, 1, &out));
    br_image_free(&out);

    CHECK_FAILS(br_image_resize_lanczos(&in, 0, 5, &out), "0 x 5", "1..16384");
    CHECK_FAILS(br_image_resize_lanczos(&in, 5, BR_IMAGE_MAX_SIDE + 1, &out), "17 x 11", NULL);
    CHECK(out.rgb == NULL);
    br_image_free(&in), br_image_free(&col), br_image_free(&one), br_image_free(&wide);
}

// ---------------------------------------------------------------------------------------------
// Files

// A PNG of any kind by libpng, filled with a pattern; trns adds a tRNS chunk (an RGB image's
// transparent colour). Exits on failure: the test cannot go on without its inputs.
static void write_png_kind(const char *path, int width, int height, int color, int depth,
                           int interlace, int trns) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!f || !info) {
        printf("cannot write %s\n", path);
        exit(2);
    }
    if (setjmp(png_jmpbuf(png))) {
        printf("libpng cannot write %s\n", path);
        exit(2);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
        png_set_PLTE(png, info, palette, 4);
    }
    if (trns) {
        png_color_16 key = {.red = 1, .green = 2, .blue = 3};
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    png_write_info(png, info);
    if (interlace) png_set_interlace_handling(png);
    const size_t row_bytes = png_get_rowbytes(png, info);
    unsigned char *pixels = malloc(row_bytes * height);
    png_bytep *rows = malloc(height * sizeof *rows);
    for (size_t i = 0; i < row_bytes * height; i++)
        pixels[i] = (unsigned char)(color == PNG_COLOR_TYPE_PALETTE ? i % 4 : i * 7 + i / 5);
    for (int y = 0; y < height; y++) rows[y] = pixels + row_bytes * y;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(pixels), free(rows);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        printf("cannot write %s\n", path);
        exit(2);
    }
}

static void test_refusals(void) {
    br_image img = {0};
    const char *p = tmp_path("gray.png");
    write_png_kind(p, 8, 5, PNG_COLOR_TYPE_GRAY, 8, 0, 0);
    CHECK_FAILS(br_image_read_png(p, &img), p,
                "a grayscale PNG with bit depth 8; brigade takes 8-bit RGB");
    p = tmp_path("gray_alpha.png");
    write_png_kind(p, 8, 5, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0);
    CHECK_FAILS(br_image_read_png(p, &img), p,
                "a grayscale+alpha PNG with bit depth 8, whose alpha");
    p = tmp_path("rgba.png");
    write_png_kind(p, 8, 5, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0);
    CHECK_FAILS(br_image_read_png(p, &img), p, "an RGBA PNG with bit depth 8, whose alpha channel "
                                               "other tools would drop silently; brigade refuses");
    p = tmp_path("rgb16.png");
    write_png_kind(p, 8, 5, PNG_COLOR_TYPE_RGB, 16, 0, 0);
    CHECK_FAILS(br_image_read_png(p, &img), p, "an RGB PNG with bit depth 16");
    p = tmp_path("palette.png");
    write_png_kind(p, 8, 5, PNG_COLOR_TYPE_PALETTE, 2, 0, 0);
    CHECK_FAILS(br_image_read_png(p, &img), p, "a palette (indexed-colour) PNG with bit depth 2");
    p = tmp_path("huge.png");
    write_png_kind(p, BR_IMAGE_MAX_SIDE + 1, 1, PNG_COLOR_TYPE_RGB, 8, 0, 0);
    CHECK_FAILS(br_image_read_png(p, &img), p,
                "a 16385 x 1 PNG; brigade takes at most 16384 x 16384");

    // Broken files: cut in the pixel data, in the header, just before IEND; not PNGs at all.
    br_image noise = pattern(64, 48);
    p = tmp_path("whole.png");
    CHECK_OK(br_image_write_png(p, &noise));
    const long size = file_size(p);
    const long cuts[] = {size / 2, 20, size - 12};
    const char *names[] = {"cut_half.png", "cut_header.png", "cut_iend.png"};
    for (int i = 0; i < 3; i++) {
        const char *q = tmp_path(names[i]);
        FILE *in = fopen(p, "rb"), *out = fopen(q, "wb");
        for (long j = 0; j < cuts[i]; j++) fputc(fgetc(in), out);
        fclose(in), fclose(out);
        CHECK_FAILS(br_image_read_png(q, &img), q, "a truncated or corrupt PNG (libpng: ");
    }
    p = tmp_path("text.png");
    write_text(p, "this is a text file named .png\n");
    CHECK_FAILS(br_image_read_png(p, &img), p, "not a PNG file");
    p = tmp_path("empty.png");
    write_text(p, "");
    CHECK_FAILS(br_image_read_png(p, &img), p, "not a PNG file");
    p = tmp_path("missing.png");
    CHECK_FAILS(br_image_read_png(p, &img), p, "cannot open");
    CHECK(img.rgb == NULL && img.width == 0 && img.height == 0);
    br_image_free(&noise);
}

static void test_round_trip(void) {
    br_image img = pattern(37, 23), back = {0};
    const char *p = tmp_path("out.png"), *tmp = tmp_path("out.png.tmp");
    CHECK_OK(br_image_write_png(p, &img));
    CHECK(exists(p) && !exists(tmp));
    CHECK_OK(br_image_read_png(p, &back));
    CHECK(back.width == 37 && back.height == 23 && back.rgb &&
          memcmp(back.rgb, img.rgb, 37 * 23 * 3) == 0);
    br_image_free(&back);
    // Over an existing file, and a 1 x 1 image.
    br_image dot = pattern(1, 1);
    CHECK_OK(br_image_write_png(p, &dot));
    CHECK_OK(br_image_read_png(p, &back));
    CHECK(back.width == 1 && back.height == 1 && memcmp(back.rgb, dot.rgb, 3) == 0 && !exists(tmp));
    br_image_free(&back);
    // Into a folder that does not exist: one line naming the file, nothing left.
    const char *nowhere = tmp_path("no/such/folder/out.png");
    CHECK_FAILS(br_image_write_png(nowhere, &img), nowhere, "cannot write");
    // What the reader takes besides plain RGB: Adam7 interlacing and a tRNS colour key (ignored).
    const char *names[] = {"adam7.png", "trns.png"};
    for (int i = 0; i < 2; i++) {
        const char *q = tmp_path(names[i]), *plain = tmp_path("plain.png");
        write_png_kind(q, 13, 9, PNG_COLOR_TYPE_RGB, 8, i == 0, i == 1);
        write_png_kind(plain, 13, 9, PNG_COLOR_TYPE_RGB, 8, 0, 0);
        br_image a = {0}, b = {0};
        CHECK_OK(br_image_read_png(q, &a));
        CHECK_OK(br_image_read_png(plain, &b));
        CHECK(a.rgb && b.rgb && a.width == 13 && a.height == 9 &&
              memcmp(a.rgb, b.rgb, 13 * 9 * 3) == 0);
        br_image_free(&a), br_image_free(&b);
    }
    br_image_free(&img), br_image_free(&dot);
    br_image_free(&dot); // twice is safe
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_image FIXTURES\n");
        return 2;
    }
    strcpy(tmp_dir, "/tmp/test_image.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_fixture(argv[1]);
    test_pillow_hashes();
    test_resize_properties();
    test_refusals();
    test_round_trip();
    br_remove_tree(tmp_dir);
    return check_summary();
}
