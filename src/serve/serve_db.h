// serve_db.h: `brigade serve`'s queue and every job's state in SQLite (WAL: the HTTP thread reads
// while the loop writes; a crash loses nothing committed). Rank 0 only; one connection per thread.
#ifndef BR_SERVE_DB_H
#define BR_SERVE_DB_H

#include "core/status.h"

typedef struct serve_db serve_db;

// The states of a job; a job only moves forward, except running -> queued when a server that
// crashed starts again.
#define SERVE_STATES "queued", "running", "done", "failed", "cancelled"
enum { SERVE_QUEUED, SERVE_RUNNING, SERVE_DONE, SERVE_FAILED, SERVE_CANCELLED, SERVE_N_STATES };
extern const char *const serve_state_names[SERVE_N_STATES];

typedef struct {
    long id;
    int state;
    char *settings;   // JSON object: the run options of the job (serve_settings.h)
    char *embeddings; // the file of its prompts (in the state folder or under --inputs)
    char *images;     // JSON array of image files
    char *error;      // one line, or NULL
    char *cost;       // JSON object from its run.json, or NULL
    double created, started, finished; // Unix seconds (0: not yet)
    int steps_done, steps, attempts;   // attempts: times a server started it
    double step_seconds;               // mean seconds per step so far
} serve_job;

br_status serve_db_open(const char *path, serve_db **out);
void serve_db_close(serve_db *db);

br_status serve_db_add(serve_db *db, const char *settings, const char *embeddings,
                       const char *images, long *id);
// The oldest queued job, marked running (its attempts counted); *id = 0 when none is queued.
br_status serve_db_take(serve_db *db, long *id);
br_status serve_db_get(serve_db *db, long id, serve_job *job, int *found);
// Every job, oldest first (*jobs: malloc'd, serve_db_free_jobs).
br_status serve_db_list(serve_db *db, serve_job **jobs, int *n);
void serve_job_free(serve_job *job);
void serve_db_free_jobs(serve_job *jobs, int n);

br_status serve_db_progress(serve_db *db, long id, int done, int steps, double step_seconds);
// The end of a run: state SERVE_DONE, SERVE_FAILED (error) or SERVE_CANCELLED.
br_status serve_db_finish(serve_db *db, long id, int state, const char *error, const char *cost);
// A queued job becomes cancelled; *state: its state before (-1: no such job).
br_status serve_db_cancel(serve_db *db, long id, int *state);
// A job taken that could not start beside the jobs in flight goes back to the queue as it was
// (unless it was cancelled meanwhile).
br_status serve_db_put_back(serve_db *db, long id);
// At start: jobs a stopped server left running are queued again (*n of them).
br_status serve_db_requeue_running(serve_db *db, int *n);
br_status serve_db_counts(serve_db *db, int counts[SERVE_N_STATES]);

#endif
