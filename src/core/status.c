// status.c: the per-rank failure message behind br_fail().
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char error_message[1024]; // each thread its own (serve's HTTP thread)

br_status br_fail(br_status code, const char *fmt, ...) {
    if (error_message[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error_message, sizeof error_message, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *br_error(void) { return error_message; }

void br_clear_error(void) { error_message[0] = '\0'; }

static void (*fatal_handler)(const char *message);

void br_set_fatal_handler(void (*handler)(const char *message)) { fatal_handler = handler; }

void br_fatal(const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (fatal_handler) fatal_handler(message);
    fprintf(stderr, "brigade: fatal: %s\n", message);
    exit(1);
}
