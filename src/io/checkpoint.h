// checkpoint.h: a diffusers model folder as users download it: config.json plus either one
// diffusion_pytorch_model.safetensors or shards listed in diffusion_pytorch_model.safetensors.index.json
// ({"weight_map": {tensor: shard file}}). Shards are opened (and validated) when a tensor in them
// is first asked for, so a rank touches only the files and pages of the tensors it owns.
#ifndef BR_CHECKPOINT_H
#define BR_CHECKPOINT_H

#include <stdint.h>

#include "../core/status.h"
#include "safetensors.h"

typedef struct cJSON cJSON;

typedef struct {
    char *dir;
    cJSON *config;          // parsed config.json, owned
    int n_shards;
    char **shard_paths;     // full paths
    br_st_file *shards;     // shards[i].map == NULL until opened
    int n_map;              // sharded only: tensor name -> shard index
    char **map_names;
    int *map_shard;
    uint64_t random_seed;   // non-zero: a checkpoint of random weights (checkpoint_random.c)
    br_tensor_set *record;  // random only, when set: every tensor handed out is also copied here
                            // (how `brigade init-model` learns the names and shapes to write)
} br_checkpoint;

// Parses the JSON file path, whose top level must be an object, into *out (cJSON_Delete it).
br_status br_json_read_object(const char *path, cJSON **out);

// Reads dir/config.json and finds the weights (single file or index). Errors name the file.
br_status br_ckpt_open(br_checkpoint *c, const char *dir);
void br_ckpt_close(br_checkpoint *c);

// Loads tensor name as fp32 into a new malloc'd array *out, after checking that its shape is
// exactly want_shape (ndim dims). Errors name the file and tensor, and the shapes.
br_status br_ckpt_load(br_checkpoint *c, const char *name, int ndim, const int64_t *want_shape,
                       float **out);

// Rows [row0, row0 + n_rows) of tensor name (along its first dimension) as fp32 into out, which
// holds n_rows x numel/shape[0] floats; shape must be given whole, and is checked as br_ckpt_load
// checks it. Only those rows are read (their pages of the file): for a table or a matrix that a
// rank takes a part of, or uses a few rows of at a time.
br_status br_ckpt_load_rows(br_checkpoint *c, const char *name, int ndim, const int64_t *shape,
                            int64_t row0, int64_t n_rows, float *out);

// Whether the checkpoint holds tensor name (a random one: always); the recorded error stays.
int br_ckpt_has(br_checkpoint *c, const char *name);

// A checkpoint of random weights for config (taken over), made on demand: for benchmarks.
br_status br_ckpt_open_random(br_checkpoint *c, cJSON *config, uint64_t seed);
br_status br_ckpt_random_tensor(const br_checkpoint *c, const char *name, int ndim,
                                const int64_t *shape, float **out);
// Rows of a random tensor, the values the whole tensor has there (each row is seeded on its own).
br_status br_ckpt_random_rows(const br_checkpoint *c, const char *name, int ndim,
                              const int64_t *shape, int64_t row0, int64_t n_rows, float *out);

#endif
