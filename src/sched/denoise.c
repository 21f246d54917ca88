// denoise.c: the denoising loop over the pipeline of ranks (the sequential schedule: one
// micro-batch in flight at a time).
//   once      rank 0 projects each micro-batch's prompt; every rank receives it (one broadcast)
//   per step  for each micro-batch: rank 0 embeds the latents and timestep; the baton (hidden
//             states, temb, embedded timestep) goes rank to rank through the blocks; the last rank
//             runs the output side, and when a job's two halves are in, applies guidance and the
//             Euler step and returns the job's new latents to rank 0
//   per step  all ranks agree (a failed guard anywhere stops the run with its message), rank 0
//             prints progress
// The arithmetic of a micro-batch does not depend on the number of ranks, so N ranks give the
// bits of one.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"
#include "run_internal.h"

// The context of micro-batch m as ltx_model wants it: views of the run's buffers.
static ltx_context micro_context(const run_state *run, const run_micro *mb) {
    const run_plan *p = &run->plan;
    const size_t D = run->cfg.dim, hidden = (size_t)mb->n * p->S * D;
    ltx_context ctx = {.B = mb->n, .S = p->S, .L = p->L, .caption = mb->caption,
                       .mask_bias = mb->mask_bias, .rope_cos = run->rope_cos,
                       .rope_sin = run->rope_sin};
    ctx.temb = run->baton + hidden;
    ctx.embedded_timestep = ctx.temb + (size_t)mb->n * LTX_ADA_PARAMS * D;
    return ctx;
}

static size_t baton_floats(const run_state *run, int n) {
    return (size_t)n * ((size_t)run->plan.S + LTX_ADA_PARAMS + 1) * run->cfg.dim;
}

// Rank 0: the prompt rows of item i: the job's prompt, or its negative prompt (one may serve all).
static void item_prompt(const run_state *run, int item, const float **embeds, const float **mask) {
    const run_plan *p = &run->plan;
    const int job = run_item_job(p, item), cond = run_item_cond(p, item);
    const br_tensor *e = br_set_find(&run->inputs, cond ? "prompt_embeds" : "negative_prompt_embeds");
    const br_tensor *k = br_set_find(&run->inputs, cond ? "prompt_attention_mask"
                                                        : "negative_prompt_attention_mask");
    const int row = e->shape[0] == 1 ? 0 : job;
    *embeds = e->data + (size_t)row * p->L * run->cfg.caption_channels;
    *mask = k->data + (size_t)row * p->L;
}

// Rank 0: caption projection and mask bias of one micro-batch.
static br_status project_one(run_state *run, run_micro *mb) {
    br_backend *be = run->be;
    const size_t L = run->plan.L, Cc = run->cfg.caption_channels;
    float *host = malloc((size_t)mb->n * L * (Cc + 1) * sizeof(float));
    if (!host) return br_fail(BR_ENOMEM, "out of memory for the prompts");
    float *bias = host + (size_t)mb->n * L * Cc;
    for (int i = 0; i < mb->n; i++) {
        const float *embeds, *mask;
        item_prompt(run, mb->first + i, &embeds, &mask);
        memcpy(host + (size_t)i * L * Cc, embeds, L * Cc * sizeof(float));
        ltx_mask_bias(bias + (size_t)i * L, mask, (int)L);
    }
    float *prompt = be->alloc(be, (size_t)mb->n * L * Cc, "prompt embeddings");
    if (!prompt) {
        free(host);
        return BR_ENOMEM;
    }
    be->upload(be, prompt, host, (size_t)mb->n * L * Cc);
    be->upload(be, mb->mask_bias, bias, (size_t)mb->n * L);
    ltx_context ctx = micro_context(run, mb);
    ltx_embed_prompt(be, &run->cfg, &run->stage.in, prompt, &ctx, &run->ws);
    be->sync(be);
    be->release(be, prompt);
    free(host);
    return BR_OK;
}

br_status run_project_prompts(run_state *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    br_status st = BR_OK;
    for (int m = 0; m < run->plan.n_micro && st == BR_OK && run->rank == 0; m++)
        st = project_one(run, &run->micro[m]);
    if ((st = br_comm_agree(run->comm, st)) != BR_OK) return st;
    for (int m = 0; m < run->plan.n_micro; m++) {
        run_micro *mb = &run->micro[m];
        BR_TRY(tr->bcast(run->comm, mb->caption, (size_t)mb->n * run->plan.L * run->cfg.dim, 0));
        BR_TRY(tr->bcast(run->comm, mb->mask_bias, (size_t)mb->n * run->plan.L, 0));
    }
    return BR_OK;
}

// Rank 0: the latents and timesteps of the micro-batch's items onto the device, then the input side.
static void embed_inputs(run_state *run, const run_micro *mb, int step) {
    br_backend *be = run->be;
    const run_plan *p = &run->plan;
    const size_t n = (size_t)p->S * p->C;
    float t[RUN_MAX_JOBS * 2];
    for (int i = 0; i < mb->n; i++) {
        int job = run_item_job(p, mb->first + i);
        be->upload(be, run->latents_dev + i * n, run->x + job * n, n);
        t[i] = p->sigmas[step] * (float)run->sched.num_train_timesteps;
    }
    be->upload(be, run->timestep_dev, t, (size_t)mb->n);
    ltx_context ctx = micro_context(run, mb);
    ltx_embed_latents(be, &run->cfg, &run->stage.in, run->latents_dev, run->timestep_dev, &ctx,
                      &run->ws, run->baton);
}

// Jobs whose conditional half (their last item) is in the micro-batch: they finish this step
// here. They are consecutive: *count of them from *first.
static void completed_jobs(const run_plan *p, const run_micro *mb, int *first, int *count) {
    *first = 0, *count = 0;
    for (int i = mb->first; i < mb->first + mb->n; i++)
        if (run_item_cond(p, i)) {
            if (*count == 0) *first = run_item_job(p, i);
            (*count)++;
        }
}

// Last rank: the output side; the velocities are checked (NaN/Inf here would reach every later
// step and the frames); guidance and the Euler step for the completed jobs.
static br_status finish_micro(run_state *run, const run_micro *mb, int step, int m) {
    br_backend *be = run->be;
    const run_plan *p = &run->plan;
    const size_t n = (size_t)p->S * p->C;
    ltx_context ctx = micro_context(run, mb);
    ltx_output_side(be, &run->cfg, &run->stage.out, &ctx, &run->ws, run->baton, run->v_dev);
    float *v = run->v + (size_t)mb->first * n;
    be->download(be, v, run->v_dev, mb->n * n);
    float max_abs;
    size_t bad = cpu_count_non_finite(v, mb->n * n, &max_abs);
    br_status st = BR_OK;
    if (bad)
        st = br_fail(BR_EINPUT, "step %d, micro-batch %d: the transformer output holds %zu NaN/Inf "
                     "values (run with --check all to find the block where they start)",
                     step, m, bad);
    int j0, count;
    completed_jobs(p, mb, &j0, &count);
    for (int j = j0; j < j0 + count; j++) {
        float *x = run->x + j * n, *v_job = run->v + (size_t)(p->cfg ? 2 * j : j) * n;
        if (p->cfg) // the guided velocity goes where the unconditional one was
            ltx_guidance(v_job, v_job, v_job + n, n, (float)run->opts->guidance,
                         (float)run->opts->guidance_rescale);
        ltx_euler_step(x, v_job, n, p->sigmas[step], p->sigmas[step + 1]);
    }
    return st;
}

// One micro-batch through every rank, and the completed jobs' latents back to rank 0.
static br_status forward_micro(run_state *run, int step, int m) {
    const br_transport *tr = br_comm_transport(run->comm);
    const run_micro *mb = &run->micro[m];
    const size_t baton = baton_floats(run, mb->n), n = (size_t)run->plan.S * run->plan.C;
    br_backend *be = run->be;
    double t0 = run_now();
    if (run->rank == 0) {
        embed_inputs(run, mb, step);
    } else {
        BR_TRY(tr->recv(run->comm, run->baton, baton, run->rank - 1));
        t0 = run_now();
    }
    const int check = run->opts->check == 2 || (run->opts->check == 1 && step == 0);
    br_guard guard = {check, step, m};
    ltx_context ctx = micro_context(run, mb);
    br_status st = br_stage_run_blocks(&run->stage, &ctx, &run->ws, run->baton, NULL, &guard);
    be->sync(be);
    // Even after a failed guard the baton goes on, so that no rank waits forever; the agreement
    // at the end of the step names the first failure.
    if (run->rank < run->last) {
        run->stats.busy += run_now() - t0;
        BR_TRY(tr->send(run->comm, run->baton, baton, run->rank + 1));
        run->stats.bytes_sent += baton * sizeof(float);
    } else {
        br_status out = finish_micro(run, mb, step, m);
        if (st == BR_OK) st = out;
        run->stats.busy += run_now() - t0;
    }
    int j0, count;
    completed_jobs(&run->plan, mb, &j0, &count);
    // The sequential schedule: rank 0 starts the next micro-batch only once this one is back
    // (an empty message when no job completed).
    const size_t bytes = (size_t)count * n * sizeof(float);
    if (run->last != 0 && run->rank == run->last)
        BR_TRY(br_comm_send_bytes(run->comm, run->x + j0 * n, bytes, 0));
    if (run->last != 0 && run->rank == 0)
        BR_TRY(br_comm_recv_bytes(run->comm, run->x + j0 * n, bytes, run->last));
    return st;
}

br_status run_denoise(run_state *run) {
    const int steps = run->opts->steps;
    double loop0 = run_now();
    for (int k = 0; k < steps; k++) {
        double t0 = run_now();
        // A failed guard or check keeps the micro-batches going (the other ranks wait for them);
        // a failed transfer does not.
        br_status st = BR_OK;
        for (int m = 0; m < run->plan.n_micro; m++) {
            br_status s = forward_micro(run, k, m);
            if (st == BR_OK) st = s;
            if (s == BR_ECOMM) break;
        }
        if ((st = br_comm_agree(run->comm, st)) != BR_OK) return st;
        if (run->rank == 0) {
            run->step_seconds[k] = run_now() - t0;
            run_progress(run, k);
        }
    }
    run->stats.loop = run_now() - loop0;
    return BR_OK;
}
