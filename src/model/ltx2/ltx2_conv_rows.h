// ltx2_conv_rows.h: a convolution as gathered rows times a matrix, shared by LTX-2's audio VAE
// (2-D) and its vocoders (1-D). Each output position's input taps are gathered into one row
// (im2col) and multiplied by the weights laid out as [C_out, taps * C_in]. The rows are cut into
// tiles of a fixed size (never by the thread count, so any number of threads gives the same
// bits); each tile is gathered into its worker's part of a scratch buffer and multiplied there,
// so the workspace stays a few tiles however long the signal is.
#ifndef BR_LTX2_CONV_ROWS_H
#define BR_LTX2_CONV_ROWS_H

#include <stddef.h>

enum { LTX2_CONV_TILE = 256 }; // output rows per task: one tile of cpu_linear

// Writes rows row0 .. row0 + n_rows - 1 of the convolution's im2col into cols[n_rows, n_in].
typedef void (*ltx2_gather_fn)(const void *ctx, float *cols, int row0, int n_rows);

// y[rows, n_out] = cols[rows, n_in] . w[n_out, n_in]^T + b[n_out] (b may be NULL), the rows of
// cols made by gather. scratch holds ltx2_conv_rows_scratch(n_in) floats.
void ltx2_conv_rows(float *y, int rows, int n_in, int n_out, const float *w, const float *b,
                    ltx2_gather_fn gather, const void *ctx, float *scratch);
size_t ltx2_conv_rows_scratch(int n_in);

#endif
