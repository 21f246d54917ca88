// split.c: the balanced split. Rank r starts at floor(r * layers / ranks), so sizes differ by at
// most one and the larger groups fall on the later ranks (rank 0 also runs the input side).
#include "split.h"

br_status br_split_balanced(int layers, int ranks, int *first) {
    if (ranks > layers)
        return br_fail(BR_EINPUT,
                       "%d ranks but the model has %d transformer blocks: run at most %d ranks "
                       "(each rank needs at least one block)",
                       ranks, layers, layers);
    for (int r = 0; r <= ranks; r++) first[r] = (int)((long long)r * layers / ranks);
    return BR_OK;
}
