// stage.h: one rank's part of the pipeline: its weights (a contiguous range of blocks, plus the
// input side on the first rank and the output side on the last) and the loop over its blocks.
// It knows the model only through its family (model/family.h).
#ifndef BR_STAGE_H
#define BR_STAGE_H

#include "core/backend.h"
#include "model/family.h"

typedef struct {
    int rank, n_ranks;
    int first_block, end_block; // this stage owns blocks [first_block, end_block)
    int is_first, is_last;
    br_backend *be;
    br_model *model;
    void *in;     // the input side's weights: first rank only
    void *out;    // the output side's weights: last rank only
    void **blocks; // end_block - first_block of them
} br_stage;

// Loads the weights this rank owns; first[] comes from br_split_parse().
br_status br_stage_load(br_stage *st, br_backend *be, br_model *model, int rank, int n_ranks,
                        const int *first);
void br_stage_free(br_stage *st);

// The numeric guard: where in the job the blocks run, and whether to look.
typedef struct {
    int enabled;        // test each block's output for NaN/Inf
    int step;           // denoising step (0 for a single forward)
    int micro_batch;    // micro-batch index (0 for a single forward)
} br_guard;

// Floats of the stream slots of n items: what one block's dump holds.
size_t br_stage_stream_floats(const br_layout *l, int n);

// Runs the stage's blocks in place on the batch's baton. When dump is not NULL, block i's streams
// are copied to the host at dump + i * br_stage_stream_floats(), in slot order. With the guard
// on, a block whose streams hold NaN or Inf fails the stage with one line naming the block,
// micro-batch, step and largest magnitude; the remaining blocks still run, so the caller can
// pass the baton on and no rank waits forever.
br_status br_stage_run_blocks(br_stage *st, const br_layout *l, const br_batch *b, void *ws,
                              float *dump, const br_guard *guard);

#endif
