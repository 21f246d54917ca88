// ltx2_rope.h: LTX-2's RoPE tables in the split layout (kernels/qk_shape.h), as
// LTX2AudioVideoRotaryPosEmbed makes them: each token's position is the midpoint of its
// [start, end) on each axis (video: seconds, then pixels; audio: seconds), as a fraction of the
// model's base sizes; frequencies theta^linspace(0, 1) * pi/2 (powers in double when the config
// says so), frequency-major with the axes interleaved, padded at the front with (cos 1, sin 0)
// up to D/2 columns. Four tables per forward: the video and audio self-attentions', and the
// time-only tables of the audio-video attentions, at the audio width for both streams.
#ifndef BR_LTX2_ROPE_H
#define BR_LTX2_ROPE_H

#include "ltx2_config.h"
#include "model/family.h"

// Which table: its rows are the video tokens (VIDEO, CROSS_VIDEO) or the audio tokens, its
// columns half the stream's width (the audio width for both CROSS tables).
typedef enum { LTX2_ROPE_VIDEO, LTX2_ROPE_AUDIO, LTX2_ROPE_CROSS_VIDEO, LTX2_ROPE_CROSS_AUDIO } ltx2_rope_kind;

// Rows and columns of one table under geometry g (grid[0]: the video's frames, height, width in
// latent cells; grid[1][0]: the audio's latent frames; frame_rate: the video's).
void ltx2_rope_size(const ltx2_config *cfg, const br_geometry *g, ltx2_rope_kind kind, int *rows,
                    int *cols);
// Fills cos_t and sin_t [rows, cols] (host).
void ltx2_rope_table(const ltx2_config *cfg, const br_geometry *g, ltx2_rope_kind kind,
                     float *cos_t, float *sin_t);

// One row: positions pos[axes] (fractions of the base sizes) -> cos, sin [cols] (also the text
// connectors' 1-D tables).
void ltx2_rope_row(double theta, int double_precision, const float *pos, int axes, int cols,
                   float *c, float *s);

#endif
