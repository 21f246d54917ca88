// stage.h: one rank's part of the pipeline: its weights (a contiguous range of blocks, plus the
// input side on the first rank and the output side on the last) and the loop over its blocks.
#ifndef BR_STAGE_H
#define BR_STAGE_H

#include "core/backend.h"
#include "io/checkpoint.h"
#include "model/ltx_model.h"

typedef struct {
    int rank, n_ranks;
    int first_block, end_block; // this stage owns blocks [first_block, end_block)
    int is_first, is_last;
    br_backend *be;
    const ltx_config *cfg;
    ltx_input_weights in;   // first rank only
    ltx_output_weights out; // last rank only
    ltx_block *blocks;      // end_block - first_block of them
} br_stage;

// Loads the weights this rank owns; first[] comes from br_split_balanced().
br_status br_stage_load(br_stage *st, br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                        int rank, int n_ranks, const int *first);
void br_stage_free(br_stage *st);

// The numeric guard: where in the job the blocks run, and whether to look.
typedef struct {
    int enabled;        // test each block's output for NaN/Inf
    int step;           // denoising step (0 for a single forward)
    int micro_batch;    // micro-batch index (0 for a single forward)
} br_guard;

// Runs the stage's blocks in place on h [B*S, D]. When dump is not NULL, block i's output is
// copied to the host at dump + i * B*S*D. With the guard on, a block whose output holds NaN or
// Inf fails the stage with one line naming the block, micro-batch, step and largest magnitude;
// the remaining blocks still run, so the caller can pass the baton on and no rank waits forever.
br_status br_stage_run_blocks(br_stage *st, const ltx_context *ctx, ltx_workspace *ws, float *h,
                              float *dump, const br_guard *guard);

#endif
