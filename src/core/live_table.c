// live_table.c: see live_table.h.
#include "live_table.h"

#include <stdlib.h>

int br_live_add(br_live_table *t, br_backend *be, void *p, size_t bytes) {
    if (t->n == t->cap) {
        const size_t cap = t->cap ? 2 * t->cap : 256;
        void **np = realloc(t->p, cap * sizeof *np);
        if (!np) return 0;
        t->p = np;
        size_t *nb = realloc(t->bytes, cap * sizeof *nb);
        if (!nb) return 0;
        t->bytes = nb, t->cap = cap;
    }
    t->p[t->n] = p, t->bytes[t->n++] = bytes;
    be->bytes_in_use += bytes;
    if (be->bytes_in_use > be->peak_bytes) be->peak_bytes = be->bytes_in_use;
    return 1;
}

int br_live_remove(br_live_table *t, br_backend *be, void *p) {
    for (size_t i = t->n; i-- > 0;)
        if (t->p[i] == p) {
            be->bytes_in_use -= t->bytes[i];
            t->n--;
            t->p[i] = t->p[t->n], t->bytes[i] = t->bytes[t->n];
            return 1;
        }
    return 0;
}

void br_live_free(br_live_table *t) {
    free(t->p), free(t->bytes);
    *t = (br_live_table){0};
}
