// serve_db.c: the job table (serve_db.h). Every statement is prepared with bound parameters.
#define _POSIX_C_SOURCE 200809L // strdup
#include "serve_db.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

const char *const serve_state_names[SERVE_N_STATES] = {SERVE_STATES};

struct serve_db {
    sqlite3 *db;
    char path[4200];
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL,"
    " settings TEXT NOT NULL, embeddings TEXT NOT NULL, images TEXT NOT NULL,"
    " error TEXT, cost TEXT,"
    " created REAL NOT NULL, started REAL NOT NULL DEFAULT 0, finished REAL NOT NULL DEFAULT 0,"
    " steps_done INTEGER NOT NULL DEFAULT 0, steps INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, step_seconds REAL NOT NULL DEFAULT 0);";

static br_status failed(serve_db *d, const char *what) {
    return br_fail(BR_EIO, "%s: %s: %s", d->path, what, sqlite3_errmsg(d->db));
}

br_status serve_db_open(const char *path, serve_db **out) {
    serve_db *d = calloc(1, sizeof *d);
    if (!d) return br_fail(BR_ENOMEM, "out of memory");
    snprintf(d->path, sizeof d->path, "%s", path);
    *out = d;
    if (sqlite3_open(path, &d->db) != SQLITE_OK) return failed(d, "cannot open the queue");
    sqlite3_busy_timeout(d->db, 10000); // the other thread's writes are short
    char *msg = NULL;
    if (sqlite3_exec(d->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        br_status st = br_fail(BR_EIO, "%s: not a queue of brigade serve: %s", path, msg);
        sqlite3_free(msg);
        return st;
    }
    // NORMAL: a commit survives a crash of brigade (WAL); only a power loss may take the last.
    sqlite3_exec(d->db, "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    return BR_OK;
}

void serve_db_close(serve_db *d) {
    if (!d) return;
    sqlite3_close(d->db);
    free(d);
}

// Prepares sql and binds the arguments: 'l' long, 'i' int, 'd' double, 't' text (NULL: null).
static br_status prepare(serve_db *d, sqlite3_stmt **s, const char *sql, const char *types, ...) {
    if (sqlite3_prepare_v2(d->db, sql, -1, s, NULL) != SQLITE_OK) return failed(d, "a query");
    va_list ap;
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 'l') sqlite3_bind_int64(*s, i + 1, va_arg(ap, long));
        else if (types[i] == 'i') sqlite3_bind_int(*s, i + 1, va_arg(ap, int));
        else if (types[i] == 'd') sqlite3_bind_double(*s, i + 1, va_arg(ap, double));
        else sqlite3_bind_text(*s, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
    }
    va_end(ap);
    return BR_OK;
}

// Runs a statement that returns no rows.
static br_status exec_done(serve_db *d, sqlite3_stmt *s, const char *what) {
    const int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BR_OK : failed(d, what);
}

br_status serve_db_add(serve_db *d, const char *settings, const char *embeddings,
                       const char *images, long *id) {
    sqlite3_stmt *s;
    BR_TRY(prepare(d, &s, "INSERT INTO jobs(state, settings, embeddings, images, created) "
                          "VALUES(?, ?, ?, ?, ?)", "itttd", SERVE_QUEUED, settings, embeddings,
                   images, br_wall_time()));
    BR_TRY(exec_done(d, s, "cannot queue the job"));
    *id = (long)sqlite3_last_insert_rowid(d->db);
    return BR_OK;
}

br_status serve_db_take(serve_db *d, long *id) {
    sqlite3_stmt *s;
    *id = 0;
    BR_TRY(prepare(d, &s, "UPDATE jobs SET state = ?, started = ?, attempts = attempts + 1 "
                          "WHERE id = (SELECT min(id) FROM jobs WHERE state = ?) RETURNING id",
                   "idi", SERVE_RUNNING, br_wall_time(), SERVE_QUEUED));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *id = (long)sqlite3_column_int64(s, 0), rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BR_OK : failed(d, "cannot take a job from the queue");
}

static char *text_of(sqlite3_stmt *s, int col) {
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? strdup((const char *)t) : NULL;
}

static const char columns[] = "id, state, settings, embeddings, images, error, cost, created, "
                              "started, finished, steps_done, steps, attempts, step_seconds";

static void row_job(sqlite3_stmt *s, serve_job *j) {
    j->id = (long)sqlite3_column_int64(s, 0);
    j->state = sqlite3_column_int(s, 1);
    if (j->state < 0 || j->state >= SERVE_N_STATES) j->state = SERVE_FAILED;
    j->settings = text_of(s, 2), j->embeddings = text_of(s, 3), j->images = text_of(s, 4);
    j->error = text_of(s, 5), j->cost = text_of(s, 6);
    j->created = sqlite3_column_double(s, 7), j->started = sqlite3_column_double(s, 8);
    j->finished = sqlite3_column_double(s, 9);
    j->steps_done = sqlite3_column_int(s, 10), j->steps = sqlite3_column_int(s, 11);
    j->attempts = sqlite3_column_int(s, 12), j->step_seconds = sqlite3_column_double(s, 13);
}

br_status serve_db_get(serve_db *d, long id, serve_job *job, int *found) {
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT %s FROM jobs WHERE id = ?", columns);
    sqlite3_stmt *s;
    memset(job, 0, sizeof *job);
    BR_TRY(prepare(d, &s, sql, "l", id));
    const int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (*found) row_job(s, job);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? BR_OK : failed(d, "cannot read a job");
}

br_status serve_db_list(serve_db *d, serve_job **jobs, int *n) {
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT %s FROM jobs ORDER BY id", columns);
    sqlite3_stmt *s;
    *jobs = NULL, *n = 0;
    BR_TRY(prepare(d, &s, sql, ""));
    int rc, cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            serve_job *more = realloc(*jobs, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *more);
            if (!more) {
                sqlite3_finalize(s);
                return br_fail(BR_ENOMEM, "out of memory for the job list");
            }
            *jobs = more;
        }
        row_job(s, &(*jobs)[(*n)++]);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BR_OK : failed(d, "cannot list the jobs");
}

void serve_job_free(serve_job *j) {
    free(j->settings), free(j->embeddings), free(j->images), free(j->error), free(j->cost);
    memset(j, 0, sizeof *j);
}

void serve_db_free_jobs(serve_job *jobs, int n) {
    for (int i = 0; i < n; i++) serve_job_free(&jobs[i]);
    free(jobs);
}

br_status serve_db_progress(serve_db *d, long id, int done, int steps, double step_seconds) {
    sqlite3_stmt *s;
    BR_TRY(prepare(d, &s, "UPDATE jobs SET steps_done = ?, steps = ?, step_seconds = ? "
                          "WHERE id = ?", "iidl", done, steps, step_seconds, id));
    return exec_done(d, s, "cannot record a job's progress");
}

br_status serve_db_finish(serve_db *d, long id, int state, const char *error, const char *cost) {
    sqlite3_stmt *s;
    BR_TRY(prepare(d, &s, "UPDATE jobs SET state = ?, error = ?, cost = ?, finished = ? "
                          "WHERE id = ?", "ittdl", state, error, cost, br_wall_time(), id));
    return exec_done(d, s, "cannot record a job's end");
}

br_status serve_db_cancel(serve_db *d, long id, int *state) {
    serve_job j;
    int found;
    *state = -1;
    BR_TRY(serve_db_get(d, id, &j, &found));
    if (!found) return BR_OK;
    *state = j.state;
    serve_job_free(&j);
    if (*state != SERVE_QUEUED) return BR_OK;
    sqlite3_stmt *s;
    // Only while still queued: the loop may have taken it meanwhile (then it is cancelled there).
    BR_TRY(prepare(d, &s, "UPDATE jobs SET state = ?, finished = ? WHERE id = ? AND state = ?",
                   "idli", SERVE_CANCELLED, br_wall_time(), id, SERVE_QUEUED));
    BR_TRY(exec_done(d, s, "cannot cancel a job"));
    if (sqlite3_changes(d->db) == 0) *state = SERVE_RUNNING;
    return BR_OK;
}

br_status serve_db_requeue_running(serve_db *d, int *n) {
    sqlite3_stmt *s;
    BR_TRY(prepare(d, &s, "UPDATE jobs SET state = ? WHERE state = ?", "ii", SERVE_QUEUED,
                   SERVE_RUNNING));
    BR_TRY(exec_done(d, s, "cannot requeue the running jobs"));
    *n = sqlite3_changes(d->db);
    return BR_OK;
}

br_status serve_db_put_back(serve_db *d, long id) {
    sqlite3_stmt *s;
    BR_TRY(prepare(d, &s, "UPDATE jobs SET state = ?, started = 0, attempts = attempts - 1 "
                          "WHERE id = ? AND state = ?", "ili", SERVE_QUEUED, id, SERVE_RUNNING));
    return exec_done(d, s, "cannot put a job back in the queue");
}

br_status serve_db_counts(serve_db *d, int counts[SERVE_N_STATES]) {
    sqlite3_stmt *s;
    memset(counts, 0, SERVE_N_STATES * sizeof *counts);
    BR_TRY(prepare(d, &s, "SELECT state, count(*) FROM jobs GROUP BY state", ""));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const int state = sqlite3_column_int(s, 0);
        if (state >= 0 && state < SERVE_N_STATES) counts[state] = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BR_OK : failed(d, "cannot count the jobs");
}
