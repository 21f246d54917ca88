// fuzz_common.h: what every fuzz target of tests/fuzz checks besides memory safety (ASan), UB
// (UBSan) and leaks (libFuzzer's -detect_leaks): a failure carries brigade's one-line message
// naming the file at fault (style point 4), and the recorded error is forgotten between inputs.
// A broken expectation prints why and aborts, which libFuzzer reports as a crash with its input.
#ifndef BR_FUZZ_COMMON_H
#define BR_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

__attribute__((format(printf, 1, 2), noreturn)) static void fuzz_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: broken expectation: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

#define FUZZ_ASSERT(cond, ...)                   \
    do {                                         \
        if (!(cond)) fuzz_die(__VA_ARGS__);      \
    } while (0)

// A call that returned st != BR_OK must have recorded one line; a bad-input failure (BR_EINPUT)
// must name file (NULL: anything). Then forgets the message, as a caller that goes on would.
static void fuzz_check_failure(br_status st, const char *file, const char *call) {
    const char *msg = br_error();
    FUZZ_ASSERT(st != BR_OK, "%s: expected a failure", call);
    FUZZ_ASSERT(msg[0] != '\0', "%s failed (status %d) without a message", call, (int)st);
    FUZZ_ASSERT(!strchr(msg, '\n') && !strchr(msg, '\r'), "%s: message is not one line: %s", call,
                msg);
    FUZZ_ASSERT(st != BR_EINPUT || !file || strstr(msg, file),
                "%s: message does not name %s: %s", call, file, msg);
    br_clear_error();
}

// A call that succeeded must not have recorded a failure either.
static void fuzz_check_success(const char *call) {
    FUZZ_ASSERT(br_error()[0] == '\0', "%s succeeded but recorded: %s", call, br_error());
}

#endif
