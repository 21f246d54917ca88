// atomic_file.c: see atomic_file.h.
#include "atomic_file.h"

#include <errno.h>
#include <string.h>

br_status br_atomic_create(br_atomic_file *a, const char *path) {
    if (snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path) >= (int)sizeof a->tmp)
        return a->f = NULL, br_fail(BR_EINPUT, "%.200s...: the path is too long", path);
    a->f = fopen(a->tmp, "w");
    if (!a->f) return br_fail(BR_EIO, "cannot write %s: %s", path, strerror(errno));
    return BR_OK;
}

br_status br_atomic_finish(br_atomic_file *a, const char *path, br_status st) {
    if (!a->f) return st;
    int bad = ferror(a->f), why = bad ? errno : 0; // errno still tells the failed write's reason
    if (fclose(a->f) != 0 && !bad) bad = 1, why = errno;
    a->f = NULL;
    if (st == BR_OK && !bad && rename(a->tmp, path) != 0) bad = 1, why = errno;
    if (st == BR_OK && !bad) return BR_OK;
    remove(a->tmp);
    if (st != BR_OK) return st;
    return br_fail(BR_EIO, "cannot write %s: %s", path, why ? strerror(why) : "write error");
}
