// run.h: `brigade run`: a family's pipeline (model/recipe.h) over the pipeline of ranks. Prompt
// embeddings in; the flow-matching denoising loop with classifier-free guidance, its transformer
// forwards split over the ranks; then the decode, its tiles spread over the ranks; latents,
// PNG frames and a run report out.
#ifndef BR_RUN_H
#define BR_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"
#include "core/backend.h"
#include "model/family.h"

// What `brigade serve` keeps between the runs of its jobs: the transformer opened and this
// rank's blocks loaded, so that a job costs its steps and not a reload. Opaque; NULL in
// `brigade run`, which frees the blocks before its decode.
typedef struct br_run_keep br_run_keep;
br_run_keep *br_run_keep_new(void);
void br_run_keep_free(br_run_keep *k);

// A caller's view of a run in progress, called on rank 0 only (from its main thread).
typedef struct {
    void *ctx;
    // After each step: steps done of the whole run, and its mean seconds per step so far.
    void (*on_step)(void *ctx, int done, int steps, double step_seconds);
    // Nonzero: stop at the next step boundary; the run then fails with BR_ECANCELED.
    int (*cancelled)(void *ctx);
    // NULL, or the run's share (0..1] of the devices over its life, when other runs shared them
    // (a server's jobs in flight together): its energy and cost are that share of the metered.
    double (*share)(void *ctx);
} br_run_hooks;

typedef struct {
    const char *transformer_dir, *vae_dir, *scheduler_dir; // diffusers folders
    const char *embeddings_path; // HDF5 or safetensors: prompt_embeds, prompt_attention_mask, ...
    const char *const *prompts;  // or prompts as text (rank 0), through the pipeline's text encoder
    int n_prompts;               // (every rank)
    const char *negative_prompt; // with prompts: NULL is the pipeline's "" (used with guidance)
    const char *latents_path;    // optional: initial packed latents (dataset "latents") [N|1, S, C]
    const char *out_dir;
    int height, width, frames;   // pixels (0: the family's default)
    const char *const *images;   // --image: files of the images an edit conditions on (PNG)
    int n_images;
    double image_area;           // --image-area: pixels a reference is resized to for the VAE
    double frame_rate;
    int steps;                   // 0: the family's default
    const char *recipe;          // --recipe: the family's way to run (NULL: its default)
    double guidance, guidance_rescale; // NaN: the family's default (also the six below)
    double stg_scale, modality_scale;  // spatio-temporal and modality guidance (recipe.h)
    double audio_guidance, audio_guidance_rescale, audio_stg_scale, audio_modality_scale;
    uint64_t stg_blocks;         // blocks spatio-temporal guidance perturbs (bit i); 0: default
    double decode_timestep, decode_noise_scale; // noise mixed in before a conditioned decode
    uint64_t seed;
    int microbatch;              // items (passes of jobs: CFG halves) per micro-batch
    int pipelined;               // 1: keep up to P micro-batches in flight; 0: one (sequential)
    const char *trace_path;      // optional: Chrome-trace JSON of every rank's timeline
    int checkpoint_every;        // > 0: write out_dir/checkpoint.h5 every this many steps
    int resume;                  // go on from out_dir/checkpoint.h5 (same settings, same model)
    double timeout_seconds;      // watchdog limit without progress (0: automatic)
    int check;                   // 0 none, 1 first step, 2 every step: test each block's output
    double decode_tile_gib;      // memory budget of one tile's decode, GiB (0: whole video)
    double mem_limit;            // bytes a rank may hold (0: the device's free memory)
    const char *split;           // --split: blocks (or weights) per rank; NULL: balanced
    double host_watts;           // each host's power besides its GPUs, for the cost estimate
    double price_kwh;            // price of a kWh, for the cost
    const char *command_line;    // for the report
    const char *label;           // NULL, or what the progress lines start with ("job 7": a
                                 // server's jobs in flight together)
    br_run_keep *keep;           // NULL, or what the run takes its weights from and leaves them in
    double others_bytes;         // device bytes other runs in progress hold on this rank (a
                                 // server's): the plan's limit less them; a plan that does not
                                 // fit beside them fails with BR_EBUSY
    const br_run_hooks *hooks;   // NULL, or rank 0's watcher
} br_run_opts;

// Collective: every rank calls it and every rank returns the same status (br_error() says why).
br_status br_run(br_comm *comm, br_backend *be, const br_run_opts *opts);

// The same run in pieces, so that `brigade serve` can interleave the steps of several runs that
// share the ranks and the kept blocks (br_run_keep): start; then, while it is stepping, its
// steps; when it is not, advance (the next stage, or the rest: decode, files) until done; free.
// Every rank makes the same calls on the same runs in the same order: start and advance are
// collective (agreed statuses), a step is not (its batons flow, nothing waits for the pipe to
// drain). A failure in the steps is said by the advance after them.
typedef struct br_inflight br_inflight; // a run in progress
br_status br_run_start(br_comm *comm, br_backend *be, const br_run_opts *opts,
                       br_inflight **out);
int br_run_stepping(const br_inflight *run);
void br_run_step(br_inflight *run);
br_status br_run_advance(br_inflight *run, int *done);
void br_run_free(br_inflight *run);
// Rank 0: a failure was seen in the run's loop (a cancel, a rank's failure): its later steps
// would only pass skipping batons. Every rank, at the same point of the sequence: the loop
// issues no more steps (its advance then says the failure).
int br_run_failing(const br_inflight *run);
void br_run_cut(br_inflight *run);
// Device bytes this rank's buffers of the run's loop hold (its memory plan's): what another run
// started beside it must leave (br_run_opts.others_bytes).
double br_run_loop_bytes(const br_inflight *run);

// One thread, no ranks: the checks br_run makes of the settings before any file but the images
// and the scheduler's config is read (the family's defaults, ranges, sizes, images), on a model
// opened by br_model_open: how `brigade serve` refuses a job at once instead of failing it.
br_status br_run_check(const br_model *model, const br_run_opts *opts);


#endif
