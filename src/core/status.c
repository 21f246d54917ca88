// status.c: the per-rank failure message behind br_fail().
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static char error_message[1024];

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
