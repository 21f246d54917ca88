// placement.h: where each stage runs, printed by rank 0 before the work starts and kept for the
// run report: rank, host, device, compute, blocks owned, and the link to the next rank (same
// device, same host, or the network) with the bytes the baton carries per hop.
#ifndef BR_PLACEMENT_H
#define BR_PLACEMENT_H

#include "comm/comm.h"
#include "core/backend.h"

typedef struct {
    char host[64];
    char device[300];
    char pci_bus_id[32];        // the GPU's ("" on the CPU): which ranks share one
    br_compute compute;
    br_storage storage;         // of the weights
    char transport[16];
    int first_block, end_block; // blocks [first, end)
    char link[32];              // to the next rank: "same device", "same host", "network", "-"
    char blas[64];              // the CPU products' library and kernel (cpu_blas_name)
    int threads;                // brigade's CPU threads on this rank
    char threads_from[32];      // what set that number (br_parallel_source)
} br_placement;

// Collective. first[] is the block split (first[r] .. first[r+1]); bytes_per_step, the bytes
// each hop carries per denoising step (0: not a denoising run). On rank 0 *all receives a
// malloc'd array of one entry per rank (free it); other ranks get NULL. Prints the table on rank 0,
// and a warning when CPU ranks run different BLAS kernels (their bits would then differ).
br_status br_placement_report(br_comm *comm, br_backend *be, const int *first,
                              double bytes_per_hop, double bytes_per_step, br_placement **all);

#endif
