// rope.h: rotary position tables as the q/k op reads them (kernels/qk_shape.h): rows of one
// cos and one sin per channel, the two channels of a pair (2i, 2i+1) sharing their rotation's.
// A family computes each rotation's angle (its positions and frequencies are its own: LTX-Video's
// fractional coordinates, Qwen-Image's integer ones per axis); the tables are built on the host
// (cheap, so every rank builds its own) and uploaded here.
#ifndef BR_NN_ROPE_H
#define BR_NN_ROPE_H

#include "core/backend.h"

// Pair i of a table row: cos and sin of the fp32 angle, each evaluated in double and rounded.
void nn_rope_pair(float *cos_row, float *sin_row, int pair, float angle);

// Fills host tables [rows, width] row by row with fill(ctx, row, cos_row, sin_row), then
// uploads them into cos_dev and sin_dev.
typedef void (*nn_rope_fill)(const void *ctx, int row, float *cos_row, float *sin_row);
br_status nn_rope_upload(br_backend *be, int rows, int width, nn_rope_fill fill, const void *ctx,
                         float *cos_dev, float *sin_dev);

#endif
