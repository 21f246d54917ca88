// run_report.c: what a run tells its user: progress on rank 0 while it works, latents.h5 when the
// denoising is done, and run.json at the end (settings, timesteps, per-step seconds, and per rank
// its place in the pipeline, busy and idle seconds, bytes sent and peak device memory).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "io/tensor_file.h"
#include "run_internal.h"

void run_progress(const run_state *run, int step) {
    const int steps = run->opts->steps, done = step + 1, first = run->plan.start_step;
    double sum = 0;
    for (int k = first; k < done; k++) sum += run->step_seconds[k];
    const double per_step = sum / (done - first), eta = per_step * (steps - done);
    if (run->opts->label) printf("%s: ", run->opts->label); // a server's jobs interleave
    if (run->plan.n_stages > 1) printf("stage %d/%d  ", run->plan.stage + 1, run->plan.n_stages);
    printf("step %d/%d  %.3f s/step  ETA %d:%02d\n", done, steps, per_step, (int)eta / 60,
           (int)eta % 60);
    fflush(stdout);
    const br_run_hooks *h = run->opts->hooks;
    if (h && h->on_step) h->on_step(h->ctx, done, steps, per_step);
}

// The settings, as attributes of latents.h5 and as the "settings" of run.json.
static const struct {
    const char *name;
    size_t offset;
    int is_int;
} settings[] = {
    {"height", offsetof(br_run_opts, height), 1},
    {"width", offsetof(br_run_opts, width), 1},
    {"num_frames", offsetof(br_run_opts, frames), 1},
    {"frame_rate", offsetof(br_run_opts, frame_rate), 0},
    {"num_inference_steps", offsetof(br_run_opts, steps), 1},
    {"guidance_scale", offsetof(br_run_opts, guidance), 0},
    {"guidance_rescale", offsetof(br_run_opts, guidance_rescale), 0},
    {"stg_scale", offsetof(br_run_opts, stg_scale), 0},
    {"modality_scale", offsetof(br_run_opts, modality_scale), 0},
    {"audio_guidance_scale", offsetof(br_run_opts, audio_guidance), 0},
    {"audio_guidance_rescale", offsetof(br_run_opts, audio_guidance_rescale), 0},
    {"audio_stg_scale", offsetof(br_run_opts, audio_stg_scale), 0},
    {"audio_modality_scale", offsetof(br_run_opts, audio_modality_scale), 0},
    {"decode_timestep", offsetof(br_run_opts, decode_timestep), 0},
    {"decode_noise_scale", offsetof(br_run_opts, decode_noise_scale), 0},
    {"microbatch", offsetof(br_run_opts, microbatch), 1},
};

static double setting_value(const br_run_opts *o, size_t i) {
    const char *base = (const char *)o + settings[i].offset;
    return settings[i].is_int ? *(const int *)base : *(const double *)base;
}

br_status run_write_latents(run_state *run) {
    const run_plan *p = &run->plan;
    br_tensor_set set = {0};
    br_tensor *t = br_set_add(&set, "latents", 3, (int64_t[]){p->n_jobs, p->geom.latent_tokens, p->C});
    br_status st = t ? BR_OK : BR_ENOMEM;
    if (t) memcpy(t->data, run->x, (size_t)p->n_jobs * p->geom.latent_tokens * p->C * sizeof(float));
    // The timesteps the loop visited, for the record (and the tests).
    br_tensor *ts = t ? br_set_add(&set, "timesteps", 1, (int64_t[]){run->opts->steps}) : NULL;
    if (t && !ts) st = BR_ENOMEM;
    for (int k = 0; ts && k < run->opts->steps; k++)
        ts->data[k] = p->sigma[k] * (float)run->sched.num_train_timesteps;
    for (size_t i = 0; st == BR_OK && i < sizeof settings / sizeof *settings; i++) {
        double v = setting_value(run->opts, i);
        st = br_set_add_setting(&set, settings[i].name, 1, &v);
    }
    const int *g = p->geom.grid[0];
    double seed = (double)run->opts->seed, grid[3] = {g[0], g[1], g[2]};
    if (st == BR_OK && !run->opts->latents_path) st = br_set_add_setting(&set, "seed", 1, &seed);
    if (st == BR_OK) st = br_set_add_setting(&set, "latent_grid", 3, grid);
    char path[4200];
    snprintf(path, sizeof path, "%s/latents.h5", run->opts->out_dir);
    if (st == BR_OK) st = br_tensor_file_write(path, &set);
    br_set_free(&set);
    return st;
}

// Each stage's latent grid and steps, and the seconds its steps took (those run here).
static cJSON *stages_json(const run_state *run) {
    const run_plan *p = &run->plan;
    cJSON *stages = cJSON_CreateArray();
    for (int s = 0, first = 0; s < p->n_stages; first = p->stage_end[s++]) {
        cJSON *o = cJSON_CreateObject();
        double seconds = 0;
        for (int k = first; k < p->stage_end[s]; k++) seconds += run->step_seconds[k];
        cJSON_AddItemToObject(o, "latent_grid", cJSON_CreateIntArray(p->stage_geom[s].grid[0], 3));
        cJSON_AddNumberToObject(o, "steps", p->stage_end[s] - first);
        cJSON_AddNumberToObject(o, "step_seconds", seconds);
        cJSON_AddItemToArray(stages, o);
    }
    return stages;
}

static cJSON *ranks_json(const run_state *run, const run_rank_report *all) {
    cJSON *ranks = cJSON_CreateArray();
    for (int r = 0; r < run->n_ranks; r++) {
        const run_rank_report *x = &all[r];
        const br_energy_reading *e = &x->energy;
        const br_placement *pl = &run->placement[r];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rank", r);
        cJSON_AddStringToObject(o, "host", pl->host);
        cJSON_AddStringToObject(o, "device", pl->device);
        cJSON_AddStringToObject(o, "compute", br_compute_name(pl->compute));
        cJSON_AddStringToObject(o, "weights", br_storage_name(pl->storage));
        cJSON_AddItemToObject(o, "blocks", cJSON_CreateIntArray((int[]){pl->first_block,
                                                                         pl->end_block - 1}, 2));
        cJSON_AddStringToObject(o, "next", pl->link);
        cJSON_AddStringToObject(o, "blas", pl->blas);
        cJSON_AddNumberToObject(o, "cpu_threads", pl->threads);
        cJSON_AddStringToObject(o, "cpu_threads_from", pl->threads_from);
        if (r + 1 < run->n_ranks) cJSON_AddStringToObject(o, "transport", pl->transport);
        cJSON_AddNumberToObject(o, "busy_seconds", x->stats.busy);
        cJSON_AddNumberToObject(o, "idle_seconds", x->stats.loop - x->stats.busy);
        cJSON_AddNumberToObject(o, "decode_seconds", x->stats.decode);
        cJSON_AddNumberToObject(o, "bytes_sent", x->stats.bytes_sent);
        cJSON_AddNumberToObject(o, "hop_seconds", x->stats.hop_seconds);
        if (r > 0) cJSON_AddNumberToObject(o, "link_in_gbps", x->stats.link_in_gbps);
        cJSON_AddNumberToObject(o, "peak_bytes", x->stats.peak_bytes);
        if (run->mem_all) cJSON_AddItemToObject(o, "memory", run_memory_json(&run->mem_all[r], &x->stats));
        if (run->int8_tables)
            cJSON_AddItemToObject(o, "int8", cJSON_Duplicate(cJSON_GetArrayItem(run->int8_tables, r), 1));
        if (e->measured) cJSON_AddNumberToObject(o, "gpu_joules", e->joules);
        else cJSON_AddNullToObject(o, "gpu_joules");
        cJSON_AddStringToObject(o, "energy_method", e->method);
        cJSON_AddItemToArray(ranks, o);
    }
    return ranks;
}

// The loop's throughput and its bubble: the share of the ranks' loop time spent not computing.
typedef struct {
    double bubble, steps_per_second, jobs_per_hour;
} pipeline_summary;

static pipeline_summary summarize(const run_state *run, const run_rank_report *all) {
    double busy = 0, total = 0;
    for (int r = 0; r < run->n_ranks; r++) busy += all[r].stats.busy, total += all[r].stats.loop;
    const double loop = all[0].stats.loop > 0 ? all[0].stats.loop : 1e-9;
    return (pipeline_summary){total > 0 ? 1 - busy / total : 0,
                              (run->opts->steps - run->plan.start_step) / loop,
                              run->plan.n_jobs / loop * 3600};
}

static void pipeline_numbers(const run_state *run, const run_rank_report *all, cJSON *pipe) {
    pipeline_summary s = summarize(run, all);
    cJSON_AddStringToObject(pipe, "schedule", run->opts->pipelined ? "pipelined" : "sequential");
    cJSON_AddNumberToObject(pipe, "micro_batches_per_step", run->plan.n_micro);
    cJSON_AddNumberToObject(pipe, "bubble_fraction", s.bubble);
    cJSON_AddNumberToObject(pipe, "steps_per_second", s.steps_per_second);
    // A resumed run did only part of the jobs' steps here: no jobs-per-hour figure for it.
    if (run->plan.start_step == 0) cJSON_AddNumberToObject(pipe, "jobs_per_hour", s.jobs_per_hour);
    else cJSON_AddNullToObject(pipe, "jobs_per_hour");
    cJSON_AddNumberToObject(pipe, "resumed_at_step", run->plan.start_step);
    const double forwards = (double)run->opts->steps * run->plan.n_micro;
    cJSON_AddNumberToObject(pipe, "baton_bytes_per_hop",
                            run->n_ranks > 1 ? all[0].stats.bytes_sent / forwards : 0);
    cJSON_AddNumberToObject(pipe, "baton_bytes_per_hop_per_step",
                            run->n_ranks > 1 ? all[0].stats.bytes_sent / run->opts->steps : 0);
}

static cJSON *report_json(const run_state *run, const run_rank_report *all, const run_cost *cost) {
    const br_run_opts *o = run->opts;
    const run_plan *p = &run->plan;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "brigade", "0.1");
    cJSON_AddStringToObject(j, "command", o->command_line ? o->command_line : "");
    cJSON *model = cJSON_AddObjectToObject(j, "model");
    cJSON_AddStringToObject(model, "transformer", o->transformer_dir);
    cJSON_AddStringToObject(model, "vae", o->vae_dir);
    cJSON_AddStringToObject(model, "scheduler", o->scheduler_dir);
    cJSON *s = cJSON_AddObjectToObject(j, "settings");
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        cJSON_AddNumberToObject(s, settings[i].name, setting_value(o, i));
    if (o->latents_path) cJSON_AddStringToObject(s, "latents", o->latents_path);
    else cJSON_AddNumberToObject(s, "seed", (double)o->seed);
    if (o->embeddings_path) cJSON_AddStringToObject(s, "embeddings", o->embeddings_path);
    if (o->n_prompts) { // the texts, as given (rank 0 writes the report)
        cJSON *texts = cJSON_AddArrayToObject(s, "prompts");
        for (int i = 0; i < o->n_prompts; i++) cJSON_AddItemToArray(texts, cJSON_CreateString(o->prompts[i]));
        if (o->negative_prompt) cJSON_AddStringToObject(s, "negative_prompt", o->negative_prompt);
    }
    cJSON_AddNumberToObject(s, "jobs", p->n_jobs);
    cJSON_AddNumberToObject(s, "micro_batches", p->n_micro);
    cJSON_AddNumberToObject(s, "prompt_tokens", p->geom.text_tokens);
    cJSON_AddItemToObject(s, "latent_grid", cJSON_CreateIntArray(p->geom.grid[0], 3));
    if (o->recipe) cJSON_AddStringToObject(s, "recipe", o->recipe);
    cJSON_AddItemToObject(j, "stages", stages_json(run));
    cJSON_AddNumberToObject(s, "ranks", run->n_ranks);
    float t[RUN_MAX_STEPS];
    for (int k = 0; k < o->steps; k++) t[k] = p->sigma[k] * run->sched.num_train_timesteps;
    cJSON_AddItemToObject(j, "timesteps", cJSON_CreateFloatArray(t, o->steps));
    cJSON_AddItemToObject(j, "step_seconds", cJSON_CreateDoubleArray(run->step_seconds, o->steps));
    cJSON *sec = cJSON_AddObjectToObject(j, "seconds");
    cJSON_AddNumberToObject(sec, "denoise", all[0].stats.loop);
    cJSON_AddNumberToObject(sec, "decode", all[0].stats.decode);
    cJSON_AddNumberToObject(sec, "total", br_now() - run->t_start);
    cJSON *pipe = cJSON_AddObjectToObject(j, "pipeline");
    pipeline_numbers(run, all, pipe);
    cJSON_AddItemToObject(j, "energy", run_cost_json(run, cost));
    cJSON_AddItemToObject(j, "ranks", ranks_json(run, all));
    return j;
}

static br_status write_json(const char *path, cJSON *j) {
    char *text = cJSON_Print(j);
    if (!text) return br_fail(BR_ENOMEM, "out of memory for %s", path);
    br_atomic_file a;
    br_status st = br_atomic_create(&a, path);
    if (st == BR_OK) fprintf(a.f, "%s\n", text);
    free(text);
    return br_atomic_finish(&a, path, st);
}

// Rank 0: run.json, then the summary lines.
static br_status write_report(run_state *run, const run_rank_report *all) {
    char path[4200], line[400];
    snprintf(path, sizeof path, "%s/run.json", run->opts->out_dir);
    const run_cost cost = run_cost_sum(run, all, br_now() - run->t_start);
    cJSON *j = report_json(run, all, &cost);
    br_status st = write_json(path, j);
    cJSON_Delete(j);
    if (st != BR_OK) return st;
    pipeline_summary s = summarize(run, all);
    const int resumed = run->plan.start_step;
    if (run->opts->label) printf("%s: ", run->opts->label);
    if (resumed)
        printf("done: %d job(s) x %d steps, resumed after step %d: %d steps in %.2f s + decode "
               "%.2f s on %d rank(s); report %s\n", run->plan.n_jobs, run->opts->steps, resumed,
               run->opts->steps - resumed, all[0].stats.loop, all[0].stats.decode, run->n_ranks,
               path);
    else
        printf("done: %d job(s) x %d steps in %.2f s + decode %.2f s; %s on %d rank(s): bubble "
               "%.0f%%, %.2f steps/s, %.1f jobs/hour; report %s\n", run->plan.n_jobs,
               run->opts->steps, all[0].stats.loop, all[0].stats.decode,
               run->opts->pipelined ? "pipelined" : "sequential", run->n_ranks, 100 * s.bubble,
               s.steps_per_second, s.jobs_per_hour, path);
    run_cost_line(run, &cost, line, sizeof line);
    printf("%s\n", line);
    return BR_OK;
}

br_status run_write_report(run_state *run) {
    run_rank_report mine = {.stats = run->stats}, *all = NULL;
    BR_TRY(run_int8_tables(run, &run->int8_tables));
    // The run's peak: the larger phase's (each phase's peak counts from its start's holdings).
    mine.stats.peak_bytes = fmax(fmax(run->stats.peak_denoise, run->stats.peak_decode),
                                 run->stats.peak_between);
    br_energy_stop(run->meter, &mine.energy); // this rank's energy since the run started
    run->meter = NULL;
    if (run->rank == 0 && !(all = calloc((size_t)run->n_ranks, sizeof *all)))
        return br_fail(BR_ENOMEM, "out of memory");
    br_status st = br_comm_gather_bytes(run->comm, &mine, all, sizeof mine, 0);
    if (st == BR_OK && run->rank == 0) st = write_report(run, all);
    free(all);
    return st;
}
