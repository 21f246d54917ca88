// h5file.h: HDF5 files of brigade's own tensors (serial HDF5). Datasets at the root group are
// named tensors (read as fp32 whatever their float or integer type); attributes of the root group
// are settings (numeric scalars or 1-D numeric arrays). Untrusted input: ranks and sizes are
// checked before allocation.
#ifndef BR_H5FILE_H
#define BR_H5FILE_H

#include "../core/status.h"
#include "../core/tensor_set.h"

// Brigade's files begin with a user block of this size, which starts with H5_SEAL_MAGIC and holds
// a checksum of the rest of the file; HDF5's signature follows it.
#define H5_SEAL_BYTES 512
#define H5_SEAL_MAGIC "brigade-h5 "

// Reads every dataset and attribute of the root group. A sealed file (one brigade wrote) whose
// checksum does not match is refused before HDF5 parses it.
br_status br_h5_read_all(const char *path, br_tensor_set *set);

// Writes set's tensors as float32 datasets and its settings as float64 root attributes, sealed,
// through path + ".tmp" then rename().
br_status br_h5_write(const char *path, const br_tensor_set *set);

#endif
