// check.h: the unit tests' assertions, one copy for every tests/test_*.c (each is one program).
//   CHECK(cond)                  counts; a false cond prints its file, line, text and br_error()
//   CHECK_OK(expr)               expr must return BR_OK (else br_error() is printed)
//   CHECK_FAILS(expr, w1, w2)    expr must fail with a one-line br_error() containing w1 and w2
//                                (NULL: anything)
//   check_summary()              prints the counts; main returns it (0 when nothing failed)
#ifndef BR_TEST_CHECK_H
#define BR_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "core/status.h"

static int passed, failed;

static inline int check_(int ok, const char *what, const char *file, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s%s%s\n", file, line, what, br_error()[0] ? "  (br_error: " : "",
               br_error()[0] ? br_error() : "");
    }
    return ok;
}
#define CHECK(cond) check_(!!(cond), #cond, __FILE__, __LINE__)

#define CHECK_OK(expr)                                                                  \
    do {                                                                                \
        check_((expr) == BR_OK, #expr, __FILE__, __LINE__);                             \
        br_clear_error();                                                               \
    } while (0)

static inline void check_fails_(br_status st, const char *what, const char *want1, const char *want2,
                                const char *file, int line) {
    const char *msg = br_error();
    int ok = st != BR_OK && msg[0] && !strchr(msg, '\n') && (!want1 || strstr(msg, want1)) &&
             (!want2 || strstr(msg, want2));
    if (ok) {
        passed++;
        printf("ok   rejected: %s\n", msg);
    } else {
        failed++;
        printf("FAIL %s:%d: %s should fail with a one-line message containing '%s' and '%s'; "
               "status %d, message '%s'\n",
               file, line, what, want1 ? want1 : "", want2 ? want2 : "", (int)st, msg);
    }
    br_clear_error();
}
#define CHECK_FAILS(expr, want1, want2)                                                 \
    do {                                                                                \
        br_clear_error();                                                               \
        check_fails_((expr), #expr, want1, want2, __FILE__, __LINE__);                  \
    } while (0)

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
