// png_write.c: see png_write.h. The frame becomes 8-bit RGB and goes out through
// br_image_write_png (image.c), the one PNG encoder.
#include "png_write.h"

#include <math.h>
#include <stdlib.h>

#include "image.h"

static unsigned char to_byte(float x) {
    if (!(x > 0.0f)) return 0; // also NaN: a black pixel, the guard reports NaNs elsewhere
    if (x >= 1.0f) return 255;
    return (unsigned char)lrintf(x * 255.0f);
}

br_status br_png_write_frame(const char *path, const float *video, int F, int H, int W, int f) {
    const size_t plane = (size_t)H * W, channel = (size_t)F * plane;
    br_image img = {H, W, malloc(plane * 3)};
    if (!img.rgb) return br_fail(BR_ENOMEM, "out of memory for %s", path);
    const float *frame = video + (size_t)f * plane;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) img.rgb[i * 3 + c] = to_byte(frame[c * channel + i]);
    br_status st = br_image_write_png(path, &img);
    br_image_free(&img);
    return st;
}
