// tokenizer.c: see tokenizer.h; the pipeline's rules around the SentencePiece model (spm_shim.h).
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm_shim.h"

struct br_tokenizer {
    char path[4200];
    br_spm *spm;
    int bos;
};

br_status br_tokenizer_open(const char *dir, br_tokenizer **out) {
    *out = NULL;
    br_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return br_fail(BR_ENOMEM, "out of memory");
    snprintf(t->path, sizeof t->path, "%s/tokenizer.model", dir);
    char err[512];
    if (!(t->spm = br_spm_load(t->path, err, sizeof err))) {
        br_status st = br_fail(BR_EINPUT, "%s: cannot read the tokenizer: %s", t->path, err);
        free(t);
        return st;
    }
    t->bos = br_spm_bos_id(t->spm);
    if (t->bos < 0) {
        br_tokenizer_close(t);
        return br_fail(BR_EINPUT, "%s: the tokenizer has no <bos> piece (Gemma's has)", dir);
    }
    *out = t;
    return BR_OK;
}

void br_tokenizer_close(br_tokenizer *t) {
    if (!t) return;
    br_spm_free(t->spm);
    free(t);
}

int br_tokenizer_vocab(const br_tokenizer *t) { return br_spm_pieces(t->spm); }
int br_tokenizer_pad_id(const br_tokenizer *t) { return br_spm_pad_id(t->spm); }

br_status br_tokenizer_encode(br_tokenizer *t, const char *text, int max_ids, int *ids, int *n,
                              int *n_all) {
    const char *b, *e;
    br_text_strip(text, &b, &e);
    char err[512];
    if (max_ids < 1) return br_fail(BR_EINPUT, "a prompt must have room for at least one token");
    ids[0] = t->bos;
    const int pieces = br_spm_encode(t->spm, b, (size_t)(e - b), ids + 1, max_ids - 1, err,
                                     sizeof err);
    if (pieces < 0) return br_fail(BR_EINPUT, "%s: cannot tokenize a prompt: %s", t->path, err);
    *n_all = pieces + 1;
    *n = *n_all < max_ids ? *n_all : max_ids;
    return BR_OK;
}
