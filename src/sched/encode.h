// encode.h: `brigade encode`: prompts as text through a pipeline's text encoder (src/text,
// split over the ranks) into the embeddings file that `brigade run --embeddings` reads, as
// tools/encode_prompt.py writes it: what the pipeline hands its connectors.
#ifndef BR_ENCODE_H
#define BR_ENCODE_H

#include "comm/comm.h"
#include "core/backend.h"

typedef struct {
    const char *model_dir;       // the pipeline folder: text_encoder/ and tokenizer/
    const char *const *prompts;  // rank 0
    int n_prompts;               // every rank
    const char *negative;        // NULL: no negative prompt
    const char *out_path;        // .h5: HDF5, else safetensors; written atomically
    int max_tokens;              // the pipeline's length (the recipe's text_tokens)
    const char *encoder;         // NULL: model_dir/text_encoder; else a folder or random:NAME
    int repeat;                  // > 0: time this many encodings after a warm-up one
    const char *json_path;       // with repeat: the timing record, as JSON
} br_encode_opts;

// Collective: every rank returns the same status.
br_status br_encode(br_comm *comm, br_backend *be, const br_encode_opts *o);

// Collective, on an opened text encoder: o's prompts (rank 0) into set (rank 0) as the file
// holds them (o->out_path unused), the rows those sink leaves per token (NULL: every hidden
// state). `brigade run --prompt` reads the set as it would the file.
typedef struct br_text_encoder br_text_encoder;
typedef struct br_text_sink br_text_sink;
typedef struct br_tensor_set br_tensor_set;
br_status br_encode_set(br_comm *comm, br_backend *be, br_text_encoder *te,
                        const br_encode_opts *o, const br_text_sink *sink, br_tensor_set *set);

#endif
