// qwen_family.h: Qwen-Image (QwenImageTransformer2DModel: Qwen-Image, Qwen-Image-Edit,
// FireRed-Image-Edit) as a family of the seam (family.h, recipe.h): qwen_family.c adapts the
// transformer of qwen_model.h, qwen_recipe.c the edit pipeline's run, qwen_decoder.c the VAE's
// decoder.
#ifndef BR_QWEN_FAMILY_H
#define BR_QWEN_FAMILY_H

#include "model/family.h"
#include "model/recipe.h"

extern const br_family br_family_qwen_image;
extern const br_recipe qwen_recipe;

br_status qwen_decoder_open(const br_model *m, const char *dir, br_backend *be,
                            const br_geometry *g, const br_decode_settings *s, br_decoder **d,
                            br_decode_shape *shape);
br_status qwen_decoder_input(br_decoder *d, const float *latents, int job, float *input);
size_t qwen_decoder_tile_floats(const br_decoder *d, int tile);
br_status qwen_decoder_tile(br_decoder *d, br_backend *be, const float *input, int tile,
                            float *pixels);
void qwen_decoder_blend(br_decoder *d, int tile, const float *pixels, float *video);
br_status qwen_decoder_finish(br_decoder *d, float *video);
void qwen_decoder_close(br_decoder *d, br_backend *be);

#endif
