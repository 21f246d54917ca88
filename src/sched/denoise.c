// denoise.c: the denoising loop over the pipeline of ranks.
//   once   rank 0 embeds each micro-batch's prompts (the family's prompt slots); every rank
//          receives them (one broadcast each)
//   then   every rank walks the same sequence (step k, micro-batch m): rank 0 embeds the
//          latents and timestep; the baton (the family's slots, then a flag) goes rank to rank
//          through the blocks; the last rank runs the output side and, when
//          a job's passes are all in, applies guidance and the Euler step and returns the
//          job's new latents to rank 0 (one return message per micro-batch, sent without
//          blocking).
// The schedules differ in one thing only: sequential, rank 0 waits for micro-batch m's return
// before it starts m+1 (one in flight: the naive split); pipelined, it waits only when it needs a
// job's latents for the next step, so up to P micro-batches are in flight and, once the pipe is
// full, every rank is busy, with no barrier between steps. The arithmetic of a micro-batch is the
// same in both and on any number of ranks, so the bits are too.
// Failures: a rank whose guard fails sets the baton's flag; later ranks skip the micro-batch, the
// last rank returns the flag, rank 0 then sends only skipped batons, so the pipe drains in
// transfers, and the agreement at the end names the failure. Nothing waits for a rank that quit.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"
#include "run_internal.h"

// Micro-batch m as the family sees it: views of the run's buffers (the baton's slots lie one
// after the other, each for all n items).
static br_batch micro_batch(const run_state *run, const run_micro *mb) {
    const br_layout *l = &run->layout;
    br_batch b = {.n = mb->n, .geom = &run->plan.geom, .flags = mb->flags, .mode = mb->mode};
    float *at = run->baton;
    for (int k = 0; k < l->n_baton; k++) {
        b.baton[k] = at;
        at += (size_t)mb->n * br_slot_floats(&l->baton[k]);
    }
    memcpy(b.prompt, mb->prompt, sizeof b.prompt);
    memcpy(b.table, run->tables, sizeof b.table);
    return b;
}

// The slots of n items, then the flag (1: skip, a rank failed).
static size_t baton_floats(const run_state *run, int n) {
    return (size_t)n * br_baton_floats(&run->layout) + 1;
}

// Rank 0: the prompt rows of item i: the job's prompt, or its negative prompt (one may serve all).
static void item_prompt(const run_state *run, int item, const float **embeds, const float **mask) {
    const run_plan *p = &run->plan;
    const int job = run_item_job(p, item), cond = run_item_pass(p, item) != BR_PASS_UNCOND;
    const br_tensor *e = br_set_find(&run->inputs, cond ? "prompt_embeds" : "negative_prompt_embeds");
    const br_tensor *k = br_set_find(&run->inputs, cond ? "prompt_attention_mask"
                                                        : "negative_prompt_attention_mask");
    const int row = e->shape[0] == 1 ? 0 : job;
    *embeds = e->data + (size_t)row * p->geom.text_tokens * run->model.text_channels;
    *mask = k->data + (size_t)row * p->geom.text_tokens;
}

// Rank 0: the prompt slots of one micro-batch, from its items' embeddings and masks.
static br_status project_one(run_state *run, run_micro *mb) {
    br_backend *be = run->be;
    const size_t L = run->plan.geom.text_tokens, Cc = run->model.text_channels;
    float *host = malloc((size_t)mb->n * L * (Cc + 1) * sizeof(float));
    if (!host) return br_fail(BR_ENOMEM, "out of memory for the prompts");
    float *masks = host + (size_t)mb->n * L * Cc;
    for (int i = 0; i < mb->n; i++) {
        const float *embeds, *mask;
        item_prompt(run, mb->first + i, &embeds, &mask);
        memcpy(host + (size_t)i * L * Cc, embeds, L * Cc * sizeof(float));
        memcpy(masks + (size_t)i * L, mask, L * sizeof(float));
    }
    float *prompt = be->alloc(be, (size_t)mb->n * L * Cc, "prompt embeddings");
    br_status st = prompt ? BR_OK : BR_ENOMEM;
    if (prompt) {
        be->upload(be, prompt, host, (size_t)mb->n * L * Cc);
        br_batch b = micro_batch(run, mb);
        st = run->model.family->embed_prompt(&run->model, be, run->stage.in, &b, run->ws, prompt,
                                             masks, &mb->flags);
        be->sync(be);
        be->release(be, prompt);
    }
    free(host);
    return st;
}

br_status run_project_prompts(run_state *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    br_status st = BR_OK;
    for (int m = 0; m < run->plan.n_micro && st == BR_OK && run->rank == 0; m++)
        st = project_one(run, &run->micro[m]);
    if ((st = br_comm_agree(run->comm, st)) != BR_OK) return st;
    for (int m = 0; m < run->plan.n_micro; m++) {
        run_micro *mb = &run->micro[m];
        BR_TRY(br_comm_bcast_bytes(run->comm, &mb->flags, sizeof mb->flags, 0));
        for (int k = 0; k < run->layout.n_prompt; k++)
            BR_TRY(tr->bcast(run->comm, mb->prompt[k],
                             mb->n * br_slot_floats(&run->layout.prompt[k]), 0));
    }
    return BR_OK;
}

// Rank 0: the latents and timesteps of the micro-batch's items onto the device, then the input
// side; the baton's flag says whether the ranks should skip it.
static void embed_inputs(run_state *run, const run_micro *mb, int step) {
    br_backend *be = run->be;
    const run_plan *p = &run->plan;
    const size_t n = (size_t)p->geom.latent_tokens * p->C, all = (size_t)p->geom.tokens * p->C;
    float flag = (float)run->failed_seen;
    be->upload(be, run->baton + baton_floats(run, mb->n) - 1, &flag, 1);
    if (run->failed_seen) return;
    // An item's step values at the step's timestep: the recipe's, or the timestep for each.
    const size_t values = (size_t)mb->n * p->geom.step_values;
    float *t = run->timestep_host;
    const float timestep = run->recipe->timestep(p->sigma[step], run->sched.num_train_timesteps);
    for (int i = 0; i < mb->n && run->recipe->step_values; i++)
        run->recipe->step_values(&p->geom, timestep, t + (size_t)i * p->geom.step_values);
    for (size_t i = 0; i < values && !run->recipe->step_values; i++) t[i] = timestep;
    for (int i = 0; i < mb->n; i++) {
        int job = run_item_job(p, mb->first + i);
        be->upload(be, run->latents_dev + i * all, run->x + job * n, n); // the tail: conditioning
    }
    be->upload(be, run->timestep_dev, t, values);
    br_batch b = micro_batch(run, mb);
    run->model.family->embed_latents(&run->model, be, run->stage.in, &b, run->ws,
                                     run->latents_dev, run->timestep_dev);
}

// Jobs whose last pass (their last item) is in the micro-batch: they finish this step
// here. They are consecutive: *count of them from *first.
static void completed_jobs(const run_plan *p, const run_micro *mb, int *first, int *count) {
    *first = 0, *count = 0;
    for (int i = mb->first; i < mb->first + mb->n; i++)
        if (run_item_completes(p, i)) {
            if (*count == 0) *first = run_item_job(p, i);
            (*count)++;
        }
}

// Last rank: the output side; the velocities are checked (NaN/Inf here would reach every later
// step and the frames); guidance and the Euler step for the completed jobs.
static br_status finish_micro(run_state *run, const run_micro *mb, int step, int m) {
    br_backend *be = run->be;
    const run_plan *p = &run->plan;
    const size_t n = (size_t)p->geom.latent_tokens * p->C, all = (size_t)p->geom.tokens * p->C;
    br_batch b = micro_batch(run, mb);
    run->model.family->output_side(&run->model, be, run->stage.out, &b, run->ws, run->v_dev);
    be->sync(be); // the wait runs the hook (MPI progress); a download would sleep through it
    float *v = run->v + (size_t)mb->first * n;
    if (all == n) be->download(be, v, run->v_dev, mb->n * n);
    else // the conditioning tokens' predictions are not the latents'
        for (int i = 0; i < mb->n; i++) be->download(be, v + i * n, run->v_dev + i * all, n);
    float max_abs;
    size_t bad = cpu_count_non_finite(v, mb->n * n, &max_abs);
    if (bad)
        return br_fail(BR_EINPUT, "step %d, micro-batch %d: the transformer output holds %zu "
                       "NaN/Inf values (run with --check all to find the block where they start)",
                       step, m, bad);
    int j0, count;
    completed_jobs(p, mb, &j0, &count);
    const br_guidance gs = run_guidance(run->opts);
    for (int j = j0; j < j0 + count; j++) {
        float *x = run->x + j * n, *v_job = run->v + (size_t)j * p->n_passes * n;
        if (p->n_passes > 1) { // the guided velocity goes where the first pass's was
            const float *pred[BR_MAX_PASSES];
            for (int k = 0; k < p->n_passes; k++) pred[k] = v_job + k * n;
            run->recipe->guide(&run->model, &p->geom, &gs, p->sigma[step], x, v_job, pred);
        }
        // The held tokens stay as the conditioning gave them, bit for bit.
        memset(v_job, 0, (size_t)p->geom.held_tokens * p->C * sizeof(float));
        nn_euler_step(x, v_job, n, p->sigma[step], p->sigma_next[step]);
    }
    return BR_OK;
}

// Last rank: micro-batch m's return message (flag, then the completed jobs' latents), sent
// without blocking from its own buffer, which the previous step's send must have left.
static br_status send_return(run_state *run, const run_micro *mb, int m, int failed) {
    const size_t n = (size_t)run->plan.geom.latent_tokens * run->plan.C;
    int j0, count;
    completed_jobs(&run->plan, mb, &j0, &count);
    BR_TRY(br_comm_wait(run->comm, run->return_req[m]));
    run->return_req[m] = NULL;
    float *msg = run->returns[m];
    msg[0] = (float)failed;
    memcpy(msg + 1, run->x + j0 * n, (size_t)count * n * sizeof(float));
    return br_comm_isend_bytes(run->comm, msg, (1 + count * n) * sizeof(float), 0,
                               &run->return_req[m]);
}

// The steps of the stage the buffers are planned for that this run takes: [first, end).
static int loop_first(const run_plan *p) {
    const int first = p->stage ? p->stage_end[p->stage - 1] : 0;
    return p->start_step > first ? p->start_step : first;
}
static int loop_end(const run_plan *p) { return p->stage_end[p->stage]; }

// The first failure of the loop on this rank, with its message: a server's other jobs may end
// before this loop does and clear the rank's message.
static void loop_failed(run_state *run, br_status st) {
    if (run->loop_failure != BR_OK) return;
    run->loop_failure = st;
    snprintf(run->loop_error, sizeof run->loop_error, "%s", br_error());
}

// Rank 0: step k is complete when its last return is in: progress, the step's seconds, and the
// checkpoint when one is due (the latents are then exactly those after step k). With checkpoints,
// one is also written after the last step: it stays until every output is written, so that an
// output that fails (a full disk) costs a resume of the decode only, not of the steps.
static br_status step_done(run_state *run, int step) {
    double prev = run->t_loop;
    for (int k = loop_first(&run->plan); k < step; k++) prev += run->step_seconds[k];
    run->step_seconds[step] = br_now() - prev;
    if (!run->failed_seen) run_progress(run, step); // (after a failure the steps only skip)
    const int every = run->opts->checkpoint_every;
    const int last = step + 1 == loop_end(&run->plan); // the end of a stage
    if (!run->failed_seen) run_stop_step(run, step + 1);
    const br_run_hooks *h = run->opts->hooks;
    if (h && h->cancelled && !run->failed_seen && h->cancelled(h->ctx)) // the rest skips
        loop_failed(run, br_fail(BR_ECANCELED, "cancelled after step %d", step + 1)),
        run->failed_seen = 1;
    if (every > 0 && ((step + 1) % every == 0 || last) && !run->failed_seen) {
        // The other ranks wait on batons: the loop goes on to its end with skipping batons, and
        // the failure is agreed on after it.
        br_status st = run_stop_checkpoint(run, step + 1);
        if (st != BR_OK) loop_failed(run, st), run->failed_seen = 1;
    }
    return BR_OK;
}

// Rank 0: posts the receive of micro-batch m's return message of `step` as it sends the
// micro-batch off, so that the message moves while both ranks compute (a blocking receive at the
// time of need would start the transfer only then: 4-5 ms for 2.5 MB between two H200 hosts'
// ranks). Posted in the order the last rank sends them, also when several runs share the ranks
// (a server's jobs), so each message lands in its own buffer.
static br_status post_return(run_state *run, int m) {
    if (run->last == 0) return BR_OK;
    int j0, jobs;
    completed_jobs(&run->plan, &run->micro[m], &j0, &jobs);
    const size_t n = (size_t)run->plan.geom.latent_tokens * run->plan.C;
    return br_comm_irecv_bytes(run->comm, run->returns[m], (1 + jobs * n) * sizeof(float),
                               run->last, &run->return_req[m]);
}

// Rank 0: takes in return messages in order until `count` have arrived.
static br_status receive_returns(run_state *run, long count) {
    const run_plan *p = &run->plan;
    const size_t n = (size_t)p->geom.latent_tokens * p->C;
    while (run->returns_seen < count) {
        const int step = (int)(run->returns_seen / p->n_micro);
        const int m = (int)(run->returns_seen % p->n_micro);
        int j0, jobs;
        completed_jobs(p, &run->micro[m], &j0, &jobs);
        if (run->last != 0) {
            double t0 = br_now();
            br_status st = br_comm_wait(run->comm, run->return_req[m]);
            run->return_req[m] = NULL;
            BR_TRY(st);
            run_trace_add(run, t0, br_now(), step, m, 'r');
            if (run->returns[m][0] != 0) run->failed_seen = 1;
            memcpy(run->x + j0 * n, run->returns[m] + 1, (size_t)jobs * n * sizeof(float));
        }
        run->returns_seen++;
        if (run->returns_seen % p->n_micro == 0) BR_TRY(step_done(run, step));
    }
    return BR_OK;
}

// Rank 0, before micro-batch m of step k: the returns that carry its jobs' latents for step k.
static br_status await_latents(run_state *run, int step, int m) {
    const run_plan *p = &run->plan;
    if (step == loop_first(p)) return BR_OK;
    const run_micro *mb = &run->micro[m];
    int last_job = run_item_job(p, mb->first + mb->n - 1);
    int last_item = (last_job + 1) * p->n_passes - 1; // the item that completes the job
    int carrier = m;                                  // the micro-batch that carries it
    while (run->micro[carrier].first + run->micro[carrier].n <= last_item) carrier++;
    return receive_returns(run, (long)(step - 1) * p->n_micro + carrier + 1);
}

// The blocks of this rank, unless the baton says skip; a failure sets the flag.
static br_status run_blocks(run_state *run, const run_micro *mb, int step, int m, float *flag) {
    const int check = run->opts->check == 2 || (run->opts->check == 1 && step == 0);
    br_guard guard = {check, step, m};
    br_batch b = micro_batch(run, mb);
    br_status st = br_stage_run_blocks(&run->stage, &run->layout, &b, run->ws, NULL, &guard);
    if (st != BR_OK) *flag = 1;
    return st;
}

// One micro-batch's pass on this rank: receive (or embed), compute, send (or finish and return).
static br_status pass_micro(run_state *run, int step, int m) {
    const br_transport *tr = br_comm_transport(run->comm);
    const run_micro *mb = &run->micro[m];
    const size_t baton = baton_floats(run, mb->n);
    br_backend *be = run->be;
    double t0 = br_now();
    if (run->rank == 0) {
        run_watchdog_mark(step, m, "waiting for the latents from", run->last);
        BR_TRY(await_latents(run, step, m));
        t0 = br_now();
        run_watchdog_mark(step, m, "computing, next to", run->rank);
        embed_inputs(run, mb, step);
        BR_TRY(post_return(run, m));
    } else {
        run_watchdog_mark(step, m, "waiting for the baton from", run->rank - 1);
        BR_TRY(tr->recv(run->comm, run->baton, baton, run->rank - 1));
        run_watchdog_mark(step, m, "computing, next to", run->rank);
        double t1 = br_now();
        run->stats.hop_seconds += t1 - t0;
        run_trace_add(run, t0, t1, step, m, 'r');
        t0 = t1;
    }
    float flag;
    be->download(be, &flag, run->baton + baton - 1, 1);
    br_status st = BR_OK;
    if (flag == 0) st = run_blocks(run, mb, step, m, &flag);
    be->sync(be); // (see finish_micro)
    double t1 = br_now();
    run_trace_add(run, t0, t1, step, m, 'c');
    if (run->rank == run->last && flag == 0) {
        if ((st = finish_micro(run, mb, step, m)) != BR_OK) flag = 1;
        be->sync(be);
        run_trace_add(run, t1, br_now(), step, m, 'o');
        t1 = br_now();
    }
    if (st != BR_OK) loop_failed(run, st);
    run->stats.busy += t1 - t0;
    if (run->rank < run->last) {
        run_watchdog_mark(step, m, "sending the baton to", run->rank + 1);
        be->upload(be, run->baton + baton - 1, &flag, 1);
        BR_TRY(tr->send(run->comm, run->baton, baton, run->rank + 1));
        double t2 = br_now();
        run->stats.hop_seconds += t2 - t1;
        run->stats.bytes_sent += baton * sizeof(float);
        run_trace_add(run, t1, t2, step, m, 's');
    } else if (run->last != 0) {
        BR_TRY(send_return(run, mb, m, flag != 0));
    } else if (flag != 0) {
        run->failed_seen = 1; // one rank: it is its own return
    }
    // The sequential schedule: nothing starts until this micro-batch is back.
    if (run->rank == 0 && !run->opts->pipelined) {
        run_watchdog_mark(step, m, "waiting for the latents from", run->last);
        BR_TRY(receive_returns(run, (long)step * run->plan.n_micro + m + 1));
    }
    return BR_OK;
}

// Every baton link carries one baton before the clock starts: NCCL connects a pair of ranks at
// their first transfer (0.6 s between two H200s), a cost of the start, not of the steps. Then
// each link is timed with one more baton, the even links together and then the odd ones (pairs
// that share no rank, started by an agreement), for the link's bandwidth in the report.
static br_status connect_links(run_state *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    const size_t baton = baton_floats(run, run->micro[0].n);
    const int r = run->rank;
    if (r > 0) BR_TRY(tr->recv(run->comm, run->baton, baton, r - 1));
    if (r < run->last) BR_TRY(tr->send(run->comm, run->baton, baton, r + 1));
    for (int parity = 0; parity < 2; parity++) {
        BR_TRY(br_comm_agree(run->comm, BR_OK));
        const double t0 = br_now();
        if (r < run->last && r % 2 == parity)
            BR_TRY(tr->send(run->comm, run->baton, baton, r + 1));
        if (r > 0 && (r - 1) % 2 == parity) {
            BR_TRY(tr->recv(run->comm, run->baton, baton, r - 1));
            run->stats.link_in_gbps = baton * sizeof(float) / (br_now() - t0) / 1e9;
        }
    }
    return BR_OK;
}

// The end of the loop: the last rank's sends complete; rank 0 withdraws the receives that a
// stopped loop left posted.
static br_status settle_returns(run_state *run, br_status st) {
    for (int m = 0; run->return_req && m < run->plan.n_micro; m++) {
        if (run->rank == 0) {
            br_comm_cancel(run->comm, run->return_req[m]);
        } else {
            br_status w = br_comm_wait(run->comm, run->return_req[m]);
            if (st == BR_OK) st = w;
        }
        run->return_req[m] = NULL;
    }
    return st;
}

// The loop of the current stage, in three calls, so that a server can interleave the steps of
// several runs (every rank issues the same steps of the same runs in the same order).
br_status run_loop_begin(run_state *run) {
    BR_TRY(br_comm_agree(run->comm, connect_links(run)));
    const br_status mine = run_watchdog_start(run);
    const br_status st = br_comm_agree(run->comm, mine); // (also a common start for the timelines)
    if (st != BR_OK) {
        if (mine == BR_OK) run_watchdog_stop();
        return st;
    }
    run->t_loop = br_now();
    if (!run->t_origin) run->t_origin = run->t_loop;
    run->loop_step = loop_first(&run->plan);
    run->returns_seen = (long)run->loop_step * run->plan.n_micro;
    run->loop_failure = BR_OK;
    run->in_loop = 1, run->loop_cut = 0;
    return BR_OK;
}

int run_loop_stepping(const run_state *run) {
    return run->in_loop && !run->loop_cut && run->loop_step < loop_end(&run->plan);
}

br_status run_loop_step(run_state *run) {
    for (int m = 0; m < run->plan.n_micro; m++)
        BR_TRY(pass_micro(run, run->loop_step, m));
    run->loop_step++;
    return BR_OK;
}

// st: the steps' status on this rank (a transfer that failed).
br_status run_loop_end(run_state *run, br_status st) {
    const int issued = run->loop_cut ? run->loop_step : loop_end(&run->plan); // steps
    const long all = (long)issued * run->plan.n_micro;
    if (st == BR_OK && run->rank == 0) st = receive_returns(run, all);
    st = settle_returns(run, st); // (the watchdog also watches these waits)
    run_watchdog_stop();
    run->in_loop = 0;
    run->stats.loop += br_now() - run->t_loop;
    if (st == BR_OK && run->loop_failure != BR_OK) // its own message, whatever came since
        br_clear_error(), st = br_fail(run->loop_failure, "%s", run->loop_error);
    return br_comm_agree(run->comm, st);
}

void run_loop_abandon(run_state *run) {
    if (!run->in_loop) return;
    // Every step issued so far has its return messages sent: rank 0 takes them in (their steps
    // complete: progress, checkpoints), the last rank's sends complete.
    const long issued = (long)run->loop_step * run->plan.n_micro;
    settle_returns(run, run->rank == 0 ? receive_returns(run, issued) : BR_OK);
    run_watchdog_stop();
    run->in_loop = 0;
}
