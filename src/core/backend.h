// backend.h: the op table through which the model and the stage compute, without knowing the
// device (in the spirit of ggml's backends). Buffers are device pointers of the backend that
// allocated them; shapes follow kernels/kernels_cpu.h, whose CPU kernels are every op's reference.
// The CPU backend fills the table today; a CUDA backend fills the same table.
#ifndef BR_BACKEND_H
#define BR_BACKEND_H

#include <stddef.h>

#include "status.h"

typedef struct br_backend br_backend;

struct br_backend {
    const char *name; // "cpu", "cuda"

    // Memory. alloc returns NULL after br_fail(BR_ENOMEM, ...) naming the purpose.
    float *(*alloc)(br_backend *be, size_t n_floats, const char *purpose);
    void (*release)(br_backend *be, float *p);
    void (*upload)(br_backend *be, float *dst, const float *host, size_t n_floats);
    void (*download)(br_backend *be, float *host, const float *src, size_t n_floats);
    void (*copy)(br_backend *be, float *dst, const float *src, size_t n_floats); // on the device
    // Takes ownership of a malloc'd host array of weights and returns the device copy (the CPU
    // backend keeps the array itself; others upload it and free the host copy).
    float *(*adopt_weights)(br_backend *be, float *host, size_t n_floats, const char *purpose);
    // Waits until every op issued so far has finished (before a host reads or sends a buffer).
    void (*sync)(br_backend *be);

    // Ops (see kernels/kernels_cpu.h for each one's definition).
    void (*linear)(br_backend *be, float *y, const float *x, const float *w, const float *bias,
                   int rows, int n_in, int n_out);
    void (*silu)(br_backend *be, float *x, size_t n);
    void (*gelu_tanh)(br_backend *be, float *x, size_t n);
    void (*timestep_embedding)(br_backend *be, float *emb, const float *t, int B, int channels);
    void (*rms_norm_mod)(br_backend *be, float *y, const float *x, const float *shift,
                         const float *scale, int mod_stride, int B, int S, int D, float eps);
    void (*rms_norm)(br_backend *be, float *x, const float *w, int rows, int D, float eps);
    void (*layer_norm_mod)(br_backend *be, float *y, const float *x, const float *shift,
                           const float *scale, int mod_stride, int B, int S, int D, float eps);
    void (*rope)(br_backend *be, float *x, const float *cos_t, const float *sin_t, int B, int S,
                 int D);
    void (*attention)(br_backend *be, float *out, const float *q, const float *k, const float *v,
                      const float *bias, int B, int Sq, int Sk, int H, int dh);
    void (*add_gated)(br_backend *be, float *h, const float *x, const float *gate,
                      int gate_stride, int B, int S, int D);
    void (*add_table)(br_backend *be, float *y, const float *table, const float *rows, int B,
                      int n);

    void *impl; // the backend's own state
};

// The CPU backend (OpenBLAS + kernels/*.c). Static: it has no state.
br_backend *br_backend_cpu(void);

#endif
