// run_watchdog.c: --timeout. A thread per rank watches the denoising loop's progress marks (a
// baton received, computed, sent); when none comes for the limit, it prints one line naming this
// rank, its host, the step, the micro-batch and the rank it waits for, and ends the process with
// status 1, which makes mpirun (or srun --kill-on-bad-exit) end the whole job. A stalled or lost
// peer thus ends the job instead of hanging it. The default limit follows the measured pace: ten
// times the longest gap between marks seen so far, and never under the floor (120 s).
// When the launcher ends the job because a peer died (mpirun sends SIGTERM to the others), each
// surviving rank says where it was and whom it waited for (run_watchdog_say_where, called by
// run_stop.c's signal handler), so the lost rank stands out.
#define _POSIX_C_SOURCE 200809L // clock_gettime
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "run_internal.h"

static struct {
    atomic_long last_ms, longest_ms; // the last mark; the longest gap between two marks
    atomic_int step, micro, peer, running, held;
    int users;                       // runs in their loops (the main thread's count)
    _Atomic(const char *) doing;
    long limit_ms;                   // 0: automatic
    int rank;
    char host[64];
    pthread_t thread;
    pthread_mutex_t lock; // with wake: the thread's nap, which stop cuts short
    pthread_cond_t wake;
} dog = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static long now_ms(void) { return (long)(br_now() * 1000); }

void run_watchdog_mark(int step, int micro, const char *doing, int peer) {
    long t = now_ms(), gap = t - atomic_load(&dog.last_ms);
    if (gap > atomic_load(&dog.longest_ms)) atomic_store(&dog.longest_ms, gap);
    atomic_store(&dog.step, step), atomic_store(&dog.micro, micro), atomic_store(&dog.peer, peer);
    atomic_store(&dog.doing, doing);
    atomic_store(&dog.last_ms, t);
}

// Sleeps 0.2 s, or less when stop wakes it; returns whether the watch goes on.
static int nap(void) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200000000;
    if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
    pthread_mutex_lock(&dog.lock);
    if (atomic_load(&dog.running)) pthread_cond_timedwait(&dog.wake, &dog.lock, &until);
    pthread_mutex_unlock(&dog.lock);
    return atomic_load(&dog.running);
}

static void *watch(void *arg) {
    (void)arg;
    const long floor_ms = 120000;
    while (nap()) {
        long limit = dog.limit_ms;
        if (!limit) limit = 10 * atomic_load(&dog.longest_ms) > floor_ms ? 10 * atomic_load(&dog.longest_ms) : floor_ms;
        long idle = now_ms() - atomic_load(&dog.last_ms);
        if (idle <= limit || !atomic_load(&dog.running) || atomic_load(&dog.held)) continue;
        fprintf(stderr, "brigade: error: rank %d (%s): no progress for %.0f s at step %d, "
                "micro-batch %d, %s rank %d (limit %.0f s, --timeout): ending the job\n",
                dog.rank, dog.host, idle / 1000.0, atomic_load(&dog.step) + 1,
                atomic_load(&dog.micro), atomic_load(&dog.doing), atomic_load(&dog.peer),
                limit / 1000.0);
        fflush(stderr);
        _exit(1);
    }
    return NULL;
}

// Async-signal-safe pieces of a line (no stdio in a signal handler).
static char *put_text(char *p, const char *s) {
    while (*s) *p++ = *s++;
    return p;
}

static char *put_int(char *p, long v) {
    char digits[24];
    int n = 0;
    if (v < 0) *p++ = '-', v = -v;
    do digits[n++] = (char)('0' + v % 10); while ((v /= 10) && n < 23);
    while (n) *p++ = digits[--n];
    return p;
}

void run_watchdog_say_where(int sig) {
    if (!atomic_load(&dog.running)) return;
    char line[512], *p = line;
    p = put_text(p, "brigade: rank "), p = put_int(p, dog.rank), p = put_text(p, " (");
    p = put_text(p, dog.host), p = put_text(p, sig == SIGINT ? ") stopped by SIGINT" : ") ended by SIGTERM");
    p = put_text(p, " at step ");
    p = put_int(p, atomic_load(&dog.step) + 1), p = put_text(p, ", micro-batch ");
    p = put_int(p, atomic_load(&dog.micro)), p = put_text(p, ", ");
    p = put_text(p, atomic_load(&dog.doing)), p = put_text(p, " rank ");
    p = put_int(p, atomic_load(&dog.peer)), p = put_text(p, "\n");
    ssize_t ignored = write(2, line, (size_t)(p - line));
    (void)ignored;
}

br_status run_watchdog_start(const run_state *run) {
    if (dog.users++ > 0) return BR_OK; // watching already (another run's loop)
    dog.limit_ms = (long)(run->opts->timeout_seconds * 1000);
    dog.rank = run->rank;
    snprintf(dog.host, sizeof dog.host, "%s", br_comm_host(run->comm));
    atomic_store(&dog.longest_ms, 0);
    run_watchdog_mark(run->plan.start_step, 0, "starting, next to", run->rank);
    atomic_store(&dog.running, 1);
    if (pthread_create(&dog.thread, NULL, watch, NULL) != 0) {
        atomic_store(&dog.running, 0);
        dog.users--;
        return br_fail(BR_EINTERNAL, "rank %d: cannot start the watchdog thread", run->rank);
    }
    return BR_OK;
}

void run_watchdog_hold(int hold) {
    if (hold) {
        atomic_fetch_add(&dog.held, 1);
    } else if (atomic_fetch_sub(&dog.held, 1) == 1) {
        atomic_store(&dog.last_ms, now_ms()); // the held time is no gap
    }
}

void run_watchdog_stop(void) {
    if (dog.users > 0 && --dog.users > 0) return; // another run's loop goes on
    pthread_mutex_lock(&dog.lock);
    int was_running = atomic_exchange(&dog.running, 0);
    pthread_cond_signal(&dog.wake);
    pthread_mutex_unlock(&dog.lock);
    if (was_running) pthread_join(dog.thread, NULL);
}
