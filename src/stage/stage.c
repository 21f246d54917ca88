// stage.c: loading a stage's weights and running its blocks.
#include "stage.h"

#include <stdlib.h>
#include <string.h>

br_status br_stage_load(br_stage *st, br_backend *be, br_checkpoint *ck, const ltx_config *cfg,
                        int rank, int n_ranks, const int *first) {
    memset(st, 0, sizeof *st);
    st->rank = rank, st->n_ranks = n_ranks, st->be = be, st->cfg = cfg;
    st->first_block = first[rank], st->end_block = first[rank + 1];
    st->is_first = rank == 0, st->is_last = rank == n_ranks - 1;
    int n = st->end_block - st->first_block;
    st->blocks = calloc((size_t)n, sizeof *st->blocks);
    if (!st->blocks) return br_fail(BR_ENOMEM, "out of memory for %d blocks", n);
    if (st->is_first) BR_TRY(ltx_load_input(be, ck, cfg, &st->in));
    for (int i = 0; i < n; i++)
        BR_TRY(ltx_load_block(be, ck, cfg, st->first_block + i, &st->blocks[i]));
    if (st->is_last) BR_TRY(ltx_load_output(be, ck, cfg, &st->out));
    return BR_OK;
}

void br_stage_free(br_stage *st) {
    if (!st->be) return;
    ltx_free_input(st->be, &st->in);
    ltx_free_output(st->be, &st->out);
    if (st->blocks)
        for (int i = 0; i < st->end_block - st->first_block; i++)
            ltx_free_block(st->be, &st->blocks[i]);
    free(st->blocks);
    memset(st, 0, sizeof *st);
}

br_status br_stage_run_blocks(br_stage *st, const ltx_context *ctx, ltx_workspace *ws, float *h,
                              float *dump, const br_guard *guard) {
    const size_t n = (size_t)ctx->B * ctx->S * st->cfg->dim;
    br_status result = BR_OK;
    for (int i = 0; i < st->end_block - st->first_block; i++) {
        ltx_block_forward(st->be, st->cfg, &st->blocks[i], ctx, ws, h);
        if (dump) st->be->download(st->be, dump + i * n, h, n);
        if (!guard->enabled || result != BR_OK) continue;
        float max_abs = 0.0f;
        size_t bad = st->be->count_non_finite(st->be, h, n, &max_abs);
        if (bad)
            result = br_fail(BR_EINPUT,
                             "block %d (micro-batch %d, step %d) output has %zu NaN/Inf values "
                             "(largest finite magnitude %.4g) computing in %s on %s; %s",
                             st->first_block + i, guard->micro_batch, guard->step, bad, max_abs,
                             br_compute_name(st->be->compute), st->be->device_name,
                             st->be->compute == BR_COMPUTE_FP32
                                 ? "fp32 overflowed: check the checkpoint and the inputs"
                                 : "remedy: --compute fp32");
    }
    return result;
}
