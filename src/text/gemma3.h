// gemma3.h: Gemma 3's text model (transformers' Gemma3TextModel, the language model of
// Gemma3ForConditionalGeneration) on the op table, by the parts a pipeline rank holds: the scaled
// embedding (first rank; the table stays in the file), a contiguous range of decoder layers, the
// final norm (last rank). Tokens of several prompts go through one call side by side: the
// products see all of them as rows, attention and RoPE each prompt's own.
// Legend: T tokens of a micro-batch, C hidden, H / Hkv query / key-value heads of width dh,
// F intermediate.
#ifndef BR_GEMMA3_H
#define BR_GEMMA3_H

#include "core/backend.h"
#include "gemma3_config.h"
#include "io/checkpoint.h"
#include "nn/linear.h"

typedef struct {
    // Gemma's RMSNorm multiplies by (1 + w): stored as 1 + w. The query norm also carries
    // sqrt(dh / query_pre_attn_scalar), so that attention's 1/sqrt(dh) gives Gemma's scale.
    float *input_norm, *post_attention_norm, *pre_feedforward_norm, *post_feedforward_norm;
    float *q_norm, *k_norm;
    nn_linear q, k, v, o;
    nn_linear gate_up; // gate_proj's rows then up_proj's: [2F, C], one product
    nn_linear down;
} gemma3_layer;

typedef struct {
    gemma3_config cfg;
    int first, end;        // layers [first, end)
    br_checkpoint *embed;  // the first part only (NULL elsewhere): the checkpoint, kept open,
    char embed_name[240];  // whose table [vocab, C] this is: rows read as tokens need them
    float *final_norm;     // the last part only (1 + w; NULL elsewhere)
    gemma3_layer *layers;  // [end - first]
    int max_position;      // RoPE tables cover positions [0, max_position)
    float *rope[2][2][2];  // [global 0 / local 1][q 0 / k 1][cos 0 / sin 1]: [max_position, width/2]
} gemma3_part;

// The prompts of a micro-batch: tokens[i] each, the first at position[i] (left padding counts).
typedef struct {
    int n;
    const int *tokens, *position;
    int total; // the sum of tokens
} gemma3_batch;

// Scratch for micro-batches of up to max_tokens tokens.
typedef struct {
    float *a, *q, *k, *v, *o, *g; // fp32: [T, C], [T, H dh], [T, Hkv dh] x2, [T, C], [T, 2F]
    void *q_op, *k_op, *v_op, *att_op, *act_op; // operands
    int max_tokens;
} gemma3_scratch;

// Loads layers [first, end) of the checkpoint (a text_encoder/ folder), the embedding with
// with_embed and the final norm with with_norm; RoPE tables up to max_position.
br_status gemma3_load(br_backend *be, br_checkpoint *ck, const char *config_path, int first, int end,
                      int with_embed, int with_norm, int max_position, gemma3_part *p);
void gemma3_free(br_backend *be, gemma3_part *p);
br_status gemma3_scratch_alloc(br_backend *be, const gemma3_config *cfg, int max_tokens,
                               gemma3_scratch *s);
void gemma3_scratch_free(br_backend *be, gemma3_scratch *s);

// x[T, C] (device) = the scaled embeddings of ids[T] (host); ids were checked against the vocab.
// The table's rows come from the checkpoint (mapped: only the pages of the tokens used), so the
// checkpoint gemma3_load had must stay open while p is used. After a failed read x is written
// (zeros where rows are missing), so that a pipeline can pass it on.
br_status gemma3_embed(br_backend *be, const gemma3_part *p, const int *ids, int T, float *x);
// Layer i (first <= i < end) in place on x[T, C].
void gemma3_layer_forward(br_backend *be, const gemma3_part *p, int i, const gemma3_batch *b,
                          gemma3_scratch *s, float *x);
// The final norm in place (the last part).
void gemma3_final_norm(br_backend *be, const gemma3_part *p, float *x, int T);

#endif
