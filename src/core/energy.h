// energy.h: the energy one GPU uses over a stretch of a run, read from NVML. NVML is loaded at run
// time (dlopen), so the binary builds and runs where no NVIDIA driver is installed; there the
// reading says why it measured nothing instead of failing. Below everything in the data path (in
// core); the run report is what prints it. Leaves out: the CPU's energy (no portable counter), and
// more than one meter per process at a time.
#ifndef BR_ENERGY_H
#define BR_ENERGY_H

typedef struct br_energy_meter br_energy_meter;

typedef struct {
    int measured;        // 1: joules is a measurement; 0: not measured, `method` says why
    double joules;       // energy used by the GPU between start and stop (0 when not measured)
    double seconds;      // wall seconds between start and stop
    char method[160];    // e.g. "NVML total energy counter", "NVML power sampled every 0.1 s",
                         // or why not: "CPU backend: no GPU to meter",
                         // "NVML not available (libnvidia-ml.so.1: <dlerror text>)",
                         // "NVML has no GPU with PCI bus id 0000:3b:00.0"
} br_energy_reading;

// Starts metering the GPU with this PCI bus id (as cudaDeviceGetPCIBusId writes it); NULL: the
// CPU backend (nothing to meter; the reading will say so). Never fails hard: always returns a
// meter (NULL only on out of memory), whose reading says whether it measured. The library is
// $BRIGADE_NVML_LIBRARY when set (the tests point it at a fake), else libnvidia-ml.so.1.
br_energy_meter *br_energy_start(const char *pci_bus_id);

// Stops, fills *out, frees the meter (NULL meter: out says "not metered").
void br_energy_stop(br_energy_meter *m, br_energy_reading *out);

#endif
