// run_memory.c: the memory plan. Before any weight is read, every rank counts what it will hold
// in each phase by running the very code that will allocate it on a counting backend
// (br_backend_counting: loaders read nothing, buffers cost no memory): its blocks' weights (in
// the storage type), then each stage's buffers (micro-batches' prompt slots, the family's
// workspace, the baton, tables, latents, returns) and the prompt projection's input; the
// decode's is the decoder's weights (its files' tensors as fp32) and at most one tile
// (--decode-tile). Rank 0 prints every rank's table; a plan over a rank's limit is refused
// before loading, with what would fit. run.json has each plan beside the measured peaks.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint.h"
#include "run_internal.h"

static const double MiB = 1048576.0;

// The prompt projection's transient input on rank 0: the largest micro-batch's embeddings.
static double prompt_input_bytes(const run_state *run) {
    int most = 0;
    for (int m = 0; m < run->plan.n_micro; m++)
        if (run->micro[m].n > most) most = run->micro[m].n;
    return run->rank == 0 ? (double)most * run->plan.geom.text_tokens * run->model.text_channels * 4 : 0;
}

// Stage s's buffers on the counting backend: activations and workspace (the largest stage's).
static br_status plan_stage(run_state *run, br_backend *cb, int s, run_mem_row *row) {
    const size_t held = cb->bytes_in_use;
    void *ws = NULL;
    run->model.family->layout(&run->model, &run->plan.stage_geom[s], &run->layout);
    BR_TRY(run->model.family->workspace_alloc(&run->model, cb, &run->plan.stage_geom[s],
                                              run->plan.microbatch, &ws));
    const double workspace = (double)(cb->bytes_in_use - held);
    run->model.family->workspace_free(cb, ws);
    cb->peak_bytes = cb->bytes_in_use;
    br_status st = run_plan_buffers(run, s);
    const double buffers = (double)(cb->peak_bytes - held);
    const double prompts = st == BR_OK ? prompt_input_bytes(run) : 0;
    run_free_buffers(run);
    if (st != BR_OK) return st;
    const double activations = buffers - workspace + prompts;
    if (activations + workspace > row->activations + row->workspace)
        row->activations = activations, row->workspace = workspace;
    return BR_OK;
}

// The decoder's weights: its checkpoint's tensors, as fp32 (the files' headers only).
static br_status decoder_bytes(const char *dir, double *bytes) {
    br_checkpoint ck = {0};
    *bytes = 0;
    br_status st = br_ckpt_open(&ck, dir);
    for (int i = 0; st == BR_OK && i < ck.n_shards; i++) {
        br_st_file f = {0};
        st = br_st_open(&f, ck.shard_paths[i]);
        for (int k = 0; st == BR_OK && k < f.n_entries; k++) {
            double n = 1;
            for (int d = 0; d < f.entries[k].ndim; d++) n *= (double)f.entries[k].shape[d];
            *bytes += 4 * n;
        }
        br_st_close(&f);
    }
    br_ckpt_close(&ck);
    return st;
}

// This rank's plan: the denoising (weights and the largest stage's buffers), the decode.
static br_status plan_rank(run_state *run, run_mem_plan *plan) {
    br_backend *real = run->be, *cb = br_backend_counting(real);
    if (!cb) return BR_ENOMEM;
    memset(plan, 0, sizeof *plan);
    br_stage stage = {0};
    br_status st = br_stage_load(&stage, cb, &run->model, run->rank, run->n_ranks, run->first);
    plan->denoise.weights = (double)cb->bytes_in_use;
    plan->blocks = run->first[run->rank + 1] - run->first[run->rank];
    void *one = NULL; // one block alone: the unit an automatic split moves
    const size_t before = cb->bytes_in_use;
    if (st == BR_OK) st = run->model.family->load_block(&run->model, cb, run->first[run->rank], &one);
    plan->block = (double)(cb->bytes_in_use - before);
    run->model.family->free_block(cb, one);
    run->be = cb; // the run's own buffer planning, counted
    for (int s = 0; st == BR_OK && s < run->plan.n_stages; s++)
        st = plan_stage(run, cb, s, &plan->denoise);
    run->be = real;
    plan->scratch = (double)cb->most_scratch;
    plan->denoise.workspace += plan->scratch;
    br_stage_free(&stage);
    br_backend_counting_free(cb);
    const run_mem_row *d = &plan->denoise;
    plan->denoise.total = d->weights + d->activations + d->workspace;
    const br_run_opts *o = run->opts;
    // A decoder that cannot be read is not planned: the decode says why when it comes, and the
    // steps before it are kept (a checkpoint, --resume) as without a plan.
    int decodes = st == BR_OK && strcmp(o->vae_dir, "none") != 0 && run->recipe->decoder_open;
    if (decodes && decoder_bytes(o->vae_dir, &plan->decode.weights) != BR_OK)
        br_clear_error(), decodes = 0, plan->decode.weights = 0;
    if (decodes) {
        plan->decode.activations = o->decode_tile_gib * (1u << 30);
        if (o->keep) plan->decode.weights += d->weights; // a server keeps its blocks loaded
        plan->decode.total = plan->decode.weights + plan->decode.activations;
    }
    // The limit: --mem-limit, else what the device could still give, with what it already holds
    // (a server's kept blocks); CPU ranks share their host's memory.
    plan->limit = o->mem_limit;
    if (!plan->limit && real->free_bytes) {
        plan->limit = (double)real->free_bytes(real) + (double)real->bytes_in_use;
        if (!strcmp(real->name, "cpu")) plan->limit /= br_comm_local_size(run->comm);
    }
    // A server's text encoder stays loaded beside the transformer, and its other jobs in flight
    // hold their loops' buffers: those shares are not the plan's.
    if (plan->limit > 0) plan->limit = fmax(plan->limit - run->text_kept_bytes - o->others_bytes, 1);
    return st;
}

static void print_row(int rank, const char *phase, const run_mem_row *r, double limit) {
    printf("%4d  %-8s %9.1f %12.1f %10.1f %9.1f %9.1f%s\n", rank, phase, r->weights / MiB,
           r->activations / MiB, r->workspace / MiB, r->total / MiB, limit / MiB,
           limit > 0 && r->total > limit ? "  over" : "");
}

// Rank 0: the table.
static void print_table(const run_state *run) {
    printf("memory plan, MiB per rank (decode: at most one tile of --decode-tile):\n"
           "rank  phase      weights  activations  workspace     total     limit\n");
    for (int r = 0; r < run->n_ranks; r++) {
        const run_mem_plan *p = &run->mem_all[r];
        print_row(r, "denoise", &p->denoise, p->limit);
        if (p->decode.total > 0) print_row(r, "decode", &p->decode, p->limit);
    }
    fflush(stdout);
}

// Rank 0: the first rank over its limit, and one line of what would fit; BR_OK when all fit.
static br_status check_fit(const run_state *run) {
    for (int r = 0; r < run->n_ranks; r++) {
        const run_mem_plan *p = &run->mem_all[r];
        if (p->limit <= 0) continue; // unknown: nothing to refuse
        if (p->denoise.total > p->limit) {
            const double room = p->limit - p->denoise.activations - p->denoise.workspace;
            const int ranks = room > 0 ? (int)ceil(run->n_ranks * p->denoise.weights / room) : 0;
            char more[120] = "";
            if (run->opts->split)
                snprintf(more, sizeof more, "no --split (blocks then go where there is room), ");
            else if (ranks > run->n_ranks)
                snprintf(more, sizeof more, "about %d ranks, or ", ranks);
            return br_fail(BR_ENOMEM, "rank %d's plan does not fit: the denoising needs %.1f MiB, "
                           "its limit is %.1f MiB (the table above); would fit: %s%s%s"
                           "--mem-limit of at least %.1f MiB", r, p->denoise.total / MiB,
                           p->limit / MiB, more,
                           run->be->storage == BR_STORAGE_FP32 ? "--storage bf16 (half the "
                           "weights, where the device takes it), " : "",
                           run->plan.microbatch > 1 ? "--microbatch 1, " : "",
                           p->denoise.total / MiB);
        }
        if (p->decode.total > p->limit) {
            const double tile = (p->limit - p->decode.weights) / (1u << 30);
            char fit[120];
            if (tile > 0) snprintf(fit, sizeof fit, "--decode-tile %.2f or less", tile);
            else snprintf(fit, sizeof fit, "more memory than the decoder's weights alone");
            return br_fail(BR_ENOMEM, "rank %d's plan does not fit: the decode needs up to %.0f "
                           "MiB, its limit is %.0f MiB (the table above); would fit: %s", r,
                           p->decode.total / MiB, p->limit / MiB, fit);
        }
    }
    return BR_OK;
}

// Rank 0, without --split: where the balanced split is over a rank's limit, blocks move off the
// ranks over it onto ranks with room, to the fewest blocks first (ties: the later rank), so the
// time per step stays as even as memory allows. 1 when first[] changed; 0 when nothing needs to
// or can (check_fit then says so).
static int auto_split(const run_state *run, int *first) {
    const int P = run->n_ranks;
    int n[RUN_MAX_RANKS], cap[RUN_MAX_RANKS], excess = 0;
    for (int r = 0; r < P; r++) {
        const run_mem_plan *p = &run->mem_all[r];
        n[r] = p->blocks;
        const double fixed = p->denoise.total - p->blocks * p->block;
        cap[r] = p->limit <= 0 || p->block <= 0 ? n[r] + run->model.layers
                                                : (int)floor((p->limit - fixed) / p->block);
        if (cap[r] < 1) return 0; // not even one block fits there
        if (n[r] > cap[r]) excess += n[r] - cap[r], n[r] = cap[r];
    }
    if (!excess) return 0;
    for (; excess > 0; excess--) {
        int best = -1;
        for (int r = 0; r < P; r++)
            if (n[r] < cap[r] && (best < 0 || n[r] <= n[best])) best = r;
        if (best < 0) return 0; // no room anywhere
        n[best]++;
    }
    for (int r = 0; r < P; r++) first[r + 1] = first[r] + n[r];
    return 1;
}

// Every rank's plan of the current split, gathered on rank 0.
static br_status gather_plans(run_state *run) {
    BR_TRY(br_comm_agree(run->comm, plan_rank(run, &run->mem)));
    return br_comm_gather_bytes(run->comm, &run->mem, run->mem_all, sizeof run->mem, 0);
}

br_status run_plan_memory(run_state *run) {
    br_comm *comm = run->comm;
    br_status st = BR_OK;
    if (run->rank == 0 && !(run->mem_all = calloc((size_t)run->n_ranks, sizeof *run->mem_all)))
        st = br_fail(BR_ENOMEM, "out of memory");
    if ((st = br_comm_agree(comm, st)) != BR_OK) return st;
    BR_TRY(gather_plans(run));
    int moved = run->rank == 0 && !run->opts->split && !run->split_kept && auto_split(run, run->first);
    BR_TRY(br_comm_bcast_bytes(comm, &moved, sizeof moved, 0));
    if (moved) {
        BR_TRY(br_comm_bcast_bytes(comm, run->first, (size_t)(run->n_ranks + 1) * sizeof *run->first, 0));
        BR_TRY(gather_plans(run));
    }
    if (run->rank == 0) {
        print_table(run);
        if (moved) {
            printf("split (automatic: the balanced one is over a rank's limit): blocks per rank");
            for (int r = 0; r < run->n_ranks; r++)
                printf("%s%d", r ? "," : " ", run->first[r + 1] - run->first[r]);
            printf("\n");
            fflush(stdout);
        }
    }
    st = run->rank == 0 ? check_fit(run) : BR_OK;
    if (st == BR_ENOMEM && run->opts->others_bytes > 0) st = BR_EBUSY; // may fit when they end
    return br_comm_agree(comm, st);
}

static cJSON *row_json(const run_mem_row *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "weights", r->weights);
    cJSON_AddNumberToObject(o, "activations", r->activations);
    cJSON_AddNumberToObject(o, "workspace", r->workspace);
    cJSON_AddNumberToObject(o, "total", r->total);
    return o;
}

cJSON *run_memory_json(const run_mem_plan *plan, const run_stats *stats) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "plan_denoise", row_json(&plan->denoise));
    cJSON_AddItemToObject(o, "plan_decode", row_json(&plan->decode));
    cJSON_AddNumberToObject(o, "limit", plan->limit);
    cJSON_AddNumberToObject(o, "peak_denoise", stats->peak_denoise);
    cJSON_AddNumberToObject(o, "peak_decode", stats->peak_decode);
    // A two-stage recipe's step between its stages (a latent upsampler on rank 0) is not
    // planned yet: its peak, measured.
    cJSON_AddNumberToObject(o, "peak_between_stages", stats->peak_between);
    return o;
}
