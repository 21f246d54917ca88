// serve_files.c: names from a client become paths here only: each folder and the file a plain
// name ([A-Za-z0-9._-], not starting with '.'), and the real path (links resolved) inside the
// folder it is meant for. A client never gives a path of its own.
#define _DEFAULT_SOURCE // realpath
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "serve.h"

static int plain_part(const char *p, size_t n) {
    if (n == 0 || p[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", p[i]) ||
            p[i] == '\0')
            return 0;
    return 1;
}

br_status serve_file_inside(const char *dir, const char *name, char *path, size_t size) {
    const size_t len = strlen(name);
    if (len == 0 || len > 512)
        return br_fail(BR_EINPUT, "\"%.64s\": not a file name", name);
    for (const char *p = name; *p;) {
        const size_t n = strcspn(p, "/");
        if (!plain_part(p, n))
            return br_fail(BR_EINPUT, "\"%.200s\": a file name is plain words of letters, "
                           "digits, '.', '_' and '-' (no '..', no leading '.')", name);
        p += n;
        if (*p == '/') p++;
    }
    char root[PATH_MAX], full[PATH_MAX + 600], real[PATH_MAX];
    if (!realpath(dir, root)) return br_fail(BR_EINPUT, "\"%.200s\": no such file", name);
    snprintf(full, sizeof full, "%s/%s", root, name);
    struct stat sb;
    const size_t n = strlen(root);
    if (!realpath(full, real) || strncmp(real, root, n) != 0 || real[n] != '/' ||
        stat(real, &sb) != 0 || !S_ISREG(sb.st_mode))
        return br_fail(BR_EINPUT, "\"%.200s\": no such file", name);
    if (strlen(real) >= size) return br_fail(BR_EINPUT, "\"%.64s\": the path is too long", name);
    snprintf(path, size, "%s", real);
    return BR_OK;
}

void serve_job_dir(const serve_state *s, long id, char *path, size_t size) {
    snprintf(path, size, "%s/jobs/%ld", s->cfg.state_dir, id);
}

void serve_drop_uploads(const serve_state *s, serve_db *db, long id) {
    serve_job j;
    int found;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/uploads/", s->cfg.state_dir);
    if (serve_db_get(db, id, &j, &found) != BR_OK || !found) return;
    cJSON *images = cJSON_Parse(j.images ? j.images : "[]"), *item;
    if (j.embeddings && !strncmp(j.embeddings, dir, strlen(dir))) remove(j.embeddings);
    cJSON_ArrayForEach(item, images)
        if (cJSON_IsString(item) && !strncmp(item->valuestring, dir, strlen(dir))) remove(item->valuestring);
    cJSON_Delete(images);
    serve_job_free(&j);
}
