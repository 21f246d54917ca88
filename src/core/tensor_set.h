// tensor_set.h: named fp32 host tensors and named numeric settings, the currency of file I/O.
// An inputs file (safetensors or HDF5) is read into one set; an output set is written the same way.
// Tensors own their data (malloc). Settings are small numeric vectors: the JSON scalars of a
// safetensors __metadata__ or the attributes of an HDF5 root group.
#ifndef BR_TENSOR_SET_H
#define BR_TENSOR_SET_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define BR_NAME_MAX 128
#define BR_MAX_DIMS 8
#define BR_SETTING_MAX 64

typedef struct {
    char name[BR_NAME_MAX];
    int ndim;
    int64_t shape[BR_MAX_DIMS];
    float *data; // product(shape) floats, owned
} br_tensor;

typedef struct {
    char name[BR_NAME_MAX];
    int count;                     // 1 for a scalar, up to BR_SETTING_MAX for a list
    double values[BR_SETTING_MAX];
} br_setting;

typedef struct br_tensor_set {
    br_tensor *tensors;
    int n_tensors, cap_tensors;
    br_setting *settings;
    int n_settings, cap_settings;
} br_tensor_set;

int64_t br_numel(int ndim, const int64_t *shape);
// Writes "[2, 72, 32]" into buf (a negative dim prints as "*": any size); returns buf.
char *br_shape_str(char *buf, size_t size, int ndim, const int64_t *shape);

// Adds a tensor of the given shape (data allocated, uninitialised) and returns it, or NULL after
// recording BR_ENOMEM / a duplicate name through br_fail().
br_tensor *br_set_add(br_tensor_set *set, const char *name, int ndim, const int64_t *shape);
br_status br_set_add_setting(br_tensor_set *set, const char *name, int count, const double *values);

const br_tensor *br_set_find(const br_tensor_set *set, const char *name);
// The tensor `name` of set (read from path): ndim dims of shape want (-1: any size; with
// rows_may_be_1 the first may also be 1, one row for every job); else a one-line error naming
// the file, the tensor and both shapes, then hint when the shapes differ in the last dim.
br_status br_set_need(const br_tensor_set *set, const char *path, const char *name, int ndim,
                      const int64_t *want, int rows_may_be_1, const char *hint,
                      const br_tensor **out);
const br_setting *br_set_find_setting(const br_tensor_set *set, const char *name);
// The setting `name` of set (read from path) as one integer in lo..hi; else one error line.
br_status br_set_need_int(const br_tensor_set *set, const char *path, const char *name, int lo,
                          int hi, int *out);

// Moves every tensor and setting of `from` (read from path) into `into`, leaving `from` empty:
// a tensor both have is an error naming it and path; a setting both have must hold the same
// values (files of one case repeat the case's settings), else an error.
br_status br_set_merge(br_tensor_set *into, br_tensor_set *from, const char *path);

void br_set_free(br_tensor_set *set);

#endif
