// ltx2_connectors.h: LTX-2.3's text connectors (LTX2TextConnectors, per-modality projections):
// from the text encoder's per-layer hidden states to the video and the audio text embeddings
// that the transformer's blocks attend to. Per token and per encoder layer an RMS norm over the
// caption channels; masked tokens zeroed; a projection per stream; the valid tokens moved to the
// front and the padding filled with learnable registers; a small 1-D transformer per stream
// (gated attention with split RoPE over positions t/4096, GELU feed-forward, plain RMS norms).
// They run once per prompt, on the rank that holds the transformer's input side.
// Legend: N prompts, L tokens, C caption channels, K encoder layers (Gemma 3 12B: 3840 x 49),
// D / Da the video / audio widths.
#ifndef BR_LTX2_CONNECTORS_H
#define BR_LTX2_CONNECTORS_H

#include "core/backend.h"
#include "io/checkpoint.h"
#include "ltx2_weights.h"

typedef struct {
    int heads, head_dim, dim; // dim = heads * head_dim: the stream's width
    int layers, registers;
    int gated;
} ltx2_connector_config;

typedef struct {
    int caption_channels, encoder_layers; // C, K: the input is [L, C * K], feature c*K + k
    ltx2_connector_config video, audio;
    int base_seq_len;                     // RoPE positions are token / base_seq_len
    double theta;
    int double_precision;
} ltx2_connectors_config;

typedef struct {
    nn_linear proj_in;     // [dim, K*C]: columns in the layer-major order the norm leaves, and
                           // the stream's scale sqrt(dim / C) folded in
    float *registers;      // [registers, dim]
    ltx2_attention *attn;  // [layers]
    nn_linear *ff_in, *ff_out;
} ltx2_connector;

typedef struct {
    ltx2_connectors_config cfg;
    ltx2_connector video, audio;
    int without_proj_in; // loaded without the projections in: they come with the prompts
} ltx2_connectors;

br_status ltx2_connectors_config_parse(ltx2_connectors_config *cfg, const cJSON *json,
                                       const char *path);
// Opens dir (connectors/: config.json and its safetensors) and loads every weight; with
// without_proj_in all but the projections in (brigade's text encoder makes their products on the
// ranks that hold the encoder's layers: ltx2_text_projection.h).
br_status ltx2_connectors_load(br_backend *be, const char *dir, int without_proj_in,
                              ltx2_connectors *c);
// The same from an open checkpoint (path: its config.json, for messages).
br_status ltx2_connectors_load_from(br_backend *be, br_checkpoint *ck, const char *path,
                                   int without_proj_in, ltx2_connectors *c);
void ltx2_connectors_free(br_backend *be, ltx2_connectors *c);

// hidden [N, L, C*K] (host) and mask [N, L] (host; 1 keep, 0 padding) -> video [N, L, D] and
// audio [N, L, Da] (device). Every token of the outputs is kept (registers fill the padding).
// L must be a multiple of the registers (the reference's rule); errors name `what`.
br_status ltx2_connectors_run(br_backend *be, const ltx2_connectors *c, const float *hidden,
                              const float *mask, int N, int L, const char *what, float *video,
                              float *audio);
// The same from the projections in, without their bias: proj [N, L, D + Da] (host; a token's
// video projection, then its audio one; padding rows are not read).
br_status ltx2_connectors_run_projected(br_backend *be, const ltx2_connectors *c,
                                        const float *proj, const float *mask, int N, int L,
                                        const char *what, float *video, float *audio);

#endif
