// serve_routes.c: the API of `brigade serve` (docs/serve.md). JSON in and out; every error is
// {"error": "one line"} with a 4xx code; the state is read from the queue, never from the loop.
#define _DEFAULT_SOURCE // DT_DIR
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/run_args.h"
#include "core/clock.h"
#include "serve_http.h"

// The job's files: NAME and DIR/NAME one folder deep (frames), hidden and temporary ones left out.
static void list_files(const char *dir, const char *prefix, cJSON *out, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || (n > 4 && !strcmp(e->d_name + n - 4, ".tmp"))) continue;
        char path[4600], name[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode) && depth == 0) {
            char sub[620];
            snprintf(sub, sizeof sub, "%s/", name);
            list_files(path, sub, out, 1);
        } else if (S_ISREG(sb.st_mode)) {
            cJSON_AddItemToArray(out, cJSON_CreateString(name));
        }
    }
    closedir(d);
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

// The list sorted, so frames come in order.
static cJSON *files_json(const serve_state *s, long id) {
    char dir[4400];
    serve_job_dir(s, id, dir, sizeof dir);
    cJSON *all = cJSON_CreateArray();
    list_files(dir, "", all, 0);
    const int n = cJSON_GetArraySize(all);
    cJSON **items = malloc((size_t)(n ? n : 1) * sizeof *items);
    cJSON *sorted = cJSON_CreateArray();
    if (!items) return all;
    for (int i = 0; i < n; i++) items[i] = cJSON_DetachItemFromArray(all, 0);
    qsort(items, (size_t)n, sizeof *items, by_name);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(sorted, items[i]);
    free(items);
    cJSON_Delete(all);
    return sorted;
}

static cJSON *job_json(const serve_state *s, const serve_job *j, int with_files) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "state", serve_state_names[j->state]);
    cJSON_AddItemToObject(o, "settings", cJSON_Parse(j->settings ? j->settings : "{}"));
    cJSON_AddNumberToObject(o, "step", j->steps_done);
    cJSON_AddNumberToObject(o, "steps", j->steps);
    cJSON_AddNumberToObject(o, "seconds_per_step", j->step_seconds);
    const int running = j->state == SERVE_RUNNING;
    if (running && j->steps) cJSON_AddNumberToObject(o, "eta_seconds", (j->steps - j->steps_done) * j->step_seconds);
    else cJSON_AddNullToObject(o, "eta_seconds");
    cJSON_AddNumberToObject(o, "created", j->created);
    cJSON_AddNumberToObject(o, "started", j->started);
    cJSON_AddNumberToObject(o, "finished", j->finished);
    const double end = j->finished ? j->finished : running ? br_wall_time() : 0;
    cJSON_AddNumberToObject(o, "seconds", j->started && end ? end - j->started : 0);
    cJSON_AddNumberToObject(o, "attempts", j->attempts);
    if (j->error) cJSON_AddStringToObject(o, "error", j->error);
    else cJSON_AddNullToObject(o, "error");
    cJSON *cost = j->cost ? cJSON_Parse(j->cost) : NULL;
    if (cost) cJSON_AddItemToObject(o, "cost", cost);
    else cJSON_AddNullToObject(o, "cost");
    if (with_files) cJSON_AddItemToObject(o, "files", files_json(s, j->id));
    return o;
}

static enum MHD_Result db_error(struct MHD_Connection *c) {
    return serve_reply_error(c, 500, "%s", br_error());
}

static enum MHD_Result list_jobs(serve_state *s, struct MHD_Connection *c) {
    serve_job *jobs;
    int n;
    br_clear_error();
    if (serve_db_list(s->http_db, &jobs, &n) != BR_OK) return db_error(c);
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "jobs");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, job_json(s, &jobs[i], 0));
    serve_db_free_jobs(jobs, n);
    return serve_reply_json(c, 200, o);
}

// The file a form uploaded under key k (its n-th such), or NULL.
static const char *uploaded(const serve_request *r, const char *k, int n) {
    for (int i = 0; i < r->n_files; i++)
        if (!strcmp(r->file_key[i], k) && n-- == 0) return r->file_path[i];
    return NULL;
}

// A name under --inputs as a path (the server's folder only).
static br_status input_file(const serve_state *s, const char *name, char *path, size_t size) {
    if (!s->cfg.inputs_dir)
        return br_fail(BR_EINPUT, "\"%.200s\": this server has no --inputs folder: upload the "
                       "file in a form", name);
    return serve_file_inside(s->cfg.inputs_dir, name, path, size);
}

// The job's embeddings file, images and settings from the body: *job's strings malloc'd.
static br_status read_job(const serve_state *s, const serve_request *r, const cJSON *doc,
                          serve_job *job) {
    char path[4200];
    for (int i = 0; i < r->n_files; i++)
        if (strcmp(r->file_key[i], "embeddings") && strcmp(r->file_key[i], "image"))
            return br_fail(BR_EINPUT, "upload \"%s\": the files a job takes are embeddings "
                           "and image", r->file_key[i]);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "embeddings");
    const int text = cJSON_GetObjectItemCaseSensitive(doc, "prompt") != NULL;
    if (text && (e || uploaded(r, "embeddings", 0)))
        return br_fail(BR_EINPUT, "a job gives its prompt as text (\"prompt\") or as embeddings, "
                       "not both");
    if (text) path[0] = '\0'; // the text encoder of the server's pipeline makes them
    else if (uploaded(r, "embeddings", 0)) snprintf(path, sizeof path, "%s", uploaded(r, "embeddings", 0));
    else if (cJSON_IsString(e)) BR_TRY(input_file(s, e->valuestring, path, sizeof path));
    else return br_fail(BR_EINPUT, "give \"prompt\" (the text; the pipeline's text encoder "
                        "encodes it), or embeddings: upload the file (a form field "
                        "\"embeddings\") or name one under the server's --inputs folder");
    job->embeddings = strdup(path);
    cJSON *images = cJSON_CreateArray();
    job->images = NULL;
    for (int i = 0; uploaded(r, "image", i); i++)
        cJSON_AddItemToArray(images, cJSON_CreateString(uploaded(r, "image", i)));
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(doc, "image"), *item;
    const cJSON *names = cJSON_IsArray(im) ? im : NULL;
    br_status st = BR_OK;
    if (im && !cJSON_IsString(im) && !cJSON_IsArray(im))
        st = br_fail(BR_EINPUT, "image: a file name under --inputs, or a list of them");
    if (cJSON_IsString(im) && st == BR_OK) st = input_file(s, im->valuestring, path, sizeof path);
    if (cJSON_IsString(im) && st == BR_OK) cJSON_AddItemToArray(images, cJSON_CreateString(path));
    cJSON_ArrayForEach(item, names) {
        if (st == BR_OK && !cJSON_IsString(item)) st = br_fail(BR_EINPUT, "image: names only");
        if (st == BR_OK) st = input_file(s, item->valuestring, path, sizeof path);
        if (st == BR_OK) cJSON_AddItemToArray(images, cJSON_CreateString(path));
    }
    job->images = cJSON_PrintUnformatted(images);
    cJSON_Delete(images);
    if (st != BR_OK) return st;
    cJSON *settings = cJSON_Duplicate(doc, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(settings, "embeddings");
    cJSON_DeleteItemFromObjectCaseSensitive(settings, "image");
    st = serve_settings_canonical(settings, &job->settings);
    cJSON_Delete(settings);
    return st;
}

// The settings as `brigade run` would take them: its parser, then its checks against the model
// (sizes, ranges, images), with its one-line errors.
static br_status check_words(serve_state *s, const serve_job *job) {
    serve_words *w = malloc(sizeof *w);
    br_run_args *a = malloc(sizeof *a);
    char *argv[SERVE_MAX_WORDS + 1];
    br_status st = w && a ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
    if (st == BR_OK) st = serve_job_words(&s->cfg, job, "unused", 0, w);
    if (st == BR_OK) serve_words_argv(w, argv), st = br_run_parse(w->argc, argv, a);
    if (st == BR_OK && !s->check_model_open &&
        (st = br_model_open(a->opts.transformer_dir, &s->check_model)) == BR_OK)
        s->check_model_open = 1;
    if (st == BR_OK) st = br_run_check(&s->check_model, &a->opts);
    free(w), free(a);
    return st;
}

static enum MHD_Result post_job(serve_state *s, struct MHD_Connection *c, serve_request *r) {
    cJSON *parsed = NULL;
    if (!r->form && !(parsed = r->body ? cJSON_Parse(r->body) : NULL))
        return serve_reply_error(c, 400, "POST /jobs takes a JSON object or a form: %s",
                                 r->body ? "the JSON is malformed" : "the body is empty");
    const cJSON *doc = r->form ? r->fields : parsed;
    serve_job job = {0};
    br_clear_error();
    br_status st = cJSON_IsObject(doc) ? read_job(s, r, doc, &job)
                                       : br_fail(BR_EINPUT, "POST /jobs takes a JSON object");
    if (st == BR_OK) st = check_words(s, &job);
    long id = 0;
    if (st == BR_OK) st = serve_db_add(s->http_db, job.settings, job.embeddings, job.images, &id);
    cJSON_Delete(parsed);
    serve_job_free(&job);
    if (st != BR_OK) {
        serve_request_drop_files(r);
        return serve_reply_error(c, st == BR_EINPUT ? 400 : 500, "%s", br_error());
    }
    r->n_files = 0; // the job owns its uploads now
    pthread_mutex_lock(&s->lock);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "state", "queued");
    return serve_reply_json(c, 201, o);
}

static enum MHD_Result get_job(serve_state *s, struct MHD_Connection *c, long id) {
    serve_job j;
    int found;
    br_clear_error();
    if (serve_db_get(s->http_db, id, &j, &found) != BR_OK) return db_error(c);
    if (!found) return serve_reply_error(c, 404, "no job %ld", id);
    cJSON *o = job_json(s, &j, 1);
    serve_job_free(&j);
    return serve_reply_json(c, 200, o);
}

static enum MHD_Result cancel_job(serve_state *s, struct MHD_Connection *c, long id) {
    int state;
    br_clear_error();
    if (serve_db_cancel(s->http_db, id, &state) != BR_OK) return db_error(c);
    if (state < 0) return serve_reply_error(c, 404, "no job %ld", id);
    if (state != SERVE_QUEUED && state != SERVE_RUNNING)
        return serve_reply_error(c, 409, "job %ld is already %s", id, serve_state_names[state]);
    if (state == SERVE_QUEUED) serve_drop_uploads(s, s->http_db, id);
    if (state == SERVE_RUNNING) {
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < s->n_running; i++)
            if (s->running[i] == id) s->cancel[i] = 1;
        pthread_mutex_unlock(&s->lock);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "state", state == SERVE_QUEUED ? "cancelled" : "cancelling");
    return serve_reply_json(c, state == SERVE_QUEUED ? 200 : 202, o);
}

static const char *content_type(const char *name) {
    const char *dot = strrchr(name, '.');
    const char *ext[][2] = {{".png", "image/png"}, {".mp4", "video/mp4"}, {".wav", "audio/wav"},
                            {".json", "application/json"}, {".h5", "application/x-hdf5"}};
    for (size_t i = 0; dot && i < sizeof ext / sizeof *ext; i++)
        if (!strcmp(dot, ext[i][0])) return ext[i][1];
    return "application/octet-stream";
}

static enum MHD_Result get_file(serve_state *s, struct MHD_Connection *c, long id, const char *name) {
    char dir[4400], path[4200];
    serve_job_dir(s, id, dir, sizeof dir);
    br_clear_error();
    if (serve_file_inside(dir, name, path, sizeof path) != BR_OK)
        return serve_reply_error(c, 404, "job %ld: %s", id, br_error());
    const int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) close(fd);
        return serve_reply_error(c, 404, "job %ld: \"%s\": cannot be read", id, name);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!resp) return close(fd), MHD_NO;
    MHD_add_response_header(resp, "Content-Type", content_type(name));
    const enum MHD_Result ok = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result health(serve_state *s, struct MHD_Connection *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddNumberToObject(o, "ranks", s->n_ranks);
    cJSON_AddStringToObject(o, "model", s->cfg.model);
    cJSON *running = cJSON_AddArrayToObject(o, "running");
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n_running; i++)
        cJSON_AddItemToArray(running, cJSON_CreateNumber((double)s->running[i]));
    pthread_mutex_unlock(&s->lock);
    return serve_reply_json(c, 200, o);
}

// Prometheus' text format.
static enum MHD_Result metrics(serve_state *s, struct MHD_Connection *c) {
    int counts[SERVE_N_STATES];
    br_clear_error();
    if (serve_db_counts(s->http_db, counts) != BR_OK) return db_error(c);
    char *text = malloc(65536);
    if (!text) return MHD_NO;
    size_t n = 0, cap = 65536;
#define OUT(...) n += (size_t)snprintf(text + n, n < cap ? cap - n : 0, __VA_ARGS__)
    OUT("# HELP brigade_queue_length Jobs waiting to run.\n# TYPE brigade_queue_length gauge\n");
    OUT("brigade_queue_length %d\n", counts[SERVE_QUEUED]);
    OUT("# HELP brigade_jobs Jobs by state.\n# TYPE brigade_jobs gauge\n");
    for (int k = 0; k < SERVE_N_STATES; k++)
        OUT("brigade_jobs{state=\"%s\"} %d\n", serve_state_names[k], counts[k]);
    pthread_mutex_lock(&s->lock);
    OUT("# HELP brigade_jobs_done_total Jobs this server finished.\n"
        "# TYPE brigade_jobs_done_total counter\nbrigade_jobs_done_total %d\n", s->jobs_run);
    OUT("# HELP brigade_rank_busy_fraction Of the time jobs were in flight, the part each rank "
        "spent computing their steps (jobs this server finished).\n"
        "# TYPE brigade_rank_busy_fraction gauge\n");
    for (int r = 0; r < s->n_ranks && r < SERVE_MAX_RANKS; r++)
        OUT("brigade_rank_busy_fraction{rank=\"%d\"} %.4f\n", r,
            s->seconds_in_flight > 0 ? fmin(s->busy_seconds[r] / s->seconds_in_flight, 1) : 0.0);
    OUT("# HELP brigade_gpu_energy_joules_total GPU energy of the jobs run (metered GPUs).\n"
        "# TYPE brigade_gpu_energy_joules_total counter\nbrigade_gpu_energy_joules_total %.1f\n",
        s->gpu_joules);
    OUT("# HELP brigade_job_seconds_total Seconds from each job's start to its end, summed "
        "(jobs in flight together each count).\n"
        "# TYPE brigade_job_seconds_total counter\nbrigade_job_seconds_total %.3f\n",
        s->seconds_running);
    OUT("# HELP brigade_uptime_seconds Seconds since the server started.\n"
        "# TYPE brigade_uptime_seconds gauge\nbrigade_uptime_seconds %.1f\n", br_now() - s->started);
    pthread_mutex_unlock(&s->lock);
#undef OUT
    const enum MHD_Result ok = serve_reply(c, 200, "text/plain; version=0.0.4", text,
                                           n < cap ? n : cap - 1);
    free(text);
    return ok;
}

// "/jobs/ID..." -> ID and what follows ("" or "/files..."); 0 when not a job's route.
static long job_route(const char *url, const char **rest) {
    if (strncmp(url, "/jobs/", 6) != 0) return 0;
    char *end;
    const long id = strtol(url + 6, &end, 10);
    if (end == url + 6 || id <= 0 || (*end && *end != '/')) return -1;
    *rest = end;
    return id;
}

enum MHD_Result serve_route(serve_state *s, struct MHD_Connection *c, const char *method,
                            const char *url, serve_request *r) {
    const int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    const char *rest = "";
    if (!strcmp(url, "/"))
        return get ? serve_reply(c, 200, "text/html; charset=utf-8", serve_page_html,
                                 strlen(serve_page_html))
                   : serve_reply_error(c, 405, "%s /: the page is GET only", method);
    if (!strcmp(url, "/health")) return health(s, c);
    if (!strcmp(url, "/metrics")) return metrics(s, c);
    if (!strcmp(url, "/jobs") || !strcmp(url, "/jobs/")) {
        if (get) return list_jobs(s, c);
        if (!strcmp(method, "POST")) return post_job(s, c, r);
        return serve_reply_error(c, 405, "%s /jobs: GET lists, POST submits", method);
    }
    const long id = job_route(url, &rest);
    if (id < 0) return serve_reply_error(c, 404, "%s: a job's id is a positive number", url);
    if (id == 0) return serve_reply_error(c, 404, "%s: no such route (see docs/serve.md)", url);
    if (!*rest || !strcmp(rest, "/")) {
        if (get) return get_job(s, c, id);
        if (!strcmp(method, "DELETE")) return cancel_job(s, c, id);
        return serve_reply_error(c, 405, "%s /jobs/%ld: GET shows, DELETE cancels", method, id);
    }
    if (!get) return serve_reply_error(c, 405, "%s %s: files are GET only", method, url);
    if (!strcmp(rest, "/files") || !strcmp(rest, "/files/")) {
        serve_job j;
        int found;
        br_clear_error();
        if (serve_db_get(s->http_db, id, &j, &found) != BR_OK) return db_error(c);
        serve_job_free(&j);
        if (!found) return serve_reply_error(c, 404, "no job %ld", id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "files", files_json(s, id));
        return serve_reply_json(c, 200, o);
    }
    if (!strncmp(rest, "/files/", 7)) return get_file(s, c, id, rest + 7);
    return serve_reply_error(c, 404, "%s: no such route (see docs/serve.md)", url);
}
