// prompt_args.h: the prompts as text that encode and run take: --prompt TEXT (repeatable) and
// --prompts FILE, gathered on rank 0 with their count known to every rank.
#ifndef BR_CLI_PROMPT_ARGS_H
#define BR_CLI_PROMPT_ARGS_H

#include "comm/comm.h"
#include "text/prompt_list.h"

enum { BR_MAX_PROMPT_WORDS = 64 };

// Collective, after parsing (st: how that went; agreed first): rank 0 fills l from the words and
// the file (NULL: none); every rank gets their count in *n.
br_status br_cli_gather_prompts(br_comm *comm, br_status st, const char *const *words,
                                int n_words, const char *file, br_prompt_list *l, int *n);

#endif
