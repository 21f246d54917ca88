// fuzz_index.c: libFuzzer target for the sharded-checkpoint index that br_ckpt_open reads
// (diffusion_pytorch_model.safetensors.index.json, src/io/checkpoint.c). Each process makes a
// private folder (in /dev/shm when it exists) holding a minimal config.json and one valid shard,
// shard.safetensors, with tensors "a" and "b"; each input becomes the folder's index file and
// goes through br_ckpt_open as a user's folder would, file reading included. An accepted index
// must map every tensor to one of the listed shards, with names sorted and unique; loading each
// listed tensor must either succeed (from the real shard) or fail with one line. The index may
// name any file (config.json, the index itself, absent ones): a load from it must fail cleanly.
// A NUL byte (after which cJSON would see nothing) must be refused.
// Seeds: tests/fuzz/corpus/fuzz_index (the ltx-odd index and edge cases).
#define _POSIX_C_SOURCE 200809L // mkdtemp

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "io/checkpoint.h"

#define INDEX_FILE "diffusion_pytorch_model.safetensors.index.json"

static char dir[96];
static char index_path[160];

static void write_file(const char *name, const void *bytes, size_t n) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    FUZZ_ASSERT(fp && fwrite(bytes, 1, n, fp) == n && fclose(fp) == 0, "cannot write %s", path);
}

static void remove_dir(void) {
    const char *names[] = {"config.json", "shard.safetensors", INDEX_FILE};
    char path[160];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    // FUZZ_TMPDIR: run.sh's folder, removed after the run (a crash skips atexit).
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%.40s/brigade-fuzz-index.XXXXXX", base);
    FUZZ_ASSERT(mkdtemp(dir), "cannot make a folder like %s", dir);
    atexit(remove_dir);
    snprintf(index_path, sizeof index_path, "%s/%s", dir, INDEX_FILE);
    write_file("config.json", "{}", 2);
    // "a": F32 [2] = {1, 2}; "b": BF16 [2, 1] = {1, 2}
    static const char header[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                 "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[8,12]}}";
    unsigned char shard[8 + sizeof header - 1 + 12] = {sizeof header - 1};
    memcpy(shard + 8, header, sizeof header - 1);
    static const unsigned char values[12] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0x80, 0x3f, 0, 0x40};
    memcpy(shard + 8 + sizeof header - 1, values, sizeof values);
    write_file("shard.safetensors", shard, sizeof shard);
    return 0;
}

static void check_map(const br_checkpoint *c) {
    FUZZ_ASSERT(c->n_map >= 1 && c->n_shards >= 1 && c->n_shards <= c->n_map,
                "%d tensors in %d shards", c->n_map, c->n_shards);
    for (int i = 0; i < c->n_map; i++) {
        FUZZ_ASSERT(c->map_shard[i] >= 0 && c->map_shard[i] < c->n_shards, "tensor %d: shard %d",
                    i, c->map_shard[i]);
        FUZZ_ASSERT(i == 0 || strcmp(c->map_names[i - 1], c->map_names[i]) < 0,
                    "names not sorted and unique at %d", i);
    }
    for (int i = 0; i < c->n_shards; i++) {
        const char *p = c->shard_paths[i];
        FUZZ_ASSERT(strncmp(p, dir, strlen(dir)) == 0 && p[strlen(dir)] == '/' &&
                        !strchr(p + strlen(dir) + 1, '/'),
                    "shard path %s is not a file of %s", p, dir);
    }
}

// Loads every listed tensor (the first few hundred) with any shape of its rank.
static void load_all(br_checkpoint *c) {
    static const int64_t any[2] = {-1, -1};
    for (int i = 0; i < c->n_map && i < 256; i++) {
        const char *name = c->map_names[i];
        int ndim = strcmp(name, "b") == 0 ? 2 : 1;
        float *x = (float *)c; // must come back NULL on failure
        br_status st = br_ckpt_load(c, name, ndim, any, &x);
        if (st == BR_OK) {
            fuzz_check_success("br_ckpt_load");
            FUZZ_ASSERT((strcmp(name, "a") == 0 || strcmp(name, "b") == 0) && x[0] == 1 &&
                            x[1] == 2,
                        "tensor %s loaded wrong", name);
            free(x);
        } else {
            fuzz_check_failure(st, NULL, "br_ckpt_load");
            FUZZ_ASSERT(x == NULL, "failed load of %s left *out set", name);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    br_clear_error();
    write_file(INDEX_FILE, data, size);
    br_checkpoint c;
    br_status st = br_ckpt_open(&c, dir);
    if (st != BR_OK) {
        fuzz_check_failure(st, INDEX_FILE, "br_ckpt_open");
        FUZZ_ASSERT(!c.dir && !c.config && !c.shards && !c.map_names, "failed open left state");
        return 0;
    }
    fuzz_check_success("br_ckpt_open");
    FUZZ_ASSERT(!memchr(data, 0, size), "an index with a NUL byte was accepted");
    check_map(&c);
    load_all(&c);
    br_ckpt_close(&c);
    br_clear_error();
    return 0;
}
