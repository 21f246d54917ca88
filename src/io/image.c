// image.c: see image.h. Two parts: PNG in and out through libpng, then Pillow's Lanczos resize.
//
// libpng reports errors by longjmp to the setjmp in png_jmpbuf. Whatever must be released after
// such a jump lives in a struct owned by the caller (read) or is set before the setjmp and never
// changed after it (write): a local variable changed between setjmp and longjmp is indeterminate
// after the jump, so a pointer kept in one could leak or be freed twice.
#include "image.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// PNG

// libpng's error callback keeps its message for our one line, then jumps back; its warnings
// (e.g. "iCCP: known incorrect sRGB profile") are not ours to print.
typedef struct {
    char message[160];
} png_message;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_message *m = png_get_error_ptr(png);
    snprintf(m->message, sizeof m->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

// All that a read holds, in the caller's frame (see the top of the file).
typedef struct {
    const char *path;
    FILE *file;
    png_structp png;
    png_infop info;
    unsigned char *rgb; // [height, width, 3]
    png_bytep *rows;    // [height] pointers into rgb
    png_message err;
} png_reader;

// Refuses (one line) every kind of PNG but 8-bit RGB: converting others here would be one more
// place where brigade and the reference pipeline could differ.
static br_status refuse_kind(const char *path, int color, int depth) {
    const char *what;
    switch (color) {
    case PNG_COLOR_TYPE_RGB:
        if (depth == 8) return BR_OK;
        what = "an RGB PNG";
        break;
    case PNG_COLOR_TYPE_GRAY: what = "a grayscale PNG"; break;
    case PNG_COLOR_TYPE_PALETTE: what = "a palette (indexed-colour) PNG"; break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        what = color == PNG_COLOR_TYPE_RGB_ALPHA ? "an RGBA PNG" : "a grayscale+alpha PNG";
        return br_fail(BR_EINPUT,
                       "%s: %s with bit depth %d, whose alpha channel other tools would drop "
                       "silently; brigade refuses it instead and takes 8-bit RGB images (flatten "
                       "it first, e.g. with ImageMagick: convert %s -background white -alpha "
                       "remove -alpha off PNG24:rgb.png)",
                       path, what, depth, path);
    default: what = "a PNG of an unknown colour type"; break;
    }
    return br_fail(BR_EINPUT,
                   "%s: %s with bit depth %d; brigade takes 8-bit RGB images (convert it first, "
                   "e.g. with ImageMagick: convert %s -type TrueColor PNG24:rgb.png)",
                   path, what, depth, path);
}

// Decodes r->file into r->rgb; on success sets img's sides. The caller frees what r holds.
static br_status decode_png(png_reader *r, br_image *img) {
    unsigned char sig[8];
    if (fread(sig, 1, sizeof sig, r->file) != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
        return br_fail(BR_EINPUT, "%s: not a PNG file (it does not start with the PNG signature)",
                       r->path);
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->err, on_png_error, on_png_warning);
    r->info = r->png ? png_create_info_struct(r->png) : NULL;
    if (!r->info) return br_fail(BR_ENOMEM, "out of memory reading %s", r->path);
    if (setjmp(png_jmpbuf(r->png)))
        return br_fail(BR_EINPUT, "%s: a truncated or corrupt PNG (libpng: %s)", r->path,
                       r->err.message);
    png_init_io(r->png, r->file);
    png_set_sig_bytes(r->png, sizeof sig);
    png_read_info(r->png, r->info);
    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(r->png, r->info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    BR_TRY(refuse_kind(r->path, color, depth));
    if (width > BR_IMAGE_MAX_SIDE || height > BR_IMAGE_MAX_SIDE)
        return br_fail(BR_EINPUT, "%s: a %u x %u PNG; brigade takes at most %d x %d", r->path,
                       (unsigned)width, (unsigned)height, BR_IMAGE_MAX_SIDE, BR_IMAGE_MAX_SIDE);
    // Adam7 interlaced files are taken: libpng de-interlaces them in png_read_image, as Pillow
    // reads them, and the pixels are the same.
    png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    if (png_get_rowbytes(r->png, r->info) != (size_t)width * 3)
        return br_fail(BR_EINTERNAL, "%s: libpng gives rows of %zu bytes for width %u", r->path,
                       (size_t)png_get_rowbytes(r->png, r->info), (unsigned)width);
    r->rgb = malloc((size_t)width * height * 3);
    r->rows = malloc((size_t)height * sizeof *r->rows);
    if (!r->rgb || !r->rows)
        return br_fail(BR_ENOMEM, "out of memory for the %u x %u image %s", (unsigned)width,
                       (unsigned)height, r->path);
    for (png_uint_32 y = 0; y < height; y++) r->rows[y] = r->rgb + (size_t)y * width * 3;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, NULL); // a file cut after its last pixel row still fails here
    img->width = (int)width, img->height = (int)height;
    return BR_OK;
}

br_status br_image_read_png(const char *path, br_image *img) {
    *img = (br_image){0};
    png_reader r = {.path = path};
    r.file = fopen(path, "rb");
    if (!r.file) return br_fail(BR_EIO, "cannot open %s: %s", path, strerror(errno));
    br_status st = decode_png(&r, img);
    png_destroy_read_struct(&r.png, &r.info, NULL);
    fclose(r.file);
    free(r.rows);
    if (st != BR_OK) {
        free(r.rgb);
        *img = (br_image){0};
        return st;
    }
    img->rgb = r.rgb;
    return BR_OK;
}

// Writes rows (height rows of 3 * width bytes) to an open file; 0 on success, else -1 with
// libpng's message in err. png and info are set before the setjmp and not changed after it.
static int encode_png(FILE *file, png_bytep *rows, int width, int height, png_message *err) {
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static int valid_image(const br_image *img) {
    return img && img->rgb && img->width >= 1 && img->width <= BR_IMAGE_MAX_SIDE &&
           img->height >= 1 && img->height <= BR_IMAGE_MAX_SIDE;
}

br_status br_image_write_png(const char *path, const br_image *img) {
    if (!valid_image(img))
        return br_fail(BR_EINTERNAL, "cannot write %s: not an image (%d x %d)", path,
                       img ? img->width : 0, img ? img->height : 0);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return br_fail(BR_EINPUT, "cannot write %s: the path is too long", path);
    png_bytep *rows = malloc((size_t)img->height * sizeof *rows);
    if (!rows) return br_fail(BR_ENOMEM, "out of memory writing %s", path);
    for (int y = 0; y < img->height; y++) rows[y] = img->rgb + (size_t)y * img->width * 3;
    png_message err = {""};
    errno = 0;
    FILE *file = fopen(tmp, "wb");
    int bad = !file || encode_png(file, rows, img->width, img->height, &err) != 0;
    if (file && fclose(file) != 0) bad = 1;
    free(rows);
    if (!bad && rename(tmp, path) != 0) bad = 1;
    if (bad) {
        const int e = errno;
        if (file) remove(tmp);
        return br_fail(BR_EIO, "cannot write %s: %s", path,
                       e ? strerror(e) : err.message[0] ? err.message : "unknown error");
    }
    return BR_OK;
}

void br_image_free(br_image *img) {
    if (!img) return;
    free(img->rgb);
    *img = (br_image){0};
}

// ---------------------------------------------------------------------------------------------
// Lanczos resize: Pillow's Image.resize(size, Image.LANCZOS) on an "RGB" image, bit for bit.
// Our own code after Pillow's algorithm (src/libImaging/Resample.c: precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc, ImagingResampleInner; and
// Image.resize in src/PIL/Image.py), because the Qwen-Image-Edit pipeline resizes its reference
// image with it and the VAE sees those exact bytes. Every rounding below is Pillow's, for that
// reason only:
// - separable: one 1-D pass along rows (width), then one along columns (height), each rounding
//   and clipping to 8 bits; a pass runs only when its side changes, and when neither does the
//   result is a copy. Since Pillow 12.2, an image more than 100 times taller than wide whose
//   height shrinks has its columns resized first (older Pillow always starts with the rows: the
//   two differ only for such images).
// - per output sample o of a side going from n_in to n_out: scale = n_in / n_out, filterscale =
//   max(scale, 1) (upscaling keeps the kernel's width), support = 3 filterscale, center =
//   (o + 0.5) scale; inputs [int(center - support + 0.5), int(center + support + 0.5)) clipped
//   to [0, n_in) ("rounded" by adding 0.5 and truncating toward 0, as Pillow does);
// - weights lanczos3((i - center + 0.5) * (1 / filterscale)) in double, evaluated in that order
//   (Pillow multiplies by the reciprocal; dividing by filterscale can differ in the last bit),
//   then divided by their sum when it is not 0;
// - fixed point with 22 fraction bits (32 - 8 - 2: 8-bit samples, 2 bits for the lobes' excess,
//   an int): (int)(w 2^22 + 0.5), or - 0.5 for w < 0: half away from 0, then truncation;
// - per sample: 2^21 (the rounding half) + sum of byte * weight, floored by >> 22, clipped to
//   0..255. We sum in int64 where Pillow sums in int: equal whenever Pillow's does not overflow.
// The floating-point expressions must be evaluated as written: this file is compiled as ISO C
// (GCC then contracts no a * b + c into an fma) and Pillow is built without fma on x86-64; both
// call the C library's sin. Pillow's first pass covers only the rows (or columns) that the
// second reads; we resample them all, which changes no byte.

#define PRECISION_BITS 22

static const double pi = 3.14159265358979323846; // M_PI, which ISO C does not define

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * pi;
    return sin(x) / x;
}

// Pillow's window is [-3, 3), not |x| < 3: at x = -3 it adds sinc(-3) sinc(-1), about 1e-33.
static double lanczos3(double x) {
    if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
    return 0.0;
}

// One side's resampling: output o = sum over j < count[o] of input[first[o] + j] * k[o][j].
typedef struct {
    int n_out, ksize;
    int *first, *count; // [n_out]
    int32_t *k;         // [n_out, ksize], fixed point with PRECISION_BITS fraction bits
} taps;

static void free_taps(taps *t) {
    free(t->first), free(t->count), free(t->k);
    *t = (taps){0};
}

static br_status make_taps(int n_in, int n_out, taps *t) {
    const double scale = (double)n_in / n_out;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 3.0 * filterscale;
    const double inv_filterscale = 1.0 / filterscale;
    *t = (taps){.n_out = n_out, .ksize = (int)ceil(support) * 2 + 1};
    t->first = malloc((size_t)n_out * sizeof *t->first);
    t->count = malloc((size_t)n_out * sizeof *t->count);
    t->k = calloc((size_t)n_out * t->ksize, sizeof *t->k);
    double *w = malloc((size_t)t->ksize * sizeof *w);
    if (!t->first || !t->count || !t->k || !w) {
        free(w), free_taps(t);
        return br_fail(BR_ENOMEM, "out of memory resizing %d to %d pixels", n_in, n_out);
    }
    for (int o = 0; o < n_out; o++) {
        const double center = (o + 0.5) * scale;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > n_in) hi = n_in;
        const int n = hi - lo; // <= ksize: hi - lo <= ceil(2 support)
        double total = 0.0;
        for (int j = 0; j < n; j++) {
            const double d = (double)(lo + j) - center; // Pillow: (x + xmin - center + 0.5) * ss
            w[j] = lanczos3((d + 0.5) * inv_filterscale);
            total += w[j];
        }
        int32_t *k = t->k + (size_t)o * t->ksize;
        for (int j = 0; j < n; j++) {
            const double wj = total != 0.0 ? w[j] / total : w[j];
            k[j] = wj < 0 ? (int32_t)(-0.5 + wj * (1 << PRECISION_BITS))
                          : (int32_t)(0.5 + wj * (1 << PRECISION_BITS));
        }
        t->first[o] = lo, t->count[o] = n;
    }
    free(w);
    return BR_OK;
}

// Pillow looks acc >> 22 up in a table of -640..639 that clamps to 0..255; the shift is a floor,
// so every negative sum gives 0.
static unsigned char clip8(int64_t acc) {
    if (acc < 0) return 0;
    acc >>= PRECISION_BITS;
    return acc > 255 ? 255 : (unsigned char)acc;
}

// One 1-D pass over n_lines lines of RGB samples. Along a line, consecutive samples are in_step
// (out_step) bytes apart; consecutive lines are in_line (out_line) bytes apart.
static void run_pass(const taps *t, int n_lines, const unsigned char *in, size_t in_step,
                     size_t in_line, unsigned char *out, size_t out_step, size_t out_line) {
    for (int l = 0; l < n_lines; l++) {
        for (int o = 0; o < t->n_out; o++) {
            const unsigned char *src = in + l * in_line + (size_t)t->first[o] * in_step;
            const int32_t *k = t->k + (size_t)o * t->ksize;
            unsigned char *dst = out + l * out_line + (size_t)o * out_step;
            for (int c = 0; c < 3; c++) {
                int64_t acc = (int64_t)1 << (PRECISION_BITS - 1);
                for (int j = 0; j < t->count[o]; j++) acc += (int64_t)src[j * in_step + c] * k[j];
                dst[c] = clip8(acc);
            }
        }
    }
}

// Rows of in [h, w_in, 3] to out [h, w_out, 3].
static br_status resize_rows(const unsigned char *in, int h, int w_in, unsigned char *out,
                             int w_out) {
    taps t;
    BR_TRY(make_taps(w_in, w_out, &t));
    run_pass(&t, h, in, 3, (size_t)w_in * 3, out, 3, (size_t)w_out * 3);
    free_taps(&t);
    return BR_OK;
}

// Columns of in [h_in, w, 3] to out [h_out, w, 3].
static br_status resize_columns(const unsigned char *in, int h_in, int w, unsigned char *out,
                                int h_out) {
    taps t;
    BR_TRY(make_taps(h_in, h_out, &t));
    run_pass(&t, w, in, (size_t)w * 3, 3, out, (size_t)w * 3, 3);
    free_taps(&t);
    return BR_OK;
}

br_status br_image_resize_lanczos(const br_image *in, int width, int height, br_image *out) {
    if (out == in) return br_fail(BR_EINTERNAL, "br_image_resize_lanczos: out is in");
    *out = (br_image){0};
    if (!valid_image(in) || width < 1 || width > BR_IMAGE_MAX_SIDE || height < 1 ||
        height > BR_IMAGE_MAX_SIDE)
        return br_fail(BR_EINPUT, "cannot resize a %d x %d image to %d x %d (sides are 1..%d)",
                       in ? in->width : 0, in ? in->height : 0, width, height, BR_IMAGE_MAX_SIDE);
    const int w0 = in->width, h0 = in->height;
    const int rows = width != w0, columns = height != h0;
    const int columns_first = rows && columns && h0 > (int64_t)w0 * 100 && height < h0;
    unsigned char *res = malloc((size_t)width * height * 3);
    // the intermediate after the first of two passes: [h0, width] or, columns first, [height, w0]
    unsigned char *mid =
        rows && columns ? malloc((size_t)(columns_first ? w0 * height : width * h0) * 3) : NULL;
    if (!res || (rows && columns && !mid)) {
        free(res), free(mid);
        return br_fail(BR_ENOMEM, "out of memory resizing a %d x %d image to %d x %d", w0, h0,
                       width, height);
    }
    br_status st = BR_OK;
    if (!rows && !columns) {
        memcpy(res, in->rgb, (size_t)width * height * 3);
    } else if (!columns) {
        st = resize_rows(in->rgb, h0, w0, res, width);
    } else if (!rows) {
        st = resize_columns(in->rgb, h0, w0, res, height);
    } else if (columns_first) {
        st = resize_columns(in->rgb, h0, w0, mid, height);
        if (st == BR_OK) st = resize_rows(mid, height, w0, res, width);
    } else {
        st = resize_rows(in->rgb, h0, w0, mid, width);
        if (st == BR_OK) st = resize_columns(mid, h0, width, res, height);
    }
    free(mid);
    if (st != BR_OK) {
        free(res);
        return st;
    }
    *out = (br_image){.height = height, .width = width, .rgb = res};
    return BR_OK;
}
