// tokenizer.h: a text encoder's tokenizer, as its pipeline calls it: Gemma 3's SentencePiece model
// (tokenizer/tokenizer.model of an LTX-2 pipeline folder), read by the SentencePiece library.
// A prompt is tokenized as LTX2Pipeline._get_gemma_prompt_embeds does it: stripped of surrounding
// whitespace (Python's str.strip), <bos> first, then the pieces, cut to the pipeline's length
// (truncation keeps the start). The padding (left, with <pad>) is the caller's: it only masks.
#ifndef BR_TOKENIZER_H
#define BR_TOKENIZER_H

#include "core/status.h"

typedef struct br_tokenizer br_tokenizer;

// Opens dir/tokenizer.model; errors name the file (a brigade built without SentencePiece says so).
br_status br_tokenizer_open(const char *dir, br_tokenizer **t);
void br_tokenizer_close(br_tokenizer *t);
int br_tokenizer_vocab(const br_tokenizer *t); // pieces in the model: ids are below it
int br_tokenizer_pad_id(const br_tokenizer *t); // what the padding holds

// text (UTF-8) -> ids[max_ids]: *n ids kept, *n_all the prompt's before truncation.
br_status br_tokenizer_encode(br_tokenizer *t, const char *text, int max_ids, int *ids, int *n,
                              int *n_all);

// The bytes [*begin, *end) of text without the whitespace Python's str.strip() removes.
void br_text_strip(const char *text, const char **begin, const char **end);

#endif
