// status.h: the one status type of brigade and the message that goes with a failure.
// Every function that can fail returns br_status; the first failure on a rank formats one line
// (naming the file, tensor, rank or argument at fault) that main() prints. Below everything in
// the data path: io, model, stage, comm, sched and cli all include it.
#ifndef BR_STATUS_H
#define BR_STATUS_H

typedef enum {
    BR_OK = 0,
    BR_EINPUT,    // bad input: checkpoint, config, inputs file, argument
    BR_EIO,       // the operating system refused: open, mmap, write, rename
    BR_ENOMEM,    // an allocation failed
    BR_ECOMM,     // MPI (later NCCL) failed or a peer is gone
    BR_EINTERNAL, // a broken invariant of brigade itself
    BR_ECANCELED, // stopped on request (`brigade serve`: a job cancelled)
    BR_EBUSY,     // needs what runs in progress hold (`brigade serve`: memory, the model set up
                  // otherwise): the job waits for them to end
} br_status;

// Records the message (printf-style) for this rank and returns code. A later call overwrites
// the message only when no failure is recorded yet, so the first cause wins.
br_status br_fail(br_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// The recorded message, or "" when none. br_clear_error() forgets it.
const char *br_error(void);
void br_clear_error(void);

// For failures that leave no way to agree (a CUDA or NCCL error in the middle of a run): prints
// one line and ends the whole job. src/comm installs the job-wide abort; until then, and when the
// handler returns, the process exits with status 1.
void br_set_fatal_handler(void (*handler)(const char *message));
_Noreturn void br_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Shorthand: evaluate a br_status expression and return it from the caller when it failed.
#define BR_TRY(expr)                       \
    do {                                   \
        br_status br_try_s_ = (expr);      \
        if (br_try_s_ != BR_OK) return br_try_s_; \
    } while (0)

#endif
