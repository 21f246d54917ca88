// linear.h: the weights every family loads the same way, and the product of a torch Linear,
// through the backend's op table: a linear (y = x . W^T + b) and the vectors of norms and
// modulation tables. Each loader checks the checkpoint tensor's shape and names it on failure.
#ifndef BR_NN_LINEAR_H
#define BR_NN_LINEAR_H

#include "core/backend.h"
#include "io/checkpoint.h"

typedef struct {
    void *weight;  // [n_out, n_in] (torch.nn.Linear layout: y = x . W^T + b), storage dtype
    float *bias;   // [n_out]
    int n_in, n_out;
} nn_linear;

// Loads "prefix.weight" [n_out, n_in] into the backend's storage dtype and "prefix.bias" [n_out].
br_status nn_load_linear(br_backend *be, br_checkpoint *ck, const char *prefix, int n_in,
                         int n_out, nn_linear *l);
// Loads tensor name of shape [n0] (n1 == 0) or [n0, n1] as an fp32 device vector.
br_status nn_load_vector(br_backend *be, br_checkpoint *ck, const char *name, int n0, int n1,
                         float **out);
// Each release is safe on a zeroed or partly loaded weight.
void nn_free_linear(br_backend *be, nn_linear *l);
void nn_free_vector(br_backend *be, float **v);

// y[rows, n_out] = x[rows, n_in] . W^T + b: x fp32, or x an operand (backend.h).
static inline void nn_apply(br_backend *be, float *y, const float *x, const nn_linear *l,
                            int rows) {
    be->linear(be, y, x, l->weight, l->bias, rows, l->n_in, l->n_out);
}
static inline void nn_apply_op(br_backend *be, float *y, const void *x, const nn_linear *l,
                               int rows) {
    be->linear_op(be, y, x, l->weight, l->bias, rows, l->n_in, l->n_out);
}

// Element i of an operand buffer (fp32 or bf16: backend.h).
static inline void *nn_operand_at(const br_backend *be, void *p, size_t i) {
    return (char *)p + i * (size_t)be->operand_size;
}

// x (fp32, n values) as an operand: x itself when buf is NULL (operands are fp32), else
// converted into buf.
static inline const void *nn_as_operand(br_backend *be, void *buf, const float *x, size_t n) {
    if (!buf) return x;
    be->to_operand(be, buf, x, n);
    return buf;
}

#endif
