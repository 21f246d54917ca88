// comm_internal.h: the communicator's state, shared by the files of src/comm only.
#ifndef BR_COMM_INTERNAL_H
#define BR_COMM_INTERNAL_H

#include <mpi.h>

#include "comm.h"

struct br_comm {
    MPI_Comm world;             // brigade's own communicator (errors return)
    MPI_Comm node;              // the ranks sharing this host
    int rank, size;
    int local_rank;             // within node: which GPU this rank takes
    int local_size;             // ranks on this host
    char host[MPI_MAX_PROCESSOR_NAME];
    const br_transport *transport;
    br_backend *device;         // the backend whose buffers the transport moves
    float *staging;             // host-staged transport: bounce buffer
    size_t staging_cap;
    void *nccl;                 // comm_nccl.c's state, NULL when NCCL is not in use
};

// NCCL (comm_nccl.c; in a build without NCCL, open fails and close does nothing). open makes the
// NCCL communicator over all ranks (collective) and installs the NCCL transport.
br_status br_comm_nccl_open(br_comm *c, void *compute_stream);
void br_comm_nccl_close(br_comm *c);

#endif
