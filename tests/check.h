// check.h: the unit tests' assertions, one copy for every tests/test_*.c (each is one program).
//   CHECK(cond)                  counts; a false cond prints its file, line, text and br_error()
//   CHECK_OK(expr)               expr must return BR_OK (else br_error() is printed)
//   CHECK_FAILS(expr, w1, w2)    expr must fail with a one-line br_error() containing w1 and w2
//                                (NULL: anything)
//   check_close(set, name, ...)  a result within a bound of a reference tensor, printed
//   check_summary()              prints the counts; main returns it (0 when nothing failed)
#ifndef BR_TEST_CHECK_H
#define BR_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "core/tensor_set.h"

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

// max |got - want| / max |want| over n values (the tolerance's measure); +inf where either
// holds a non-finite value.
static inline double rel_error(const float *got, const float *want, size_t n) {
    double err = 0, top = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(want[i])) return INFINITY;
        err = fmax(err, fabs((double)got[i] - want[i]));
        top = fmax(top, fabs((double)want[i]));
    }
    return err / (top > 0 ? top : 1);
}

// got[n] against tensor `name` of set, which must hold n values: within bound (rel_error),
// printed as "what: name within e of the reference" and counted.
static inline void check_close(const br_tensor_set *set, const char *name, const float *got,
                               size_t n, double bound, const char *what) {
    const br_tensor *want = br_set_find(set, name);
    if (!CHECK(want && (size_t)br_numel(want->ndim, want->shape) == n)) return;
    const double e = rel_error(got, want->data, n);
    printf("%s %s: %s within %.3g of the reference (bound %g)\n", e <= bound ? "ok  " : "FAIL",
           what, name, e, bound);
    CHECK(e <= bound);
}

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
