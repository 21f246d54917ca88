// ltx_config.h: the hyper-parameters of LTXVideoTransformer3DModel, read from a diffusers
// config.json, with the reference's defaults for absent keys and checks for what brigade does
// not implement (other activations or q/k norms, affine block norms, no biases).
#ifndef BR_LTX_CONFIG_H
#define BR_LTX_CONFIG_H

#include "core/status.h"
#include "io/checkpoint.h"

typedef struct cJSON cJSON;

typedef struct {
    int in_channels;         // C_in: latent channels into proj_in
    int out_channels;        // C_out: channels out of proj_out
    int heads;               // H
    int head_dim;            // dh
    int dim;                 // D = H * dh
    int layers;              // number of transformer blocks
    int caption_channels;    // C_cap: width of the text-encoder embeddings
    int cross_attention_dim; // width of the cross-attention keys: must equal D
    int patch_size;          // spatial patch (scales RoPE coordinates only)
    int patch_size_t;        // temporal patch (idem)
    float norm_eps;          // eps of the blocks' RMSNorm (1e-6)
} ltx_config;

enum { LTX_TIME_CHANNELS = 256, LTX_ADA_PARAMS = 6, LTX_FF_MULT = 4 };

// The config of a released size ("2b", "13b", "tiny") as config.json would hold it (random:NAME
// checkpoints); NULL when unknown.
cJSON *ltx_preset_config(const char *name);

// Fills cfg from the parsed config.json (path names the file in errors).
br_status ltx_config_parse(ltx_config *cfg, const cJSON *json, const char *path);

#endif
