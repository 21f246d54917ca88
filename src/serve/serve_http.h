// serve_http.h: between the daemon (serve_http.c) and the routes (serve_routes.c): one request's
// body as it arrived (a JSON document, or a form's fields and uploaded files) and the replies.
#ifndef BR_SERVE_HTTP_H
#define BR_SERVE_HTTP_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>

#include "serve.h"

enum { SERVE_MAX_FILES = 9 };

typedef struct {
    serve_state *state;
    char *body;                   // a JSON (or other non-form) body, NUL-ended
    size_t len, cap;
    size_t received;              // bytes of the body so far
    int too_big;                  // over --max-upload: the rest is dropped, the reply is 413
    struct MHD_PostProcessor *form; // a multipart form
    cJSON *fields;                // the form's text fields (strings)
    int n_files;                  // the form's uploads, complete: what field, where
    char file_key[SERVE_MAX_FILES][32], file_path[SERVE_MAX_FILES][4200];
    FILE *file;                   // the upload being written (to file_path[n_files] + ".tmp")
    int form_error;               // the form was refused (error holds why)
    char error[300];
} serve_request;

enum MHD_Result serve_reply(struct MHD_Connection *c, unsigned code, const char *type,
                            const char *body, size_t len);
// Replies json (freed here).
enum MHD_Result serve_reply_json(struct MHD_Connection *c, unsigned code, cJSON *json);
// {"error": "one line"}.
enum MHD_Result serve_reply_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// serve_routes.c: the reply to a request whose body is complete.
enum MHD_Result serve_route(serve_state *s, struct MHD_Connection *c, const char *method,
                            const char *url, serve_request *r);
// Removes a request's uploads (a job refused).
void serve_request_drop_files(serve_request *r);

// serve_page.c
extern const char serve_page_html[];

#endif
