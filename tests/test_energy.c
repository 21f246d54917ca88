// test_energy.c: the GPU energy meter (src/core/energy.c) on a fake NVML (tests/fake_nvml.c,
// whose path is the one argument): the energy counter preferred when it works, power sampling
// when it does not, and each reason for measuring nothing (no such GPU, neither reading, no NVML
// library, the CPU backend). No GPU needed. The fake draws a steady 250 W, so each check is on
// joules / seconds, which does not depend on how long the sleep really took.
#define _POSIX_C_SOURCE 200809L // setenv, nanosleep

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/energy.h"

static const char *fake; // the fake NVML library


// Meters bus_id for 0.3 s with library as NVML (NULL: the default) and the fake in mode.
static br_energy_reading meter(const char *library, const char *mode, const char *bus_id) {
    if (library) setenv("BRIGADE_NVML_LIBRARY", library, 1);
    else unsetenv("BRIGADE_NVML_LIBRARY");
    setenv("FAKE_NVML_MODE", mode, 1);
    br_energy_reading r;
    br_energy_meter *m = br_energy_start(bus_id);
    CHECK(m != NULL);
    nanosleep(&(struct timespec){0, 300000000}, NULL);
    br_energy_stop(m, &r);
    printf("%-9s measured %d: %6.2f J in %.3f s (%s)\n", mode, r.measured, r.joules, r.seconds,
           r.method);
    CHECK(r.seconds >= 0.29);
    CHECK(r.measured || r.joules == 0);
    return r;
}

// The mean power is the fake's 250 W within tol: the counter ticks every 1 ms and both methods
// read the clock a few microseconds from their reading, so 0.3 s stays far inside 10%; sampling
// adds the same error per sample, and gets 15%. Both are loose for a loaded machine's sake.
static int watts_near_250(br_energy_reading r, double tol) {
    return r.measured && fabs(r.joules / r.seconds - 250.0) <= 250.0 * tol;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_energy FAKE_NVML_LIBRARY\n");
        return 2;
    }
    fake = argv[1];
    const char *bus = "0000:3b:00.0";

    br_energy_reading r = meter(fake, "counter", bus);
    CHECK(watts_near_250(r, 0.10));
    CHECK(strstr(r.method, "counter") != NULL);

    r = meter(fake, "power", bus);
    CHECK(watts_near_250(r, 0.15));
    CHECK(strstr(r.method, "sampled every 0.1 s") != NULL);

    r = meter(fake, "nodevice", bus);
    CHECK(!r.measured && strstr(r.method, "no GPU with PCI bus id 0000:3b:00.0"));

    r = meter(fake, "none", bus);
    CHECK(!r.measured && strstr(r.method, "neither") && strstr(r.method, bus));

    r = meter("/nonexistent.so", "counter", bus);
    CHECK(!r.measured && strstr(r.method, "NVML not available (/nonexistent.so"));

    r = meter(fake, "counter", NULL);
    CHECK(!r.measured && strstr(r.method, "CPU backend"));

    // The real default library: absent here, or present without a GPU at this bus id.
    r = meter(NULL, "counter", "ffff:ff:1f.7");
    CHECK(!r.measured && r.method[0]);

    br_energy_stop(NULL, &r);
    CHECK(!r.measured && !strcmp(r.method, "not metered"));

    return check_summary();
}
