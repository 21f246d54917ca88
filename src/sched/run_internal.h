// run_internal.h: the state of one `brigade run`, shared by its phases: run.c (settings, inputs,
// loading), denoise.c (the denoising loop over the ranks), decode.c (the VAE decode, tiles over
// the ranks, frames out) and run_report.c (progress and run.json).
// Legend: N jobs (prompts), I items (a job's passes: 2N with CFG, else N), M micro-batches,
// b items in one micro-batch, S latent tokens, C packed latent features, L prompt tokens.
#ifndef BR_RUN_INTERNAL_H
#define BR_RUN_INTERNAL_H

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/energy.h"
#include "model/family.h"
#include "model/recipe.h"
#include "nn/flow_match.h"
#include "placement.h"
#include "run.h"
#include "stage/stage.h"

enum { RUN_MAX_STEPS = 1000, RUN_MAX_JOBS = 4096, RUN_MAX_RANKS = 4096, RUN_MAX_STAGES = 2 };

// What rank 0 decides from the settings and the inputs, broadcast to every rank as bytes.
typedef struct {
    int n_jobs, n_items, n_micro;
    int n_passes;            // passes per step and job: item i is pass i % n_passes of job
    br_pass passes[BR_MAX_PASSES]; // i / n_passes (the recipe's order: CFG's uncond, then cond)
    int microbatch;          // items per micro-batch (the last may hold fewer)
    int C;                   // packed latent features (the transformer's in_channels)
    // Stages: the recipe's (a distilled one: half size, then full size), each a grid of its own
    // and a run of the steps, counted over the whole run (steps of stage s end at stage_end[s]).
    int n_stages;
    int stage_end[RUN_MAX_STAGES];
    br_geometry stage_geom[RUN_MAX_STAGES];
    int stage;               // the stage the buffers are planned for
    br_geometry geom;        // its latent grid, S and L (stage_geom[stage])
    int height, width, frames; // the request's sizes, the family's defaults filled in
    double frame_rate;
    int start_step;          // 0, or the step a resumed run goes on from
    float sigma[RUN_MAX_STEPS], sigma_next[RUN_MAX_STEPS]; // step k goes from sigma to sigma_next
} run_plan;

// One micro-batch: items [first, first + n); its prompt slots (the family's: a projected prompt,
// a mask bias) live on every rank for the whole run (computed once on rank 0, broadcast once).
typedef struct {
    int first, n;
    unsigned mode;               // BR_MODE_* of its items' pass (a micro-batch holds one kind)
    float *prompt[BR_MAX_SLOTS]; // device [n, ...] each
    unsigned flags;              // what the family said of these prompts (br_batch.flags)
} run_micro;

// A phase's memory on one rank (bytes), as planned before loading (run_memory.c).
typedef struct {
    double weights, activations, workspace, total;
} run_mem_row;

typedef struct {
    run_mem_row denoise, decode; // decode: the decoder's weights and a tile (at most
                                 // --decode-tile; activations 0 when untiled: not planned)
    double limit;                // --mem-limit (or the device's free bytes)
    double block;                // the weights of one of its blocks (the automatic split's unit)
    double scratch;              // the backend's for its products (widened weights), in the
                                 // workspace; held once for every run on the rank
    int blocks;                  // how many it holds
} run_mem_plan;

// Per-rank accounting for the report.
typedef struct {
    double busy;          // seconds computing (ops issued and synchronised)
    double loop;          // seconds of the denoising loop
    double decode;        // seconds of the decode phase
    double bytes_sent;    // data-plane bytes this rank sent (batons)
    double hop_seconds;   // seconds in the baton's send and receive calls (waits included)
    double peak_bytes;    // device memory peak (alloc and adopt through the backend)
    double peak_denoise, peak_decode; // the peak of each phase (from its start's holdings)
    double peak_between;  // between stages (a recipe's upsampler, rank 0): measured, not planned
    double link_in_gbps;  // the link from the previous rank: one baton timed before the loop
} run_stats;

// One span of a rank's timeline, for --trace (seconds since the loop's common start).
typedef struct {
    float t0, t1;
    short step, micro;
    char kind; // 'c' blocks, 'o' output side and scheduler step (last rank), 'r' waiting for /
               // receiving the baton (rank 0: the latents), 's' sending it
} run_event;

// What rank 0 learns of each rank at the end of a run, in one gather (where each rank runs, it
// has known since the placement).
typedef struct {
    run_stats stats;
    br_energy_reading energy; // this rank's GPU over the whole run
} run_rank_report;

// What the run cost (run_cost.c).
typedef struct {
    double seconds;                     // the run's wall time
    int gpus, gpus_metered, hosts;      // each GPU counted once, also when ranks share it
    double gpu_joules, host_joules;     // measured; estimated from --host-watts (the run's share)
    double share, gpu_joules_metered;   // the run's share of the devices (hooks), what they took
    double kwh, cost;
    char not_measured[200];             // the first GPU not metered: its rank and why
} run_cost;

struct br_inflight {
    br_comm *comm;
    br_backend *be;
    const br_run_opts *opts;
    int rank, n_ranks, last;
    br_model model;
    const br_recipe *recipe;
    nn_flow_config sched;
    run_plan plan;
    br_layout layout;
    int first[RUN_MAX_RANKS + 1]; // block split
    br_placement *placement;      // rank 0: [P] where each stage runs (run.json, the cost)
    br_stage stage;
    int stage_loaded;             // every rank loaded its blocks (whole: they may be kept)
    int model_borrowed, stage_borrowed; // the model, the blocks are a server's (opts->keep),
                                  // shared with its other runs: not closed or freed here
    int split_kept;               // the split is the kept blocks' (other runs use them)
    int stage_now;                // the recipe's stage whose loop runs (br_run_step)
    br_status steps_status;       // a transfer of this rank's steps that failed
    int q8_after_load;            // --storage int8: the errors recorded by then (the blocks')
    void *ws;                     // the family's workspace
    float *tables[BR_MAX_SLOTS];  // device: the family's tables (RoPE)
    run_micro *micro;             // [M]
    float *baton;                 // device: the layout's baton slots of b items, then a flag
    float *latents_dev;           // rank 0: device [b, S + R, C]: each item's latents, then the
                                  // conditioning tokens (an edit's reference images)
    float *timestep_dev;          // rank 0: device [b, step values]
    float *timestep_host;         // rank 0: host [b, step values], what is uploaded there
    float *v_dev;                 // last rank: device [b, S + R, C]: the predictions of every
                                  // token (the first S of each item are kept)
    float *x;                     // rank 0 and last rank: host [N, S, C], the jobs' latents
    float *v;                     // last rank: host [I, S, C], this step's velocities
    float **returns;              // rank 0 and last rank: [M] host [1 + jobs * S * C] (flag, latents)
    br_comm_request **return_req; // rank 0 and last rank: [M] the pending receive or send of each
    long returns_seen;            // rank 0: return messages received (step * M + micro)
    int in_loop, loop_step;       // the current stage's loop begun; the next step it issues
    int loop_cut;                 // the loop issues no more steps (br_run_cut)
    br_status loop_failure;       // this rank's first failure in the loop (the batons skip after;
    char loop_error[1024];        // rank 0: a checkpoint that could not be written, a cancel),
                                  // its message kept for the loop's end
    int failed_seen;              // rank 0: a return said a rank failed; later batons skip
    run_event *events;            // this rank's timeline (--trace)
    int n_events, cap_events;
    double t_loop;                // the stage's loop's start, common to all ranks (after an agreement)
    double t_origin;              // the first stage's: the timelines' zero
    br_tensor_set inputs;         // rank 0: the embeddings file
    br_tensor_set latents_file;   // rank 0: the --latents file
    br_image *images;             // rank 0: [opts->n_images] the request's images
    float *cond;                  // rank 0: host [R, C] the conditioning tokens (recipe.encode)
    br_run_opts settings;         // the options, the family's defaults filled in (opts points here)
    double *step_seconds;         // rank 0: [steps]
    run_stats stats;
    run_mem_plan mem;             // this rank's plan (rank 0: also every rank's, mem_all)
    run_mem_plan *mem_all;        // rank 0: [P]
    cJSON *int8_tables;           // rank 0, --storage int8: every rank's errors (run_int8.c)
    double t_start;
    br_energy_meter *meter;       // this rank's GPU energy since the run started
    double text_kept_bytes;       // device memory of a text encoder a server keeps loaded beside
                                  // the transformer (run_prompts.c): the plan's limit less it
};
typedef struct br_inflight run_state;

// What a server keeps of the text encoder between jobs (run.c's br_run_keep holds it).
typedef struct br_text_encoder br_text_encoder;
typedef struct br_text_sink br_text_sink;
typedef struct {
    int open, sink_open;          // the encoder loaded; its sink (the family's projection) too
    char dir[4200];               // the pipeline it was loaded from
    br_text_encoder *te;          // malloc'd
    br_text_sink *sink;           // malloc'd
    int width;                    // the sink's floats per token
    double bytes;                 // device memory of both
    br_backend *be;               // what they live on
    const br_recipe *recipe;      // whose sink it is
} run_text_keep;
// run_keep.c: the model and this rank's blocks, borrowed from opts->keep where it holds them
// (a server), else opened and loaded for the run (a fresh load goes to the keeper at once:
// run_keep_stage, after every rank loaded); the kept blocks' split for a run without --split
// while runs in progress use them; at the end, what was borrowed goes back, the rest is freed.
br_status run_open_model(run_state *run, const char *dir);
br_status run_load_stage(run_state *run);
void run_keep_stage(run_state *run);
void run_keep_split(run_state *run);
void run_release_model(run_state *run);
// The run's kept text encoder (NULL: no server, nothing kept); freeing one (run_prompts.c).
run_text_keep *run_keep_text(run_state *run);
void run_text_keep_clear(run_text_keep *k);

// Item -> (job, pass) under the plan; whether the item is its job's last pass (when the job's
// predictions are all in).
int run_item_job(const run_plan *p, int item);
br_pass run_item_pass(const run_plan *p, int item);
int run_item_completes(const run_plan *p, int item);
// The end of the micro-batch that starts at item first: up to microbatch items of one mode.
int run_micro_end(const run_plan *p, int first);
// The stage whose latents a run starts from (a resumed run's: the stage of its last step done).
int run_first_stage(const run_plan *p);
// Bytes of the jobs' latents in the largest stage (what run->x holds).
size_t run_latent_bytes(const run_plan *p);
// The guidance settings of the options (their defaults filled in).
br_guidance run_guidance(const br_run_opts *o);
// Whether the recipe's guidance passes take the negative prompt (an unconditional pass).
int run_wants_negative(const run_state *run);

// run.c: stage s's buffers (the layout, micro-batches, workspace, baton, tables) and their end.
br_status run_plan_buffers(run_state *run, int s);
void run_free_buffers(run_state *run);
// run_memory.c (collective): every rank's plan of every phase, before anything is loaded;
// rank 0 prints the table; a plan over a rank's limit is refused with it and what would fit.
// Without --split, a balanced split that does not fit moves blocks (run->first) to ranks with
// room first.
br_status run_plan_memory(run_state *run);
cJSON *run_memory_json(const run_mem_plan *plan, const run_stats *stats);
// run_int8.c (collective): --storage int8's errors: one line per rank after the load (rank 0);
// every rank's table for run.json (*tables on rank 0).
br_status run_int8_say(run_state *run);
br_status run_int8_tables(run_state *run, cJSON **tables);
// denoise.c
br_status run_encode_prompts(run_state *run); // run_prompts.c: --prompt, before plan_run
br_status run_project_prompts(run_state *run);
// The loop of the current stage, in pieces (a server interleaves the steps of its runs):
br_status run_loop_begin(run_state *run);  // collective
int run_loop_stepping(const run_state *run); // steps left to issue
br_status run_loop_step(run_state *run);   // the next step's micro-batches on this rank
br_status run_loop_end(run_state *run, br_status st); // collective: the rest of the returns
void run_loop_abandon(run_state *run); // a loop left before its end: what it issued completes
// decode.c
br_status run_decode(run_state *run);
// run_checkpoint.c (rank 0)
// The latents after next_step steps (run->x, or a copy of it then) to OUT/checkpoint.h5.
br_status run_write_checkpoint(run_state *run, const float *latents, int next_step);
br_status run_read_checkpoint(run_state *run);
void run_remove_checkpoint(run_state *run);
// run_stop.c (rank 0): SIGINT and SIGTERM save the last completed step of every run in progress
// (a server's jobs), say how to resume, exit.
void run_stop_start(run_state *run);
void run_stop_step(run_state *run, int steps_done);             // after each step: a copy of x
br_status run_stop_checkpoint(run_state *run, int steps_done); // a due checkpoint, of run->x
void run_stop_end(run_state *run);
// run_watchdog.c: progress marks from the loop; the thread ends the job when they stop. Runs
// whose loops overlap (a server's jobs) share it: it watches from the first start to the last
// stop, and not while held (a phase of another run between steps: its decode, its start).
br_status run_watchdog_start(const run_state *run);
void run_watchdog_hold(int hold); // 1: hold (nested), 0: release (the pace counts from now)
void run_watchdog_mark(int step, int micro, const char *doing, int peer);
void run_watchdog_stop(void);
// For a signal handler: one line saying where this rank's loop is (nothing outside the loop).
void run_watchdog_say_where(int sig);
// run_trace.c
void run_trace_add(run_state *run, double t0, double t1, int step, int micro, char kind);
br_status run_write_trace(run_state *run);
// run_report.c
void run_progress(const run_state *run, int step);
br_status run_write_latents(run_state *run);
br_status run_write_report(run_state *run);
// run_cost.c (rank 0, from every rank's report all[P] and the placement)
run_cost run_cost_sum(const run_state *run, const run_rank_report *all, double seconds);
cJSON *run_cost_json(const run_state *run, const run_cost *c);
void run_cost_line(const run_state *run, const run_cost *c, char *line, size_t size);

#endif
