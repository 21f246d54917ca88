// prompt_list.h: the prompts of a run as text: --prompt words and --prompts FILE (one prompt per
// line, UTF-8; blank lines are skipped, so a prompt file may end with a newline or have gaps).
#ifndef BR_PROMPT_LIST_H
#define BR_PROMPT_LIST_H

#include "core/status.h"

typedef struct {
    int n;
    char **texts; // [n], owned
} br_prompt_list;

// Appends text (copied).
br_status br_prompt_list_add(br_prompt_list *l, const char *text);
// Appends every non-blank line of path; errors name the file.
br_status br_prompt_list_read(br_prompt_list *l, const char *path);
void br_prompt_list_free(br_prompt_list *l);

#endif
