// run_checkpoint.c: --checkpoint-every K and --resume. Every K steps rank 0 writes
// OUT/checkpoint.h5 (temporary name, then rename), and once more after the last step; it is removed
// when every output is written. It holds the latents of every job after the step, the
// step to go on from, the settings that decide the arithmetic, and fingerprints of the model and
// the prompts. Brigade's generator draws nothing during the loop (the start latents come before
// it, the decode noise after it from --seed), so the latents and the step are the whole state:
// a resumed run computes the remaining steps exactly as the uninterrupted one, to the bit. A
// checkpoint of other settings, another model or other prompts is refused, and a damaged one
// by the checksum every HDF5 file of brigade's carries (h5file.h).
#define _POSIX_C_SOURCE 200809L // stat
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/tensor_file.h"
#include "run_internal.h"

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

// The model: the transformer's config and the sizes of its weight files (their data is not
// read: 26 GB), and the scheduler's settings. The prompts: every value of the inputs, and the
// conditioning tokens of the images.
static void fingerprints(const run_state *run, double model[2], double prompts[2]) {
    uint64_t h = 1469598103934665603ull;
    char *text = cJSON_PrintUnformatted(run->model.ck.config);
    if (text) h = fnv(h, text, strlen(text));
    free(text);
    for (int i = 0; i < run->model.ck.n_shards; i++) {
        struct stat sb;
        long long size = stat(run->model.ck.shard_paths[i], &sb) == 0 ? (long long)sb.st_size : -1;
        h = fnv(h, &size, sizeof size);
    }
    h = fnv(h, &run->sched, sizeof run->sched);
    model[0] = (double)(h >> 32), model[1] = (double)(h & 0xffffffffu);
    h = 1469598103934665603ull;
    for (int i = 0; i < run->inputs.n_tensors; i++) {
        const br_tensor *t = &run->inputs.tensors[i];
        h = fnv(h, t->name, strlen(t->name));
        h = fnv(h, t->data, (size_t)br_numel(t->ndim, t->shape) * sizeof(float));
    }
    const br_geometry *g = &run->plan.geom;
    if (run->cond) // the conditioning of the images: an edit's, an image-to-video's
        h = fnv(h, run->cond, (size_t)(g->held_tokens + g->tokens - g->latent_tokens) *
                                  run->plan.C * sizeof(float));
    prompts[0] = (double)(h >> 32), prompts[1] = (double)(h & 0xffffffffu);
}

// The settings that decide the loop's bits, with their command-line names.
static int decisive(const br_run_opts *o, double *v, const char **names) {
    const char *n[] = {"height", "width", "frames", "frame-rate", "steps", "guidance",
                       "guidance-rescale", "microbatch", "seed", "stg-scale", "modality-scale",
                       "audio-guidance", "audio-guidance-rescale", "audio-stg-scale",
                       "audio-modality-scale", "stg-blocks"};
    double x[] = {o->height, o->width, o->frames, o->frame_rate, o->steps, o->guidance,
                  o->guidance_rescale, o->microbatch, o->latents_path ? -1.0 : (double)o->seed,
                  o->stg_scale, o->modality_scale, o->audio_guidance, o->audio_guidance_rescale,
                  o->audio_stg_scale, o->audio_modality_scale, (double)o->stg_blocks};
    enum { N = sizeof x / sizeof *x };
    _Static_assert(N <= 16, "decisive settings: v and names hold 16");
    for (int i = 0; i < N; i++) v[i] = x[i], names[i] = n[i];
    return N;
}

static void checkpoint_path(const run_state *run, char *path, size_t size) {
    snprintf(path, size, "%s/checkpoint.h5", run->opts->out_dir);
}

br_status run_write_checkpoint(run_state *run, const float *latents, int next_step) {
    const run_plan *p = &run->plan;
    br_tensor_set set = {0};
    br_tensor *t = br_set_add(&set, "latents", 3, (int64_t[]){p->n_jobs, p->geom.latent_tokens, p->C});
    if (!t) return BR_ENOMEM;
    memcpy(t->data, latents, (size_t)p->n_jobs * p->geom.latent_tokens * p->C * sizeof(float));
    double v[16], model[2], prompts[2], step = next_step;
    const char *names[16];
    int n = decisive(run->opts, v, names);
    fingerprints(run, model, prompts);
    br_status st = br_set_add_setting(&set, "next_step", 1, &step);
    for (int i = 0; st == BR_OK && i < n; i++) st = br_set_add_setting(&set, names[i], 1, &v[i]);
    if (st == BR_OK) st = br_set_add_setting(&set, "model_fingerprint", 2, model);
    if (st == BR_OK) st = br_set_add_setting(&set, "prompts_fingerprint", 2, prompts);
    char path[4200];
    checkpoint_path(run, path, sizeof path);
    if (st == BR_OK) st = br_tensor_file_write(path, &set);
    br_set_free(&set);
    return st;
}

static br_status same_setting(const br_tensor_set *set, const char *path, const char *name,
                              int count, const double *want, const char *what) {
    const br_setting *s = br_set_find_setting(set, name);
    if (!s || s->count != count)
        return br_fail(BR_EINPUT, "%s: not a brigade checkpoint (\"%s\" missing)", path, name);
    for (int i = 0; i < count; i++)
        if (s->values[i] != want[i])
            return count == 1 ? br_fail(BR_EINPUT, "%s was written with --%s %g; this run has %g: "
                                        "resume with the same settings", path, name,
                                        s->values[0], want[0])
                              : br_fail(BR_EINPUT, "%s was written for %s: refusing to resume",
                                        path, what);
    return BR_OK;
}

br_status run_read_checkpoint(run_state *run) {
    const run_plan *p = &run->plan;
    char path[4200];
    checkpoint_path(run, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        char report[4200];
        snprintf(report, sizeof report, "%s/run.json", run->opts->out_dir);
        return stat(report, &sb) == 0
                   ? br_fail(BR_EINPUT, "--resume: %s is gone: the run it belonged to completed "
                             "(%s)", path, report)
                   : br_fail(BR_EINPUT, "--resume: no %s (a run writes one with "
                             "--checkpoint-every K)", path);
    }
    br_tensor_set set = {0};
    BR_TRY(br_tensor_file_read(path, &set));
    double v[16], model[2], prompts[2];
    const char *names[16];
    int n = decisive(run->opts, v, names);
    fingerprints(run, model, prompts);
    br_status st = BR_OK;
    for (int i = 0; st == BR_OK && i < n; i++) st = same_setting(&set, path, names[i], 1, &v[i], "");
    if (st == BR_OK)
        st = same_setting(&set, path, "model_fingerprint", 2, model, "another model or scheduler");
    if (st == BR_OK)
        st = same_setting(&set, path, "prompts_fingerprint", 2, prompts, "other prompts");
    const br_tensor *t = br_set_find(&set, "latents");
    const br_setting *next = br_set_find_setting(&set, "next_step");
    if (st == BR_OK && (!next || !(next->values[0] >= 1) || !(next->values[0] <= run->opts->steps)))
        st = br_fail(BR_EINPUT, "%s: next_step does not fit this run", path);
    // The latents are those of the stage of the last step done.
    if (st == BR_OK) run->plan.start_step = (int)next->values[0];
    const int S = st == BR_OK ? p->stage_geom[run_first_stage(p)].latent_tokens : 0;
    if (st == BR_OK && (!t || t->ndim != 3 || t->shape[0] != p->n_jobs || t->shape[1] != S ||
                        t->shape[2] != p->C))
        st = br_fail(BR_EINPUT, "%s: the latents do not fit this run", path);
    if (st == BR_OK) {
        memcpy(run->x, t->data, (size_t)p->n_jobs * S * p->C * sizeof(float));
        if (run->plan.start_step < run->opts->steps)
            printf("resuming from %s at step %d/%d\n", path, run->plan.start_step + 1,
                   run->opts->steps);
        else printf("resuming from %s: all %d steps are done; the outputs follow\n", path,
                    run->opts->steps);
    }
    br_set_free(&set);
    return st;
}

void run_remove_checkpoint(run_state *run) {
    char path[4200];
    checkpoint_path(run, path, sizeof path);
    remove(path);
}
