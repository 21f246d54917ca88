// image.h: 8-bit RGB images in and out of the Qwen-Image-Edit pipeline: the reference image read
// from a PNG, resized as the pipeline's Pillow code resizes it (Lanczos, bit for bit), and the
// edited image written back as a PNG. Only 8-bit RGB PNGs are taken: anything else (grayscale,
// palette, RGBA, 16-bit) is refused with a one-line message saying how to convert it, rather
// than converted here in a way that another tool might do differently. No colour management:
// the samples are taken as stored (gAMA, iCCP, sRGB and tRNS chunks are ignored, as Pillow's
// convert("RGB") ignores them).
#ifndef BR_IMAGE_H
#define BR_IMAGE_H

#include "../core/status.h"

// The largest width and height read, written or resized to: bounds every allocation of a file
// whose header could claim anything (16384 x 16384 x 3 bytes is 768 MiB).
#define BR_IMAGE_MAX_SIDE 16384

typedef struct {
    int height, width;
    unsigned char *rgb; // [height, width, 3], row-major, R G B; malloc'd, owned
} br_image;

// Reads an 8-bit RGB PNG (interlaced or not) into img. Refuses, with one line naming the file and
// what it is: a file that is not a PNG, truncated or corrupt; a grayscale, palette, RGBA or
// 16-bit PNG; a side over BR_IMAGE_MAX_SIDE. On failure img is {0}.
br_status br_image_read_png(const char *path, br_image *img);

// Writes img as an 8-bit RGB PNG (not interlaced) to path.tmp, then renames it to path, so that
// path is never a partial file. On failure no path.tmp is left behind.
br_status br_image_write_png(const char *path, const br_image *img);

// Pillow's Image.resize((width, height), Image.LANCZOS) on an RGB image, bit for bit (the
// algorithm is described in image.c). out receives a new image (free it with br_image_free); it
// must not be in itself. width and height are 1..BR_IMAGE_MAX_SIDE.
br_status br_image_resize_lanczos(const br_image *in, int width, int height, br_image *out);

// Frees img->rgb and sets img to {0}; safe on {0} and twice.
void br_image_free(br_image *img);

#endif
