// test_select.c: the backend choices that need no GPU to check: which GPU a rank takes (its
// node-local rank; more ranks than GPUs refused unless shared), and the CPU backend's refusals of
// settings it cannot honour.
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/backend.h"


int main(void) {
    int device = -1;
    CHECK(br_pick_gpu(0, 4, 0, &device) == BR_OK && device == 0);
    CHECK(br_pick_gpu(3, 4, 0, &device) == BR_OK && device == 3);
    CHECK(br_pick_gpu(4, 4, 0, &device) == BR_EINPUT);
    CHECK(strstr(br_error(), "this host has 4 GPU(s) but runs more ranks (node-local rank 4)"));
    CHECK(strstr(br_error(), "--share-gpus"));
    br_clear_error();
    CHECK(br_pick_gpu(2, 2, 1, &device) == BR_OK && device == 0); // shared: round-robin
    CHECK(br_pick_gpu(3, 2, 1, &device) == BR_OK && device == 1);
    br_backend *be = NULL;
    CHECK(br_backend_open("cpu", "auto", "auto", 7, 0, &be) == BR_OK && be && !strcmp(be->name, "cpu"));
    CHECK(be && be->storage == BR_STORAGE_FP32 && be->pci_bus_id[0] == 0);
    CHECK(br_backend_open("cpu", "auto", "fp16", 0, 0, &be) == BR_EINPUT);
    CHECK(strstr(br_error(), "--storage fp16: the CPU backend keeps fp32 (or int8) weights"));
    br_clear_error();
    CHECK(br_backend_open("cpu", "auto", "int8", 0, 0, &be) == BR_OK && be->storage == BR_STORAGE_INT8);
    CHECK(br_backend_open("cpu", "auto", "auto", 0, 0, &be) == BR_OK && be->storage == BR_STORAGE_FP32);
    CHECK(br_backend_open("cpu", "bf16", "auto", 0, 0, &be) == BR_EINPUT);
    br_clear_error();
    CHECK(br_backend_open("cpu", "auto", "fp8", 0, 0, &be) == BR_EINPUT);
    CHECK(strstr(br_error(), "--storage must be auto, fp32, bf16, fp16 or int8, not 'fp8'"));
    CHECK(br_backend_open("tpu", "auto", "auto", 0, 0, &be) == BR_EINPUT);
    br_clear_error();
    return check_summary();
}
