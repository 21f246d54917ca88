// ltx2_text_projection.h: LTX-2.3's connectors' projections in, made along brigade's text encoder
// (text/text_encoder.h's sink) instead of on one rank from all of the encoder's hidden states:
// hidden state k of every token, RMS-normalised over its channels, times the columns of
// video_text_proj_in and audio_text_proj_in that take state k, summed over k as the states come,
// rank to rank. Each rank holds the columns of the states it makes, [k0, k1), and the running
// sums travel instead of 49 hidden states a token. The sum runs in the order of k on any number
// of ranks, so the bits do not depend on the split; against the reference's one product over all
// K*C features it differs only in the order of the additions.
// Legend: T tokens, C the encoder's width, D / Da the video / audio widths.
#ifndef BR_LTX2_TEXT_PROJECTION_H
#define BR_LTX2_TEXT_PROJECTION_H

#include "core/backend.h"
#include "nn/linear.h"

typedef struct {
    int k0, k1, C, dv, da;
    nn_linear *video, *audio; // [k1 - k0]: [D, C] and [Da, C], the stream's scale folded in
    float *normed, *product;  // device scratch [T, C] and [T, max(D, Da)]
} ltx2_text_projection;

// The columns of states [k0, k1) from connectors_dir (connectors/), scratch for max_tokens.
br_status ltx2_text_projection_open(br_backend *be, const char *connectors_dir, int k0, int k1,
                                    int max_tokens, ltx2_text_projection *p);
void ltx2_text_projection_close(br_backend *be, ltx2_text_projection *p);
// The sink's take: acc [T, D] then [T, Da] (device) += state k's products (k = 0: set).
void ltx2_text_projection_take(void *ctx, br_backend *be, int k, const float *h, int T,
                               float *acc);

// The recipe's hooks (recipe.h: text_sink_open / text_sink_close) for the model's pipeline.
typedef struct br_text_sink br_text_sink;
typedef struct br_model br_model;
br_status ltx2_text_sink_open(const br_model *m, br_backend *be, int k0, int k1, int max_tokens,
                              br_text_sink *sink, int *width);
void ltx2_text_sink_close(br_backend *be, br_text_sink *sink);

#endif
