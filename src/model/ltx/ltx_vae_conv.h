// ltx_vae_conv.h: the video VAEs' convolutions as im2col + the linear op, on channels-last
// activations [F, H, W, C]. The weights are rearranged once, at load time, to [C_out, taps * C_in]
// (tap-major rows, as cpu_im2col_3d and cpu_im2col_2d lay out their columns); a 3-D convolution
// runs by chunks of output cells so that the im2col workspace stays bounded. Shared by
// LTX-Video's decoder (ltx_vae.c) and LTX-2's VAE encoder and latent upsampler (src/model/ltx2).
// Legend: C channels; F, H, W frames, rows, columns; k the kernel size; taps = k^dims.
#ifndef BR_LTX_VAE_CONV_H
#define BR_LTX_VAE_CONV_H

#include <stddef.h>

#include "core/backend.h"
#include "io/checkpoint.h"

// A convolution of kernel 3 (27 taps in 3-D, 9 in 2-D) or 1 (1 tap).
typedef struct {
    void *weight; // [C_out, taps * C_in], column (kt*9 + kh*3 + kw) * C_in + c; storage dtype
    float *bias;  // [C_out]
    int c_in, c_out, taps;
} ltx_vae_conv;

// Reads name.weight [c_out, c_in, k, k, k] (dims 3) or [c_out, c_in, k, k] (dims 2) into *w as
// [c_out, taps * c_in], and name.bias [c_out] into *b: malloc'd host arrays. Errors name the
// checkpoint file and the tensor.
br_status ltx_vae_conv_read(br_checkpoint *ck, const char *name, int dims, int k, int c_in,
                            int c_out, float **w, float **b);
// cv takes w (as a matrix) and b (as a vector) onto be; ownership passes, also on failure.
br_status ltx_vae_conv_adopt(br_backend *be, const char *name, int c_in, int c_out, int taps,
                             float *w, float *b, ltx_vae_conv *cv);
// Both: the usual way to load a convolution.
br_status ltx_vae_conv_load(br_backend *be, br_checkpoint *ck, const char *name, int dims, int k,
                            int c_in, int c_out, ltx_vae_conv *cv);
// Safe on a zeroed or partly loaded cv.
void ltx_vae_conv_free(br_backend *be, ltx_vae_conv *cv);

// y[n_rows, C_out] = the 3-D convolution (27 taps, or 1) of x[F, H, W, C_in] at the output cells
// row0 .. row0 + n_rows - 1 of the F*H*W grid (frame-major): zero padding in H and W, edge
// frames repeated in time as cpu_im2col_3d does (causal or not). cols holds cols_floats floats,
// at least 27 C_in: each chunk of output cells that fits is gathered there, then multiplied.
void ltx_vae_conv_apply(br_backend *be, const ltx_vae_conv *cv, float *y, const float *x, int F,
                        int H, int W, int causal, int row0, int n_rows, float *cols,
                        size_t cols_floats);

#endif
