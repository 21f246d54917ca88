// split.h: which transformer blocks each rank owns: contiguous ranges, balanced by count or set
// by hand with --split.
#ifndef BR_SPLIT_H
#define BR_SPLIT_H

#include "core/status.h"

// first[0..ranks]: rank r owns blocks [first[r], first[r+1]). Fails when ranks > layers.
br_status br_split_balanced(int layers, int ranks, int *first);

// Parses --split: one entry per rank, comma-separated; blanks around an entry are allowed, an
// empty entry ("12,,12", a trailing comma) is not, and each entry must be a finite number > 0.
// Whole numbers that sum to layers are block counts ("12,12,12,12"). Anything else is a list of
// relative weights ("1,1,2" for a host twice as fast, "1.5,1"; also whole numbers with another
// sum, so "10,10" on 28 blocks gives 14,14): rank r gets w_r * layers / sum(w) blocks, rounded
// down, and the blocks left over go one each to the largest remainders, equal remainders to the
// later rank ("1,1,1" on 28 gives 9,9,10; "1,1,1,1" on 58 gives 14,14,15,15 where br_split_balanced
// gives 14,15,14,15). A rank left with 0 then takes one from the rank with the most blocks (again
// the later one on a tie): "100,1" on 4 gives 3,1.
// Every rank parses the same string, so the result must not vary by host: the arithmetic is plain
// IEEE double (no fused multiply-add is possible) and strtod runs in the "C" locale brigade keeps.
// Fills first[] like br_split_balanced and fails the same way when ranks > layers; a NULL spec
// (no --split) is the balanced split.
br_status br_split_parse(const char *spec, int layers, int ranks, int *first);

#endif
