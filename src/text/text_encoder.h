// text_encoder.h: a pipeline's text encoder (LTX-2's Gemma 3), split over the ranks the way the
// transformer is and kept loaded between prompts: the tokenizer and the embedding on rank 0,
// Gemma's layers in contiguous groups, the final norm on the last rank. Prompts go through as
// micro-batches, one prompt each, so that every rank works on a different prompt once the
// pipeline is full.
//
// What each hidden state feeds is a sink's business: every rank hands the hidden states it makes
// (k = 0 the scaled embeddings, k = i + 1 the output of layer i, the last after the final norm)
// to the sink, which folds them into an accumulator that travels with the hidden states, rank to
// rank, and reaches rank 0 at the end. The accumulator of one prompt is T x floats_per_token
// (T its tokens, never the padding): all K hidden states side by side (`brigade encode`), or a
// running sum of their projections (the connectors' projection in, LTX-2), so that no rank ever
// holds all K hidden states of a prompt.
#ifndef BR_TEXT_ENCODER_H
#define BR_TEXT_ENCODER_H

#include "comm/comm.h"
#include "core/backend.h"
#include "gemma3.h"
#include "io/checkpoint.h"
#include "tokenizer.h"

typedef struct br_text_sink {
    size_t floats_per_token;
    // Hidden state k of a micro-batch's T tokens, h[T, C] (device), into acc[T * floats_per_token]
    // (device); k = 0 comes first and sets acc. Ranks call it for their own hidden states only.
    void (*take)(void *ctx, br_backend *be, int k, const float *h, int T, float *acc);
    // A prompt's accumulator as the encoding leaves it on rank 0 (host) into rows[T,
    // floats_per_token], a token's values together.
    void (*rows)(void *ctx, const float *acc, int T, float *rows);
    void *ctx;
} br_text_sink;

typedef struct br_text_encoder {
    char dir[4200];           // the pipeline folder (text_encoder/, tokenizer/)
    int rank, n_ranks;
    int max_tokens;           // the pipeline's length: prompts are cut and left-padded to it
    br_tokenizer *tokenizer;  // rank 0
    br_checkpoint ck;
    int ck_open;
    gemma3_part part;         // this rank's layers
    int hidden_states;        // K = layers + 1
} br_text_encoder;

// This rank's part of dir's text encoder (text_encoder/config.json and weights, or encoder when
// not NULL: another folder, or random:gemma-3-12b, random weights of that size; rank 0 also
// dir/tokenizer/tokenizer.model). Not collective: the caller agrees on the outcome.
br_status br_text_encoder_open(br_text_encoder *te, br_backend *be, const char *dir,
                               const char *encoder, int rank, int n_ranks, int max_tokens);
void br_text_encoder_close(br_text_encoder *te, br_backend *be);
int br_text_encoder_hidden(const br_text_encoder *te); // C
// The hidden states this rank makes and hands its sink: [*k0, *k1) (may be empty).
void br_text_encoder_states(const br_text_encoder *te, int *k0, int *k1);

// What an encoding gives: every rank the tokens kept of each prompt; rank 0 each prompt's ids
// and its accumulator (host).
typedef struct br_text_result {
    int n;
    int *tokens;  // [n]: <bos> and the pieces, after truncation
    int *ids;     // rank 0: [n, max_tokens], left-padded with the pad id
    float **acc;  // rank 0: [n] of [tokens[i] * floats_per_token]
} br_text_result;

// Collective: texts[n] on rank 0 (other ranks pass NULL and the same n). A prompt longer than
// max_tokens is truncated as the pipeline does, with a warning naming it.
br_status br_text_encode(br_text_encoder *te, br_comm *comm, br_backend *be,
                         const char *const *texts, int n, const br_text_sink *sink,
                         br_text_result *out);
void br_text_result_free(br_text_result *r);

// The device memory of an encoding's buffers on be for prompts of up to T tokens and a sink of
// floats_per_token (allocated and released: on a counting backend, the plan of them).
br_status br_text_encode_buffers(br_text_encoder *te, br_backend *be, int T,
                                 size_t floats_per_token);

#endif
