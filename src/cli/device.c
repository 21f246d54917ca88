// device.c: see device.h.
#include "device.h"

br_status br_cli_open_device(br_comm *comm, br_status st, const br_cli_device *d,
                             br_backend **be) {
    *be = NULL;
    if ((st = br_comm_agree(comm, st)) != BR_OK) return st;
    st = br_backend_open(d->backend, d->compute, d->storage, br_comm_local_rank(comm),
                         d->share_gpus, be);
    if ((st = br_comm_agree(comm, st)) != BR_OK) return st;
    return br_comm_attach(comm, *be);
}
