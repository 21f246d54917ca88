// serve.h: `brigade serve`: every rank keeps its blocks loaded and runs the queued jobs, up to
// --max-jobs of them in flight together through the pipeline of ranks; rank 0 also answers HTTP
// (libmicrohttpd, its own thread) and keeps the queue in SQLite under --state. The pieces:
//   serve_loop.c      the ranks' loop: take jobs, hand their words to every rank, step them
//                     together, record their ends
//   serve_settings.c  a job's settings (JSON) <-> the words of `brigade run`
//   serve_http.c      the daemon: requests, the token, uploads, replies
//   serve_routes.c    the API: /jobs, /jobs/ID, /health, /metrics
//   serve_files.c     the files of a job and of --inputs: names checked, never a client's path
//   serve_page.c      the page at /
#ifndef BR_SERVE_H
#define BR_SERVE_H

#include <pthread.h>
#include <stddef.h>

#include "comm/comm.h"
#include "core/backend.h"
#include "model/family.h"
#include "serve_db.h"

enum { SERVE_MAX_WORDS = 96, SERVE_WORDS_BYTES = 16384, SERVE_MAX_RANKS = 256, SERVE_MAX_JOBS = 64 };

// What the server was started with (rank 0's are the ones that count; every rank parses them).
typedef struct {
    const char *model;       // --model DIR
    const char *state_dir;   // --state DIR: queue.db, jobs/ID/, uploads/
    const char *inputs_dir;  // --inputs DIR: files a job may name (NULL: none)
    const char *listen;      // host:port
    const char *token_file;  // NULL: no token (loopback only)
    int checkpoint_every;    // steps between a running job's checkpoints
    long max_upload;         // bytes of one request's body
    int max_attempts;        // a job that ended the server this often fails instead
    int max_jobs;            // jobs in flight together (1..SERVE_MAX_JOBS)
    const char *run_words[24]; // words every job's run gets (--vae, --split, --timeout, ...)
    int n_run_words;
} serve_config;

// The words of one `brigade run`, as one message: argc strings, NUL-separated.
typedef struct {
    int argc;
    char text[SERVE_WORDS_BYTES];
} serve_words;

// Rank 0's state shared by the loop (main thread) and the HTTP thread.
typedef struct {
    serve_config cfg;
    int n_ranks;
    char token[256];          // "" when none is required
    char db_path[4200];
    serve_db *http_db;        // the HTTP thread's connection
    br_model check_model;     // the HTTP thread's: the model's checks of a job at POST (opened
    int check_model_open;     // at the first POST)
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;     // what follows
    pthread_cond_t wake;      // a job was queued, or the server is stopping
    long running[SERVE_MAX_JOBS]; // the jobs in flight, oldest first
    int cancel[SERVE_MAX_JOBS];   // DELETE of running[i]
    int n_running;
    int stopping;
    long upload_counter;
    // For /metrics, over the jobs this server ran.
    int jobs_run;
    double busy_seconds[SERVE_MAX_RANKS];
    double gpu_joules, seconds_running, started; // started: br_now() (uptime)
    double seconds_in_flight;   // wall time with jobs in flight (busy fractions' denominator)
} serve_state;

// serve_settings.c
// Checks a job's settings (keys: the run options a job may set, with - or _) and writes them
// as a canonical JSON object of strings into *json (malloc'd); one error line names the key.
br_status serve_settings_canonical(const void *settings_cjson, char **json);
// The words of a job's run: the server's fixed ones, then the job's files and settings.
br_status serve_job_words(const serve_config *cfg, const serve_job *job, const char *out_dir,
                          int resume, serve_words *w);
// argv pointers into w->text (argv[SERVE_MAX_WORDS]).
void serve_words_argv(serve_words *w, char **argv);

// serve_files.c
// DIR/name when name is a plain relative name (folders of [A-Za-z0-9._-], none starting with
// '.') of a regular file that resolves inside DIR; else one error line.
br_status serve_file_inside(const char *dir, const char *name, char *path, size_t size);
// The job's folder: STATE/jobs/ID.
void serve_job_dir(const serve_state *s, long id, char *path, size_t size);
// A job that ended needs its uploads no more: they are removed (files under --inputs stay).
void serve_drop_uploads(const serve_state *s, serve_db *db, long id);

// serve_http.c
br_status serve_http_start(serve_state *s);
void serve_http_stop(serve_state *s);

// serve_loop.c
br_status br_serve(br_comm *comm, br_backend *be, const serve_config *cfg);

#endif
