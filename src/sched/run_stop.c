// run_stop.c: Ctrl-C (SIGINT) and SIGTERM during `brigade run` (mpirun passes Ctrl-C on as
// SIGTERM, and sends SIGTERM to the others when a rank dies; Slurm's scancel and a job's time
// limit send it). Every rank says where its loop was (run_watchdog_say_where). Rank 0's handler
// then writes the signal to a pipe; a thread waiting on it saves the last completed step (a copy
// of the latents taken when the step completed, so the main thread may be anywhere, even blocked
// in a receive), says how to resume, and exits. The other ranks linger up to LINGER_S first:
// launchers end every rank of a job as soon as one ends (mpirun at once, srun with
// --kill-on-bad-exit), so a rank that ended at once would cut rank 0's save short.
#define _POSIX_C_SOURCE 200809L // sigaction
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_internal.h"

enum { LINGER_S = 3, STOP_MAX_RUNS = 64 };

// A run's last completed step: its latents then (0 steps: none completed yet).
typedef struct {
    run_state *run;
    float *latents;
    int step, saved; // steps in the snapshot; steps in the checkpoint on disk
} stop_entry;

static struct {
    pthread_mutex_t lock; // the snapshots, and checkpoint writes (HDF5 is not thread-safe)
    int pipe[2];
    pthread_t thread;
    int rank;
    int n;                // runs registered (a server's jobs in flight: several)
    stop_entry runs[STOP_MAX_RUNS];
    struct sigaction old_int, old_term;
} stop = {.lock = PTHREAD_MUTEX_INITIALIZER, .pipe = {-1, -1}};

static void on_signal(int sig) {
    run_watchdog_say_where(sig);
    unsigned char s = (unsigned char)sig;
    if (stop.pipe[1] < 0 || write(stop.pipe[1], &s, 1) != 1) {
        if (stop.rank != 0) sleep(LINGER_S); // rank 0's exit ends it sooner
        signal(sig, SIG_DFL); // end as the signal would
        raise(sig);
    }
}

static void report(int sig, const stop_entry *e) {
    const run_state *run = e->run;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    const int steps = run->opts->steps;
    if (run->opts->checkpoint_every <= 0)
        fprintf(stderr, "brigade: stopped by %s after %d of %d steps; nothing saved "
                "(--checkpoint-every K saves the steps as they complete)\n", name, e->step, steps);
    else if (e->saved == 0)
        fprintf(stderr, "brigade: stopped by %s before a step completed; nothing to save\n", name);
    else
        fprintf(stderr, "brigade: stopped by %s; %d of %d steps are saved in %s/checkpoint.h5: "
                "the same command with --resume goes on from there\n", name, e->saved, steps,
                run->opts->out_dir);
}

static void *watch(void *arg) {
    (void)arg;
    unsigned char sig;
    if (read(stop.pipe[0], &sig, 1) != 1) return NULL; // the pipe closed: the runs ended
    pthread_mutex_lock(&stop.lock);
    for (int i = 0; i < stop.n; i++) {
        stop_entry *e = &stop.runs[i];
        if (e->run->opts->checkpoint_every > 0 && e->step > e->saved) {
            if (run_write_checkpoint(e->run, e->latents, e->step) == BR_OK) e->saved = e->step;
            else fprintf(stderr, "brigade: could not save step %d: %s\n", e->step, br_error());
        }
        report(sig, e);
    }
    fflush(stdout), fflush(stderr);
    _exit(128 + sig);
}

static stop_entry *entry_of(const run_state *run) {
    for (int i = 0; i < stop.n; i++)
        if (stop.runs[i].run == run) return &stop.runs[i];
    return NULL;
}

// The first run starts the watch and takes the signals; the others join it.
void run_stop_start(run_state *run) {
    pthread_mutex_lock(&stop.lock);
    const int first = stop.n == 0;
    if (stop.n < STOP_MAX_RUNS)
        stop.runs[stop.n++] = (stop_entry){run, NULL, run->plan.start_step, run->plan.start_step};
    pthread_mutex_unlock(&stop.lock);
    if (!first) return;
    stop.rank = run->rank;
    if (run->rank == 0 && pipe(stop.pipe) == 0 &&
        pthread_create(&stop.thread, NULL, watch, NULL) != 0) {
        close(stop.pipe[0]), close(stop.pipe[1]);
        stop.pipe[0] = stop.pipe[1] = -1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &stop.old_int);
    sigaction(SIGTERM, &sa, &stop.old_term);
}

void run_stop_step(run_state *run, int steps_done) {
    if (stop.pipe[1] < 0) return;
    const size_t bytes = (size_t)run->plan.n_jobs * run->plan.geom.latent_tokens * run->plan.C *
                         sizeof(float);
    pthread_mutex_lock(&stop.lock);
    stop_entry *e = entry_of(run);
    if (!e) { // (more runs than the watch holds: this one is not saved on a signal)
    } else if (run->opts->checkpoint_every <= 0) {
        e->step = steps_done; // only counted
    } else if (e->latents || (e->latents = malloc(run_latent_bytes(&run->plan)))) {
        memcpy(e->latents, run->x, bytes), e->step = steps_done; // (else: nothing new saved)
    }
    pthread_mutex_unlock(&stop.lock);
}

br_status run_stop_checkpoint(run_state *run, int steps_done) {
    pthread_mutex_lock(&stop.lock);
    br_status st = run_write_checkpoint(run, run->x, steps_done);
    stop_entry *e = entry_of(run);
    if (st == BR_OK && e) e->saved = steps_done;
    pthread_mutex_unlock(&stop.lock);
    return st;
}

// The last run to end gives the signals back.
void run_stop_end(run_state *run) {
    pthread_mutex_lock(&stop.lock);
    stop_entry *e = entry_of(run);
    if (e) {
        free(e->latents);
        *e = stop.runs[--stop.n];
    }
    const int last = e && stop.n == 0;
    pthread_mutex_unlock(&stop.lock);
    if (!last) return;
    sigaction(SIGINT, &stop.old_int, NULL);
    sigaction(SIGTERM, &stop.old_term, NULL);
    if (stop.pipe[1] >= 0) {
        int fd = stop.pipe[1];
        stop.pipe[1] = -1;
        close(fd); // the thread's read returns 0
        pthread_join(stop.thread, NULL);
        close(stop.pipe[0]);
    }
    stop.pipe[0] = stop.pipe[1] = -1;
}
