// tokenizer_absent.c: tokenizer.h in a brigade built without the SentencePiece library: prompts
// as text are refused, with what to do instead.
#include "tokenizer.h"

#include <stddef.h>

br_status br_tokenizer_open(const char *dir, br_tokenizer **t) {
    *t = NULL;
    return br_fail(BR_EINPUT, "%s/tokenizer.model: this brigade was built without SentencePiece "
                   "(Debian: libsentencepiece-dev; then rebuild), so it cannot take prompts as "
                   "text: give --embeddings (tools/encode_prompt.py)", dir);
}

void br_tokenizer_close(br_tokenizer *t) { (void)t; }
int br_tokenizer_vocab(const br_tokenizer *t) { (void)t; return 0; }
int br_tokenizer_pad_id(const br_tokenizer *t) { (void)t; return 0; }

br_status br_tokenizer_encode(br_tokenizer *t, const char *text, int max_ids, int *ids, int *n,
                              int *n_all) {
    return br_fail(BR_EINPUT, "built without SentencePiece");
}
