// run.c: `brigade run` from settings to files, phase by phase; each phase ends in an agreement,
// so every rank stops with the first failure's message and none waits for a rank that gave up.
//   all ranks  open the transformer (its family) and the scheduler, check the settings (the
//              family's defaults filled in)
//   rank 0     read and check the embeddings (and --latents) and the images, the latent grid
//              (the family's recipe), make --out, plan the micro-batches; encode the images
//              (an edit's conditioning tokens)
//   all ranks  load own blocks, buffers, RoPE tables; rank 0 hands the start latents to the last
//   ...        prompts projected once; the denoising loop (denoise.c)
//   rank 0     latents.h5 (before the decode: a decode failure loses no step)
//   all ranks  free the transformer, decode tiles (decode.c); rank 0 writes frames and run.json,
//              then removes the checkpoint (kept until here: --resume redoes only what failed)
#define _POSIX_C_SOURCE 200809L // mkdir
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "io/tensor_file.h"
#include "io/wav_write.h"
#include "placement.h"
#include "run_internal.h"
#include "stage/split.h"

int run_item_job(const run_plan *p, int item) { return item / p->n_passes; }
br_pass run_item_pass(const run_plan *p, int item) { return p->passes[item % p->n_passes]; }
int run_item_completes(const run_plan *p, int item) {
    return item % p->n_passes == p->n_passes - 1;
}

int run_micro_end(const run_plan *p, int first) {
    const unsigned mode = br_pass_mode(run_item_pass(p, first));
    int end = first + 1;
    while (end < p->n_items && end - first < p->microbatch &&
           br_pass_mode(run_item_pass(p, end)) == mode)
        end++;
    return end;
}

size_t run_latent_bytes(const run_plan *p) {
    size_t most = 0;
    for (int s = 0; s < p->n_stages; s++) {
        const size_t n = (size_t)p->n_jobs * p->stage_geom[s].latent_tokens * p->C;
        most = n > most ? n : most;
    }
    return most * sizeof(float);
}

br_guidance run_guidance(const br_run_opts *o) {
    return (br_guidance){(float)o->guidance,       (float)o->guidance_rescale,
                         (float)o->stg_scale,      (float)o->modality_scale,
                         (float)o->audio_guidance, (float)o->audio_guidance_rescale,
                         (float)o->audio_stg_scale, (float)o->audio_modality_scale};
}

int run_wants_negative(const run_state *run) {
    const br_guidance gs = run_guidance(run->opts);
    br_pass passes[BR_MAX_PASSES];
    const int n = run->recipe->passes(&gs, passes);
    for (int k = 0; k < n; k++)
        if (passes[k] == BR_PASS_UNCOND) return 1;
    return 0;
}

// The options' guidance settings left unset (NaN) take the family's defaults.
static void default_guidance(br_run_opts *o, const br_guidance *d) {
    double *v[] = {&o->guidance,       &o->guidance_rescale,       &o->stg_scale,
                   &o->modality_scale, &o->audio_guidance,         &o->audio_guidance_rescale,
                   &o->audio_stg_scale, &o->audio_modality_scale};
    const float dv[] = {d->scale,       d->rescale,       d->stg,       d->modality,
                        d->audio_scale, d->audio_rescale, d->audio_stg, d->audio_modality};
    for (int i = 0; i < 8; i++)
        if (isnan(*v[i])) *v[i] = dv[i];
}

// The settings every rank can check alone, before any file is read (the family checks the
// sizes).
static br_status check_settings(const br_run_opts *o) {
    if (o->height < 0 || o->width < 0 || o->frames < 0)
        return br_fail(BR_EINPUT, "--height, --width and --frames must be positive");
    if (o->steps < 1 || o->steps > RUN_MAX_STEPS)
        return br_fail(BR_EINPUT, "--steps %d: must be in 1..%d", o->steps, RUN_MAX_STEPS);
    if (!(o->guidance >= 0 && o->guidance <= 100))
        return br_fail(BR_EINPUT, "--guidance %g: must be in [0, 100]", o->guidance);
    const double scales[] = {o->stg_scale, o->modality_scale, o->audio_guidance, o->audio_stg_scale,
                             o->audio_modality_scale};
    const char *scale_names[] = {"stg-scale", "modality-scale", "audio-guidance", "audio-stg-scale",
                                 "audio-modality-scale"};
    for (int i = 0; i < 5; i++)
        if (!(scales[i] >= 0 && scales[i] <= 100))
            return br_fail(BR_EINPUT, "--%s %g: must be in [0, 100]", scale_names[i], scales[i]);
    if (!(o->guidance_rescale >= 0 && o->guidance_rescale <= 1))
        return br_fail(BR_EINPUT, "--guidance-rescale %g: must be in [0, 1]", o->guidance_rescale);
    if (!(o->audio_guidance_rescale >= 0 && o->audio_guidance_rescale <= 1))
        return br_fail(BR_EINPUT, "--audio-guidance-rescale %g: must be in [0, 1]",
                       o->audio_guidance_rescale);
    if (!(o->frame_rate >= 0 && o->frame_rate <= 1000)) // 0: the family's default
        return br_fail(BR_EINPUT, "--frame-rate %g: must be in (0, 1000]", o->frame_rate);
    if (!(o->decode_timestep >= 0 && o->decode_timestep <= 1))
        return br_fail(BR_EINPUT, "--decode-timestep %g: must be in [0, 1]", o->decode_timestep);
    if (!(o->decode_noise_scale >= 0 && o->decode_noise_scale <= 1))
        return br_fail(BR_EINPUT, "--decode-noise-scale %g: must be in [0, 1]", o->decode_noise_scale);
    if (o->microbatch < 1 || o->microbatch > 2 * RUN_MAX_JOBS)
        return br_fail(BR_EINPUT, "--microbatch %d: must be at least 1", o->microbatch);
    if (o->checkpoint_every < 0)
        return br_fail(BR_EINPUT, "--checkpoint-every %d: must be a number of steps", o->checkpoint_every);
    if (!(o->decode_tile_gib >= 0))
        return br_fail(BR_EINPUT, "--decode-tile %g: must be a size in GiB, or 0", o->decode_tile_gib);
    return BR_OK;
}

// The settings against the opened model: its recipe, the family's defaults filled in, the
// ranges, the decoder and images, the scheduler's config.
static br_status check_model_settings(run_state *run) {
    br_run_opts *o = &run->settings;
    const br_model *m = &run->model;
    if (!(run->recipe = m->family->recipe))
        return br_fail(BR_EINPUT, "%s: brigade runs %s's transformer (brigade forward), not yet "
                       "its pipeline", m->config_path, m->family->name);
    if (m->out_channels != m->in_channels)
        return br_fail(BR_EINPUT, "%s: the prediction has %d features, the latents %d: the "
                       "denoising loop steps the one by the other", m->config_path,
                       m->out_channels, m->in_channels);
    if (!o->steps) o->steps = run->recipe->default_steps;
    if (o->recipe && !run->recipe->stages)
        return br_fail(BR_EINPUT, "--recipe %s: %s has one way to run (leave --recipe out)",
                       o->recipe, m->family->name);
    if (o->recipe && run->recipe->stages(&(br_run_request){.recipe = o->recipe}) < 0)
        return BR_EINPUT; // an unknown name, said by the family
    const br_guidance *d = run->recipe->guidance_for ? run->recipe->guidance_for(o->recipe) : NULL;
    default_guidance(o, d ? d : &run->recipe->default_guidance);
    BR_TRY(check_settings(o));
    if (!run->recipe->decoder_open && strcmp(o->vae_dir, "none") != 0)
        return br_fail(BR_EINPUT, "%s: brigade has no decoders for %s yet: run with --vae none "
                       "(latents.h5 only)", m->config_path, m->family->name);
    if (o->n_images && !run->recipe->max_images)
        return br_fail(BR_EINPUT, "--image: %s's pipeline takes no image", m->family->name);
    if (o->n_images > run->recipe->max_images)
        return br_fail(BR_EINPUT, "--image: %s takes at most %d images", m->family->name,
                       run->recipe->max_images);
    char path[4096];
    snprintf(path, sizeof path, "%s/scheduler_config.json", o->scheduler_dir);
    cJSON *json = NULL;
    BR_TRY(br_json_read_object(path, &json));
    br_status st = nn_flow_config_parse(&run->sched, json, path);
    cJSON_Delete(json);
    return st;
}

// Where the prompts' tensors come from, for messages: the embeddings file, or the text encoder.
static const char *inputs_name(const run_state *run) {
    return run->opts->n_prompts ? "the text encoder's output" : run->opts->embeddings_path;
}

static br_status open_models(run_state *run) {
    BR_TRY(run_open_model(run, run->settings.transformer_dir));
    return check_model_settings(run);
}

// Rank 0: tensor name of the inputs with shape [rows (any of allowed), want1, want2...].
static br_status need(const run_state *run, const char *name, int ndim, const int64_t *want,
                      int rows_any, const br_tensor **out) {
    int64_t shape[3];
    memcpy(shape, want, (size_t)ndim * sizeof *shape);
    if (rows_any) shape[0] = -1;
    const char *hint = name[0] == 'p' && ndim == 3 ? " (the transformer's caption_channels)" : NULL;
    return br_set_need(&run->inputs, inputs_name(run), name, ndim, shape, !rows_any, hint, out);
}

// "random:N,L": N prompts of L tokens with random embeddings (and negative ones), every token
// kept: for benchmarks of real model sizes without a text encoder.
static br_status random_embeddings(run_state *run, const char *spec) {
    int N, L;
    if (sscanf(spec, "random:%d,%d", &N, &L) != 2 || N < 1 || N > RUN_MAX_JOBS || L < 1 || L > 4096)
        return br_fail(BR_EINPUT, "--embeddings %s: expected random:N,L (jobs, tokens)", spec);
    const int64_t C = run->model.text_channels;
    const char *names[] = {"prompt_embeds", "negative_prompt_embeds", "prompt_attention_mask",
                           "negative_prompt_attention_mask"};
    for (int i = 0; i < 4; i++) {
        br_tensor *t = i < 2 ? br_set_add(&run->inputs, names[i], 3, (int64_t[]){N, L, C})
                             : br_set_add(&run->inputs, names[i], 2, (int64_t[]){N, L});
        if (!t) return BR_ENOMEM;
        const size_t n = (size_t)br_numel(t->ndim, t->shape);
        br_rng rng = br_rng_make(run->opts->seed, 7000 + i);
        if (i < 2) br_rng_normal(&rng, t->data, n);
        else for (size_t k = 0; k < n; k++) t->data[k] = 1.0f;
    }
    return BR_OK;
}

// The masks under diffusers' other name for them (prompt_embeds_mask, as some pipelines write
// them) read as prompt_attention_mask, when that is absent.
static void mask_aliases(br_tensor_set *set) {
    const char *alias[2][2] = {{"prompt_embeds_mask", "prompt_attention_mask"},
                               {"negative_prompt_embeds_mask", "negative_prompt_attention_mask"}};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < set->n_tensors; k++)
            if (!strcmp(set->tensors[k].name, alias[i][0]) && !br_set_find(set, alias[i][1]))
                snprintf(set->tensors[k].name, sizeof set->tensors[k].name, "%s", alias[i][1]);
}

static br_status read_embeddings(run_state *run) {
    run_plan *p = &run->plan;
    const char *path = inputs_name(run);
    if (!run->opts->n_prompts) { // (prompts as text: run_encode_prompts filled run->inputs)
        if (strncmp(path, "random:", 7) == 0) BR_TRY(random_embeddings(run, path));
        else BR_TRY(br_tensor_file_read(path, &run->inputs));
    }
    mask_aliases(&run->inputs);
    const br_tensor *t;
    const int64_t Cc = run->model.text_channels;
    BR_TRY(need(run, "prompt_embeds", 3, (int64_t[]){-1, -1, Cc}, 1, &t));
    if (t->shape[0] < 1 || t->shape[0] > RUN_MAX_JOBS || t->shape[1] < 1)
        return br_fail(BR_EINPUT, "%s: prompt_embeds must hold 1..%d prompts of at least one token",
                       path, RUN_MAX_JOBS);
    p->n_jobs = (int)t->shape[0], p->geom.text_tokens = (int)t->shape[1];
    const int64_t N = p->n_jobs, L = p->geom.text_tokens;
    BR_TRY(need(run, "prompt_attention_mask", 2, (int64_t[]){N, L}, 0, &t));
    if (t->shape[0] != N)
        return br_fail(BR_EINPUT, "%s: prompt_attention_mask must have %lld rows", path, (long long)N);
    const br_guidance gs = run_guidance(run->opts);
    p->n_passes = run->recipe->passes(&gs, p->passes);
    if (!run_wants_negative(run)) return BR_OK;
    if (!br_set_find(&run->inputs, "negative_prompt_embeds"))
        return br_fail(BR_EINPUT, "%s: --guidance %g needs negative_prompt_embeds and "
                       "negative_prompt_attention_mask (tools/encode_prompt.py writes them; "
                       "--guidance 1 runs without)", path, run->opts->guidance);
    BR_TRY(need(run, "negative_prompt_embeds", 3, (int64_t[]){N, L, Cc}, 0, &t));
    return need(run, "negative_prompt_attention_mask", 2, (int64_t[]){t->shape[0], L}, 0, &t);
}

// Rank 0: the start latents: from --latents (tensor "latents", one per job or one for all) or
// from --seed (job j draws stream j).
static br_status start_latents(run_state *run) {
    const run_plan *p = &run->plan;
    const int S = p->geom.latent_tokens;
    const size_t n = (size_t)S * p->C;
    if (!run->opts->latents_path) {
        for (int j = 0; j < p->n_jobs; j++) {
            br_rng rng = br_rng_make(run->opts->seed, (uint64_t)j);
            br_rng_normal(&rng, run->x + j * n, n);
        }
        return BR_OK;
    }
    const char *path = run->opts->latents_path;
    br_tensor_set *set = &run->latents_file;
    br_status st = br_tensor_file_read(path, set);
    const br_tensor *t = st == BR_OK ? br_set_find(set, "latents") : NULL;
    if (st == BR_OK && (!t || t->ndim != 3 || (t->shape[0] != p->n_jobs && t->shape[0] != 1) ||
                        t->shape[1] != S || t->shape[2] != p->C)) {
        char want[96];
        st = br_fail(BR_EINPUT, "%s: needs tensor \"latents\" of shape %s (packed; or 1 row for all "
                     "jobs) for --height %d --width %d --frames %d", path,
                     br_shape_str(want, sizeof want, 3, (int64_t[]){p->n_jobs, S, p->C}),
                     p->height, p->width, p->frames);
    }
    for (int j = 0; st == BR_OK && j < p->n_jobs; j++)
        memcpy(run->x + j * n, t->data + (t->shape[0] == 1 ? 0 : j * n), n * sizeof(float));
    // The noise of a later stage's start, where a recipe has stages (the draws a test fixes).
    const br_tensor *z = br_set_find(set, "renoise");
    const int S2 = p->stage_geom[p->n_stages - 1].latent_tokens;
    if (st == BR_OK && z && (p->n_stages != 2 || z->ndim != 3 || z->shape[1] != S2 ||
                             z->shape[2] != p->C || (z->shape[0] != 1 && z->shape[0] != p->n_jobs)))
        st = br_fail(BR_EINPUT, "%s: \"renoise\" is the noise of a second stage's start, [%d or "
                     "1, %d, %d]", path, p->n_jobs, S2, p->C);
    return st;
}

// Rank 0: --out exists (made when missing) and takes files, before any work.
static br_status prepare_out(const char *dir, int resume) {
    struct stat sb;
    if (resume && stat(dir, &sb) != 0)
        return br_fail(BR_EINPUT, "--resume: --out %s does not exist", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return br_fail(BR_EIO, "--out %s: cannot create the folder: %s", dir, strerror(errno));
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.brigade-probe.tmp", dir);
    FILE *f = fopen(probe, "w");
    if (!f) return br_fail(BR_EIO, "--out %s: cannot write there: %s", dir, strerror(errno));
    fclose(f);
    remove(probe);
    return BR_OK;
}

// The request of the options (sizes as planned once plan_geometry has filled them in).
static br_run_request request(const run_state *run, const br_guidance *gs) {
    const br_run_opts *o = run->opts;
    return (br_run_request){.height = o->height, .width = o->width, .frames = o->frames,
                            .frame_rate = o->frame_rate, .n_images = o->n_images,
                            .images = run->images, .image_area = o->image_area, .guidance = gs,
                            .recipe = o->recipe, .stg_blocks = o->stg_blocks};
}

// Rank 0: stage s's grid and its steps' sigmas, from step `first` of the run on; the request
// req of the whole run (its defaults filled in by stage 0's geometry).
static br_status plan_stage(run_state *run, int s, br_run_request *req, int first) {
    run_plan *p = &run->plan;
    const br_recipe *r = run->recipe;
    br_run_request stage_req = *req;
    float given[RUN_MAX_STEPS], sigmas[RUN_MAX_STEPS + 1];
    int steps = 0;
    if (r->stage_request) BR_TRY(r->stage_request(&run->model, s, &stage_req, given, &steps));
    br_geometry *g = &p->stage_geom[s];
    BR_TRY(r->geometry(&run->model, &stage_req, g));
    if (s == 0 && !r->stage_request) *req = stage_req; // the run's sizes: the one stage's
    g->text_tokens = p->geom.text_tokens;
    const int own = steps > 0; // the stage's own sigmas
    if (!own) steps = run->opts->steps;
    if (first + steps > RUN_MAX_STEPS)
        return br_fail(BR_EINPUT, "the recipe's stages take more than %d steps", RUN_MAX_STEPS);
    const int shift_tokens = g->shift_tokens ? g->shift_tokens : g->latent_tokens;
    BR_TRY(nn_flow_sigmas(&run->sched, steps, shift_tokens, own ? given : NULL, sigmas));
    for (int k = 0; k < steps; k++)
        p->sigma[first + k] = sigmas[k], p->sigma_next[first + k] = sigmas[k + 1];
    p->stage_end[s] = first + steps;
    return BR_OK;
}

// Rank 0: the request's images, the stages of the recipe, and the latent grid of each (the
// family's defaults filled in, its sizes checked).
static br_status plan_geometry(run_state *run) {
    const br_run_opts *o = run->opts;
    run_plan *p = &run->plan;
    if (o->n_images && !(run->images = calloc((size_t)o->n_images, sizeof *run->images)))
        return br_fail(BR_ENOMEM, "out of memory");
    for (int i = 0; i < o->n_images; i++) BR_TRY(br_image_read_png(o->images[i], &run->images[i]));
    const br_guidance gs = run_guidance(o);
    br_run_request req = request(run, &gs);
    p->n_stages = run->recipe->stages ? run->recipe->stages(&req) : 1;
    if (p->n_stages < 0) return BR_EINPUT;
    if (p->n_stages < 1 || p->n_stages > RUN_MAX_STAGES)
        return br_fail(BR_EINPUT, "the recipe asks for %d stages", p->n_stages);
    if (run->recipe->stage_request) { // the whole run's sizes, the family's defaults filled in
        br_geometry whole;
        BR_TRY(run->recipe->geometry(&run->model, &req, &whole));
    }
    for (int s = 0; s < p->n_stages; s++) BR_TRY(plan_stage(run, s, &req, s ? p->stage_end[s - 1] : 0));
    p->stage = 0, p->geom = p->stage_geom[0];
    run->settings.steps = p->stage_end[p->n_stages - 1];
    p->height = req.height, p->width = req.width, p->frames = req.frames;
    p->frame_rate = req.frame_rate, run->settings.frame_rate = req.frame_rate;
    run->settings.height = req.height, run->settings.width = req.width; // for the checkpoint
    run->settings.frames = req.frames;
    return BR_OK;
}

// Rank 0: the conditioning tokens of the request's images (the recipe's encoder), before the
// transformer is loaded.
static br_status encode_images(run_state *run) {
    const br_geometry *g = &run->plan.geom;
    const size_t held = (size_t)g->held_tokens * run->plan.C;
    const size_t n = held + (size_t)(g->tokens - g->latent_tokens) * run->plan.C;
    if (!n || !run->recipe->encode) return BR_OK;
    const br_run_opts *o = run->opts;
    const br_guidance gs = run_guidance(o);
    br_run_request req = request(run, &gs);
    if (!(run->cond = malloc(n * sizeof(float))))
        return br_fail(BR_ENOMEM, "out of memory for the conditioning tokens");
    const double t0 = br_now();
    BR_TRY(run->recipe->encode(&run->model, o->vae_dir, run->be, &req, g, run->cond));
    printf("encode: %d image(s), %d conditioning tokens, %.2f s\n", o->n_images,
           g->held_tokens + g->tokens - g->latent_tokens, br_now() - t0);
    fflush(stdout);
    // The held tokens start every job as the conditioning gives them.
    const size_t job = (size_t)g->latent_tokens * run->plan.C;
    for (int j = 0; j < run->plan.n_jobs; j++) memcpy(run->x + j * job, run->cond, held * sizeof(float));
    return BR_OK;
}

static br_status plan_run(run_state *run) {
    run_plan *p = &run->plan;
    const br_run_opts *o = run->opts;
    BR_TRY(prepare_out(o->out_dir, o->resume));
    if (run->rank == 0 && run->recipe->sound_open && strcmp(o->vae_dir, "none") != 0 &&
        !br_wav_available()) // said now, not after the work: the job goes on without its sound
        fprintf(stderr, "brigade: warning: built without libsndfile: the jobs' sound is not made "
                "(no job-NNN.wav, an MP4 without audio); apt-get install libsndfile1-dev, then "
                "rebuild\n");
    BR_TRY(read_embeddings(run));
    BR_TRY(plan_geometry(run));
    p->C = run->model.in_channels;
    p->n_items = p->n_passes * p->n_jobs;
    p->microbatch = o->microbatch < p->n_items ? o->microbatch : p->n_items;
    p->n_micro = 0;
    for (int item = 0; item < p->n_items; item = run_micro_end(p, item)) p->n_micro++;
    if (!(run->x = malloc(run_latent_bytes(p))))
        return br_fail(BR_ENOMEM, "out of memory for the latents");
    BR_TRY(start_latents(run));
    BR_TRY(encode_images(run)); // before the checkpoint's fingerprint of the inputs
    return o->resume ? run_read_checkpoint(run) : BR_OK;
}

// The return messages from the last rank to rank 0: one buffer per micro-batch on both sides (a
// non-blocking send owns the sender's until the next step; a receive posted ahead, the
// receiver's).
static br_status alloc_returns(run_state *run) {
    const run_plan *p = &run->plan;
    // At most every item a completed job.
    const size_t most = 1 + (size_t)p->microbatch * p->geom.latent_tokens * p->C;
    if (run->last == 0 || (run->rank != 0 && run->rank != run->last)) return BR_OK;
    if (!(run->returns = calloc((size_t)p->n_micro, sizeof *run->returns)) ||
        !(run->return_req = calloc((size_t)p->n_micro, sizeof *run->return_req)))
        return br_fail(BR_ENOMEM, "out of memory");
    for (int m = 0; m < p->n_micro; m++)
        if (!(run->returns[m] = malloc(most * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of memory for the returned latents");
    return BR_OK;
}

// The buffers of the current stage (its grid): micro-batches and their prompt slots, the
// workspace, the baton, the tables, the inputs and outputs of the loop, the returns.
static br_status alloc_buffers(run_state *run) {
    br_backend *be = run->be;
    const run_plan *p = &run->plan;
    const br_layout *l = &run->layout;
    const size_t n = (size_t)p->geom.latent_tokens * p->C, b = (size_t)p->microbatch;
    if (!(run->micro = calloc((size_t)p->n_micro, sizeof *run->micro)))
        return br_fail(BR_ENOMEM, "out of memory");
    for (int m = 0, item = 0; m < p->n_micro; m++) {
        run_micro *mb = &run->micro[m];
        mb->first = item;
        item = run_micro_end(p, item);
        mb->n = item - mb->first;
        mb->mode = br_pass_mode(run_item_pass(p, mb->first));
        for (int k = 0; k < l->n_prompt; k++)
            if (!(mb->prompt[k] = be->alloc(be, mb->n * br_slot_floats(&l->prompt[k]),
                                            l->prompt[k].name)))
                return BR_ENOMEM;
    }
    BR_TRY(run->model.family->workspace_alloc(&run->model, be, &p->geom, p->microbatch, &run->ws));
    if (!(run->baton = be->alloc(be, b * br_baton_floats(l) + 1, "the baton")))
        return BR_ENOMEM;
    for (int k = 0; k < l->n_table; k++)
        if (!(run->tables[k] = be->alloc(be, br_slot_floats(&l->table[k]), l->table[k].name)))
            return BR_ENOMEM;
    const size_t all = (size_t)p->geom.tokens * p->C; // the model's sequence of an item
    if (run->rank == 0 && (!(run->latents_dev = be->alloc(be, b * all, "input latents")) ||
                           !(run->timestep_dev = be->alloc(be, b * p->geom.step_values,
                                                           "timesteps"))))
        return BR_ENOMEM;
    if (run->rank == 0 && !(run->timestep_host = malloc(b * p->geom.step_values * sizeof(float))))
        return br_fail(BR_ENOMEM, "out of memory for the timesteps");
    const size_t held = (size_t)p->geom.held_tokens * p->C;
    for (size_t i = 0; run->rank == 0 && run->cond && all > n && i < b; i++) // after its latents
        be->upload(be, run->latents_dev + i * all + n, run->cond + held, all - n);
    if (run->rank == run->last) {
        if (!(run->v_dev = be->alloc(be, b * all, "velocities"))) return BR_ENOMEM;
        if (!(run->v = malloc((size_t)p->n_items * n * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of host memory for the velocities");
    }
    return alloc_returns(run);
}

// The weights of this rank's blocks, once for every stage; the buffers of the whole run.
static br_status load_weights(run_state *run) {
    BR_TRY(run_load_stage(run));
    if (!run->x && (run->rank == 0 || run->rank == run->last) &&
        !(run->x = malloc(run_latent_bytes(&run->plan))))
        return br_fail(BR_ENOMEM, "out of host memory for the latents");
    if (run->rank == 0 && !(run->step_seconds = calloc((size_t)run->opts->steps, sizeof(double))))
        return br_fail(BR_ENOMEM, "out of memory");
    return BR_OK;
}

// Stage s's layout, buffers and tables.
br_status run_plan_buffers(run_state *run, int s) {
    run->plan.stage = s, run->plan.geom = run->plan.stage_geom[s];
    run->model.family->layout(&run->model, &run->plan.geom, &run->layout);
    BR_TRY(alloc_buffers(run));
    br_batch tables = {.geom = &run->plan.geom};
    memcpy(tables.table, run->tables, sizeof tables.table);
    return run->model.family->tables(&run->model, run->be, &tables);
}

void run_free_buffers(run_state *run) {
    br_backend *be = run->be;
    for (int m = 0; run->micro && m < run->plan.n_micro; m++)
        for (int k = 0; k < BR_MAX_SLOTS; k++) be->release(be, run->micro[m].prompt[k]);
    free(run->micro);
    run->micro = NULL;
    float **bufs[] = {&run->baton, &run->latents_dev, &run->timestep_dev, &run->v_dev};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        be->release(be, *bufs[i]);
        *bufs[i] = NULL;
    }
    for (int k = 0; k < BR_MAX_SLOTS; k++) {
        be->release(be, run->tables[k]);
        run->tables[k] = NULL;
    }
    if (run->model.family) run->model.family->workspace_free(be, run->ws);
    run->ws = NULL;
    for (int m = 0; run->returns && m < run->plan.n_micro; m++) free(run->returns[m]);
    free(run->returns);
    free(run->return_req); // every request was waited for by the end of the loop
    free(run->v);
    free(run->timestep_host);
    run->returns = NULL, run->return_req = NULL, run->v = NULL, run->timestep_host = NULL;
}

// Before the decode: its memory (`brigade serve` keeps the blocks for the next job).
static void free_transformer(run_state *run) {
    run_free_buffers(run);
    if (!run->opts->keep) br_stage_free(&run->stage);
}

static void run_free(run_state *run) {
    run_free_buffers(run);
    // The blocks' errors stay with the blocks a server keeps; the decoder's go with it.
    if (run->stage_loaded && run->be->n_q8_errors > run->q8_after_load)
        run->be->n_q8_errors = run->q8_after_load;
    run_release_model(run);
    free(run->events);
    free(run->placement);
    free(run->mem_all);
    cJSON_Delete(run->int8_tables);
    free(run->x);
    free(run->step_seconds);
    br_set_free(&run->inputs);
    br_set_free(&run->latents_file);
    for (int i = 0; run->images && i < run->opts->n_images; i++) br_image_free(&run->images[i]);
    free(run->images);
    free(run->cond);
}

// The stage whose latents the run starts from: 0, or a resumed run's, the stage of its last
// completed step.
int run_first_stage(const run_plan *p) {
    int s = 0;
    while (s < p->n_stages - 1 && p->start_step > p->stage_end[s]) s++;
    return s;
}

// Rank 0, between stages s and s + 1: the recipe turns the jobs' latents into the next stage's
// start (where --latents holds "renoise", its noise; else draws of --seed).
static br_status next_stage(run_state *run, int s) {
    run_plan *p = &run->plan;
    const br_tensor *noise = br_set_find(&run->latents_file, "renoise"); // checked when read
    const br_geometry *to = &p->stage_geom[s + 1];
    const size_t from_bytes = (size_t)p->n_jobs * p->stage_geom[s].latent_tokens * p->C * sizeof(float);
    float *from = malloc(from_bytes);
    if (!from) return br_fail(BR_ENOMEM, "out of memory for the latents between stages");
    memcpy(from, run->x, from_bytes);
    const double t0 = br_now();
    br_status st = run->recipe->next_stage(&run->model, run->be,
                                           &p->stage_geom[s], from, to, run->x, p->n_jobs,
                                           p->sigma[p->stage_end[s]], run->opts->seed,
                                           noise ? noise->data : NULL,
                                           noise ? (int)noise->shape[0] : 0);
    free(from);
    if (st == BR_OK && run->opts->label) printf("%s: ", run->opts->label);
    if (st == BR_OK) printf("stage %d/%d: latents from stage %d in %.2f s\n", s + 2, p->n_stages,
                            s + 1, br_now() - t0);
    return st;
}

// Stage s on every rank up to its loop: its buffers, the start latents handed to the last rank
// (which applies the Euler steps), the prompts.
static br_status stage_begin(run_state *run, int s) {
    br_comm *comm = run->comm;
    run->stage_now = s;
    run->be->peak_bytes = run->be->bytes_in_use; // each phase's peak counts from its start's
    br_status st = br_comm_agree(comm, run_plan_buffers(run, s)); // holdings
    if (st != BR_OK) return st;
    const run_plan *p = &run->plan;
    const size_t x_bytes = (size_t)p->n_jobs * p->geom.latent_tokens * p->C * sizeof(float);
    if (run->last != 0 && run->rank == 0) BR_TRY(br_comm_send_bytes(comm, run->x, x_bytes, run->last));
    if (run->last != 0 && run->rank == run->last)
        BR_TRY(br_comm_recv_bytes(comm, run->x, x_bytes, 0));
    BR_TRY(run_project_prompts(run));
    return run_loop_begin(run); // (a loop of no steps where a resumed run had done the stage)
}

// The run after the settings were agreed, up to the first stage's loop; every step returns the
// agreed status.
static br_status run_begin(run_state *run) {
    br_comm *comm = run->comm;
    const int first = run->rank == 0;
    if (run->opts->n_prompts) BR_TRY(run_encode_prompts(run)); // agreed inside
    br_status st = br_comm_agree(comm, first ? plan_run(run) : BR_OK);
    if (st != BR_OK) return st;
    BR_TRY(br_comm_bcast_bytes(comm, &run->plan, sizeof run->plan, 0));
    run_stop_start(run); // rank 0: from here Ctrl-C saves the steps done
    run->settings.height = run->plan.height, run->settings.width = run->plan.width;
    run->settings.frames = run->plan.frames, run->settings.frame_rate = run->plan.frame_rate;
    st = br_split_parse(run->opts->split, run->model.layers, run->n_ranks, run->first);
    if (st == BR_OK) run_keep_split(run);
    if ((st = br_comm_agree(comm, st)) != BR_OK) return st;
    // Before any load (agreed inside); without --split it may move blocks off a rank that
    // the balanced split does not fit.
    if ((st = run_plan_memory(run)) != BR_OK) return st;
    // A baton per item (the family's slots) and its flag, in the last (largest) stage.
    run_plan *p = &run->plan;
    run->model.family->layout(&run->model, &p->stage_geom[p->n_stages - 1], &run->layout);
    const double item = (double)br_baton_floats(&run->layout) * sizeof(float);
    const double hop = p->microbatch * item + sizeof(float),
                 step = p->n_items * item + p->n_micro * sizeof(float);
    BR_TRY(br_placement_report(comm, run->be, run->first, hop, step, &run->placement));
    if ((st = br_comm_agree(comm, load_weights(run))) != BR_OK) return st;
    run->stage_loaded = 1;
    run_keep_stage(run);
    run->q8_after_load = run->be->n_q8_errors; // (a decoder's matrices come after)
    BR_TRY(run_int8_say(run));
    return stage_begin(run, run_first_stage(p));
}

// The run after the last stage's loop: latents, the decode, the files.
static br_status run_end(run_state *run) {
    br_comm *comm = run->comm;
    const int first = run->rank == 0;
    br_status st = br_comm_agree(comm, first ? run_write_latents(run) : BR_OK);
    if (st != BR_OK) return st;
    free_transformer(run);
    if ((st = br_comm_agree(comm, run_write_trace(run))) != BR_OK) return st;
    run->be->peak_bytes = run->be->bytes_in_use; // the decode's peak from here
    BR_TRY(run_decode(run)); // agreed inside, after each job
    run->stats.peak_decode = (double)run->be->peak_bytes;
    if ((st = br_comm_agree(comm, run_write_report(run))) != BR_OK) return st;
    if (first) run_remove_checkpoint(run); // every output is written: nothing to resume
    return BR_OK;
}

// After a stage's loop: the next stage up to its loop, or the end.
static br_status advance(run_state *run, int *done) {
    const int s = run->stage_now, first = run->rank == 0;
    if (s == run->plan.n_stages - 1) return run_end(run);
    run_free_buffers(run);
    run->be->peak_bytes = run->be->bytes_in_use;
    br_status st = br_comm_agree(run->comm, first ? next_stage(run, s) : BR_OK);
    if (st != BR_OK) return st;
    run->stats.peak_between = fmax(run->stats.peak_between, (double)run->be->peak_bytes);
    st = stage_begin(run, s + 1);
    *done = st != BR_OK; // (a next stage that could not begin ends the run)
    return st;
}

br_status br_run_check(const br_model *model, const br_run_opts *opts) {
    run_state *run = calloc(1, sizeof *run);
    if (!run) return br_fail(BR_ENOMEM, "out of memory");
    run->settings = *opts, run->opts = &run->settings, run->model = *model; // (not closed here)
    br_status st = check_model_settings(run);
    if (st == BR_OK) st = plan_geometry(run);
    for (int i = 0; run->images && i < opts->n_images; i++) br_image_free(&run->images[i]);
    free(run->images);
    free(run);
    return st;
}

br_status br_run_start(br_comm *comm, br_backend *be, const br_run_opts *opts,
                       br_inflight **out) {
    run_state *run = *out = calloc(1, sizeof *run);
    if (!run) return br_fail(BR_ENOMEM, "out of memory");
    run_watchdog_hold(1); // (the loops of other runs wait meanwhile)
    run->settings = *opts; // the family's defaults go in here
    run->comm = comm, run->be = be, run->opts = &run->settings, run->t_start = br_now();
    run->rank = br_comm_rank(comm), run->n_ranks = br_comm_size(comm);
    run->last = run->n_ranks - 1;
    run->meter = br_energy_start(be->pci_bus_id[0] ? be->pci_bus_id : NULL);
    br_status st = run->n_ranks > RUN_MAX_RANKS
                       ? br_fail(BR_EINPUT, "%d ranks: at most %d", run->n_ranks, RUN_MAX_RANKS)
                       : open_models(run);
    if ((st = br_comm_agree(comm, st)) == BR_OK) st = run_begin(run);
    run_watchdog_hold(0);
    if (st != BR_OK) br_run_free(run), *out = NULL;
    return st;
}

int br_run_stepping(const br_inflight *run) {
    return run->steps_status == BR_OK && run_loop_stepping(run);
}

void br_run_step(br_inflight *run) {
    if (run->steps_status == BR_OK) run->steps_status = run_loop_step(run);
}

br_status br_run_advance(br_inflight *run, int *done) {
    if (!run->in_loop) return *done = 1, br_fail(BR_EINTERNAL, "a run advanced twice");
    br_status st = run_loop_end(run, run->steps_status); // (watched: it waits for the returns)
    run->stats.peak_denoise = fmax(run->stats.peak_denoise, (double)run->be->peak_bytes);
    *done = 1;
    if (st != BR_OK) return st;
    run_watchdog_hold(1);
    st = advance(run, done);
    run_watchdog_hold(0);
    return st;
}

int br_run_failing(const br_inflight *run) { return run->in_loop && run->failed_seen; }

void br_run_cut(br_inflight *run) { run->loop_cut = 1; }

double br_run_loop_bytes(const br_inflight *run) {
    return run->mem.denoise.activations + run->mem.denoise.workspace - run->mem.scratch;
}

void br_run_free(br_inflight *run) {
    if (!run) return;
    run_loop_abandon(run); // (a server that quits with jobs in flight)
    run_stop_end(run);
    br_energy_stop(run->meter, &(br_energy_reading){0}); // a failed run reports no cost
    run_free(run);
    free(run);
}

br_status br_run(br_comm *comm, br_backend *be, const br_run_opts *opts) {
    br_inflight *run;
    br_status st = br_run_start(comm, be, opts, &run);
    for (int done = st != BR_OK; !done;) {
        while (br_run_stepping(run)) br_run_step(run);
        st = br_run_advance(run, &done);
    }
    br_run_free(run);
    return st;
}
