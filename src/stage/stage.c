// stage.c: loading a stage's weights and running its blocks.
#include "stage.h"

#include <stdlib.h>
#include <string.h>

br_status br_stage_load(br_stage *st, br_backend *be, br_model *model, int rank, int n_ranks,
                        const int *first) {
    const br_family *f = model->family;
    memset(st, 0, sizeof *st);
    st->rank = rank, st->n_ranks = n_ranks, st->be = be, st->model = model;
    st->first_block = first[rank], st->end_block = first[rank + 1];
    st->is_first = rank == 0, st->is_last = rank == n_ranks - 1;
    int n = st->end_block - st->first_block;
    BR_TRY(f->check_device(model, be));
    st->blocks = calloc((size_t)n, sizeof *st->blocks);
    if (!st->blocks) return br_fail(BR_ENOMEM, "out of memory for %d blocks", n);
    if (st->is_first) BR_TRY(f->load_input(model, be, &st->in));
    for (int i = 0; i < n; i++)
        BR_TRY(f->load_block(model, be, st->first_block + i, &st->blocks[i]));
    if (st->is_last) BR_TRY(f->load_output(model, be, &st->out));
    return BR_OK;
}

void br_stage_free(br_stage *st) {
    if (!st->be) return;
    const br_family *f = st->model->family;
    f->free_input(st->be, st->in);
    f->free_output(st->be, st->out);
    if (st->blocks)
        for (int i = 0; i < st->end_block - st->first_block; i++)
            f->free_block(st->be, st->blocks[i]);
    free(st->blocks);
    memset(st, 0, sizeof *st);
}

size_t br_stage_stream_floats(const br_layout *l, int n) {
    size_t total = 0;
    for (int k = 0; k < l->n_baton; k++)
        if (l->baton[k].stream) total += (size_t)n * br_slot_floats(&l->baton[k]);
    return total;
}

// The guard's scan of one block's streams: the first bad stream fails the stage.
static br_status guard_streams(br_stage *st, const br_layout *l, const br_batch *b, int block,
                               const br_guard *guard) {
    br_backend *be = st->be;
    int streams = 0;
    for (int k = 0; k < l->n_baton; k++) streams += l->baton[k].stream;
    for (int k = 0; k < l->n_baton; k++) {
        if (!l->baton[k].stream) continue;
        float max_abs = 0.0f;
        const size_t n = (size_t)b->n * br_slot_floats(&l->baton[k]);
        size_t bad = be->count_non_finite(be, b->baton[k], n, &max_abs);
        if (!bad) continue;
        // One stream: "output"; several: which one ("image stream output").
        return br_fail(BR_EINPUT,
                       "block %d (micro-batch %d, step %d) %s%soutput has %zu NaN/Inf values "
                       "(largest finite magnitude %.4g) computing in %s on %s; %s",
                       block, guard->micro_batch, guard->step, streams > 1 ? l->baton[k].name : "",
                       streams > 1 ? " " : "", bad, max_abs, br_compute_name(be->compute),
                       be->device_name,
                       be->compute == BR_COMPUTE_FP32
                           ? "fp32 overflowed: check the checkpoint and the inputs"
                           : "remedy: --compute fp32");
    }
    return BR_OK;
}

br_status br_stage_run_blocks(br_stage *st, const br_layout *l, const br_batch *b, void *ws,
                              float *dump, const br_guard *guard) {
    const br_family *f = st->model->family;
    const size_t per_block = br_stage_stream_floats(l, b->n);
    br_status result = BR_OK;
    for (int i = 0; i < st->end_block - st->first_block; i++) {
        f->block(st->model, st->be, st->blocks[i], b, ws);
        size_t at = 0;
        for (int k = 0; dump && k < l->n_baton; k++) {
            if (!l->baton[k].stream) continue;
            const size_t n = (size_t)b->n * br_slot_floats(&l->baton[k]);
            st->be->download(st->be, dump + i * per_block + at, b->baton[k], n);
            at += n;
        }
        if (guard->enabled && result == BR_OK)
            result = guard_streams(st, l, b, st->first_block + i, guard);
    }
    return result;
}
