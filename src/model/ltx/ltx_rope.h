// ltx_rope.h: the 3-D rotary position tables of LTX-Video (LTXVideoRotaryPosEmbed), built on the
// host from the latent grid and rope_interpolation_scale. Cheap, so every rank builds its own
// rather than receiving them.
#ifndef BR_LTX_ROPE_H
#define BR_LTX_ROPE_H

#include "core/backend.h"
#include "ltx_config.h"

// The tables cos_dev, sin_dev [S, D] (device) for S = frames * height * width tokens in (frame,
// height, width) order, built on the host. scale: rope_interpolation_scale (s_t, s_h, s_w); the
// pipeline passes (8 / frame_rate, 32, 32).
br_status ltx_rope_upload(br_backend *be, const ltx_config *cfg, int frames, int height,
                          int width, const float scale[3], float *cos_dev, float *sin_dev);

#endif
