// qwen_rope.h: Qwen-Image's rotary tables (QwenEmbedRope with scale_rope): each head's channels
// split into the three axes (frame, height, width: axes_dims_rope), each axis rotated by its own
// integer position. Image i of the sequence has frame index i (the target 0, references 1, 2,
// ...); heights and widths are centred, -(n - n/2) .. n/2 - 1; text token k sits at position
// m + k on all three axes, m = the largest max(h/2, w/2) over the images.
#ifndef BR_QWEN_ROPE_H
#define BR_QWEN_ROPE_H

#include "core/backend.h"
#include "model/family.h"
#include "qwen_config.h"

// The positions of image token `token` (in sequence order) and of text token `text`.
void qwen_rope_image_position(const br_geometry *g, int token, int pos[3]);
void qwen_rope_text_position(const br_geometry *g, int text, int pos[3]);
// The table row of a token at pos: [dh] cos and sin (a pair's two channels alike).
void qwen_rope_row(const qwen_config *cfg, const int pos[3], float *cos_row, float *sin_row);

// The device tables of the image tokens [S, dh] and of the text tokens [L, dh].
br_status qwen_rope_upload(br_backend *be, const qwen_config *cfg, const br_geometry *g,
                           float *img_cos, float *img_sin, float *txt_cos, float *txt_sin);

#endif
