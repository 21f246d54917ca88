// qwen_config.h: the hyper-parameters of QwenImageTransformer2DModel (the MMDiT of Qwen-Image,
// Qwen-Image-Edit and FireRed-Image-Edit), read from a diffusers config.json with the reference's
// defaults, and checks for what brigade does not implement (the flags of other variants).
#ifndef BR_QWEN_CONFIG_H
#define BR_QWEN_CONFIG_H

#include "core/status.h"

typedef struct cJSON cJSON;

typedef struct {
    int in_channels;         // C_in: packed latent features into img_in (latent channels x p x p)
    int out_channels;        // latent channels; proj_out gives p x p x this
    int patch_size;          // p: spatial patch folded into the features
    int heads;               // H
    int head_dim;            // dh
    int dim;                 // D = H * dh
    int layers;              // transformer blocks
    int joint_dim;           // C_txt: width of the text-encoder hidden states
    int axes[3];             // RoPE channels per axis (frame, height, width), summing to dh
} qwen_config;

enum { QWEN_TIME_CHANNELS = 256, QWEN_MOD_PARAMS = 6, QWEN_FF_MULT = 4 };

// Fills cfg from the parsed config.json (path names the file in errors).
br_status qwen_config_parse(qwen_config *cfg, const cJSON *json, const char *path);

// The config of a preset size as config.json would hold it: "qwen-image-20b" (Qwen-Image and
// FireRed-Image-Edit), "qwen-image-tiny" (the fixture's shapes); NULL when unknown.
cJSON *qwen_preset_config(const char *name);

#endif
