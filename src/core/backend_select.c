// backend_select.c: which backend a rank runs, from --backend and --compute, and the precision
// policy: fp32 on the CPU and on GPUs below sm_80 (no fast bf16: the Pascal path), bf16 with
// fp32 accumulation on sm_80 and newer, unless --compute says otherwise.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kernels_cpu.h"

#ifdef BRIGADE_HAVE_CUDA
#include <cuda_runtime.h>
static int device_major(int device) {
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess)
        cudaGetLastError();
    return major;
}
#else
static int device_major(int device) { return 0; }
#endif

static int parse_storage(const char *text, br_storage *out) {
    static const char *names[] = {"fp32", "bf16", "fp16", "int8"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(text, names[i])) return *out = (br_storage)i, 1;
    return 0;
}

br_status br_pick_gpu(int local_rank, int gpus, int share_gpus, int *device) {
    // Two ranks on one GPU halve its memory and time-slice it: a placement mistake (too many
    // slots in the hostfile) unless asked for.
    if (local_rank >= gpus && !share_gpus)
        return br_fail(BR_EINPUT, "this host has %d GPU(s) but runs more ranks (node-local rank "
                       "%d): give the host at most %d slot(s) in the hostfile, or pass "
                       "--share-gpus to let ranks share GPUs", gpus, local_rank, gpus);
    *device = local_rank % gpus;
    return BR_OK;
}

br_status br_backend_open(const char *kind, const char *compute, const char *storage,
                          int local_rank, int share_gpus, br_backend **out) {
    br_storage chosen = BR_STORAGE_FP32;
    const int auto_storage = !strcmp(storage, "auto");
    if (!auto_storage && !parse_storage(storage, &chosen))
        return br_fail(BR_EINPUT, "--storage must be auto, fp32, bf16, fp16 or int8, not '%s'",
                       storage);
    if (strcmp(kind, "auto") && strcmp(kind, "cpu") && strcmp(kind, "cuda"))
        return br_fail(BR_EINPUT, "--backend must be auto, cpu or cuda, not '%s'", kind);
    if (strcmp(compute, "auto") && strcmp(compute, "fp32") && strcmp(compute, "bf16"))
        return br_fail(BR_EINPUT, "--compute must be auto, fp32 or bf16, not '%s'", compute);
    int gpus = strcmp(kind, "cpu") ? br_cuda_device_count() : 0;
    if (!strcmp(kind, "cuda") && gpus == 0)
        return br_fail(BR_EINPUT, "--backend cuda: no GPU is visible to this rank");
    if (gpus == 0) {
        if (!strcmp(compute, "bf16"))
            return br_fail(BR_EINPUT, "--compute bf16: the CPU backend computes in fp32");
        if (chosen != BR_STORAGE_FP32 && chosen != BR_STORAGE_INT8)
            return br_fail(BR_EINPUT, "--storage %s: the CPU backend keeps fp32 (or int8) "
                           "weights", storage);
        *out = br_backend_cpu();
        (*out)->storage = chosen;
        return BR_OK;
    }
    int device = 0;
    BR_TRY(br_pick_gpu(local_rank, gpus, share_gpus, &device));
    br_compute c = !strcmp(compute, "bf16") ? BR_COMPUTE_BF16
                   : !strcmp(compute, "fp32") ? BR_COMPUTE_FP32
                   : device_major(device) >= 8 ? BR_COMPUTE_BF16
                                                : BR_COMPUTE_FP32;
    if (auto_storage) chosen = c == BR_COMPUTE_BF16 ? BR_STORAGE_BF16 : BR_STORAGE_FP32;
    return br_backend_cuda_create(device, c, chosen, out);
}

void br_backend_close(br_backend *be) {
    if (be && strcmp(be->name, "cuda") == 0) br_backend_cuda_destroy(be);
}

const char *br_compute_name(br_compute c) {
    return c == BR_COMPUTE_BF16 ? "bf16 (fp32 accumulation)" : "fp32";
}

const char *br_storage_name(br_storage s) {
    return s == BR_STORAGE_BF16 ? "bf16" : s == BR_STORAGE_FP16 ? "fp16"
         : s == BR_STORAGE_INT8 ? "int8" : "fp32";
}

size_t br_matrix_bytes(br_storage s, size_t rows, size_t cols) {
    if (s == BR_STORAGE_INT8) return rows * sizeof(float) + rows * cols;
    return rows * cols * (s == BR_STORAGE_FP32 ? 4 : 2);
}

void br_q8_adopt(br_backend *be, const float *host, size_t rows, size_t cols, void *blob,
                 const char *name) {
    float *scale = blob;
    const float error = cpu_quantize_q8(host, (int)rows, (int)cols,
                                        (int8_t *)(scale + rows), scale);
    if (be->n_q8_errors == be->cap_q8_errors) {
        const int cap = be->cap_q8_errors ? 2 * be->cap_q8_errors : 256;
        br_q8_error *more = realloc(be->q8_errors, (size_t)cap * sizeof *more);
        if (!more) return; // the error goes unrecorded; the weights are right
        be->q8_errors = more, be->cap_q8_errors = cap;
    }
    br_q8_error *e = &be->q8_errors[be->n_q8_errors++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->error = error;
}

void br_precision_text(br_compute compute, br_storage storage, char *buf, size_t size) {
    const int bf16 = compute == BR_COMPUTE_BF16;
    const br_storage natural = bf16 ? BR_STORAGE_BF16 : BR_STORAGE_FP32;
    if (storage == natural) snprintf(buf, size, "%s", bf16 ? "bf16" : "fp32");
    else snprintf(buf, size, "%s w:%s", bf16 ? "bf16" : "fp32", br_storage_name(storage));
}
