// split.h: which transformer blocks each rank owns: contiguous ranges, balanced by count.
#ifndef BR_SPLIT_H
#define BR_SPLIT_H

#include "core/status.h"

// first[0..ranks]: rank r owns blocks [first[r], first[r+1]). Fails when ranks > layers.
br_status br_split_balanced(int layers, int ranks, int *first);

#endif
