// atomic_file.h: text outputs that appear complete or not at all. They are written as PATH.tmp and
// renamed over PATH once every write and the close succeeded (a full disk often shows only at the
// close, when the buffer is flushed); on any failure PATH.tmp is removed and PATH is untouched.
#ifndef BR_ATOMIC_FILE_H
#define BR_ATOMIC_FILE_H

#include <stdio.h>

#include "core/status.h"

typedef struct {
    FILE *f;
    char tmp[4300];
} br_atomic_file;

// Creates PATH.tmp for writing (a failure names PATH and says why).
br_status br_atomic_create(br_atomic_file *a, const char *path);
// Ends the file: when st is BR_OK and every write succeeded, renames it over PATH; otherwise
// removes it. Returns st, or a failure naming PATH with the system's reason (e.g. "No space
// left on device").
br_status br_atomic_finish(br_atomic_file *a, const char *path, br_status st);

#endif
