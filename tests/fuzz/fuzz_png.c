// fuzz_png.c: libFuzzer target for the PNG reader of `brigade run --image` (src/io/image.c:
// br_image_read_png on untrusted files). The input is a whole file, written to a private folder
// and read back. Whatever it accepts must keep its promises: 8-bit RGB within the side limit,
// every pixel byte readable (ASan sees any read past the buffer), and a resize of it (PIL's
// Lanczos) stays in bounds; a refusal is one line naming the file, and nothing leaks (libpng's
// longjmp error paths included). Seeds: tests/fuzz/corpus/fuzz_png (the fixture's reference,
// small edge cases).
#define _POSIX_C_SOURCE 200809L // mkdtemp

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "io/image.h"

static char dir[96], path[160];

static void remove_dir(void) {
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%.40s/brigade-fuzz-png.XXXXXX", base);
    FUZZ_ASSERT(mkdtemp(dir), "cannot make a folder like %s", dir);
    snprintf(path, sizeof path, "%s/input.png", dir);
    atexit(remove_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    br_clear_error();
    FILE *fp = fopen(path, "wb");
    FUZZ_ASSERT(fp && fwrite(data, 1, size, fp) == size && fclose(fp) == 0, "cannot write %s", path);
    br_image img = {0};
    br_status st = br_image_read_png(path, &img);
    if (st != BR_OK) {
        fuzz_check_failure(st, path, "br_image_read_png");
        return 0;
    }
    fuzz_check_success("br_image_read_png");
    FUZZ_ASSERT(img.rgb && img.width >= 1 && img.height >= 1 && img.width <= BR_IMAGE_MAX_SIDE &&
                    img.height <= BR_IMAGE_MAX_SIDE,
                "accepted a %d x %d image", img.width, img.height);
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)img.width * img.height * 3; i++) sum += img.rgb[i];
    // A small resize of what was read, to a size derived from it (both directions).
    if ((size_t)img.width * img.height <= 1 << 16) {
        br_image out = {0};
        const int w = img.width % 7 + 1, h = img.height % 5 + img.height / 2 + 1;
        st = br_image_resize_lanczos(&img, w, h, &out);
        FUZZ_ASSERT(st == BR_OK && out.width == w && out.height == h, "resize to %d x %d: %s", w,
                    h, br_error());
        br_image_free(&out);
    }
    (void)sum;
    br_image_free(&img);
    return 0;
}
