// tconvert.c: rewrites a tensor file in the format its output name implies (safetensors <-> HDF5),
// tensors and settings alike; the tests use it to make HDF5 inputs and to exercise both writers.
#include <stdio.h>

#include "io/tensor_file.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: tconvert IN OUT   (OUT ending in .h5: HDF5, else safetensors)\n");
        return 2;
    }
    br_tensor_set set = {0};
    br_status st = br_tensor_file_read(argv[1], &set);
    if (st == BR_OK) st = br_tensor_file_write(argv[2], &set);
    if (st != BR_OK) fprintf(stderr, "tconvert: %s\n", br_error());
    br_set_free(&set);
    return st == BR_OK ? 0 : 1;
}
