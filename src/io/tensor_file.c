// tensor_file.c: picks the reader or writer of a tensor file. Reading looks at the first bytes:
// the HDF5 signature or brigade's seal (h5file.h) means HDF5, anything else goes to the
// safetensors reader (which validates the file and says what is wrong with it). Writing goes by the path's extension.
#include "tensor_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "h5file.h"
#include "safetensors.h"

// The HDF5 format signature. HDF5 also allows it at offsets 512, 1024, ... after a user block:
// brigade's own files have one, starting with H5_SEAL_MAGIC; other files with a user block are
// rejected by the safetensors reader.
static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

br_status br_tensor_file_read(const char *path, br_tensor_set *set) {
    FILE *f = fopen(path, "rb");
    if (!f) return br_fail(BR_EIO, "cannot open %s: %s", path, strerror(errno));
    unsigned char head[sizeof H5_SEAL_MAGIC - 1];
    size_t n = fread(head, 1, sizeof head, f);
    int err = ferror(f) ? errno : 0; // e.g. EISDIR: fopen accepts a directory, fread does not
    fclose(f);
    if (err) return br_fail(BR_EIO, "cannot read %s: %s", path, strerror(err));
    if ((n >= sizeof hdf5_signature && memcmp(head, hdf5_signature, sizeof hdf5_signature) == 0) ||
        (n == sizeof head && memcmp(head, H5_SEAL_MAGIC, sizeof head) == 0))
        return br_h5_read_all(path, set);
    return br_st_read_all(path, set);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

br_status br_tensor_file_write(const char *path, const br_tensor_set *set) {
    if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return br_h5_write(path, set);
    return br_st_write(path, set);
}
