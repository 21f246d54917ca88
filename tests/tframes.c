// tframes.c: compares the PNG frames of a run with a reference video, for the tests.
//   tframes DIR FILE:video TOL
//   tframes IMAGE.png FILE:image TOL
// DIR holds frame-0000.png ...; video is [1, F, H, W, 3] in [0, 1] (the fixture's layout); an
// image model's one PNG is compared with image [H, W, 3] in [0, 1]. Every pixel must be within
// TOL of round(video * 255). Prints one line; exits 0 on pass, 1 on a mismatch, 2 on misuse or an
// unreadable file.
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tensor_file.h"

// Reads an 8-bit RGB PNG of H x W into rgb (H*W*3 bytes); 0 on success.
static int read_png(const char *path, int H, int W, unsigned char *rgb) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return -1;
    img.format = PNG_FORMAT_RGB;
    if ((int)img.width != W || (int)img.height != H) {
        fprintf(stderr, "tframes: %s is %ux%u, expected %dx%d\n", path, img.width, img.height, W, H);
        png_image_free(&img);
        return -1;
    }
    return png_image_finish_read(&img, NULL, rgb, 0, NULL) ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 4 || !strrchr(argv[2], ':')) {
        fprintf(stderr, "usage: tframes DIR FILE:video TOL\n");
        return 2;
    }
    char path[4096];
    const char *colon = strrchr(argv[2], ':');
    snprintf(path, sizeof path, "%.*s", (int)(colon - argv[2]), argv[2]);
    br_tensor_set set = {0};
    const br_tensor *v = br_tensor_file_read(path, &set) == BR_OK ? br_set_find(&set, colon + 1) : NULL;
    const size_t len = strlen(argv[1]);
    const int one = len > 4 && !strcmp(argv[1] + len - 4, ".png"); // one image
    if (!v || v->ndim != (one ? 3 : 5) || v->shape[v->ndim - 1] != 3) {
        fprintf(stderr, "tframes: %s: no %s tensor %s\n", path, one ? "[H, W, 3]" : "[1, F, H, W, 3]",
                colon + 1);
        return 2;
    }
    const int F = one ? 1 : (int)v->shape[1], H = (int)v->shape[v->ndim - 3];
    const int W = (int)v->shape[v->ndim - 2];
    const int tol = atoi(argv[3]);
    unsigned char *rgb = malloc((size_t)H * W * 3);
    int worst = 0;
    long over = 0;
    for (int f = 0; f < F; f++) {
        if (one) snprintf(path, sizeof path, "%s", argv[1]);
        else snprintf(path, sizeof path, "%s/frame-%04d.png", argv[1], f);
        if (read_png(path, H, W, rgb) != 0) {
            fprintf(stderr, "tframes: cannot read %s\n", path);
            return 2;
        }
        const float *want = v->data + (size_t)f * H * W * 3;
        for (size_t i = 0; i < (size_t)H * W * 3; i++) {
            int d = abs((int)rgb[i] - (int)lrintf(want[i] * 255.0f));
            worst = d > worst ? d : worst;
            over += d > tol;
        }
    }
    printf("%s frames: %d frames %dx%d, largest difference %d (tolerance %d), %ld values over\n",
           over ? "FAIL" : "ok  ", F, W, H, worst, tol, over);
    free(rgb);
    br_set_free(&set);
    return over ? 1 : 0;
}
