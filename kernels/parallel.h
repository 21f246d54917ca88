// parallel.h: brigade's own CPU threads. OpenBLAS splits a product by its thread count, and the
// bits of a sum depend on how it is split, so N ranks (each with a share of the cores) would not
// give 1 rank's bits. Instead the BLAS runs single-threaded under these threads, and the CPU
// kernels cut their work into tasks whose shapes depend on the problem only, never on the thread
// count: each task writes its own outputs, so any number of threads gives the same bits.
#ifndef BR_PARALLEL_H
#define BR_PARALLEL_H

// One task: fn(ctx, task, worker), worker in 0 .. br_parallel_threads() - 1 (for scratch space).
typedef void (*br_task_fn)(void *ctx, int task, int worker);

// Sizes the pool and makes OpenBLAS single-threaded. The size: BRIGADE_THREADS, else
// OPENBLAS_NUM_THREADS or OMP_NUM_THREADS (what users of the BLAS already set), else the CPUs this
// process may run on, divided among ranks_on_host ranks when no launcher bound them to their own.
// Called once at start; without it the first br_parallel_for sizes the pool as for one rank.
void br_parallel_init(int ranks_on_host);
int br_parallel_threads(void);
// Where the size came from, for the placement table: "BRIGADE_THREADS", "CPUs", ...
const char *br_parallel_source(void);

// Runs tasks 0 .. n_tasks - 1 on the pool (the caller takes part) and returns when all are done.
// A call from inside a task runs inline.
void br_parallel_for(int n_tasks, br_task_fn fn, void *ctx);

#endif
