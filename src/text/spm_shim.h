// spm_shim.h: the few calls brigade makes into the SentencePiece library (C++), as C functions
// (spm_shim.cc); tokenizer.c builds the pipeline's tokenization on them. Errors come back as
// text in err[err_size].
#ifndef BR_SPM_SHIM_H
#define BR_SPM_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct br_spm br_spm;

br_spm *br_spm_load(const char *path, char *err, size_t err_size); // NULL on failure
void br_spm_free(br_spm *s);
int br_spm_pieces(const br_spm *s);
int br_spm_bos_id(const br_spm *s); // -1 when the model has none
int br_spm_pad_id(const br_spm *s); // <pad>, or <eos> when the model has no <pad> (as the pipeline)
// The pieces of text[len] (no <bos>) into ids[cap]; returns how many there are (may exceed cap:
// only cap are written), or -1 with err.
int br_spm_encode(br_spm *s, const char *text, size_t len, int *ids, int cap, char *err,
                  size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
