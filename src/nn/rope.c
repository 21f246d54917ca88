// rope.c: see rope.h.
#include "rope.h"

#include <math.h>
#include <stdlib.h>

void nn_rope_pair(float *cos_row, float *sin_row, int pair, float angle) {
    cos_row[2 * pair] = cos_row[2 * pair + 1] = (float)cos((double)angle);
    sin_row[2 * pair] = sin_row[2 * pair + 1] = (float)sin((double)angle);
}

br_status nn_rope_upload(br_backend *be, int rows, int width, nn_rope_fill fill, const void *ctx,
                         float *cos_dev, float *sin_dev) {
    const size_t n = (size_t)rows * width;
    float *c = malloc(n * sizeof(float)), *s = malloc(n * sizeof(float));
    if (!c || !s) {
        free(c), free(s);
        return br_fail(BR_ENOMEM, "out of memory for the RoPE tables");
    }
    for (int r = 0; r < rows; r++) fill(ctx, r, c + (size_t)r * width, s + (size_t)r * width);
    be->upload(be, cos_dev, c, n);
    be->upload(be, sin_dev, s, n);
    free(c), free(s);
    return BR_OK;
}
