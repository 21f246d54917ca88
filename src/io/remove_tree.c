// remove_tree.c: see remove_tree.h.
#define _XOPEN_SOURCE 700 // nftw
#include "remove_tree.h"

#include <ftw.h>
#include <stdio.h>

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    return remove(path);
}

void br_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
