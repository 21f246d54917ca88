// tcompare.c: compares one tensor of two tensor files (safetensors or HDF5), for the tests.
//   tcompare --rel TOL  GOT.h5:sample WANT.safetensors:sample   max|got-want| / max|want| <= TOL
//   tcompare --exact    A.h5:sample B.h5:sample                 bit-identical
// Prints one line with the measured error; exits 0 on pass, 1 on a mismatch or NaN, 2 on misuse.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tensor_file.h"

// Splits "path:name" at the last ':' and loads the file.
static const br_tensor *load(const char *spec, br_tensor_set *set) {
    char path[4096];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof path) {
        fprintf(stderr, "tcompare: expected FILE:TENSOR, got %s\n", spec);
        exit(2);
    }
    memcpy(path, spec, (size_t)(colon - spec));
    path[colon - spec] = '\0';
    if (br_tensor_file_read(path, set) != BR_OK) {
        fprintf(stderr, "tcompare: %s\n", br_error());
        exit(2);
    }
    const br_tensor *t = br_set_find(set, colon + 1);
    if (!t) {
        fprintf(stderr, "tcompare: %s has no tensor %s\n", path, colon + 1);
        exit(1);
    }
    return t;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: tcompare --rel TOL | --exact  GOT:NAME WANT:NAME\n");
        return 2;
    }
    int exact = strcmp(argv[1], "--exact") == 0;
    double tol = exact ? 0 : atof(argv[2]);
    br_tensor_set got_set = {0}, want_set = {0};
    const br_tensor *got = load(argv[exact ? 2 : 3], &got_set);
    const br_tensor *want = load(argv[exact ? 3 : 4], &want_set);
    char a[96], b[96];
    int64_t n = br_numel(got->ndim, got->shape);
    if (got->ndim != want->ndim || n != br_numel(want->ndim, want->shape) ||
        memcmp(got->shape, want->shape, sizeof(int64_t) * got->ndim)) {
        printf("FAIL %s: shape %s, expected %s\n", got->name,
               br_shape_str(a, sizeof a, got->ndim, got->shape),
               br_shape_str(b, sizeof b, want->ndim, want->shape));
        return 1;
    }
    double err = 0, scale = 0;
    int64_t differing = 0, non_finite = 0;
    for (int64_t i = 0; i < n; i++) {
        float g = got->data[i], w = want->data[i];
        if (!isfinite(g) || !isfinite(w)) non_finite++;
        if (memcmp(&g, &w, sizeof g)) differing++;
        err = fmax(err, fabs((double)g - w));
        scale = fmax(scale, fabs((double)w));
    }
    double rel = err / (scale > 0 ? scale : 1);
    int ok = non_finite == 0 && (exact ? differing == 0 : rel <= tol);
    printf("%s %s %s: max abs error %.3g, scale %.3g, relative %.3g, %lld of %lld differ%s\n",
           ok ? "ok  " : "FAIL", got->name, exact ? "(exact)" : "", err, scale, rel,
           (long long)differing, (long long)n, non_finite ? ", NON-FINITE values" : "");
    br_set_free(&got_set);
    br_set_free(&want_set);
    return ok ? 0 : 1;
}
