// gemma3_config.h: the text side of Gemma 3 (Gemma3ForConditionalGeneration's text_config, or a
// Gemma3ForCausalLM / Gemma3TextModel config.json), as transformers reads it: sizes, which layers
// are local (sliding window) and which global, and each kind's RoPE.
#ifndef BR_GEMMA3_CONFIG_H
#define BR_GEMMA3_CONFIG_H

#include "core/status.h"

typedef struct cJSON cJSON;

enum { GEMMA3_MAX_LAYERS = 512 };

typedef struct {
    double theta;  // base
    double factor; // linear scaling: positions divided by it (1: none)
} gemma3_rope;

typedef struct {
    int vocab, hidden, intermediate, layers;
    int heads, kv_heads, head_dim;
    double query_pre_attn_scalar; // the scores' scale is its -1/2 power
    int sliding_window;
    double eps;
    unsigned char sliding[GEMMA3_MAX_LAYERS]; // 1: layer i is local (sliding window)
    gemma3_rope global_rope, local_rope;
} gemma3_config;

// json: the whole config.json (path names it in errors).
br_status gemma3_config_parse(gemma3_config *cfg, const cJSON *json, const char *path);

// The config.json of a released size, for benchmarks on random weights: "gemma-3-12b" (LTX-2's
// text encoder); NULL for another name.
cJSON *gemma3_preset(const char *name);

#endif
