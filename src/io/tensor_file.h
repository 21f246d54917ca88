// tensor_file.h: one entry point for the engine's tensor files, whichever format they are in.
// Reading tells HDF5 from safetensors by the file's signature; writing picks HDF5 when the path
// ends in ".h5" (or ".hdf5") and safetensors otherwise. Writes are atomic (temporary name, rename).
#ifndef BR_TENSOR_FILE_H
#define BR_TENSOR_FILE_H

#include "../core/status.h"
#include "../core/tensor_set.h"

br_status br_tensor_file_read(const char *path, br_tensor_set *set);
br_status br_tensor_file_write(const char *path, const br_tensor_set *set);

#endif
