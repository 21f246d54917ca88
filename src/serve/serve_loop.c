// serve_loop.c: the ranks' side of `brigade serve`. Rank 0 takes the oldest queued job, hands its
// words of `brigade run` to every rank (an order), and all run it with their blocks kept loaded
// between jobs (br_run_keep); rank 0 records the end in the queue. A job a crashed server left
// running is queued again at start and resumes from its checkpoint. Ranks waiting for an order
// poll (20 ms) instead of blocking in MPI, which would spin a core each.
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

enum { ORDER_RUN = 1, ORDER_QUIT = 2, QUIT_WAIT_S = 10 };

typedef struct {
    int kind;
    long id;
    serve_words words;
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
// of an earlier attempt is. A job that ended the server too often fails instead (0).
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

// Rank 0: waits for a queued job (or a stop); *o is the order to hand out.
static br_status next_order(serve_state *s, serve_db *db, serve_order *o) {
    for (;;) {
        if (stop_signal) { // said before the others hear it: launchers end a job's ranks
            printf("serve: stopped by %s; queued jobs stay in %s/queue.db\n", // when one ends
                   stop_signal == SIGINT ? "SIGINT" : "SIGTERM", s->cfg.state_dir);
            fflush(stdout);
            o->kind = ORDER_QUIT;
            return BR_OK;
        }
        long id;
        BR_TRY(serve_db_take(db, &id));
        if (id) {
            BR_TRY(order_for(s, db, id, o));
            if (o->kind == ORDER_RUN) return BR_OK;
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L; // also a signal's latency
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_mutex_lock(&s->lock);
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        pthread_mutex_unlock(&s->lock);
    }
}

// The other ranks: rank 0's next order, polled. After a stop signal, rank 0 has QUIT_WAIT_S
// to say quit (it may be gone: then this rank ends alone).
static br_status receive_order(br_comm *comm, serve_order *o) {
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

typedef struct {
    serve_state *s;
    serve_db *db;
    long id;
} watch_ctx;

static void on_step(void *ctx, int done, int steps, double step_seconds) {
    watch_ctx *w = ctx;
    if (serve_db_progress(w->db, w->id, done, steps, step_seconds) != BR_OK)
        fprintf(stderr, "serve: %s\n", br_error()); // the run goes on; the page lags
}

static int cancelled(void *ctx) {
    watch_ctx *w = ctx;
    pthread_mutex_lock(&w->s->lock);
    const int c = w->s->cancel_running;
    pthread_mutex_unlock(&w->s->lock);
    return c;
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
        const cJSON *idle = cJSON_GetObjectItemCaseSensitive(rank, "idle_seconds");
        if (!cJSON_IsNumber(r) || r->valueint < 0 || r->valueint >= SERVE_MAX_RANKS) continue;
        const double b = cJSON_IsNumber(busy) ? busy->valuedouble : 0;
        s->busy_seconds[r->valueint] += b;
        s->loop_seconds[r->valueint] += b + (cJSON_IsNumber(idle) ? idle->valuedouble : 0);
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
    pthread_mutex_lock(&s->lock);
    s->running_id = 0, s->cancel_running = 0;
    s->jobs_run += state == SERVE_DONE;
    s->seconds_running += br_now() - t0;
    pthread_mutex_unlock(&s->lock);
    br_clear_error();
    br_status rec = serve_db_finish(db, id, state, state == SERVE_FAILED ? error : NULL, cost);
    free(cost);
    if (rec == BR_OK) serve_drop_uploads(s, db, id);
    return rec;
}

// Every rank: one job's run with the kept blocks (rank 0 watches it).
static br_status run_order(br_comm *comm, br_backend *be, serve_order *o, br_run_keep *keep,
                           const br_run_hooks *hooks) {
    char *argv[SERVE_MAX_WORDS + 1];
    br_run_args *a = malloc(sizeof *a);
    br_status st = a ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
    serve_words_argv(&o->words, argv);
    if (st == BR_OK) st = br_run_parse(o->words.argc, argv, a);
    if ((st = br_comm_agree(comm, st)) == BR_OK) {
        a->opts.keep = keep, a->opts.hooks = hooks;
        // every rank has the words: the prompts as text are theirs
        a->opts.prompts = a->prompt_words, a->opts.n_prompts = a->n_prompt_words;
        st = br_run(comm, be, &a->opts);
    }
    free(a);
    return st;
}

// Every rank: orders until quit. Only a failure of the server itself (its queue, MPI) ends it;
// a job's failure is that job's.
static br_status serve_jobs(br_comm *comm, br_backend *be, serve_state *s, serve_db *db) {
    const int rank = br_comm_rank(comm), n = br_comm_size(comm);
    br_run_keep *keep = br_run_keep_new();
    serve_order *o = malloc(sizeof *o);
    br_status st = keep && o ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
    for (;;) {
        if (rank == 0) {
            if (st == BR_OK) st = next_order(s, db, o);
            if (st != BR_OK) o->kind = ORDER_QUIT; // the others must hear it
            for (int r = 1; r < n; r++) {
                const br_status sent = br_comm_send_bytes(comm, o, sizeof *o, r);
                if (st == BR_OK) st = sent;
            }
        } else if ((st = receive_order(comm, o)) != BR_OK) {
            break;
        }
        if (o->kind == ORDER_QUIT) break;
        watch_ctx w = {s, db, o->id};
        const br_run_hooks hooks = {&w, on_step, cancelled};
        const double t0 = br_now();
        if (rank == 0) {
            pthread_mutex_lock(&s->lock);
            s->running_id = o->id, s->cancel_running = 0;
            pthread_mutex_unlock(&s->lock);
            printf("serve: job %ld starts\n", o->id);
            fflush(stdout);
        }
        br_clear_error();
        const br_status job = run_order(comm, be, o, keep, rank == 0 ? &hooks : NULL);
        if (rank == 0) st = record_end(s, db, o->id, job, t0);
        br_clear_error();
    }
    br_run_keep_free(keep);
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
    serve_db *db = NULL;
    br_status st = br_comm_agree(comm, br_comm_rank(comm) == 0 ? start_rank0(s, &db) : BR_OK);
    if (st == BR_OK) st = serve_jobs(comm, be, s, db);
    serve_http_stop(s);
    serve_db_close(db);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
    return st;
}
