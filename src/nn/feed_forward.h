// feed_forward.h: diffusers' FeedForward with activation "gelu-approximate" (LTX-Video,
// Qwen-Image, LTX-2): ff_out(GELU_tanh(ff_in(x))), through the op table.
// Legend: R rows, D width, F hidden width (4D).
#ifndef BR_NN_FEED_FORWARD_H
#define BR_NN_FEED_FORWARD_H

#include "linear.h"

// out[R, D] = ff_out(GELU(ff_in(x))) for the operand x[R, D]. hidden: fp32 scratch [R, F]; act:
// an operand [R, F] for the GELU's output, or NULL when operands are fp32 (GELU in place).
static inline void nn_feed_forward(br_backend *be, const nn_linear *ff_in, const nn_linear *ff_out,
                                   const void *x, int rows, float *hidden, void *act, float *out) {
    nn_apply_op(be, hidden, x, ff_in, rows);
    void *a = act ? act : hidden;
    be->gelu_tanh_op(be, a, hidden, (size_t)rows * ff_in->n_out);
    nn_apply_op(be, out, a, ff_out, rows);
}

#endif
