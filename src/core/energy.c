// energy.c: the GPU energy meter (see energy.h). Two ways, best first: NVML's total energy
// counter (millijoules since the driver loaded; Volta and newer), read at start and at stop; else
// its power reading (milliwatts), sampled by a thread every 0.1 s and integrated by the trapezoid
// rule over the times the samples were actually taken (a sleep can overrun). Nothing here fails
// the run: a meter that cannot measure carries the reason into its reading.
#define _POSIX_C_SOURCE 200809L // nanosleep
#include "energy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

// The few NVML declarations used, written out because nvml.h comes with the CUDA toolkit or the
// driver's development files, which a CPU-only machine lacks. They mirror nvml.h: nvmlReturn_t
// (an enum; 0 is NVML_SUCCESS), nvmlDevice_t (an opaque pointer) and the signatures below.
typedef int nvml_return;
typedef struct nvml_device_st *nvml_device;
enum { NVML_SUCCESS = 0 };
typedef nvml_return nvml_void_fn(void);                                 // nvmlInit_v2, nvmlShutdown
typedef nvml_return nvml_by_pci_fn(const char *, nvml_device *);        // ..GetHandleByPciBusId_v2
typedef nvml_return nvml_energy_fn(nvml_device, unsigned long long *);  // ..GetTotalEnergyConsumption
typedef nvml_return nvml_power_fn(nvml_device, unsigned int *);         // nvmlDeviceGetPowerUsage

#define SAMPLE_SECONDS 0.1

struct br_energy_meter {
    void *lib;               // the dlopen handle; NULL when NVML did not load
    nvml_void_fn *init, *shutdown;
    nvml_by_pci_fn *by_pci;
    nvml_energy_fn *energy;  // millijoules
    nvml_power_fn *power;    // milliwatts
    int initialised;         // nvmlInit_v2 succeeded: stop owes an nvmlShutdown
    nvml_device dev;
    enum { NONE, COUNTER, SAMPLED } how;
    char method[160];        // how it measures, or why it does not
    double t0;               // CLOCK_MONOTONIC seconds at the first reading
    unsigned long long start_mj;
    pthread_t thread;        // SAMPLED: the sampler owns joules, last_t, last_w until joined
    atomic_int sampling;
    double joules, last_t, last_w;
};

// dlsym, keeping the first failure's reason in m->method.
static void *sym(br_energy_meter *m, const char *name) {
    void *p = dlsym(m->lib, name);
    if (!p && !m->method[0]) snprintf(m->method, sizeof m->method, "NVML not available (%s)", dlerror());
    return p;
}

static int load(br_energy_meter *m) {
    const char *name = getenv("BRIGADE_NVML_LIBRARY");
    m->lib = dlopen(name && *name ? name : "libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!m->lib) {
        snprintf(m->method, sizeof m->method, "NVML not available (%s)", dlerror()); // names the file
        return 0;
    }
    // POSIX guarantees that dlsym's void * converts to a function pointer.
    m->init = (nvml_void_fn *)sym(m, "nvmlInit_v2");
    m->shutdown = (nvml_void_fn *)sym(m, "nvmlShutdown");
    m->by_pci = (nvml_by_pci_fn *)sym(m, "nvmlDeviceGetHandleByPciBusId_v2");
    m->energy = (nvml_energy_fn *)sym(m, "nvmlDeviceGetTotalEnergyConsumption");
    m->power = (nvml_power_fn *)sym(m, "nvmlDeviceGetPowerUsage");
    return !m->method[0];
}

static int open_device(br_energy_meter *m, const char *bus_id) {
    nvml_return r = m->init();
    if (r != NVML_SUCCESS) {
        snprintf(m->method, sizeof m->method, "NVML did not initialise (error %d)", r);
        return 0;
    }
    m->initialised = 1;
    if ((r = m->by_pci(bus_id, &m->dev)) != NVML_SUCCESS) {
        snprintf(m->method, sizeof m->method, "NVML has no GPU with PCI bus id %s (error %d)", bus_id, r);
        return 0;
    }
    return 1;
}

// One power sample, integrated since the previous one. A failed read is skipped (the next sample
// spans the gap), except the final one, which holds the previous power up to now.
static void add_sample(br_energy_meter *m, int final) {
    unsigned int mw;
    int ok = m->power(m->dev, &mw) == NVML_SUCCESS;
    if (!ok && !final) return;
    double t = br_now(), w = ok ? mw / 1000.0 : m->last_w;
    m->joules += 0.5 * (m->last_w + w) * (t - m->last_t);
    m->last_t = t, m->last_w = w;
}

static void *sampler(void *arg) {
    br_energy_meter *m = arg;
    const struct timespec period = {0, (long)(SAMPLE_SECONDS * 1e9)};
    while (atomic_load(&m->sampling)) {
        nanosleep(&period, NULL);
        add_sample(m, 0);
    }
    return NULL;
}

static void choose_method(br_energy_meter *m, const char *bus_id) {
    unsigned int mw;
    nvml_return re = m->energy(m->dev, &m->start_mj), rp;
    m->t0 = br_now(); // after the first reading: nvmlInit alone can take a good part of a second
    if (re == NVML_SUCCESS) {
        m->how = COUNTER;
        snprintf(m->method, sizeof m->method, "NVML total energy counter");
    } else if ((rp = m->power(m->dev, &mw)) != NVML_SUCCESS) {
        snprintf(m->method, sizeof m->method, "NVML reads neither the energy (error %d) nor the "
                 "power (error %d) of GPU %s", re, rp, bus_id);
    } else {
        m->last_t = m->t0 = br_now(), m->last_w = mw / 1000.0;
        atomic_store(&m->sampling, 1);
        if (pthread_create(&m->thread, NULL, sampler, m) != 0) {
            snprintf(m->method, sizeof m->method, "cannot start the NVML power sampling thread");
            return;
        }
        m->how = SAMPLED;
        snprintf(m->method, sizeof m->method, "NVML power sampled every %.1f s", SAMPLE_SECONDS);
    }
}

br_energy_meter *br_energy_start(const char *pci_bus_id) {
    br_energy_meter *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->t0 = br_now();
    if (!pci_bus_id)
        snprintf(m->method, sizeof m->method, "CPU backend: no GPU to meter");
    else if (load(m) && open_device(m, pci_bus_id))
        choose_method(m, pci_bus_id);
    return m;
}

void br_energy_stop(br_energy_meter *m, br_energy_reading *out) {
    memset(out, 0, sizeof *out);
    if (!m) {
        snprintf(out->method, sizeof out->method, "not metered");
        return;
    }
    if (m->how == SAMPLED) {
        atomic_store(&m->sampling, 0);
        pthread_join(m->thread, NULL); // at most one period
        add_sample(m, 1);
        out->measured = 1, out->joules = m->joules;
    } else if (m->how == COUNTER) {
        unsigned long long end_mj;
        nvml_return r = m->energy(m->dev, &end_mj);
        if (r == NVML_SUCCESS && end_mj >= m->start_mj)
            out->measured = 1, out->joules = (double)(end_mj - m->start_mj) / 1000.0;
        else if (r == NVML_SUCCESS)
            snprintf(m->method, sizeof m->method, "NVML total energy counter went backwards");
        else
            snprintf(m->method, sizeof m->method, "NVML total energy counter failed at stop (error %d)", r);
    }
    out->seconds = br_now() - m->t0;
    memcpy(out->method, m->method, sizeof out->method);
    if (m->initialised) m->shutdown();
    if (m->lib) dlclose(m->lib);
    free(m);
}
