// png_write.h: frames out as 8-bit RGB PNG files (libpng), written to a temporary name and renamed.
#ifndef BR_PNG_WRITE_H
#define BR_PNG_WRITE_H

#include "../core/status.h"

// Writes frame f of video[3, F, H, W] (values in [0, 1] after the pipeline's mapping; clamped and
// rounded: round(clamp(x, 0, 1) * 255)) to path.
br_status br_png_write_frame(const char *path, const float *video, int F, int H, int W, int f);

#endif
