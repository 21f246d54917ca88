// conv3d.c: the layout ops of the VAE decoder's 3-D convolutions, on channels-last video
// [F, H, W, C]. im2col gathers each output cell's 3x3x3 neighbourhood into one row, so that a
// convolution is the linear op (a product with the weights rearranged to [C_out, 27*C_in]);
// depth-to-space is the pixel shuffle of the upsamplers and of the final unpatchify. Pure data
// movement, so both are exact; the arithmetic stays in the linear op.
#include <string.h>

#include "kernels_cpu.h"

void cpu_im2col_3d(float *cols, const float *x, int F, int H, int W, int C, int causal, int row0,
                   int n_rows) {
    const int lead = causal ? 2 : 1; // copies of the first frame in front of it
    for (int r = 0; r < n_rows; r++) {
        const size_t q = (size_t)row0 + r;
        const int w = (int)(q % W), h = (int)(q / W % H), t = (int)(q / ((size_t)W * H));
        float *out = cols + (size_t)r * 27 * C;
        for (int kt = 0; kt < 3; kt++) {
            int f = t + kt - lead; // edge frames replicated: clamp into the clip
            f = f < 0 ? 0 : f > F - 1 ? F - 1 : f;
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++, out += C) {
                    const int y = h + kh - 1, xx = w + kw - 1;
                    if (y < 0 || y >= H || xx < 0 || xx >= W) { // zero padding in H and W
                        memset(out, 0, (size_t)C * sizeof(float));
                        continue;
                    }
                    memcpy(out, x + (((size_t)f * H + y) * W + xx) * C, (size_t)C * sizeof(float));
                }
        }
    }
}

void cpu_depth_to_space(float *y, const float *x, int F, int H, int W, int C, int st, int ss,
                        int drop, int c_out, int add) {
    const int Fo = F * st - drop, Ho = H * ss, Wo = W * ss;
    const size_t group = (size_t)st * ss * ss, cx = (size_t)C * group; // x's channels
    for (int t = 0; t < Fo; t++) {
        const int f = (t + drop) / st, it = (t + drop) % st;
        for (int yy = 0; yy < Ho; yy++)
            for (int xx = 0; xx < Wo; xx++) {
                const size_t cell = ((size_t)f * H + yy / ss) * W + xx / ss;
                const float *src = x + cell * cx + (size_t)it * ss * ss + (yy % ss) * ss + xx % ss;
                float *dst = y + (((size_t)t * Ho + yy) * Wo + xx) * c_out;
                for (int k = 0; k < c_out; k++) {
                    float v = src[(size_t)(k % C) * group];
                    dst[k] = add ? dst[k] + v : v;
                }
            }
    }
}
