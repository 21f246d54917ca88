// test_h5.c: the HDF5 tensor files (src/io/h5file.c): bit-exact round trips, conversion of
// integer and float64 datasets written by other tools, and the one-line errors for bad files.
// Files the writer never produces are made here with the HDF5 API directly. Everything lives in
// a fresh directory under /tmp, removed at the end.
// Built with -DBR_TEST_TENSOR_FILE (and src/io/tensor_file.c + src/io/safetensors.c linked),
// it also checks br_tensor_file_read/write's choice of format; without it, it needs only
// status.c, tensor_set.c and h5file.c.
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "check.h"
#include "core/tensor_set.h"
#include "io/h5file.h"
#ifdef BR_TEST_TENSOR_FILE
#include "io/tensor_file.h"
#endif

static char dir[64];


// A path inside the test directory (a few static buffers, so that two can be live at once).
static const char *path_of(const char *name) {
    static char bufs[4][256];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", dir, name);
    return p;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

// Clears the recorded error, so that each failing call below records its own message.
static void fresh(void) { br_clear_error(); }

static int error_names(const char *s) { return strstr(br_error(), s) != NULL; }

// HDF5 files, datasets, groups, attributes and named types still open anywhere: every call of
// h5file.c must leave none behind, on success and on failure.
static ssize_t open_ids(void) { return H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL); }

// ---------------------------------------------------------------------------------------------
// Round trip

static void fill(br_tensor *t, unsigned seed) {
    int64_t n = br_numel(t->ndim, t->shape);
    for (int64_t i = 0; i < n; i++) t->data[i] = (float)((i * 2654435761u + seed) % 1000) / 7.0f;
}

// A set with tensors of rank 0..4, one with a zero dimension, special float values, and two
// settings (a scalar and a list of 3).
static void make_set(br_tensor_set *set) {
    fill(br_set_add(set, "r1", 1, (int64_t[]){5}), 1);
    fill(br_set_add(set, "r2", 2, (int64_t[]){3, 4}), 2);
    fill(br_set_add(set, "r3", 3, (int64_t[]){2, 3, 5}), 3);
    br_tensor *r4 = br_set_add(set, "hidden_states", 4, (int64_t[]){2, 1, 3, 7});
    fill(r4, 4);
    float special[] = {-0.0f, INFINITY, -INFINITY, NAN, 1e-45f, 3.4028235e38f, -1.17549435e-38f};
    memcpy(r4->data, special, sizeof special);
    fill(br_set_add(set, "scalar", 0, NULL), 5);
    br_set_add(set, "empty", 2, (int64_t[]){0, 3});
    br_set_add_setting(set, "num_frames", 1, (double[]){3});
    br_set_add_setting(set, "scale", 3, (double[]){0.1, -2.5e300, 1.0 / 3.0});
}

// Same names, shapes and bits (memcmp, so NaN and -0 must survive too).
static int sets_identical(const br_tensor_set *a, const br_tensor_set *b) {
    if (a->n_tensors != b->n_tensors || a->n_settings != b->n_settings) return 0;
    for (int i = 0; i < a->n_tensors; i++) {
        const br_tensor *x = &a->tensors[i], *y = br_set_find(b, x->name);
        if (!y || x->ndim != y->ndim || memcmp(x->shape, y->shape, x->ndim * sizeof(int64_t)))
            return 0;
        if (memcmp(x->data, y->data, (size_t)br_numel(x->ndim, x->shape) * sizeof(float)))
            return 0;
    }
    for (int i = 0; i < a->n_settings; i++) {
        const br_setting *x = &a->settings[i], *y = br_set_find_setting(b, x->name);
        if (!y || x->count != y->count || memcmp(x->values, y->values, x->count * sizeof(double)))
            return 0;
    }
    return 1;
}

static void test_round_trip(void) {
    br_tensor_set set = {0}, back = {0};
    make_set(&set);
    const char *path = path_of("round.h5"), *tmp = path_of("round.h5.tmp");
    fresh();
    CHECK(br_h5_write(path, &set) == BR_OK);
    CHECK(exists(path));
    CHECK(!exists(tmp));
    CHECK(br_h5_read_all(path, &back) == BR_OK);
    CHECK(sets_identical(&set, &back));
    br_set_free(&back);
    // Writing over an existing file replaces it.
    set.tensors[0].data[0] = 42.0f;
    CHECK(br_h5_write(path, &set) == BR_OK);
    CHECK(br_h5_read_all(path, &back) == BR_OK);
    CHECK(sets_identical(&set, &back));
    CHECK(!exists(tmp));
    CHECK(open_ids() == 0);
    br_set_free(&back);
    br_set_free(&set);
}

// ---------------------------------------------------------------------------------------------
// Files made with the HDF5 API

// Makes a dataset of the given type and shape in loc holding data (in mem_type).
static void make_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                         const hsize_t *dims, const void *data) {
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dset = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(dset >= 0);
    if (data) CHECK(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(dset);
    H5Sclose(space);
}

static void make_attribute(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                           const hsize_t *dims, const void *data) {
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(attr >= 0);
    CHECK(H5Awrite(attr, mem_type, data) >= 0);
    H5Aclose(attr);
    H5Sclose(space);
}

// A fixed-length string type of n bytes (the caller closes it).
static hid_t string_type(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    return t;
}

// int32 and float64 datasets, an int attribute, a string attribute and a group with a dataset
// inside (both skipped).
static void make_foreign_file(const char *path) {
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int32_t ints[6] = {-3, 0, 7, 16777216, -100000, 1};
    double doubles[4] = {0.1, -1e300, 2.5, 1e-50};
    int64_t steps[2] = {10, 20};
    make_dataset(file, "ints", H5T_STD_I32BE, H5T_NATIVE_INT32, 2, (hsize_t[]){2, 3}, ints);
    make_dataset(file, "doubles", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, (hsize_t[]){4}, doubles);
    hid_t group = H5Gcreate2(file, "extra", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    make_dataset(group, "inside", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t[]){2},
                 (float[]){1, 2});
    H5Gclose(group);
    make_attribute(file, "steps", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, (hsize_t[]){2}, steps);
    hid_t str = string_type(5);
    make_attribute(file, "comment", str, str, 0, NULL, "hello");
    H5Tclose(str);
    H5Fclose(file);
}

static void test_conversions(void) {
    const char *path = path_of("foreign.h5");
    make_foreign_file(path);
    br_tensor_set set = {0};
    fresh();
    CHECK(br_h5_read_all(path, &set) == BR_OK);
    CHECK(set.n_tensors == 2 && set.n_settings == 1);
    const br_tensor *ints = br_set_find(&set, "ints"), *doubles = br_set_find(&set, "doubles");
    if (CHECK(ints && ints->ndim == 2 && ints->shape[0] == 2 && ints->shape[1] == 3)) {
        float want[6] = {-3, 0, 7, 16777216, -100000, 1};
        CHECK(memcmp(ints->data, want, sizeof want) == 0);
    }
    if (CHECK(doubles && doubles->ndim == 1 && doubles->shape[0] == 4)) {
        CHECK(doubles->data[0] == (float)0.1 && doubles->data[2] == 2.5f);
        CHECK(isinf(doubles->data[1]) && doubles->data[1] < 0); // out of float range
        CHECK(doubles->data[3] == 0.0f);
    }
    const br_setting *steps = br_set_find_setting(&set, "steps");
    CHECK(steps && steps->count == 2 && steps->values[0] == 10 && steps->values[1] == 20);
    CHECK(!br_set_find(&set, "inside") && !br_set_find_setting(&set, "comment"));
    CHECK(open_ids() == 0);
    br_set_free(&set);
}

// ---------------------------------------------------------------------------------------------
// Bad files: each read fails, and the message names the file and the object at fault.

// Creates path holding one dataset and/or attribute made by the callback.
typedef void (*maker)(hid_t file);

static void expect_rejected(const char *name, maker make, const char *culprit) {
    const char *path = path_of(name);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    make(file);
    H5Fclose(file);
    br_tensor_set set = {0};
    fresh();
    CHECK(br_h5_read_all(path, &set) == BR_EINPUT);
    CHECK(error_names(path));
    CHECK(error_names(culprit));
    CHECK(strchr(br_error(), '\n') == NULL);
    CHECK(set.n_tensors == 0 && set.n_settings == 0); // nothing left half-read (nan_attr.h5
                                                       // has a good dataset before its culprit)
    CHECK(open_ids() == 0);
    br_set_free(&set);
}

static void string_dataset(hid_t file) {
    hid_t str = string_type(4);
    make_dataset(file, "a_label", str, str, 1, (hsize_t[]){2}, "abcdefgh");
    H5Tclose(str);
}

static void rank9_dataset(hid_t file) {
    hsize_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
    make_dataset(file, "deep", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 9, dims, NULL);
}

// 2^50 elements announced, none stored (chunked, no chunk written): must fail before malloc.
static void huge_dataset(hid_t file) {
    hsize_t dims[3] = {1u << 20, 1u << 20, 1u << 10}, chunk[3] = {1, 1, 16};
    hid_t space = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    hid_t dset = H5Dcreate2(file, "huge", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(dset >= 0);
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
}

static void compound_dataset(hid_t file) {
    hid_t t = H5Tcreate(H5T_COMPOUND, 8);
    H5Tinsert(t, "a", 0, H5T_NATIVE_FLOAT);
    H5Tinsert(t, "b", 4, H5T_NATIVE_FLOAT);
    make_dataset(file, "pairs", t, t, 1, (hsize_t[]){1}, (float[]){1, 2});
    H5Tclose(t);
}

static void compound_attribute(hid_t file) {
    hid_t t = H5Tcreate(H5T_COMPOUND, 8);
    H5Tinsert(t, "a", 0, H5T_NATIVE_FLOAT);
    H5Tinsert(t, "b", 4, H5T_NATIVE_FLOAT);
    make_attribute(file, "odd_attr", t, t, 0, NULL, (float[]){1, 2});
    H5Tclose(t);
}

static void matrix_attribute(hid_t file) {
    double v[4] = {1, 2, 3, 4};
    make_attribute(file, "grid", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, (hsize_t[]){2, 2}, v);
}

static void long_attribute(hid_t file) {
    double v[BR_SETTING_MAX + 1] = {0};
    make_attribute(file, "too_many", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                   (hsize_t[]){BR_SETTING_MAX + 1}, v);
}

static void soft_link(hid_t file) {
    make_dataset(file, "real", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t[]){1}, (float[]){1});
    H5Lcreate_soft("/nowhere", file, "dangling", H5P_DEFAULT, H5P_DEFAULT);
}

// Data in another file: read, it would expose any file we can open.
static void external_dataset(hid_t file) {
    hsize_t dims[1] = {4};
    hid_t space = H5Screate_simple(1, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(dcpl, "/etc/hostname", 0, 16);
    hid_t dset = H5Dcreate2(file, "outside", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(dset >= 0);
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
}

// A deflate-compressed dataset whose one chunk is not deflate data: the read itself fails.
static void corrupt_chunk(hid_t file) {
    hsize_t dims[1] = {4};
    hid_t space = H5Screate_simple(1, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, dims);
    H5Pset_deflate(dcpl, 6);
    hid_t dset = H5Dcreate2(file, "zipped", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(dset >= 0);
    const char junk[16] = "not deflate data";
    CHECK(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, (hsize_t[]){0}, sizeof junk, junk) >= 0);
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
}

// Found by tests/fuzz/fuzz_h5_inputs (its corpus has each as a regress_* seed):
// 2^33 floats announced and nothing stored: refused before a 32 GiB allocation;
static void unwritten_dataset(hid_t file) {
    make_dataset(file, "claimed", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t[]){1ull << 33},
                 NULL);
}

// an empty dataset whose other dimensions multiply past int64 (br_numel overflowed);
static void empty_huge_dataset(hid_t file) {
    make_dataset(file, "hollow", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3,
                 (hsize_t[]){1ull << 47, 1ull << 17, 0}, NULL);
}

// a NaN setting (safetensors metadata refused it, HDF5 attributes did not), after a good dataset
// that a failed read must not leave in the set;
static void nan_attribute(hid_t file) {
    make_dataset(file, "a_good", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t[]){1}, (float[]){1});
    make_attribute(file, "num_frames", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL,
                   (double[]){NAN});
}

// a newline in a name, which broke the one-line message.
static void control_name(hid_t file) {
    make_dataset(file, "bad\nname", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t[]){1},
                 (float[]){1});
}

static void test_bad_files(void) {
    expect_rejected("unwritten.h5", unwritten_dataset, "claimed of shape [8589934592] has no data");
    expect_rejected("hollow.h5", empty_huge_dataset, "hollow has more than 2^34 elements");
    expect_rejected("nan_attr.h5", nan_attribute, "num_frames has a value that is NaN");
    expect_rejected("control.h5", control_name, "control character");
    expect_rejected("string.h5", string_dataset, "a_label");
    expect_rejected("rank9.h5", rank9_dataset, "deep");
    expect_rejected("huge.h5", huge_dataset, "huge");
    expect_rejected("compound.h5", compound_dataset, "pairs");
    expect_rejected("compound_attr.h5", compound_attribute, "odd_attr");
    expect_rejected("matrix_attr.h5", matrix_attribute, "grid");
    expect_rejected("long_attr.h5", long_attribute, "too_many");
    expect_rejected("soft.h5", soft_link, "dangling");
    expect_rejected("external.h5", external_dataset, "outside");
    expect_rejected("corrupt.h5", corrupt_chunk, "zipped");
}

static void test_not_hdf5(void) {
    const char *path = path_of("text.h5");
    FILE *f = fopen(path, "wb");
    fputs("this is not an HDF5 file, only some text long enough to look like one\n", f);
    fclose(f);
    br_tensor_set set = {0};
    fresh();
    CHECK(br_h5_read_all(path, &set) == BR_EINPUT);
    CHECK(error_names(path));
    CHECK(set.n_tensors == 0);

    const char *missing = path_of("no_such_file.h5");
    fresh();
    CHECK(br_h5_read_all(missing, &set) == BR_EIO);
    CHECK(error_names(missing));
    CHECK(open_ids() == 0);
    br_set_free(&set);
}

// Write failures name the path and leave no .tmp behind.
static void test_write_failures(void) {
    br_tensor_set set = {0};
    br_tensor *t = br_set_add(&set, "a/b", 1, (int64_t[]){2});
    t->data[0] = 1, t->data[1] = 2;
    const char *path = path_of("slash.h5"), *tmp = path_of("slash.h5.tmp");
    fresh();
    CHECK(br_h5_write(path, &set) != BR_OK);
    CHECK(error_names(path) && error_names("a/b"));
    CHECK(!exists(path) && !exists(tmp));

    const char *nodir = path_of("no_dir/out.h5");
    fresh();
    CHECK(br_h5_write(nodir, &set) == BR_EIO);
    CHECK(error_names(nodir));
    CHECK(open_ids() == 0);
    br_set_free(&set);
}

// ---------------------------------------------------------------------------------------------
// Format choice of tensor_file.c

#ifdef BR_TEST_TENSOR_FILE
// HDF5's signature after brigade's seal (h5file.h).
static int starts_with_hdf5_signature(const char *path) {
    unsigned char head[H5_SEAL_BYTES + 8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && memcmp(head, H5_SEAL_MAGIC, strlen(H5_SEAL_MAGIC)) == 0 &&
           memcmp(head + H5_SEAL_BYTES, "\x89HDF\r\n\x1a\n", 8) == 0;
}

// Writes set under name through tensor_file, checks which format came out, reads it back.
static void tensor_file_round_trip(const char *name, int want_hdf5, int with_settings) {
    br_tensor_set set = {0}, back = {0};
    make_set(&set);
    if (!with_settings) set.n_settings = 0; // safetensors keeps settings as text: not bit-exact
    const char *path = path_of(name);
    fresh();
    CHECK(br_tensor_file_write(path, &set) == BR_OK);
    CHECK(starts_with_hdf5_signature(path) == want_hdf5);
    CHECK(br_tensor_file_read(path, &back) == BR_OK);
    back.n_settings = with_settings ? back.n_settings : 0;
    CHECK(sets_identical(&set, &back));
    br_set_free(&back);
    br_set_free(&set);
}

static void test_tensor_file(void) {
    tensor_file_round_trip("tf.h5", 1, 1);
    tensor_file_round_trip("tf.hdf5", 1, 1);
    tensor_file_round_trip("tf.safetensors", 0, 0);
    br_tensor_set set = {0};
    const char *missing = path_of("missing.safetensors");
    fresh();
    CHECK(br_tensor_file_read(missing, &set) == BR_EIO);
    CHECK(error_names(missing));
    fresh();
    CHECK(br_tensor_file_read(dir, &set) != BR_OK); // a directory
    CHECK(error_names(dir));
    br_set_free(&set);
}
#endif

// ---------------------------------------------------------------------------------------------

static void remove_dir(void) {
    const char *names[] = {"round.h5", "foreign.h5", "string.h5", "rank9.h5", "huge.h5",
                           "compound.h5", "compound_attr.h5", "matrix_attr.h5", "long_attr.h5",
                           "soft.h5", "external.h5", "corrupt.h5", "text.h5", "tf.h5", "tf.hdf5",
                           "tf.safetensors", "unwritten.h5", "hollow.h5", "nan_attr.h5",
                           "control.h5"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(path_of(names[i]));
    if (rmdir(dir) != 0) printf("note: %s not removed (files left in it)\n", dir);
}

// ---------------------------------------------------------------------------------------------
// The seal: damage found before HDF5 reads anything

static void flip_byte(const char *path, long offset) {
    FILE *f = fopen(path, "r+b");
    int c = f && fseek(f, offset, SEEK_SET) == 0 ? fgetc(f) : EOF;
    CHECK(c != EOF && fseek(f, offset, SEEK_SET) == 0 && fputc(c ^ 0x10, f) != EOF);
    if (f) fclose(f);
}

static void test_seal(void) {
    br_tensor_set set = {0}, back = {0};
    make_set(&set);
    const char *path = path_of("sealed.h5");
    CHECK(br_h5_write(path, &set) == BR_OK);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size > H5_SEAL_BYTES);
    flip_byte(path, H5_SEAL_BYTES - 1); // the header's padding: nothing reads it
    CHECK(br_h5_read_all(path, &back) == BR_OK && sets_identical(&set, &back));
    br_set_free(&back);
    flip_byte(path, H5_SEAL_BYTES - 1);
    flip_byte(path, (long)sb.st_size * 3 / 4); // HDF5's data or metadata
    fresh();
    CHECK(br_h5_read_all(path, &back) == BR_EINPUT && back.n_tensors == 0);
    CHECK(error_names("sealed.h5 is damaged: its checksum does not match"));
    flip_byte(path, (long)sb.st_size * 3 / 4);
    CHECK(truncate(path, sb.st_size - 1) == 0);
    fresh();
    CHECK(br_h5_read_all(path, &back) == BR_EINPUT);
    CHECK(error_names("is truncated or damaged"));
    CHECK(open_ids() == 0);
    remove(path);
    br_set_free(&set);
}

int main(void) {
    strcpy(dir, "/tmp/test_h5.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_conversions();
    test_bad_files();
    test_not_hdf5();
    test_write_failures();
    test_seal();
#ifdef BR_TEST_TENSOR_FILE
    test_tensor_file();
#endif
    remove_dir();
    return check_summary();
}
