// ltx_family.h: LTX-Video 0.9 (LTXVideoTransformer3DModel, LTXPipeline) as a family of the seam
// (family.h, recipe.h): ltx_family.c adapts the transformer (ltx_model.h), ltx_recipe.c the
// run's grid and guidance, ltx_decoder.c the VAE.
#ifndef BR_LTX_FAMILY_H
#define BR_LTX_FAMILY_H

#include "model/family.h"
#include "model/recipe.h"

extern const br_family br_family_ltx_video;
extern const br_recipe ltx_recipe;

// The sizes the LTX VAEs take (LTX-Video's and LTX-2's): frames 8k+1, sides multiples of 32 up
// to 16384; else one line naming the setting.
br_status ltx_check_video_size(const br_run_request *z);

br_status ltx_decoder_open(const br_model *m, const char *dir, br_backend *be,
                           const br_geometry *g, const br_decode_settings *s, br_decoder **d,
                           br_decode_shape *shape);
br_status ltx_decoder_input(br_decoder *d, const float *latents, int job, float *input);
size_t ltx_decoder_tile_floats(const br_decoder *d, int tile);
br_status ltx_decoder_tile(br_decoder *d, br_backend *be, const float *input, int tile,
                           float *pixels);
void ltx_decoder_blend(br_decoder *d, int tile, const float *pixels, float *video);
br_status ltx_decoder_finish(br_decoder *d, float *video);
void ltx_decoder_close(br_decoder *d, br_backend *be);

#endif
