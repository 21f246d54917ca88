// comm_nccl_absent.c: a build without NCCL: GPU ranks fall back to MPI (CUDA-aware or staged).
#include "comm_internal.h"

br_status br_comm_nccl_open(br_comm *c, void *compute_stream) {
    return br_fail(BR_ECOMM, "built without NCCL");
}

void br_comm_nccl_close(br_comm *c) {}
