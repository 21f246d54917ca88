// test_split.c: --split (src/stage/split.c): block counts, weights shared out by largest
// remainder, the one-block minimum, and the one-line errors for bad lists.
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "stage/split.h"

// Parses spec and compares first[0..ranks] with want.
static void check_split(const char *spec, int layers, int ranks, const int *want, int line) {
    int first[16];
    br_clear_error();
    br_status st = br_split_parse(spec, layers, ranks, first);
    int ok = st == BR_OK;
    for (int r = 0; ok && r <= ranks; r++) ok = first[r] == want[r];
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL line %d: '%s' on %d blocks, %d ranks (br_error: \"%s\"):", line, spec, layers,
           ranks, br_error());
    for (int r = 0; st == BR_OK && r <= ranks; r++) printf(" %d", first[r]);
    printf("\n");
}

// Parses spec, which must fail with BR_EINPUT and a message containing phrase.
static void check_fails(const char *spec, int layers, int ranks, const char *phrase, int line) {
    int first[16];
    br_clear_error();
    br_status st = br_split_parse(spec, layers, ranks, first);
    if (st == BR_EINPUT && strstr(br_error(), phrase)) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL line %d: '%s' gave status %d, br_error \"%s\", wanted \"%s\"\n", line, spec,
           (int)st, br_error(), phrase);
}

#define SPLIT(spec, layers, ranks, ...) \
    check_split(spec, layers, ranks, (const int[]){__VA_ARGS__}, __LINE__)
#define FAILS(spec, layers, ranks, phrase) check_fails(spec, layers, ranks, phrase, __LINE__)

int main(void) {
    // Counts: whole numbers summing to the block count, blanks allowed.
    SPLIT("12,12,12,12", 48, 4, 0, 12, 24, 36, 48);
    SPLIT(" 10 , 20,\t18 ", 48, 3, 0, 10, 30, 48);
    SPLIT("1,47", 48, 2, 0, 1, 48);
    SPLIT("28", 28, 1, 0, 28);
    // Weights: proportional, exact where the shares are whole.
    SPLIT("1,1,2", 28, 3, 0, 7, 14, 28);
    SPLIT("1.5,1", 25, 2, 0, 15, 25);
    SPLIT("10,10", 28, 2, 0, 14, 28);      // whole numbers with another sum are weights
    SPLIT("0.5,0.5,1", 28, 3, 0, 7, 14, 28);
    // Equal remainders: the leftover blocks go to the later ranks.
    SPLIT("1,1,1", 28, 3, 0, 9, 18, 28);
    SPLIT("1,1,1,1,1", 28, 5, 0, 5, 10, 16, 22, 28);
    SPLIT("2,1", 4, 2, 0, 3, 4);           // 2.67 + 1.33: the larger remainder wins
    // A rank whose share rounds to zero still gets one block, from the largest.
    SPLIT("100,1", 4, 2, 0, 3, 4);
    SPLIT("1,1000,1", 10, 3, 0, 1, 9, 10);
    SPLIT("1e-300,1", 2, 2, 0, 1, 2);
    // Equal weights on many sizes: shares differ by at most one, the larger on the later ranks.
    for (int layers = 1; layers <= 60; layers++)
        for (int ranks = 1; ranks <= 12 && ranks <= layers; ranks++) {
            char spec[64] = "1";
            int want[16] = {0};
            for (int r = 1; r < ranks; r++) strcat(spec, ",1");
            for (int r = 0; r < ranks; r++)
                want[r + 1] = want[r] + layers / ranks + (r >= ranks - layers % ranks);
            check_split(spec, layers, ranks, want, __LINE__);
        }

    FAILS("12,12,12", 48, 4, "has 3 entries but 4 ranks run");
    FAILS("0", 28, 1, "entry 1 ('0') is not a positive finite number");
    FAILS("4,-1", 28, 2, "entry 2 ('-1') is not a positive");
    FAILS("abc", 28, 1, "entry 1 ('abc') is not a positive");
    FAILS("12x,12", 28, 2, "entry 1 ('12x')");
    FAILS("12,,12", 28, 3, "entry 2 is empty");
    FAILS("14,14,", 28, 3, "entry 3 is empty");
    FAILS("14,14,", 28, 2, "entry 3 is empty");
    FAILS("", 28, 1, "entry 1 is empty");
    FAILS("nan", 28, 1, "('nan') is not a positive finite number");
    FAILS("inf,1", 28, 2, "('inf') is not a positive finite number");
    FAILS("1e308,1e308", 28, 2, "too large");
    FAILS("1,1,1", 2, 3, "3 ranks but the model has 2 transformer blocks");

    return check_summary();
}
