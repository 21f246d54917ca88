// serve_http.c: the HTTP side of `brigade serve` on rank 0, through libmicrohttpd's own thread:
// the listening address, the bearer token, bodies bounded by --max-upload (a form's files go
// straight to the state folder under names of the server's own), then serve_route.
#define _POSIX_C_SOURCE 200809L // strdup
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve_http.h"

enum MHD_Result serve_reply(struct MHD_Connection *c, unsigned code, const char *type,
                            const char *body, size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    const enum MHD_Result ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result serve_reply_json(struct MHD_Connection *c, unsigned code, cJSON *json) {
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return serve_reply(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    char *line = realloc(text, strlen(text) + 2); // a newline, for curl's output
    if (line) text = line, strcat(text, "\n");
    const enum MHD_Result ok = serve_reply(c, code, "application/json", text, strlen(text));
    free(text);
    return ok;
}

enum MHD_Result serve_reply_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...) {
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "error", line);
    return serve_reply_json(c, code, json);
}

// A form's upload: field key's file, under uploads/ with a name of the server's.
static int start_file(serve_state *s, serve_request *r, const char *key) {
    if (r->n_files == SERVE_MAX_FILES) {
        snprintf(r->error, sizeof r->error, "at most %d files in one request", SERVE_MAX_FILES);
        return 0;
    }
    pthread_mutex_lock(&s->lock);
    const long n = ++s->upload_counter;
    pthread_mutex_unlock(&s->lock);
    char tmp[4300];
    snprintf(r->file_key[r->n_files], sizeof r->file_key[0], "%s", key);
    snprintf(r->file_path[r->n_files], sizeof r->file_path[0], "%s/uploads/%ld-%ld-%ld",
             s->cfg.state_dir, (long)time(NULL), (long)getpid(), n);
    snprintf(tmp, sizeof tmp, "%s.tmp", r->file_path[r->n_files]);
    if (!(r->file = fopen(tmp, "wb"))) {
        snprintf(r->error, sizeof r->error, "cannot store an upload: %s", strerror(errno));
        return 0;
    }
    return 1;
}

// The upload being written is complete: its final name.
static int end_file(serve_request *r) {
    if (!r->file) return 1;
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", r->file_path[r->n_files]);
    const int ok = fclose(r->file) == 0 && rename(tmp, r->file_path[r->n_files]) == 0;
    r->file = NULL;
    if (!ok) {
        remove(tmp);
        snprintf(r->error, sizeof r->error, "cannot store an upload: %s", strerror(errno));
        return 0;
    }
    r->n_files++;
    return 1;
}

// libmicrohttpd's form iterator: text fields into r->fields, files into uploads/.
static enum MHD_Result form_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *type, const char *encoding,
                                 const char *data, uint64_t off, size_t size) {
    serve_request *r = cls;
    if (r->form_error) return MHD_NO;
    if (filename) {
        const int same = r->file && !strcmp(r->file_key[r->n_files], key) && off > 0;
        if (!same && (!end_file(r) || !start_file(r->state, r, key))) return r->form_error = 1, MHD_NO;
        if (size && fwrite(data, 1, size, r->file) != size) {
            snprintf(r->error, sizeof r->error, "cannot store an upload: %s", strerror(errno));
            return r->form_error = 1, MHD_NO;
        }
        return MHD_YES;
    }
    if (!end_file(r)) return r->form_error = 1, MHD_NO;
    if (strlen(key) > 64) return MHD_YES; // no option is that long: refused as unknown below
    cJSON *old = cJSON_GetObjectItemCaseSensitive(r->fields, key);
    const size_t had = old && off > 0 ? strlen(old->valuestring) : 0;
    if (had + size > 4096) {
        snprintf(r->error, sizeof r->error, "form field \"%s\" is too long", key);
        return r->form_error = 1, MHD_NO;
    }
    char *value = malloc(had + size + 1);
    if (!value) return r->form_error = 1, MHD_NO;
    memcpy(value, old && off > 0 ? old->valuestring : "", had);
    memcpy(value + had, data, size), value[had + size] = 0;
    cJSON_DeleteItemFromObjectCaseSensitive(r->fields, key);
    cJSON_AddStringToObject(r->fields, key, value);
    free(value);
    return MHD_YES;
}

void serve_request_drop_files(serve_request *r) {
    char tmp[4300];
    if (r->file) {
        fclose(r->file), r->file = NULL;
        snprintf(tmp, sizeof tmp, "%s.tmp", r->file_path[r->n_files]);
        remove(tmp);
    }
    for (int i = 0; i < r->n_files; i++) remove(r->file_path[i]);
    r->n_files = 0;
}

static void request_free(serve_request *r) {
    if (!r) return;
    if (r->form) MHD_destroy_post_processor(r->form);
    serve_request_drop_files(r); // a job that took them renamed them away first
    cJSON_Delete(r->fields);
    free(r->body);
    free(r);
}

// Bearer token: every route but /health and the page (the page asks for the token).
static int authorized(const serve_state *s, struct MHD_Connection *c, const char *url) {
    if (!s->token[0] || !strcmp(url, "/health") || !strcmp(url, "/")) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    h += 7;
    const size_t n = strlen(s->token);
    if (strlen(h) != n) return 0;
    unsigned char diff = 0; // the same time for every wrong token of the right length
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(h[i] ^ s->token[i]);
    return diff == 0;
}

// Appends a piece of a non-form body (bounded by --max-upload).
static int append_body(serve_state *s, serve_request *r, const char *data, size_t size) {
    if (r->len + size + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + size + 1) cap *= 2;
        char *more = realloc(r->body, cap);
        if (!more) return 0;
        r->body = more, r->cap = cap;
    }
    memcpy(r->body + r->len, data, size);
    r->len += size, r->body[r->len] = 0;
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls) {
    serve_state *s = cls;
    serve_request *r = *con_cls;
    if (!r) { // the headers are in: refuse early what can be refused before any body
        if (!(r = calloc(1, sizeof *r)) || !(r->fields = cJSON_CreateObject())) {
            free(r);
            return MHD_NO;
        }
        *con_cls = r, r->state = s;
        if (!authorized(s, c, url)) return MHD_YES; // replied 401 once the body is dropped
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (length && strtod(length, NULL) > (double)s->cfg.max_upload) r->too_big = 1;
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        // A form is multipart (files); any other body is JSON, whatever it is labelled (curl
        // -d labels JSON urlencoded).
        if (type && !strncmp(type, "multipart/form-data", 19))
            r->form = MHD_create_post_processor(c, 65536, form_part, r);
        return MHD_YES;
    }
    if (*size) { // a piece of the body
        r->received += *size;
        if (r->received > (size_t)s->cfg.max_upload) r->too_big = 1;
        if (!r->too_big && !r->form_error && authorized(s, c, url)) {
            if (r->form) {
                if (MHD_post_process(r->form, data, *size) != MHD_YES && !r->form_error)
                    r->form_error = 1, snprintf(r->error, sizeof r->error, "a malformed form");
            } else if (!append_body(s, r, data, *size)) {
                r->too_big = 1;
            }
        }
        *size = 0;
        return MHD_YES;
    }
    if (!authorized(s, c, url))
        return serve_reply_error(c, 401, "a bearer token is required (Authorization: Bearer ...)");
    if (r->too_big) {
        serve_request_drop_files(r);
        return serve_reply_error(c, 413, "the request is over --max-upload (%ld bytes)",
                                 s->cfg.max_upload);
    }
    if (r->form && !r->form_error && !end_file(r)) r->form_error = 1;
    if (r->form_error) {
        serve_request_drop_files(r);
        return serve_reply_error(c, 400, "%s", r->error[0] ? r->error : "a malformed form");
    }
    return serve_route(s, c, method, url, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
    request_free(*con_cls);
    *con_cls = NULL;
}

// "host:port" -> an IPv4 address; loopback unless a token guards it.
static br_status listen_address(const serve_state *s, struct sockaddr_in *a) {
    char host[256];
    int port;
    const char *colon = strrchr(s->cfg.listen, ':');
    if (!colon || colon - s->cfg.listen >= (long)sizeof host || sscanf(colon + 1, "%d", &port) != 1 ||
        port < 0 || port > 65535)
        return br_fail(BR_EINPUT, "--listen %s: expected HOST:PORT, e.g. 127.0.0.1:8585",
                       s->cfg.listen);
    memcpy(host, s->cfg.listen, (size_t)(colon - s->cfg.listen));
    host[colon - s->cfg.listen] = 0;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET, a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return br_fail(BR_EINPUT, "--listen %s: HOST must be an IPv4 address", s->cfg.listen);
    if ((ntohl(a->sin_addr.s_addr) >> 24) != 127 && !s->token[0])
        return br_fail(BR_EINPUT, "--listen %s: listening beyond loopback needs --token-file "
                       "(every request must then carry the token)", s->cfg.listen);
    return BR_OK;
}

br_status serve_http_start(serve_state *s) {
    struct sockaddr_in a;
    BR_TRY(listen_address(s, &a));
    BR_TRY(serve_db_open(s->db_path, &s->http_db));
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                 NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
    if (!s->daemon)
        return br_fail(BR_EIO, "--listen %s: cannot listen there (in use, or not this host's)",
                       s->cfg.listen);
    return BR_OK;
}

void serve_http_stop(serve_state *s) {
    if (s->daemon) MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    serve_db_close(s->http_db);
    s->http_db = NULL;
    if (s->check_model_open) br_model_close(&s->check_model);
    s->check_model_open = 0;
}
