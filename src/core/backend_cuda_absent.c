// backend_cuda_absent.c: the CUDA entry points of a build without the CUDA toolkit: no device is
// ever visible, so --backend auto picks the CPU and --backend cuda says why it cannot.
#include "backend.h"

int br_cuda_device_count(void) { return 0; }

br_status br_backend_cuda_create(int device, br_compute compute, br_storage storage,
                                 br_backend **out) {
    return br_fail(BR_EINPUT, "this brigade was built without CUDA (rebuild where nvcc is found)");
}

void br_backend_cuda_destroy(br_backend *be) {}

void *br_backend_cuda_stream(br_backend *be) { return NULL; }
