// ltx2_config.h: the hyper-parameters of LTX2VideoTransformer3DModel (LTX-2.0 and LTX-2.3: video
// and audio streams in every block), read from a diffusers config.json with the reference's
// defaults, and checks for what brigade does not implement.
#ifndef BR_LTX2_CONFIG_H
#define BR_LTX2_CONFIG_H

#include "core/status.h"

typedef struct cJSON cJSON;

// One stream's sizes (video or audio).
typedef struct {
    int heads, head_dim, dim; // H, dh, D = H * dh
    int in_channels, out_channels;
    int gated_attn;           // per-head gates on every attention whose queries it gives
    int cross_attn_mod;       // the text attention's query modulated too: 9 mod params, else 6
    int mod_params;           // 9 or 6
    int pos_max;              // pos_embed_max_pos: the positions' scale (frames)
} ltx2_stream_config;

typedef struct {
    ltx2_stream_config video, audio;
    int layers;
    int caption_channels;     // text width into the caption projections (LTX-2.0)
    int caption_projection;   // use_prompt_embeddings: LTX-2.0; LTX-2.3 takes the connectors'
                              // outputs at the streams' widths
    int prompt_adaln;         // LTX-2.3: the prompt's K/V modulated by sigma
    int perturbed_attn;       // the STG-capable self-attention
    float norm_eps;
    // RoPE
    int base_height, base_width;
    int vae_scale[3];          // latent -> pixels: frames, height, width
    int audio_scale_factor;    // latent -> mel frames
    int sampling_rate, hop_length;
    int causal_offset;
    double theta;
    int double_precision;      // the frequencies' powers in double
    float timestep_scale, cross_timestep_scale;
} ltx2_config;

enum { LTX2_TIME_CHANNELS = 256, LTX2_FF_MULT = 4 };

br_status ltx2_config_parse(ltx2_config *cfg, const cJSON *json, const char *path);

// The config of a preset size as config.json would hold it: "ltx-2.3-22b" (the released
// LTX-2.3), "ltx-2.3-tiny" (the fixture's shapes); NULL when unknown.
cJSON *ltx2_preset_config(const char *name);

#endif
