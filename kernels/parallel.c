// parallel.c: see parallel.h. A fixed pool: workers sleep on a condition variable; a call
// publishes the job, and every thread (the caller too) claims task numbers from one counter.
#define _GNU_SOURCE // sched_getaffinity, CPU_COUNT
#include "parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };

static struct {
    pthread_mutex_t lock;      // guards the job fields and running
    pthread_cond_t wake, done;
    pthread_mutex_t one_call;  // one br_parallel_for at a time
    int threads;
    const char *source;
    unsigned generation;       // bumped by every job: workers wake on a change
    int running;               // workers still on the current job
    br_task_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;           // the next unclaimed task
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .one_call = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int in_task = -1; // the worker running a task here; nested calls run inline

static void run_tasks(int worker) {
    in_task = worker;
    for (int t; (t = atomic_fetch_add(&pool.next, 1)) < pool.n_tasks;) pool.fn(pool.ctx, t, worker);
    in_task = -1;
}

static void *worker_main(void *arg) {
    const int worker = (int)(intptr_t)arg;
    pthread_mutex_lock(&pool.lock);
    // Workers start before the first job, which waits for each of them: none can miss a job, so
    // each starts from generation 0 even if it first runs after a job was published.
    for (unsigned seen = 0;;) {
        while (pool.generation == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        seen = pool.generation;
        pthread_mutex_unlock(&pool.lock);
        run_tasks(worker);
        pthread_mutex_lock(&pool.lock);
        if (--pool.running == 0) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

static int env_count(const char *name) {
    const char *v = getenv(name);
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    return v && *v && !*end && n > 0 ? (int)(n < MAX_THREADS ? n : MAX_THREADS) : 0;
}

static int choose_threads(int ranks_on_host, const char **source) {
    static const char *const vars[] = {"BRIGADE_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 3; i++)
        if (env_count(vars[i])) return *source = vars[i], env_count(vars[i]);
    cpu_set_t mask;
    int cpus = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : 1;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    *source = "CPUs";
    // Unbound ranks on one host (e.g. mpirun --oversubscribe) would each see every CPU.
    if (ranks_on_host > 1 && cpus == online) {
        *source = "CPUs / ranks on the host";
        cpus /= ranks_on_host;
    }
    return cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : cpus;
}

void br_parallel_init(int ranks_on_host) {
    pthread_mutex_lock(&pool.one_call);
    if (!pool.threads) {
        openblas_set_num_threads(1);
        int want = choose_threads(ranks_on_host, &pool.source);
        pool.threads = 1;
        for (int w = 1; w < want; w++) {
            pthread_t t;
            if (pthread_create(&t, NULL, worker_main, (void *)(intptr_t)w) != 0) break;
            pthread_detach(t);
            pool.threads++;
        }
    }
    pthread_mutex_unlock(&pool.one_call);
}

int br_parallel_threads(void) {
    if (!pool.threads) br_parallel_init(1);
    return pool.threads;
}

const char *br_parallel_source(void) {
    if (!pool.threads) br_parallel_init(1);
    return pool.source;
}

void br_parallel_for(int n_tasks, br_task_fn fn, void *ctx) {
    if (!pool.threads) br_parallel_init(1);
    if (in_task >= 0 || pool.threads == 1 || n_tasks <= 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, in_task >= 0 ? in_task : 0);
        return;
    }
    pthread_mutex_lock(&pool.one_call);
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn, pool.ctx = ctx, pool.n_tasks = n_tasks;
    atomic_store(&pool.next, 0);
    pool.running = pool.threads - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_tasks(0);
    pthread_mutex_lock(&pool.lock);
    while (pool.running > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.one_call);
}
