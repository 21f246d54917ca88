// serve_loop.c: the ranks' side of `brigade serve`, in rounds. Each round rank 0 takes queued
// jobs while fewer than --max-jobs are in flight and hands each one's words of `brigade run` to
// every rank (an order), and all start it (br_run_start: its prompts, plan, buffers) beside the
// others, on the blocks they keep loaded (br_run_keep); then every job in flight issues one step,
// their micro-batches following each other through the ranks (so a new job starts at once, and
// the ranks stay busy with several), and a job whose steps are done goes on to its next stage or
// its decode and files; rank 0 records its end in the queue. Each job runs as `brigade run` of it
// alone would: the same arithmetic in its own buffers, so the same bits. A job that does not fit
// beside the others (memory, or the model set up for the other kind of prompt) waits in the queue
// until one ends. A job a crashed server left running is queued again at start and resumes from
// its checkpoint. Ranks with no job in flight poll for orders (20 ms) instead of blocking in MPI,
// which would spin a core each.
#define _POSIX_C_SOURCE 200809L // nanosleep, sigaction
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/run_args.h"
#include "core/clock.h"
#include "io/checkpoint.h"
#include "serve_http.h"

enum { ORDER_RUN = 1, ORDER_ROUND = 2, ORDER_QUIT = 3, QUIT_WAIT_S = 10 };

typedef struct {
    int kind;
    long id;
    int n_cut;                 // ROUND: jobs whose loops end now (cancelled, or a rank failed:
    long cut[SERVE_MAX_JOBS];  // their batons would only skip)
    serve_words words;         // RUN: the job's words of `brigade run`
} serve_order;

static volatile sig_atomic_t stop_signal; // SIGINT or SIGTERM between jobs

static void on_stop(int sig) { stop_signal = sig; }

static br_status make_dir(const char *path) {
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return br_fail(BR_EIO, "--state: cannot create %s: %s", path, strerror(errno));
    return BR_OK;
}

// The token: the first line of --token-file, at least 16 characters.
static br_status read_token(serve_state *s) {
    if (!s->cfg.token_file) return BR_OK;
    FILE *f = fopen(s->cfg.token_file, "r");
    if (!f) return br_fail(BR_EINPUT, "--token-file %s: %s", s->cfg.token_file, strerror(errno));
    const int got = fgets(s->token, sizeof s->token, f) != NULL;
    fclose(f);
    s->token[got ? strcspn(s->token, "\r\n") : 0] = 0;
    if (strlen(s->token) < 16)
        return br_fail(BR_EINPUT, "--token-file %s: the first line must be a token of at least "
                       "16 characters", s->cfg.token_file);
    return BR_OK;
}

// Rank 0: the state folder, the queue (running jobs of a stopped server queued again), HTTP.
static br_status start_rank0(serve_state *s, serve_db **db) {
    char path[4400];
    BR_TRY(make_dir(s->cfg.state_dir));
    snprintf(path, sizeof path, "%s/jobs", s->cfg.state_dir);
    BR_TRY(make_dir(path));
    snprintf(path, sizeof path, "%s/uploads", s->cfg.state_dir);
    BR_TRY(make_dir(path));
    BR_TRY(read_token(s));
    snprintf(s->db_path, sizeof s->db_path, "%s/queue.db", s->cfg.state_dir);
    BR_TRY(serve_db_open(s->db_path, db));
    int requeued;
    BR_TRY(serve_db_requeue_running(*db, &requeued));
    if (requeued) printf("serve: %d job(s) a stopped server was running are queued again\n", requeued);
    BR_TRY(serve_http_start(s));
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(s->cfg.listen, ':') - s->cfg.listen), s->cfg.listen);
    printf("serve: %d rank(s), model %s, listening on http://%s:%u/\n", s->n_ranks, s->cfg.model,
           host, info ? info->port : 0);
    fflush(stdout);
    return BR_OK;
}

static int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

// Rank 0: the order for job id (taken from the queue): its words, resuming where a checkpoint
// of an earlier attempt is. A job that ended the server too often fails instead (kind 0).
static br_status order_for(serve_state *s, serve_db *db, long id, serve_order *o) {
    serve_job j;
    int found;
    BR_TRY(serve_db_get(db, id, &j, &found));
    char dir[4400], ck[4500];
    serve_job_dir(s, id, dir, sizeof dir);
    snprintf(ck, sizeof ck, "%s/checkpoint.h5", dir);
    br_status st = BR_OK;
    o->kind = 0;
    if (found && j.attempts > s->cfg.max_attempts) {
        char line[200];
        snprintf(line, sizeof line, "job %ld ended the server %d times while it ran (a crash or "
                 "a kill); not started again", id, j.attempts - 1);
        st = serve_db_finish(db, id, SERVE_FAILED, line, NULL);
    } else if (found) {
        const int resume = j.attempts > 1 && file_exists(ck);
        st = serve_job_words(&s->cfg, &j, dir, resume, &o->words);
        if (st == BR_OK) o->kind = ORDER_RUN, o->id = id;
        if (resume) printf("serve: job %ld resumes from its checkpoint\n", id);
    }
    serve_job_free(&j);
    return st;
}

// Rank 0: the next order of a round: a queued job to start while fewer than --max-jobs are in
// flight (none after one that must wait for an end), then ROUND (step the jobs in flight) or
// QUIT. With none in flight it waits for a job (or a stop).
static br_status next_order(serve_state *s, serve_db *db, int in_flight, int wait_for_end,
                            serve_order *o) {
    for (;;) {
        if (stop_signal) { // said before the others hear it: launchers end a job's ranks
            printf("serve: stopped by %s; queued jobs stay in %s/queue.db\n", // when one ends
                   stop_signal == SIGINT ? "SIGINT" : "SIGTERM", s->cfg.state_dir);
            fflush(stdout);
            o->kind = ORDER_QUIT;
            return BR_OK;
        }
        long id = 0;
        if (in_flight < s->cfg.max_jobs && !wait_for_end) BR_TRY(serve_db_take(db, &id));
        if (id) {
            BR_TRY(order_for(s, db, id, o));
            if (o->kind == ORDER_RUN) return BR_OK;
            continue;
        }
        if (in_flight > 0) return o->kind = ORDER_ROUND, BR_OK;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L; // also a signal's latency
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_mutex_lock(&s->lock);
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        pthread_mutex_unlock(&s->lock);
    }
}

// The other ranks: rank 0's next order. With no job in flight it is polled (a blocking receive
// would spin a core in MPI); after a stop signal, rank 0 has QUIT_WAIT_S to say quit (it may be
// gone: then this rank ends alone).
static br_status receive_order(br_comm *comm, int poll, serve_order *o) {
    if (!poll) return br_comm_recv_bytes(comm, o, sizeof *o, 0);
    br_comm_request *req;
    BR_TRY(br_comm_irecv_bytes(comm, o, sizeof *o, 0, &req));
    double stopped_at = 0;
    for (;;) {
        int done;
        BR_TRY(br_comm_test(comm, req, &done));
        if (done) return BR_OK;
        if (stop_signal && !stopped_at) stopped_at = br_now();
        if (stopped_at && br_now() - stopped_at > QUIT_WAIT_S) {
            br_comm_cancel(comm, req);
            return br_fail(BR_ECOMM, "stopped by a signal; rank 0 sent no quit");
        }
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
}

typedef struct serve_loop serve_loop;

// Rank 0's view of a job: its row, its share of the devices (the wall time since its start,
// each stretch split evenly among the jobs then in flight, see account).
typedef struct {
    serve_state *s;
    serve_db *db;
    long id;
    const serve_loop *loop;
    double t0, share_seconds;
} watch_ctx;

// A job in flight, on every rank: its words and options (the run's point into them), its run.
typedef struct {
    int used;            // in flight
    int sharing;         // in flight or starting: its share of the devices counts (rank 0)
    serve_order order;
    br_run_args args;
    br_inflight *run;
    watch_ctx watch;     // rank 0's view of it: progress, cancel
    br_run_hooks hooks;
    char label[32];      // "job ID", before its progress lines
} serve_slot;

static void on_step(void *ctx, int done, int steps, double step_seconds) {
    watch_ctx *w = ctx;
    if (serve_db_progress(w->db, w->id, done, steps, step_seconds) != BR_OK)
        fprintf(stderr, "serve: %s\n", br_error()); // the run goes on; the page lags
}

static int running_index(const serve_state *s, long id) {
    for (int i = 0; i < s->n_running; i++)
        if (s->running[i] == id) return i;
    return -1;
}

static int cancelled(void *ctx) {
    watch_ctx *w = ctx;
    pthread_mutex_lock(&w->s->lock);
    const int i = running_index(w->s, w->id), c = i >= 0 && w->s->cancel[i];
    pthread_mutex_unlock(&w->s->lock);
    return c;
}

// Rank 0: the jobs in flight, as /health and DELETE see them.
static void running_add(serve_state *s, long id) {
    pthread_mutex_lock(&s->lock);
    if (s->n_running < SERVE_MAX_JOBS)
        s->running[s->n_running] = id, s->cancel[s->n_running++] = 0;
    pthread_mutex_unlock(&s->lock);
}

static void running_remove(serve_state *s, long id) {
    pthread_mutex_lock(&s->lock);
    const int i = running_index(s, id);
    for (int k = i; k >= 0 && k < s->n_running - 1; k++)
        s->running[k] = s->running[k + 1], s->cancel[k] = s->cancel[k + 1];
    if (i >= 0) s->n_running--;
    pthread_mutex_unlock(&s->lock);
}

// Rank 0, after a job: what it cost (run.json's energy) and each rank's busy time, for the
// record and /metrics. A job that failed has no run.json: nothing is added.
static char *job_cost(serve_state *s, const char *dir) {
    char path[4500];
    snprintf(path, sizeof path, "%s/run.json", dir);
    cJSON *run = NULL;
    if (br_json_read_object(path, &run) != BR_OK) return br_clear_error(), NULL;
    const cJSON *energy = cJSON_GetObjectItemCaseSensitive(run, "energy"), *rank;
    char *cost = energy ? cJSON_PrintUnformatted(energy) : NULL;
    pthread_mutex_lock(&s->lock);
    cJSON_ArrayForEach(rank, cJSON_GetObjectItemCaseSensitive(run, "ranks")) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(rank, "rank");
        const cJSON *busy = cJSON_GetObjectItemCaseSensitive(rank, "busy_seconds");
        if (!cJSON_IsNumber(r) || r->valueint < 0 || r->valueint >= SERVE_MAX_RANKS) continue;
        s->busy_seconds[r->valueint] += cJSON_IsNumber(busy) ? busy->valuedouble : 0;
    }
    const cJSON *joules = energy ? cJSON_GetObjectItemCaseSensitive(energy, "gpu_joules") : NULL;
    if (cJSON_IsNumber(joules)) s->gpu_joules += joules->valuedouble;
    pthread_mutex_unlock(&s->lock);
    cJSON_Delete(run);
    return cost;
}

// Rank 0: the job's end in the queue.
static br_status record_end(serve_state *s, serve_db *db, long id, br_status st, double t0) {
    char dir[4400], ck[4500];
    serve_job_dir(s, id, dir, sizeof dir);
    const int state = st == BR_OK ? SERVE_DONE : st == BR_ECANCELED ? SERVE_CANCELLED : SERVE_FAILED;
    char error[1100];
    snprintf(error, sizeof error, "%s", br_error());
    char *cost = state == SERVE_DONE ? job_cost(s, dir) : NULL;
    if (state == SERVE_CANCELLED) snprintf(ck, sizeof ck, "%s/checkpoint.h5", dir), remove(ck);
    printf("serve: job %ld %s in %.2f s%s%s\n", id, serve_state_names[state], br_now() - t0,
           state == SERVE_FAILED ? ": " : "", state == SERVE_FAILED ? error : "");
    fflush(stdout);
    running_remove(s, id);
    pthread_mutex_lock(&s->lock);
    s->jobs_run += state == SERVE_DONE;
    s->seconds_running += br_now() - t0;
    pthread_mutex_unlock(&s->lock);
    br_clear_error();
    br_status rec = serve_db_finish(db, id, state, state == SERVE_FAILED ? error : NULL, cost);
    free(cost);
    if (rec == BR_OK) serve_drop_uploads(s, db, id);
    return rec;
}

// The loop's state on every rank: the jobs in flight, in the order they started (slots keep
// their places: a run points into its slot).
struct serve_loop {
    br_comm *comm;
    br_backend *be;
    serve_state *s;
    serve_db *db;          // rank 0
    br_run_keep *keep;
    serve_slot *slots;     // [max_jobs]
    serve_slot *flight[SERVE_MAX_JOBS];
    int n_flight;
    int wait_for_end;      // rank 0: a job could not start beside the others; none starts
                           // until one of them ends
    int rank;
    double t_accounted;    // rank 0: the devices' time shared out until then (account)
};

// Rank 0: the jobs sharing the devices now (in flight, or starting).
static int sharing(const serve_loop *L) {
    int n = 0;
    for (int i = 0; i < L->s->cfg.max_jobs; i++) n += L->slots[i].sharing;
    return n;
}

// Rank 0, before the jobs sharing the devices change: the time since the last account, split
// evenly among them.
static void account(serve_loop *L) {
    const int n = sharing(L);
    const double now = br_now(), each = (now - L->t_accounted) / (n ? n : 1);
    for (int i = 0; i < L->s->cfg.max_jobs; i++)
        if (L->slots[i].sharing) L->slots[i].watch.share_seconds += each;
    L->t_accounted = now;
}

// The hook: the job's share of the devices since it started (to now; it is one of them).
static double device_share(void *ctx) {
    const watch_ctx *w = ctx;
    const double now = br_now(), n = sharing(w->loop);
    const double mine = w->share_seconds + (now - w->loop->t_accounted) / (n ? n : 1);
    return now > w->t0 ? mine / (now - w->t0) : 1;
}

// Rank 0: a job that could not start: failed, or (it needs what the jobs in flight hold) back
// in the queue until one of them ends.
static br_status not_started(serve_loop *L, long id, br_status st, double t0) {
    if (st != BR_EBUSY || L->n_flight == 0) return record_end(L->s, L->db, id, st, t0);
    printf("serve: job %ld waits for a job in flight to end: %s\n", id, br_error());
    fflush(stdout);
    br_clear_error();
    running_remove(L->s, id);
    L->wait_for_end = 1;
    return serve_db_put_back(L->db, id);
}

// Every rank: the start of job o (collective), beside the jobs in flight. Only a failure of the
// server itself (its queue) is returned; a job's failure is that job's.
static br_status start_job(serve_loop *L, const serve_order *o) {
    serve_slot *slot = L->slots;
    while (slot->used) slot++; // (fewer than max_jobs are in flight)
    memset(slot, 0, sizeof *slot);
    slot->order = *o;
    slot->watch = (watch_ctx){L->s, L->db, o->id, L, br_now(), 0};
    slot->hooks = (br_run_hooks){&slot->watch, on_step, cancelled, device_share};
    if (L->rank == 0) account(L), slot->sharing = 1;
    char *argv[SERVE_MAX_WORDS + 1];
    serve_words_argv(&slot->order.words, argv);
    br_run_args *a = &slot->args;
    br_status st = br_comm_agree(L->comm, br_run_parse(o->words.argc, argv, a));
    if (st == BR_OK) {
        a->opts.keep = L->keep, a->opts.hooks = L->rank == 0 ? &slot->hooks : NULL;
        snprintf(slot->label, sizeof slot->label, "job %ld", o->id);
        a->opts.label = slot->label;
        // every rank has the words: the prompts as text are theirs
        a->opts.prompts = a->prompt_words, a->opts.n_prompts = a->n_prompt_words;
        for (int i = 0; i < L->n_flight; i++)
            a->opts.others_bytes += br_run_loop_bytes(L->flight[i]->run);
        if (L->rank == 0) {
            running_add(L->s, o->id);
            printf("serve: job %ld starts%s\n", o->id, L->n_flight ? " beside the jobs in flight" : "");
            fflush(stdout);
        }
        st = br_run_start(L->comm, L->be, &a->opts, &slot->run);
    }
    br_status rec = BR_OK;
    if (st == BR_OK) slot->used = 1, L->flight[L->n_flight++] = slot;
    else if (L->rank == 0) account(L), slot->sharing = 0, rec = not_started(L, o->id, st, slot->watch.t0);
    br_clear_error();
    return rec;
}

// Every rank: one step of each job in flight (their batons follow each other through the
// ranks), then the advance of each whose loop has issued its steps (or was cut): its next stage,
// or its end.
static br_status step_jobs(serve_loop *L, const serve_order *round) {
    for (int i = 0; i < L->n_flight; i++)
        for (int k = 0; k < round->n_cut; k++)
            if (round->cut[k] == L->flight[i]->order.id) br_run_cut(L->flight[i]->run);
    for (int i = 0; i < L->n_flight; i++)
        if (br_run_stepping(L->flight[i]->run)) br_run_step(L->flight[i]->run);
    br_status rec = BR_OK;
    for (int i = 0; i < L->n_flight; i++) {
        serve_slot *slot = L->flight[i];
        if (br_run_stepping(slot->run)) continue;
        int done;
        const br_status st = br_run_advance(slot->run, &done);
        if (!done) continue;
        if (L->rank == 0 && rec == BR_OK) rec = record_end(L->s, L->db, slot->order.id, st, slot->watch.t0);
        br_clear_error();
        br_run_free(slot->run);
        if (L->rank == 0) account(L);
        slot->used = slot->sharing = 0;
        memmove(&L->flight[i], &L->flight[i + 1], (size_t)(L->n_flight - i - 1) * sizeof *L->flight);
        L->n_flight--, i--;
        L->wait_for_end = 0;
    }
    return rec;
}

// Every rank: rounds until quit. Each round rank 0 hands out the jobs that start (RUN orders),
// then ROUND; the jobs in flight step once. Only a failure of the server itself (its queue, MPI)
// ends it. At a quit the jobs in flight stay running in the queue: the next server resumes them.
static br_status serve_jobs(serve_loop *L) {
    const int n = br_comm_size(L->comm);
    serve_order *o = malloc(sizeof *o);
    br_status st = o ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
    for (;;) {
        if (L->rank == 0) {
            if (st == BR_OK) st = next_order(L->s, L->db, L->n_flight, L->wait_for_end, o);
            if (st != BR_OK) o->kind = ORDER_QUIT; // the others must hear it
            o->n_cut = 0;
            for (int i = 0; o->kind == ORDER_ROUND && i < L->n_flight; i++)
                if (br_run_failing(L->flight[i]->run)) o->cut[o->n_cut++] = L->flight[i]->order.id;
            for (int r = 1; r < n; r++) {
                const br_status sent = br_comm_send_bytes(L->comm, o, sizeof *o, r);
                if (st == BR_OK) st = sent;
            }
        } else if ((st = receive_order(L->comm, L->n_flight == 0, o)) != BR_OK) {
            break;
        }
        if (o->kind == ORDER_QUIT) break;
        const double t0 = br_now();
        br_status rec = o->kind == ORDER_RUN ? start_job(L, o) : step_jobs(L, o);
        if (L->rank == 0) {
            if (st == BR_OK) st = rec;
            pthread_mutex_lock(&L->s->lock);
            L->s->seconds_in_flight += L->n_flight || o->kind == ORDER_ROUND ? br_now() - t0 : 0;
            pthread_mutex_unlock(&L->s->lock);
        }
    }
    for (int i = 0; i < L->n_flight; i++) {
        if (L->rank == 0) printf("serve: job %ld stays running in the queue\n", L->flight[i]->order.id);
        br_run_free(L->flight[i]->run);
    }
    L->n_flight = 0;
    free(o);
    return st;
}

br_status br_serve(br_comm *comm, br_backend *be, const serve_config *cfg) {
    serve_state *s = calloc(1, sizeof *s);
    if (!s) return br_fail(BR_ENOMEM, "out of memory");
    s->cfg = *cfg, s->n_ranks = br_comm_size(comm), s->started = br_now();
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    serve_loop L = {.comm = comm, .be = be, .s = s, .rank = br_comm_rank(comm)};
    L.keep = br_run_keep_new();
    L.slots = calloc((size_t)cfg->max_jobs, sizeof *L.slots);
    br_status st = L.keep && L.slots ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
    if (st == BR_OK && L.rank == 0) st = start_rank0(s, &L.db);
    if ((st = br_comm_agree(comm, st)) == BR_OK) st = serve_jobs(&L);
    br_run_keep_free(L.keep);
    free(L.slots);
    serve_db *db = L.db;
    serve_http_stop(s);
    serve_db_close(db);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
    return st;
}
