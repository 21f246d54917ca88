// forward.h: one transformer forward pass through the pipeline of ranks (`brigade forward`).
// Rank 0 reads the inputs and runs the input side; the hidden states go rank to rank through the
// blocks; the last rank runs the output side and writes the result file.
#ifndef BR_FORWARD_H
#define BR_FORWARD_H

#include "comm/comm.h"
#include "core/backend.h"

typedef struct {
    const char *transformer_dir; // diffusers folder: config.json + safetensors
    const char *inputs[4];       // safetensors or HDF5 files, read as one (or random:...)
    int n_inputs;
    const char *out_path;        // .h5 -> HDF5, else safetensors
    int dump_blocks;             // also write block_NN_out and the input-side intermediates
    int check;                   // numeric guard: test each block's output for NaN/Inf
    int repeat;                  // > 0: time this many forwards after a warm-up one
    const char *json_path;       // with repeat: the timing record, as JSON
    const char *split;           // --split: blocks (or weights) per rank; NULL: balanced
    const char *mode;            // --mode: one of the family's other calls; NULL: the plain one
} br_forward_opts;

// Collective: every rank calls it and every rank returns the same status (br_error() says why).
br_status br_forward(br_comm *comm, br_backend *be, const br_forward_opts *opts);

#endif
