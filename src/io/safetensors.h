// safetensors.h: reading (mmap, fully validated) and writing (atomic) of .safetensors files.
// Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:
// [begin, end]}, "__metadata__": {str: str}}, then the data block; offsets are relative to it.
// A file is untrusted: the header length is bounded (and inside the file), the JSON must parse,
// every offset lies inside the data block, end - begin = dtype size x product(shape), shapes are
// non-negative and do not overflow, and no two tensors overlap. Only the pages of the tensors
// actually read are touched (mmap), so each rank reads only what it needs.
#ifndef BR_SAFETENSORS_H
#define BR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"
#include "../core/tensor_set.h"
#include "dtype.h"

#define BR_ST_MAX_HEADER (100u << 20) // 100 MiB, as the reference implementation bounds it

typedef struct {
    char *name;
    br_dtype dtype;
    int ndim;
    int64_t shape[BR_MAX_DIMS];
    uint64_t begin, end; // byte offsets relative to the data block
} br_st_entry;

typedef struct {
    char *path;
    const uint8_t *map;   // whole file, read-only mapping
    size_t size;          // file size in bytes
    const uint8_t *data;  // start of the data block (map + 8 + header length)
    size_t data_size;
    br_st_entry *entries; // sorted by name
    int n_entries;
    char **meta_keys, **meta_values; // __metadata__ (string values), n_meta pairs
    int n_meta;
    int mapped;           // map is this file's own mmap (br_st_open), unmapped on close
} br_st_file;

// Opens and validates path. On failure every message names the file (and the tensor).
br_status br_st_open(br_st_file *f, const char *path);
// Validates the size bytes at bytes as a whole .safetensors file called name in messages, with
// the same checks as br_st_open. The bytes are not copied: they must outlive f (for the fuzzer
// and for files already in memory).
br_status br_st_open_memory(br_st_file *f, const char *name, const void *bytes, size_t size);
// Safe on a zeroed f and after a failed open.
void br_st_close(br_st_file *f);

const br_st_entry *br_st_find(const br_st_file *f, const char *name);
// The raw __metadata__ string for key, or NULL.
const char *br_st_meta(const br_st_file *f, const char *key);

// Converts the tensor to fp32 into out (product(shape) floats). Fails, naming file and tensor,
// for a dtype other than F32/F16/BF16.
br_status br_st_read_f32(const br_st_file *f, const br_st_entry *e, float *out);
// The same for elements [first, first + n) of the tensor (flat, row-major): only their pages.
br_status br_st_read_f32_range(const br_st_file *f, const br_st_entry *e, size_t first, size_t n,
                               float *out);

// Reads every tensor of the file into set (fp32) and every __metadata__ value that parses as a
// JSON number or a list of numbers into set's settings (others are skipped).
br_status br_st_read_all(const char *path, br_tensor_set *set);
// The same for a file already open; on failure set is left as the caller passed it.
br_status br_st_add_to_set(const br_st_file *f, br_tensor_set *set);

// Writes set's tensors as F32 and its settings as __metadata__ JSON strings to path, through
// path + ".tmp" then rename(), so that no half-written file ever carries the final name.
br_status br_st_write(const char *path, const br_tensor_set *set);

#endif
