// png_write.c: see png_write.h. libpng reports errors by longjmp, so everything that must be
// released afterwards lives outside the setjmp frame.
#include "png_write.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char to_byte(float x) {
    if (!(x > 0.0f)) return 0; // also NaN: a black pixel, the guard reports NaNs elsewhere
    if (x >= 1.0f) return 255;
    return (unsigned char)lrintf(x * 255.0f);
}

// Writes rows (H rows of 3W bytes) to an open file; returns 0 on success.
static int write_png(FILE *f, unsigned char **rows, int H, int W) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

br_status br_png_write_frame(const char *path, const float *video, int F, int H, int W, int f) {
    const size_t plane = (size_t)H * W, channel = (size_t)F * plane;
    unsigned char *pixels = malloc(plane * 3);
    unsigned char **rows = malloc((size_t)H * sizeof *rows);
    if (!pixels || !rows) {
        free(pixels), free(rows);
        return br_fail(BR_ENOMEM, "out of memory for %s", path);
    }
    const float *frame = video + (size_t)f * plane;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) pixels[i * 3 + c] = to_byte(frame[c * channel + i]);
    for (int y = 0; y < H; y++) rows[y] = pixels + (size_t)y * W * 3;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *file = fopen(tmp, "wb");
    int bad = !file || write_png(file, rows, H, W) != 0;
    if (file && fclose(file) != 0) bad = 1;
    free(pixels), free(rows);
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return br_fail(BR_EIO, "cannot write %s", path);
    }
    return BR_OK;
}
