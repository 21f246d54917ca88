// split.c: the balanced split, and the hand-set one of --split. Rank r of the balanced split starts
// at floor(r * layers / ranks), so sizes differ by at most one and the larger groups fall on the
// later ranks (rank 0 also runs the input side); --split's weights also give ties to the later rank.
#include "split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static br_status too_many_ranks(int layers, int ranks) {
    return br_fail(BR_EINPUT,
                   "%d ranks but the model has %d transformer blocks: run at most %d ranks "
                   "(each rank needs at least one block)",
                   ranks, layers, layers);
}

br_status br_split_balanced(int layers, int ranks, int *first) {
    if (ranks > layers) return too_many_ranks(layers, ranks);
    for (int r = 0; r <= ranks; r++) first[r] = (int)((long long)r * layers / ranks);
    return BR_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

// Entry i (from 1) starting at s into *w; *end is left on the ',' or '\0' after it.
static br_status parse_entry(const char *s, int i, double *w, const char **end) {
    size_t len = strcspn(s, ",");
    char *e;
    *w = strtod(s, &e);
    while (is_blank(*e)) e++;
    *end = s + len;
    if (strspn(s, " \t") == len) return br_fail(BR_EINPUT, "--split entry %d is empty", i);
    if (e != *end || !isfinite(*w) || !(*w > 0))
        return br_fail(BR_EINPUT, "--split entry %d ('%.*s') is not a positive finite number", i,
                       (int)len, s);
    return BR_OK;
}

// Weights w[0..ranks) into block counts n[0..ranks) summing to layers (see split.h).
static void share_out(const double *w, double sum, int layers, int ranks, int *n, double *rem) {
    int left = layers;
    for (int r = 0; r < ranks; r++) {
        double q = w[r] * layers / sum;
        n[r] = (int)floor(q);
        rem[r] = q - n[r];
        left -= n[r];
    }
    // The rounded quotas sum to within far less than one of layers, so 0 <= left <= ranks.
    for (; left > 0; left--) {
        int best = 0;
        for (int r = 1; r < ranks; r++) best = rem[r] >= rem[best] ? r : best;
        n[best]++;
        rem[best] = -1;
    }
    for (int r = 0; r < ranks; r++) {
        if (n[r] > 0) continue;
        int most = 0; // has >= 2 blocks, since ranks <= layers
        for (int k = 1; k < ranks; k++) most = n[k] >= n[most] ? k : most;
        n[most]--;
        n[r]++;
    }
}

br_status br_split_parse(const char *spec, int layers, int ranks, int *first) {
    if (!spec) return br_split_balanced(layers, ranks, first);
    int count = 1;
    for (const char *p = spec; *p; p++) count += *p == ',';
    double *w = malloc(2 * (size_t)count * sizeof *w);
    if (!w) return br_fail(BR_ENOMEM, "--split: out of memory for %d entries", count);
    br_status st = BR_OK;
    double sum = 0;
    int whole = 1;
    const char *s = spec;
    for (int i = 0; i < count && st == BR_OK; i++, s++) {
        st = parse_entry(s, i + 1, &w[i], &s);
        sum += w[i];
        whole = whole && w[i] == floor(w[i]);
    }
    if (st == BR_OK && count != ranks)
        st = br_fail(BR_EINPUT, "--split '%s' has %d entries but %d ranks run: give one per rank",
                     spec, count, ranks);
    else if (st == BR_OK && ranks > layers)
        st = too_many_ranks(layers, ranks);
    else if (st == BR_OK && !isfinite(sum * layers)) // then no w * layers overflows either
        st = br_fail(BR_EINPUT, "--split '%s': the entries are too large to add up", spec);
    if (st == BR_OK) {
        if (whole && sum == layers)
            for (int r = 0; r < ranks; r++) first[r + 1] = (int)w[r];
        else
            share_out(w, sum, layers, ranks, first + 1, w + ranks);
        first[0] = 0;
        for (int r = 0; r < ranks; r++) first[r + 1] += first[r];
    }
    free(w);
    return st;
}
