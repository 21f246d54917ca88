// prompt_args.c: see prompt_args.h.
#include "prompt_args.h"

br_status br_cli_gather_prompts(br_comm *comm, br_status st, const char *const *words,
                                int n_words, const char *file, br_prompt_list *l, int *n) {
    if ((st = br_comm_agree(comm, st)) != BR_OK) return st;
    if (br_comm_rank(comm) == 0) {
        for (int i = 0; i < n_words && st == BR_OK; i++) st = br_prompt_list_add(l, words[i]);
        if (st == BR_OK && file) st = br_prompt_list_read(l, file);
    }
    if ((st = br_comm_agree(comm, st)) != BR_OK) return st;
    *n = l->n;
    return br_comm_agree(comm, br_comm_bcast_bytes(comm, n, sizeof *n, 0));
}
