// ltx_presets.c: the configs of the released LTX-Video sizes, for random-weight benchmarks
// (`--transformer random:2b`, `random:13b`): the shapes of ../shared/spec/ltx-video.md.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "ltx_config.h"

cJSON *ltx_preset_config(const char *name) {
    int layers, heads, head_dim, channels = 128, caption = 4096;
    if (strcmp(name, "2b") == 0) layers = 28, heads = 32, head_dim = 64;       // 0.9.0-0.9.6
    else if (strcmp(name, "13b") == 0) layers = 48, heads = 32, head_dim = 128; // 0.9.7/0.9.8
    else if (strcmp(name, "tiny") == 0) // `brigade init-model`'s demo: seconds on a laptop
        layers = 8, heads = 4, head_dim = 16, channels = 16, caption = 64;
    else return NULL;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "_class_name", "LTXVideoTransformer3DModel");
    cJSON_AddNumberToObject(c, "num_layers", layers);
    cJSON_AddNumberToObject(c, "num_attention_heads", heads);
    cJSON_AddNumberToObject(c, "attention_head_dim", head_dim);
    cJSON_AddNumberToObject(c, "cross_attention_dim", heads * head_dim);
    cJSON_AddNumberToObject(c, "in_channels", channels);
    cJSON_AddNumberToObject(c, "out_channels", channels);
    cJSON_AddNumberToObject(c, "caption_channels", caption);
    return c;
}
