// linear.c: loading the weights of linears and vectors (see linear.h).
#include "linear.h"

#include <stdio.h>
#include <string.h>

br_status nn_load_vector(br_backend *be, br_checkpoint *ck, const char *name, int n0, int n1,
                         float **out) {
    int64_t shape[2] = {n0, n1};
    float *host = NULL;
    if (!be->counts_only) BR_TRY(br_ckpt_load(ck, name, n1 ? 2 : 1, shape, &host));
    *out = be->adopt_vector(be, host, (size_t)n0 * (n1 ? n1 : 1), name);
    return *out ? BR_OK : BR_ENOMEM;
}

// A linear's weight matrix [n_out, n_in], stored in the backend's storage dtype.
static br_status load_matrix(br_backend *be, br_checkpoint *ck, const char *name, int n_out,
                             int n_in, void **out) {
    int64_t shape[2] = {n_out, n_in};
    float *host = NULL;
    if (!be->counts_only) BR_TRY(br_ckpt_load(ck, name, 2, shape, &host)); // (a plan: no read)
    *out = be->adopt_matrix(be, host, (size_t)n_out, (size_t)n_in, name);
    return *out ? BR_OK : BR_ENOMEM;
}

br_status nn_load_linear(br_backend *be, br_checkpoint *ck, const char *prefix, int n_in,
                         int n_out, nn_linear *l) {
    char name[256];
    l->n_in = n_in;
    l->n_out = n_out;
    snprintf(name, sizeof name, "%s.weight", prefix);
    BR_TRY(load_matrix(be, ck, name, n_out, n_in, &l->weight));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return nn_load_vector(be, ck, name, n_out, 0, &l->bias);
}

void nn_free_linear(br_backend *be, nn_linear *l) {
    be->release_matrix(be, l->weight);
    be->release(be, l->bias);
    memset(l, 0, sizeof *l);
}

void nn_free_vector(br_backend *be, float **v) {
    be->release(be, *v);
    *v = NULL;
}
