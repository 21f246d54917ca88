// live_table.h: the sizes of a backend's live buffers, so that a release can keep its
// bytes_in_use and peak_bytes: each backend's count of its memory (the memory plan's measure).
#ifndef BR_LIVE_TABLE_H
#define BR_LIVE_TABLE_H

#include <stddef.h>

#include "backend.h"

typedef struct {
    void **p;
    size_t *bytes, n, cap;
} br_live_table;

// Counts buffer p of `bytes` into be's bytes_in_use and peak_bytes; 0 when the table could not
// grow (then nothing is counted).
int br_live_add(br_live_table *t, br_backend *be, void *p, size_t bytes);
// Takes p out of the count; 0 when p is not in the table. A rank holds a few hundred buffers:
// a linear search from the newest is nothing next to a free.
int br_live_remove(br_live_table *t, br_backend *be, void *p);
void br_live_free(br_live_table *t);

#endif
