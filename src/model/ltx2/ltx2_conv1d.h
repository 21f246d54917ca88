// ltx2_conv1d.h: the 1-D convolutions of LTX-2's vocoders, on channels-last signals x[T, C]
// (time-major, so that a convolution is gathered rows times a matrix: ltx2_conv_rows.h):
// Conv1d with zero "same" padding (stride 1, any dilation: conv_in, the ResBlocks, conv_out) and
// ConvTranspose1d (the upsamplers). Weights are rearranged once, at load, into the matrices the
// products take.
// Legend: T samples, C channels, K taps.
#ifndef BR_LTX2_CONV1D_H
#define BR_LTX2_CONV1D_H

#include "io/checkpoint.h"

typedef struct {
    int c_in, c_out, taps, dilation;
    float *w; // [C_out, K * C_in]: column k*C_in + c is torch's weight[o, c, k]
    float *b; // [C_out], or NULL (no bias)
} ltx2_conv1d;

// prefix.weight [C_out, C_in, K], and prefix.bias [C_out] when bias is set.
br_status ltx2_conv1d_load(br_checkpoint *ck, const char *prefix, int c_in, int c_out, int taps,
                           int dilation, int bias, ltx2_conv1d *cv);
void ltx2_conv1d_free(ltx2_conv1d *cv);
// y[T, C_out] = conv(x[T, C_in]), zero padding of dilation*(K-1)/2 samples before and the rest
// after (torch's padding="same"; for K = 7 it is conv_in's and conv_out's padding 3). scratch:
// ltx2_conv_rows_scratch(K * C_in) floats.
void ltx2_conv1d_apply(const ltx2_conv1d *cv, const float *x, int T, float *y, float *scratch);

typedef struct {
    int c_in, c_out, taps, stride, pad; // pad = (K - stride) / 2, as the vocoder builds them
    float *w; // [K * C_out, C_in]: row k*C_out + o is torch's weight[:, o, k]
    float *b; // [C_out]
} ltx2_conv_transpose1d;

// prefix.weight [C_in, C_out, K] and prefix.bias [C_out]; K >= stride.
br_status ltx2_conv_transpose1d_load(br_checkpoint *ck, const char *prefix, int c_in, int c_out,
                                     int taps, int stride, ltx2_conv_transpose1d *up);
void ltx2_conv_transpose1d_free(ltx2_conv_transpose1d *up);
// The output length of T samples: (T - 1) * stride - 2 * pad + K.
int ltx2_conv_transpose1d_len(const ltx2_conv_transpose1d *up, int T);
// y[T', C_out] = conv_transpose(x[T, C_in]). z: T * K * C_out floats, every input sample's
// contributions, which each output then sums in a fixed order.
void ltx2_conv_transpose1d_apply(const ltx2_conv_transpose1d *up, const float *x, int T,
                                 float *y, float *z);

#endif
