// prompt_list.c: see prompt_list.h.
#define _POSIX_C_SOURCE 200809L // getline, strdup
#include "prompt_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PROMPTS = 4096 };

br_status br_prompt_list_add(br_prompt_list *l, const char *text) {
    if (l->n >= MAX_PROMPTS) return br_fail(BR_EINPUT, "more than %d prompts", MAX_PROMPTS);
    char **grown = realloc(l->texts, (size_t)(l->n + 1) * sizeof *grown);
    if (!grown) return br_fail(BR_ENOMEM, "out of memory");
    l->texts = grown;
    if (!(l->texts[l->n] = strdup(text))) return br_fail(BR_ENOMEM, "out of memory");
    l->n++;
    return BR_OK;
}

static int blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

br_status br_prompt_list_read(br_prompt_list *l, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return br_fail(BR_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    br_status st = BR_OK;
    while (st == BR_OK && (len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (strlen(line) != (size_t)len)
            st = br_fail(BR_EINPUT, "%s: prompt %d holds a NUL byte: not a text file", path, l->n + 1);
        else if (!blank(line))
            st = br_prompt_list_add(l, line);
    }
    if (st == BR_OK && ferror(f)) st = br_fail(BR_EIO, "%s: read error", path);
    if (st == BR_OK && l->n == 0) st = br_fail(BR_EINPUT, "%s: no prompt in the file", path);
    free(line);
    fclose(f);
    return st;
}

void br_prompt_list_free(br_prompt_list *l) {
    for (int i = 0; i < l->n; i++) free(l->texts[i]);
    free(l->texts);
    l->texts = NULL, l->n = 0;
}
