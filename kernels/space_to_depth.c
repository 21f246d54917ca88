// space_to_depth.c: the layout op of LTX-2's VAE encoder downsamplers, on channels-last video
// [F, H, W, C]: the inverse shuffle of cpu_depth_to_space (each st x ss x ss block of cells
// becomes one cell of st ss^2 times the channels), followed by the mean of each run of `group`
// consecutive channels, which is how the downsamplers' residual path narrows the shuffled input
// to the block's width. group 1 is pure data movement, hence exact.
#include "kernels_cpu.h"

void cpu_space_to_depth(float *y, const float *x, int F, int H, int W, int C, int st, int ss,
                        int group, int add) {
    const int Fo = F / st, Ho = H / ss, Wo = W / ss, block = st * ss * ss;
    const int c_out = C * block / group;
    const float inv_group = 1.0f / (float)group;
    for (int f = 0; f < Fo; f++)
        for (int h = 0; h < Ho; h++)
            for (int w = 0; w < Wo; w++) {
                float *dst = y + (((size_t)f * Ho + h) * Wo + w) * c_out;
                for (int k = 0; k < c_out; k++) {
                    float sum = 0.0f;
                    for (int j = k * group; j < (k + 1) * group; j++) {
                        // shuffled channel j = ((c st + a) ss + i) ss + e
                        const int e = j % ss, i = j / ss % ss, a = j / (ss * ss) % st;
                        const int c = j / block;
                        const size_t cell = ((size_t)(f * st + a) * H + h * ss + i) * W + w * ss + e;
                        sum += x[cell * C + c];
                    }
                    const float v = sum * inv_group; // exact for group 1
                    dst[k] = add ? dst[k] + v : v;
                }
            }
}
