// conv2d.c: the layout ops of 2-D convolutions on channels-last images [H, W, C] (Qwen-Image's
// VAE on one frame: its causal 3x3x3 convolutions meet data only through their last temporal
// tap, so they are 2-D 3x3 convolutions). im2col gathers each output pixel's 3x3 neighbourhood
// into one row, so that a convolution is the linear op (a product with the weights rearranged to
// [C_out, 9*C_in]); the nearest 2x upsampling feeds the upsamplers' convolutions. Pure data
// movement, so both are exact; the arithmetic stays in the linear op.
#include <string.h>

#include "kernels_cpu.h"

void cpu_im2col_2d(float *cols, const float *x, int H, int W, int C, int stride, int pad, int Wo,
                   int row0, int n_rows) {
    for (int r = 0; r < n_rows; r++) {
        const size_t q = (size_t)row0 + r;
        const int ho = (int)(q / Wo), wo = (int)(q % Wo);
        float *out = cols + (size_t)r * 9 * C;
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++, out += C) {
                const int y = ho * stride + kh - pad, xx = wo * stride + kw - pad;
                if (y < 0 || y >= H || xx < 0 || xx >= W) // zero padding
                    memset(out, 0, (size_t)C * sizeof(float));
                else
                    memcpy(out, x + ((size_t)y * W + xx) * C, (size_t)C * sizeof(float));
            }
    }
}

void cpu_upsample_nearest2(float *y, const float *x, int H, int W, int C) {
    for (int yy = 0; yy < 2 * H; yy++)
        for (int xx = 0; xx < 2 * W; xx++)
            memcpy(y + ((size_t)yy * 2 * W + xx) * C, x + ((size_t)(yy / 2) * W + xx / 2) * C,
                   (size_t)C * sizeof(float));
}
