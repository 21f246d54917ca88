// device.h: the device options that every computing command takes (--backend, --compute,
// --storage, --share-gpus), and opening this rank's device from them.
#ifndef BR_CLI_DEVICE_H
#define BR_CLI_DEVICE_H

#include "comm/comm.h"
#include "core/backend.h"

typedef struct {
    const char *backend, *compute, *storage; // "auto" unless given
    int share_gpus;
} br_cli_device;

#define BR_CLI_DEVICE_DEFAULTS {"auto", "auto", "auto", 0}
// The four options as entries of a command's option table (args.h), for the device at d.
#define BR_CLI_DEVICE_OPTIONS(d)                                                               \
    {"backend", &(d)->backend, NULL}, {"compute", &(d)->compute, NULL},                        \
        {"storage", &(d)->storage, NULL}, {"share-gpus", NULL, &(d)->share_gpus}

// Collective, after a command parsed its words (st: how that went): agrees on st (every rank
// parsed the same words: the error prints once), opens this rank's backend, agrees again and
// attaches the data plane. *be is NULL or a backend for br_backend_close, also on failure.
br_status br_cli_open_device(br_comm *comm, br_status st, const br_cli_device *d,
                             br_backend **be);

#endif
