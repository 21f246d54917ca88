// ltx2_family.h: LTX-2 (LTX2VideoTransformer3DModel: LTX-2.0 and LTX-2.3) as a family of the
// seam (family.h): ltx2_family.c adapts the transformer of ltx2_model.h. `brigade forward` only,
// so far; `brigade run` comes with its pipeline.
#ifndef BR_LTX2_FAMILY_H
#define BR_LTX2_FAMILY_H

#include "model/family.h"

extern const br_family br_family_ltx2;

#endif
