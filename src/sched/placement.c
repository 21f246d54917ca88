// placement.c: see placement.h.
#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"
#include "parallel.h"

static void link_to_next(br_placement *all, int n) {
    for (int r = 0; r < n; r++) {
        const br_placement *a = &all[r], *b = &all[r + 1 < n ? r + 1 : r];
        const char *link = r + 1 == n                    ? "-"
                           : strcmp(a->host, b->host)    ? "network"
                           : strcmp(a->device, b->device) || !strcmp(a->device, "CPU")
                               ? "same host"
                               : "same device";
        snprintf(all[r].link, sizeof all[r].link, "%s", link);
    }
}

static void print_table(const br_placement *all, int n, double bytes_per_hop,
                        double bytes_per_step) {
    int hosts = 0;
    for (int r = 0; r < n; r++) hosts += r == 0 || strcmp(all[r].host, all[r - 1].host) != 0;
    printf("placement: %d rank(s) on %d host(s); the baton is %.0f bytes per hop per forward", n,
           hosts, bytes_per_hop);
    if (bytes_per_step > 0) printf(", %.0f per hop per step", bytes_per_step);
    printf("\n");
    for (int r = 0; r < n; r++) {
        char precision[24];
        br_precision_text(all[r].compute, all[r].storage, precision, sizeof precision);
        printf("rank %d  %-12s %-40s %-11s blocks %d-%d  next: %s%s%-6s  cpu: %s, %d thread%s\n",
               r, all[r].host, all[r].device, precision, all[r].first_block,
               all[r].end_block - 1, all[r].link, r + 1 < n ? " via " : "",
               r + 1 < n ? all[r].transport : "", all[r].blas, all[r].threads,
               all[r].threads == 1 ? "" : "s");
    }
    fflush(stdout);
}

// CPU ranks whose BLAS picked another kernel round their products otherwise: the bits of a run
// would then depend on which rank runs which block. Names them and says what to set.
static void warn_unlike_blas(const br_placement *all, int n) {
    int unlike = 0;
    for (int r = 1; r < n; r++) unlike += strcmp(all[r].blas, all[0].blas) != 0;
    if (!unlike || strcmp(all[0].device, "CPU") != 0) return;
    // One write: mpirun forwards each write of a rank on its own, and others' lines may come
    // between two of them.
    char line[4096];
    size_t used = (size_t)snprintf(line, sizeof line, "brigade: warning: the ranks' CPU products "
                                   "use different BLAS kernels, so the results depend on where "
                                   "each block runs: rank 0 %s", all[0].blas);
    for (int r = 1; r < n && used < sizeof line; r++)
        if (strcmp(all[r].blas, all[0].blas) != 0)
            used += (size_t)snprintf(line + used, sizeof line - used, "; rank %d %s", r, all[r].blas);
    if (used < sizeof line)
        snprintf(line + used, sizeof line - used, ". Set OPENBLAS_CORETYPE to one kernel every "
                 "host can run (e.g. the oldest host's) for every rank; launch/mpirun.sh and "
                 "launch/brigade.sbatch pass it on\n");
    fputs(line, stderr);
    fflush(stderr);
}

br_status br_placement_report(br_comm *comm, br_backend *be, const int *first,
                              double bytes_per_hop, double bytes_per_step, br_placement **out) {
    br_placement mine = {0}, *all = NULL;
    const int n = br_comm_size(comm), me = br_comm_rank(comm);
    snprintf(mine.host, sizeof mine.host, "%s", br_comm_host(comm));
    snprintf(mine.device, sizeof mine.device, "%s", be->device_name);
    snprintf(mine.pci_bus_id, sizeof mine.pci_bus_id, "%s", be->pci_bus_id);
    mine.compute = be->compute, mine.storage = be->storage;
    snprintf(mine.transport, sizeof mine.transport, "%s", br_comm_transport(comm)->name);
    mine.first_block = first[me], mine.end_block = first[me + 1];
    cpu_blas_name(mine.blas, sizeof mine.blas);
    mine.threads = br_parallel_threads();
    snprintf(mine.threads_from, sizeof mine.threads_from, "%s", br_parallel_source());
    if (me == 0 && !(all = calloc((size_t)n + 1, sizeof *all)))
        return br_fail(BR_ENOMEM, "out of memory");
    br_status st = br_comm_gather_bytes(comm, &mine, all, sizeof mine, 0);
    if (st == BR_OK && me == 0) {
        link_to_next(all, n);
        print_table(all, n, bytes_per_hop, bytes_per_step);
        warn_unlike_blas(all, n);
    }
    if (st != BR_OK || !out) free(all), all = NULL;
    if (out) *out = all;
    return st;
}
