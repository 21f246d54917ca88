// qwen_family.h: Qwen-Image's transformer (QwenImageTransformer2DModel: Qwen-Image,
// Qwen-Image-Edit, FireRed-Image-Edit) as a family of the seam (family.h): qwen_family.c adapts
// the model of qwen_model.h. `brigade forward` only, for now.
#ifndef BR_QWEN_FAMILY_H
#define BR_QWEN_FAMILY_H

#include "model/family.h"

extern const br_family br_family_qwen_image;

#endif
