// run_keep.c: what `brigade serve` keeps between its jobs and lends to the jobs in flight: the
// transformer opened for one kind of prompt, this rank's blocks loaded for one split, the text
// encoder (run_prompts.c). A run borrows what matches; what it opens or loads fresh goes to the
// keeper at once, so that the runs beside it borrow it too; nothing in use is replaced.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

struct br_run_keep {
    int open, loaded;             // the model opened; this rank's blocks loaded (stage)
    int model_users, stage_users; // runs in progress that use them (a server's jobs in flight)
    int text_job;                 // the model was set up for prompts as text (text_projected)
    run_text_keep text;           // the text encoder, kept between jobs with prompts as text
    char dir[4200];               // what the model was opened from (--transformer)
    br_model model;
    br_stage stage;               // its model points at model
    int first[RUN_MAX_RANKS + 1]; // the split the blocks were loaded for
};

br_run_keep *br_run_keep_new(void) { return calloc(1, sizeof(br_run_keep)); }

static void keep_clear(br_run_keep *k) {
    if (k->loaded) br_stage_free(&k->stage);
    if (k->open) br_model_close(&k->model);
    k->open = k->loaded = 0;
}

run_text_keep *run_keep_text(run_state *run) {
    return run->opts->keep ? &run->opts->keep->text : NULL;
}

void br_run_keep_free(br_run_keep *k) {
    if (k) keep_clear(k), run_text_keep_clear(&k->text);
    free(k);
}

// The model: the kept one when it was opened from the same folder for prompts of the same
// kind (as text, the transformer takes the text encoder's projections: model.text_projected);
// another replaces it unless runs in progress use it. A run's model is its own copy of the
// kept one (a run adjusts it: run_prompts.c), the weights shared.
br_status run_open_model(run_state *run, const char *dir) {
    br_run_keep *k = run->opts->keep;
    const int text_job = run->opts->n_prompts > 0;
    if (k && k->open && !strcmp(k->dir, dir) && k->text_job == text_job) {
        run->model = k->model, run->model_borrowed = 1, k->model_users++;
        return BR_OK;
    }
    if (k && k->model_users)
        return br_fail(BR_EBUSY, "the transformer is loaded for prompts %s, which the runs in "
                       "progress use", k->text_job ? "as text" : "as embeddings");
    if (k) keep_clear(k);
    BR_TRY(br_model_open(dir, &run->model));
    if (k) {
        snprintf(k->dir, sizeof k->dir, "%s", dir);
        k->model = run->model, k->open = 1, k->text_job = text_job;
        run->model_borrowed = 1, k->model_users++;
    }
    return BR_OK;
}

// This rank's blocks: the kept ones when they were loaded for the same split; others replace
// them unless runs in progress use them.
br_status run_load_stage(run_state *run) {
    br_run_keep *k = run->opts->keep;
    if (k && k->loaded &&
        !memcmp(k->first, run->first, (size_t)(run->n_ranks + 1) * sizeof *run->first)) {
        run->stage = k->stage, run->stage.model = &run->model;
        run->stage_borrowed = 1, k->stage_users++;
        return BR_OK;
    }
    if (k && k->stage_users)
        return br_fail(BR_EBUSY, "rank %d: the blocks are loaded for another split, which the "
                       "runs in progress use", run->rank);
    if (k && k->loaded) br_stage_free(&k->stage), k->loaded = 0;
    run->be->n_q8_errors = 0; // a fresh load: its own matrices' errors
    return br_stage_load(&run->stage, run->be, &run->model, run->rank, run->n_ranks, run->first);
}

// Blocks this run loaded whole (every rank) go to the keeper at once, for the runs beside it.
void run_keep_stage(run_state *run) {
    br_run_keep *k = run->opts->keep;
    if (!k || run->stage_borrowed) return;
    k->stage = run->stage, k->stage.model = &k->model, k->loaded = 1;
    memcpy(k->first, run->first, sizeof k->first);
    run->stage_borrowed = 1, k->stage_users++;
}

void run_keep_split(run_state *run) {
    const br_run_keep *k = run->opts->keep;
    if (!run->opts->split && k && k->stage_users)
        memcpy(run->first, k->first, sizeof run->first), run->split_kept = 1;
}

// At the run's end: what it borrowed goes back; what it owns is freed.
void run_release_model(run_state *run) {
    br_run_keep *k = run->opts->keep;
    if (run->stage_borrowed) k->stage_users--;
    else br_stage_free(&run->stage);
    if (run->model_borrowed) k->model_users--;
    else if (run->model.family) br_model_close(&run->model);
    run->stage_borrowed = run->model_borrowed = 0;
}
