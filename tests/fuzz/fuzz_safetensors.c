// fuzz_safetensors.c: libFuzzer target for the .safetensors reader (src/io/safetensors.c). The
// input is a whole file; br_st_open_memory runs the same validation as br_st_open without the
// mmap. Whatever it accepts must keep its promises: every tensor lies inside the data block and
// holds exactly dtype size x product(shape) bytes, names are findable, each convertible tensor
// reads into a buffer of that size (ASan sees any byte read past the input) and the whole file
// goes into a tensor set (or fails, leaving the set as it was). Rejections are one-line messages
// naming the file. Seeds: tests/fuzz/corpus/fuzz_safetensors (fixture headers, edge cases).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/safetensors.h"

#define NAME "fuzz.safetensors"

static void check_entry(const br_st_file *f, const br_st_entry *e) {
    FUZZ_ASSERT(e->ndim >= 0 && e->ndim <= BR_MAX_DIMS, "tensor %s: rank %d", e->name, e->ndim);
    FUZZ_ASSERT(e->begin <= e->end && e->end <= f->data_size, "tensor %s: [%llu, %llu] outside %zu",
                e->name, (unsigned long long)e->begin, (unsigned long long)e->end, f->data_size);
    int64_t numel = br_numel(e->ndim, e->shape);
    FUZZ_ASSERT(numel >= 0 && (uint64_t)numel * br_dtype_size(e->dtype) == e->end - e->begin,
                "tensor %s: %lld elements in %llu bytes", e->name, (long long)numel,
                (unsigned long long)(e->end - e->begin));
    FUZZ_ASSERT(br_st_find(f, e->name) == e, "tensor %s: br_st_find does not find it", e->name);
    // Exactly numel floats: ASan reports a write past them, or a read past the input.
    float *out = malloc((size_t)(numel ? numel : 1) * sizeof *out);
    FUZZ_ASSERT(out, "out of memory for %lld floats", (long long)numel);
    br_status st = br_st_read_f32(f, e, out);
    int convertible = e->dtype == BR_F32 || e->dtype == BR_F16 || e->dtype == BR_BF16 ||
                      e->dtype == BR_U8;
    if (convertible) {
        FUZZ_ASSERT(st == BR_OK, "tensor %s of dtype %s does not read: %s", e->name,
                    br_dtype_name(e->dtype), br_error());
        fuzz_check_success("br_st_read_f32");
    } else {
        fuzz_check_failure(st, NAME, "br_st_read_f32");
    }
    free(out);
}

// The file into a set that already holds a tensor and a setting: on failure the set must be
// left exactly as it was; on success it holds one tensor per entry.
static void check_set(const br_st_file *f) {
    br_tensor_set set = {0};
    int64_t one = 1;
    double v = 1;
    FUZZ_ASSERT(br_set_add(&set, "already.there", 1, &one) &&
                br_set_add_setting(&set, "already_there", 1, &v) == BR_OK, "setup");
    set.tensors[0].data[0] = 0;
    br_status st = br_st_add_to_set(f, &set);
    if (st == BR_OK) {
        fuzz_check_success("br_st_add_to_set");
        FUZZ_ASSERT(set.n_tensors == 1 + f->n_entries, "%d tensors for %d entries", set.n_tensors,
                    f->n_entries);
        FUZZ_ASSERT(set.n_settings >= 1 && set.n_settings <= 1 + f->n_meta, "%d settings",
                    set.n_settings);
    } else {
        fuzz_check_failure(st, NULL, "br_st_add_to_set");
        FUZZ_ASSERT(set.n_tensors == 1 && set.n_settings == 1, "set not rolled back");
    }
    br_set_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    br_clear_error();
    br_st_file f;
    br_status st = br_st_open_memory(&f, NAME, data, size);
    if (st != BR_OK) {
        fuzz_check_failure(st, NAME, "br_st_open_memory");
        FUZZ_ASSERT(!f.entries && !f.path && !f.map, "failed open left state behind");
        br_st_close(&f); // safe after a failed open
        return 0;
    }
    fuzz_check_success("br_st_open_memory");
    FUZZ_ASSERT(f.data >= data + 8 && f.data + f.data_size == data + size, "data block misplaced");
    for (int i = 0; i < f.n_entries; i++) check_entry(&f, &f.entries[i]);
    for (int i = 0; i < f.n_meta; i++)
        FUZZ_ASSERT(br_st_meta(&f, f.meta_keys[i]) != NULL, "metadata %d not found", i);
    check_set(&f);
    br_st_close(&f);
    br_clear_error();
    return 0;
}
