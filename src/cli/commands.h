// commands.h: the subcommands of the brigade binary.
#ifndef BR_COMMANDS_H
#define BR_COMMANDS_H

#include "comm/comm.h"

// Each runs on every rank (after MPI is up) and returns the agreed status.
br_status br_cmd_forward(br_comm *comm, int argc, char **argv);
extern const char br_forward_help[];
br_status br_cmd_run(br_comm *comm, int argc, char **argv);
extern const char br_run_help[];
br_status br_cmd_encode(br_comm *comm, int argc, char **argv);
extern const char br_encode_help[];
br_status br_cmd_serve(br_comm *comm, int argc, char **argv);
extern const char br_serve_help[];
// Runs without MPI (one process).
int br_cmd_init_model(int argc, char **argv);
extern const char br_init_model_help[];

#endif
