// fake_nvml.c: a stand-in for libnvidia-ml.so.1, so that test_energy can exercise every path of
// src/core/energy.c on a machine with no GPU. Built as a shared library that exports the five
// NVML functions energy.c resolves, with the same signatures; the test loads it through
// BRIGADE_NVML_LIBRARY. FAKE_NVML_MODE (read at nvmlInit_v2) picks the GPU it pretends to be:
//   counter   a 250 W draw: the total energy counter gains 250 mJ per ms of CLOCK_MONOTONIC (and
//             power reads 250000 mW, so that the test sees the counter preferred)
//   power     no energy counter (NVML_ERROR_NOT_SUPPORTED), power reads 250000 mW
//   nodevice  no GPU has the bus id asked for (NVML_ERROR_NOT_FOUND)
//   other     a GPU with neither energy nor power readings
#define _POSIX_C_SOURCE 200809L // clock_gettime
#include <stdlib.h>
#include <string.h>
#include <time.h>

// nvmlReturn_t's values (nvml.h) and an opaque nvmlDevice_t.
enum { NVML_SUCCESS = 0, NVML_ERROR_INVALID_ARGUMENT = 2, NVML_ERROR_NOT_SUPPORTED = 3,
       NVML_ERROR_NOT_FOUND = 6 };
typedef struct nvml_device_st *nvml_device;

static char mode[16];
static int the_gpu; // its address is the device handle

int nvmlInit_v2(void) {
    const char *m = getenv("FAKE_NVML_MODE");
    strncpy(mode, m ? m : "", sizeof mode - 1);
    return NVML_SUCCESS;
}

int nvmlShutdown(void) { return NVML_SUCCESS; }

int nvmlDeviceGetHandleByPciBusId_v2(const char *bus_id, nvml_device *device) {
    if (!bus_id || !device) return NVML_ERROR_INVALID_ARGUMENT;
    if (!strcmp(mode, "nodevice")) return NVML_ERROR_NOT_FOUND;
    *device = (nvml_device)(void *)&the_gpu;
    return NVML_SUCCESS;
}

int nvmlDeviceGetTotalEnergyConsumption(nvml_device device, unsigned long long *mj) {
    if (device != (nvml_device)(void *)&the_gpu || !mj) return NVML_ERROR_INVALID_ARGUMENT;
    if (strcmp(mode, "counter")) return NVML_ERROR_NOT_SUPPORTED;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    *mj = 250ull * ((unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000);
    return NVML_SUCCESS;
}

int nvmlDeviceGetPowerUsage(nvml_device device, unsigned int *mw) {
    if (device != (nvml_device)(void *)&the_gpu || !mw) return NVML_ERROR_INVALID_ARGUMENT;
    if (strcmp(mode, "power") && strcmp(mode, "counter")) return NVML_ERROR_NOT_SUPPORTED;
    *mw = 250000;
    return NVML_SUCCESS;
}
