// fuzz_h5_inputs.c: structure-aware libFuzzer target for the inputs-file reader
// (br_tensor_file_read -> src/io/h5file.c). Design: libhdf5 itself is not robust to corrupt
// files and brigade cannot fix it, so random bytes are never handed to it. Instead the fuzz
// bytes are decoded into a plan: root datasets (names short, long, with control characters, raw
// bytes or reused; ranks 0..9 and the null space; dimensions 0, small, large and huge, whose
// product overflows; float, double, integer, big-endian, half, 128-bit, long double, string,
// enum, compound, opaque, bitfield, array, vlen types; contiguous, unwritten, early-allocated,
// chunked, deflated, compact and external storage), root attributes (numbers, NaN and infinity,
// strings, lists of 0..20 values, matrices, the null space, odd types), and file features (soft,
// external and duplicate hard links, a subgroup, a named type, a user block). The plan is
// written as a real HDF5 file with the HDF5 API (items HDF5 refuses to create are left out),
// then read with brigade's reader. The reader must succeed exactly when every item is one it
// accepts (its contract, restated in dataset_ok/attr_ok below), and then return the shapes, values
// and settings written; otherwise fail with one line naming the file. ASan, UBSan and libFuzzer's
// malloc limit (tests/fuzz/run.sh) catch crashes and allocations the file does not justify:
// a shape of 2^33 floats with nothing stored must be refused before any allocation.
// Triage: FUZZ_H5_VERBOSE=1 build-fuzz/tests/fuzz/fuzz_h5_inputs INPUT prints the plan and the
// reader's verdict (a broken expectation prints them anyway).
#define _POSIX_C_SOURCE 200809L // mkdtemp

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "fuzz_common.h"
#include "io/tensor_file.h"

enum { MAX_ITEMS = 5, MAX_RANK = 9, MAX_WRITE_BYTES = 1 << 20, NAME_LEN = 160 };

// Types: those before T_STRING are numeric (HDF5 integer or float class), the rest are not.
typedef enum {
    T_F32, T_F64, T_I8, T_U8, T_I16, T_I32, T_I64, T_U64, T_F32BE, T_F16, T_I128, T_LDOUBLE,
    T_STRING, T_VLSTRING, T_ENUM, T_COMPOUND, T_OPAQUE, T_BITFIELD, T_ARRAY, T_VLEN, T_COUNT
} type_kind;
enum { N_NUMERIC = T_STRING };

// Storage of a dataset's values.
typedef enum {
    L_CONTIGUOUS, // written
    L_UNWRITTEN,  // contiguous, nothing written: HDF5 would hand back fill values
    L_EARLY,      // contiguous, allocated (and filled) at creation, not written
    L_CHUNKED,    // written, chunks of at most 4 per dimension, extendible
    L_DEFLATE,    // the same, deflate-compressed
    L_COMPACT,    // in the object header
    L_EXTERNAL,   // in another file (rejected by the reader)
    L_COUNT
} layout_kind;

typedef struct {
    char name[NAME_LEN + 1];
    type_kind type;
    int rank;  // -1: the null dataspace
    hsize_t dims[MAX_RANK];
    layout_kind layout;
    uint32_t seed; // of the values
    int created, written;
} dataset_plan;

typedef struct {
    char name[NAME_LEN + 1];
    type_kind type;
    int rank; // -1: null, 0: scalar, 1 or 2
    hsize_t dims[2];
    uint32_t seed;
    int created, written;
} attr_plan;

typedef struct {
    dataset_plan d[MAX_ITEMS + 1]; // + the alias
    int n_d;
    attr_plan a[MAX_ITEMS];
    int n_a;
    int soft_link, external_link, subgroup, named_type, userblock;
} file_plan;

static char dir[96], path[128];

// ---------------------------------------------------------------------------------------------
// Decoding the fuzz bytes (0 once they run out, so every input is a plan)

typedef struct {
    const uint8_t *p;
    size_t n;
} bytes;

static unsigned take(bytes *b) {
    if (!b->n) return 0;
    b->n--;
    return *b->p++;
}

static uint32_t take32(bytes *b) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | take(b);
    return v;
}

static void take_name(bytes *b, char *name, const file_plan *fp) {
    static const char *common[] = {"latents", "timestep", "encoder_hidden_states", "num_frames",
                                   "height", "width", "rope_interpolation_scale", "x"};
    unsigned k = take(b);
    switch (k % 8) {
    case 0: case 1: case 2: case 3: // a real input name, or one of them with a number
        snprintf(name, NAME_LEN + 1, "%s%.0u", common[(k >> 3) % 8], (k >> 6) & 1 ? k >> 7 : 0);
        break;
    case 4: { // around the 127-character limit
        int len = 120 + (int)(k >> 3) % 16;
        memset(name, 'n', (size_t)len);
        name[len] = '\0';
        break;
    }
    case 5: { // a control character inside
        static const char ctrl[] = {'\n', '\r', '\t', 0x1b, 0x7f, 0x01};
        snprintf(name, NAME_LEN + 1, "bad%cname", ctrl[(k >> 3) % sizeof ctrl]);
        break;
    }
    case 6: { // raw bytes but NUL and '/', which HDF5 reads as a path (it refuses ".", "")
        int len = (int)(k >> 3) % 12;
        for (int i = 0; i < len; i++) {
            name[i] = (char)(take(b) | 1);
            if (name[i] == '/') name[i] = '_';
        }
        name[len] = '\0';
        break;
    }
    default: // the name of an earlier dataset: datasets and attributes share one namespace
        if (fp->n_d > 0) strcpy(name, fp->d[(k >> 3) % fp->n_d].name);
        else strcpy(name, "x");
    }
}

static hsize_t take_dim(bytes *b) {
    unsigned k = take(b);
    switch (k >> 6) {
    case 0: return k & 3;                        // 0..3
    case 1: return 1 + (k & 63);                 // up to 64
    case 2: return 1000 + (hsize_t)(k & 63) * 37; // a few thousand
    default: return (hsize_t)1 << (16 + (k & 31)); // 2^16 .. 2^47
    }
}

static void take_dataset(bytes *b, dataset_plan *d, const file_plan *fp) {
    take_name(b, d->name, fp);
    d->type = (type_kind)(take(b) % T_COUNT);
    unsigned r = take(b) % 12;
    d->rank = r < 10 ? (int)r : r == 10 ? -1 : 2;
    for (int i = 0; i < d->rank; i++) d->dims[i] = take_dim(b);
    d->layout = (layout_kind)(take(b) % L_COUNT);
    d->seed = take32(b);
}

static void take_attr(bytes *b, attr_plan *a, const file_plan *fp) {
    take_name(b, a->name, fp);
    unsigned t = take(b) % 32; // doubles more often
    a->type = t < T_COUNT ? (type_kind)t : T_F64;
    unsigned r = take(b) % 6;
    a->rank = r == 0 ? 0 : r == 1 ? -1 : r == 2 ? 2 : 1;
    unsigned n = take(b);
    a->dims[0] = r == 5 ? n % 21 : 1 + n % 16; // r == 5: 0..20, around the 16-value limit
    a->dims[1] = 1 + (n >> 5) % 3;
    a->seed = take32(b);
}

static void decode(bytes *b, file_plan *fp) {
    memset(fp, 0, sizeof *fp);
    unsigned head = take(b);
    int n_d = (int)(head & 7) % (MAX_ITEMS + 1), n_a = (int)(head >> 3 & 7) % (MAX_ITEMS + 1);
    unsigned flags = take(b);
    fp->soft_link = flags & 1;
    fp->external_link = (flags >> 1 & 7) == 7;
    fp->subgroup = flags >> 4 & 1;
    fp->named_type = flags >> 5 & 1;
    fp->userblock = (flags >> 6) == 3;
    for (; fp->n_d < n_d; fp->n_d++) take_dataset(b, &fp->d[fp->n_d], fp);
    for (; fp->n_a < n_a; fp->n_a++) take_attr(b, &fp->a[fp->n_a], fp);
}

// ---------------------------------------------------------------------------------------------
// Types and values

static int is_numeric(type_kind t) { return t < N_NUMERIC; }

static hid_t make_type(type_kind t) {
    hid_t h = -1;
    switch (t) {
    case T_F32: return H5Tcopy(H5T_IEEE_F32LE);
    case T_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case T_I8: return H5Tcopy(H5T_STD_I8LE);
    case T_U8: return H5Tcopy(H5T_STD_U8LE);
    case T_I16: return H5Tcopy(H5T_STD_I16LE);
    case T_I32: return H5Tcopy(H5T_STD_I32LE);
    case T_I64: return H5Tcopy(H5T_STD_I64LE);
    case T_U64: return H5Tcopy(H5T_STD_U64LE);
    case T_F32BE: return H5Tcopy(H5T_IEEE_F32BE);
    case T_F16: // IEEE half, as numpy's float16 reaches HDF5 through h5py
        h = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(h, 15, 10, 5, 0, 10);
        H5Tset_size(h, 2);
        H5Tset_ebias(h, 15);
        return h;
    case T_I128:
        h = H5Tcopy(H5T_STD_I64LE);
        H5Tset_size(h, 16);
        H5Tset_precision(h, 128);
        return h;
    case T_LDOUBLE: return H5Tcopy(H5T_NATIVE_LDOUBLE);
    case T_STRING:
        h = H5Tcopy(H5T_C_S1);
        H5Tset_size(h, 8);
        return h;
    case T_VLSTRING:
        h = H5Tcopy(H5T_C_S1);
        H5Tset_size(h, H5T_VARIABLE);
        return h;
    case T_ENUM: {
        h = H5Tenum_create(H5T_NATIVE_INT);
        int v0 = 0, v1 = 1;
        H5Tenum_insert(h, "off", &v0);
        H5Tenum_insert(h, "on", &v1);
        return h;
    }
    case T_COMPOUND:
        h = H5Tcreate(H5T_COMPOUND, 8);
        H5Tinsert(h, "re", 0, H5T_NATIVE_FLOAT);
        H5Tinsert(h, "im", 4, H5T_NATIVE_FLOAT);
        return h;
    case T_OPAQUE: return H5Tcreate(H5T_OPAQUE, 4);
    case T_BITFIELD: return H5Tcopy(H5T_STD_B8LE);
    case T_ARRAY: return H5Tarray_create2(H5T_NATIVE_FLOAT, 1, (hsize_t[]){3});
    case T_VLEN: return H5Tvlen_create(H5T_NATIVE_FLOAT);
    default: return -1;
    }
}

static uint32_t mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    return x ^ x >> 16;
}

// Value i of a numeric item: exactly representable in its type (so the file holds it exactly),
// extremes included: NaN, infinities, -0, the largest and smallest floats, integer limits.
static double value(type_kind t, uint32_t seed, size_t i) {
    uint32_t r = mix(seed ^ (uint32_t)i * 0x9e3779b9U);
    double small = (double)((int)(r >> 8) % 2001 - 1000) / 8; // exact in every float type
    switch (t) {
    case T_F32: case T_F32BE: case T_F64: case T_LDOUBLE: {
        int wide = t == T_F64 || t == T_LDOUBLE;
        switch (r % 16) {
        case 0: return NAN;
        case 1: return INFINITY;
        case 2: return -INFINITY;
        case 3: return -0.0;
        case 4: return wide ? 1e300 : FLT_MAX;
        case 5: return wide ? 4.9e-324 : (double)FLT_TRUE_MIN;
        case 6: return wide ? 0.1 : (double)0.1f;
        default: return small;
        }
    }
    case T_I8: return (double)(int8_t)r;
    case T_U8: return (double)(uint8_t)r;
    case T_I16: return (double)(int16_t)r;
    case T_I32: return (double)(int32_t)r;
    case T_I64: return r % 4 == 0 ? -9223372036854775808.0 : r % 4 == 1 ? 4611686018427387904.0
                                                                       : (double)(int32_t)r;
    case T_U64: return r % 4 == 0 ? 9223372036854775808.0 : (double)r;
    default: return small; // half (exact in it), 128-bit integers (value_of rounds it down)
    }
}

static double value_of(type_kind t, uint32_t seed, size_t i) {
    double v = value(t, seed, i);
    return t == T_I128 ? floor(v) : v;
}

// ---------------------------------------------------------------------------------------------
// Writing the plan

static hid_t make_space(int rank, const hsize_t *dims, const hsize_t *max) {
    if (rank < 0) return H5Screate(H5S_NULL);
    if (rank == 0) return H5Screate(H5S_SCALAR);
    return H5Screate_simple(rank, dims, max);
}

// Number of elements (0 for an empty or the null space), or UINT64_MAX when past limit.
static uint64_t count(int rank, const hsize_t *dims, uint64_t limit) {
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0) return 0;
        if (dims[i] > limit / n) return UINT64_MAX;
        n *= dims[i];
    }
    return rank < 0 ? 0 : n;
}

static double *values(type_kind t, uint32_t seed, size_t n) {
    double *v = malloc((n ? n : 1) * sizeof *v);
    FUZZ_ASSERT(v, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = value_of(t, seed, i);
    return v;
}

static hid_t dataset_dcpl(dataset_plan *d, hsize_t *max) {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[MAX_RANK];
    for (int i = 0; i < d->rank; i++) {
        chunk[i] = d->dims[i] < 4 ? (d->dims[i] ? d->dims[i] : 1) : 4;
        max[i] = H5S_UNLIMITED;
    }
    switch (d->layout) {
    case L_EARLY: H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY); break;
    case L_DEFLATE: H5Pset_deflate(dcpl, 1); // fall through
    case L_CHUNKED: if (d->rank > 0) H5Pset_chunk(dcpl, d->rank, chunk); break;
    case L_COMPACT: H5Pset_layout(dcpl, H5D_COMPACT); break;
    case L_EXTERNAL: H5Pset_external(dcpl, "fuzz_external.bin", 0, H5F_UNLIMITED); break;
    default: break;
    }
    return dcpl;
}

static void write_dataset(hid_t file, dataset_plan *d) {
    hsize_t max[MAX_RANK];
    uint64_t n = count(d->rank, d->dims, MAX_WRITE_BYTES / 16);
    // Early allocation fills the whole extent on disk: only for small ones.
    if (d->layout == L_EARLY && n == UINT64_MAX) d->layout = L_UNWRITTEN;
    int chunked = (d->layout == L_CHUNKED || d->layout == L_DEFLATE) && d->rank > 0;
    hid_t type = make_type(d->type), dcpl = dataset_dcpl(d, max);
    hid_t space = make_space(d->rank, d->dims, chunked ? max : NULL);
    hid_t dset = H5Dcreate2(file, d->name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    d->created = dset >= 0;
    int writable = is_numeric(d->type) && d->layout != L_UNWRITTEN && d->layout != L_EARLY &&
                   d->layout != L_EXTERNAL && n != UINT64_MAX;
    if (d->created && writable && n > 0) {
        double *v = values(d->type, d->seed, n);
        d->written = H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
        free(v);
    }
    if (d->created) H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Tclose(type);
}

static void write_attr(hid_t root, attr_plan *a) {
    hid_t type = make_type(a->type), space = make_space(a->rank, a->dims, NULL);
    hid_t attr = H5Acreate2(root, a->name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    a->created = attr >= 0;
    size_t n = (size_t)count(a->rank, a->dims, 64);
    if (a->created && n > 0 && is_numeric(a->type)) {
        double *v = values(a->type, a->seed, n);
        a->written = H5Awrite(attr, H5T_NATIVE_DOUBLE, v) >= 0; // else it holds zeros
        free(v);
    } else if (a->created && n > 0 && a->type == T_STRING) {
        char text[64 * 8];
        memset(text, 'z', sizeof text);
        H5Awrite(attr, type, text);
    } else if (a->created && n > 0 && a->type == T_VLSTRING) {
        const char *s[64];
        for (size_t i = 0; i < n; i++) s[i] = "a setting's description";
        H5Awrite(attr, type, s);
    }
    if (a->created) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
}

static void write_plan(file_plan *fp) {
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fp->userblock) H5Pset_userblock(fcpl, 512);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    FUZZ_ASSERT(file >= 0, "cannot create %s", path);
    for (int i = 0; i < fp->n_d; i++) write_dataset(file, &fp->d[i]);
    // A second hard link to the first dataset made: read as one more tensor.
    for (int i = 0; i < fp->n_d; i++) {
        if (!fp->d[i].created || strlen(fp->d[i].name) > 100) continue;
        dataset_plan *alias = &fp->d[fp->n_d];
        *alias = fp->d[i];
        strcat(alias->name, "_alias");
        alias->created = H5Lcreate_hard(file, fp->d[i].name, file, alias->name, H5P_DEFAULT,
                                        H5P_DEFAULT) >= 0;
        if (alias->created) fp->n_d++;
        break;
    }
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    for (int i = 0; i < fp->n_a; i++) write_attr(root, &fp->a[i]);
    H5Gclose(root);
    if (fp->soft_link)
        fp->soft_link = H5Lcreate_soft("/nowhere", file, "soft", H5P_DEFAULT, H5P_DEFAULT) >= 0;
    if (fp->external_link)
        fp->external_link = H5Lcreate_external("/etc/hostname", "/x", file, "elsewhere",
                                               H5P_DEFAULT, H5P_DEFAULT) >= 0;
    if (fp->subgroup) { // groups are skipped, with what they hold
        hid_t g = H5Gcreate2(file, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0) {
            hid_t s = H5Screate(H5S_SCALAR);
            hid_t x = H5Dcreate2(g, "inside", H5T_STD_I8LE, s, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
            if (x >= 0) H5Dclose(x);
            H5Sclose(s);
            H5Gclose(g);
        }
    }
    if (fp->named_type) { // named datatypes are skipped too
        hid_t t = H5Tcopy(H5T_NATIVE_INT);
        H5Tcommit2(file, "a_type", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Tclose(t);
    }
    FUZZ_ASSERT(H5Fclose(file) >= 0, "cannot write %s", path);
}

// ---------------------------------------------------------------------------------------------
// The reader's contract, restated

static int has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

static int name_ok(const char *name) { return strlen(name) < BR_NAME_MAX && !has_control(name); }

// A dataset becomes a tensor when its name fits, its type is integer or float, its space is
// scalar or simple of rank <= 8 with at most 2^34 elements (counting only the non-zero
// dimensions, so that an empty [2^47, 2^17, 0] is refused too), its data lies in this file and the
// file holds its values: written, or allocated at creation (a dataset never written would make
// the reader allocate what its shape claims, up to 2^34 floats, from a file of a few hundred
// bytes).
static int dataset_ok(const dataset_plan *d) {
    if (!name_ok(d->name) || !is_numeric(d->type) || d->rank < 0 || d->rank > BR_MAX_DIMS ||
        d->layout == L_EXTERNAL)
        return 0;
    uint64_t nonzero = 1;
    for (int i = 0; i < d->rank; i++) {
        if (d->dims[i] == 0) continue;
        if (d->dims[i] > (1ull << 34) / nonzero) return 0;
        nonzero *= d->dims[i];
    }
    return count(d->rank, d->dims, 1ull << 34) == 0 || d->written || d->layout == L_EARLY;
}

// An attribute is skipped when it is a string; it becomes a setting when it is a number or a
// list of 1..BR_SETTING_MAX numbers, all finite, and its name fits and is not taken by a dataset.
static int attr_is_setting(const attr_plan *a) { return a->type != T_STRING && a->type != T_VLSTRING; }

static int attr_ok(const file_plan *fp, const attr_plan *a) {
    if (has_control(a->name)) return 0; // refused whatever the attribute is
    if (!attr_is_setting(a)) return 1;
    if (!is_numeric(a->type) || a->rank < 0 || a->rank > 1) return 0;
    size_t n = a->rank == 0 ? 1 : (size_t)a->dims[0];
    if (n < 1 || n > BR_SETTING_MAX || !name_ok(a->name)) return 0;
    for (size_t i = 0; i < n && a->written; i++)
        if (!isfinite(value_of(a->type, a->seed, i))) return 0;
    for (int i = 0; i < fp->n_d; i++)
        if (fp->d[i].created && strcmp(fp->d[i].name, a->name) == 0) return 0;
    return 1;
}

static int plan_ok(const file_plan *fp) {
    if (fp->soft_link || fp->external_link || fp->userblock) return 0;
    for (int i = 0; i < fp->n_d; i++)
        if (fp->d[i].created && !dataset_ok(&fp->d[i])) return 0;
    for (int i = 0; i < fp->n_a; i++)
        if (fp->a[i].created && !attr_ok(fp, &fp->a[i])) return 0;
    return 1;
}

// (float)v as HDF5 converts it: exact for the exact types, except that HDF5 sends a double
// beyond FLT_MAX to infinity where C may round it to FLT_MAX.
static int same_float(float got, double v) {
    if (isnan(v)) return isnan(got);
    if (fabs(v) > FLT_MAX && !isinf(v)) return isinf(got) || fabs(got) == FLT_MAX;
    return got == (float)v && signbit(got) == signbit((float)v);
}

static void check_read(const file_plan *fp, const br_tensor_set *set) {
    int n_tensors = 0, n_settings = 0;
    for (int i = 0; i < fp->n_d; i++) {
        const dataset_plan *d = &fp->d[i];
        if (!d->created) continue;
        n_tensors++;
        const br_tensor *t = br_set_find(set, d->name);
        FUZZ_ASSERT(t && t->ndim == d->rank, "dataset %s: missing or rank %d", d->name,
                    t ? t->ndim : -1);
        for (int k = 0; k < d->rank; k++)
            FUZZ_ASSERT(t->shape[k] == (int64_t)d->dims[k], "dataset %s: dim %d", d->name, k);
        int64_t n = br_numel(t->ndim, t->shape);
        for (int64_t k = 0; k < n; k++) {
            double v = d->written ? value_of(d->type, d->seed, (size_t)k) : 0.0; // fill value 0
            FUZZ_ASSERT(same_float(t->data[k], v), "dataset %s (type %d): value %lld is %g, not %g",
                        d->name, (int)d->type, (long long)k, (double)t->data[k], v);
        }
    }
    for (int i = 0; i < fp->n_a; i++) {
        const attr_plan *a = &fp->a[i];
        if (!a->created || !attr_is_setting(a)) continue;
        n_settings++;
        const br_setting *s = br_set_find_setting(set, a->name);
        size_t n = a->rank == 0 ? 1 : (size_t)a->dims[0];
        FUZZ_ASSERT(s && s->count == (int)n, "attribute %s: missing or %d values", a->name,
                    s ? s->count : -1);
        for (size_t k = 0; k < n; k++)
            FUZZ_ASSERT(s->values[k] == (a->written ? value_of(a->type, a->seed, k) : 0.0),
                        "attribute %s: value %zu is %g", a->name, k, s->values[k]);
    }
    FUZZ_ASSERT(set->n_tensors == n_tensors && set->n_settings == n_settings,
                "%d tensors and %d settings read, %d and %d written", set->n_tensors,
                set->n_settings, n_tensors, n_settings);
}

// The plan on stderr, names escaped: printed with a broken expectation, to tell why.
static void print_name(const char *name) {
    for (const char *c = name; *c; c++)
        fprintf(stderr, (unsigned char)*c < 0x20 || *c == 0x7f ? "\\x%02x" : "%c", *c);
}

static void print_plan(const file_plan *fp) {
    fprintf(stderr, "plan: soft %d external %d subgroup %d named type %d user block %d\n",
            fp->soft_link, fp->external_link, fp->subgroup, fp->named_type, fp->userblock);
    for (int i = 0; i < fp->n_d; i++) {
        const dataset_plan *d = &fp->d[i];
        fprintf(stderr, "  dataset \"");
        print_name(d->name);
        fprintf(stderr, "\" type %d rank %d dims", (int)d->type, d->rank);
        for (int k = 0; k < d->rank; k++) fprintf(stderr, " %llu", (unsigned long long)d->dims[k]);
        fprintf(stderr, " layout %d created %d written %d ok %d\n", (int)d->layout, d->created,
                d->written, dataset_ok(d));
    }
    for (int i = 0; i < fp->n_a; i++) {
        const attr_plan *a = &fp->a[i];
        fprintf(stderr, "  attribute \"");
        print_name(a->name);
        fprintf(stderr, "\" type %d rank %d dims %llu %llu created %d ok %d\n", (int)a->type,
                a->rank, (unsigned long long)a->dims[0], (unsigned long long)a->dims[1],
                a->created, attr_ok(fp, a));
    }
}

// ---------------------------------------------------------------------------------------------

static void remove_dir(void) {
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    // FUZZ_TMPDIR: run.sh's folder, removed after the run (a crash skips atexit).
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%.40s/brigade-fuzz-h5.XXXXXX", base);
    FUZZ_ASSERT(mkdtemp(dir), "cannot make a folder like %s", dir);
    snprintf(path, sizeof path, "%s/inputs.h5", dir);
    atexit(remove_dir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); // the plan's refused items are expected
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    br_clear_error();
    bytes b = {data, size};
    static file_plan fp;
    decode(&b, &fp);
    write_plan(&fp);
    int ok = plan_ok(&fp);
    br_tensor_set set = {0};
    br_status st = br_tensor_file_read(path, &set);
    if ((st == BR_OK) != ok || getenv("FUZZ_H5_VERBOSE")) {
        print_plan(&fp);
        fprintf(stderr, "read: %s\n", st == BR_OK ? "ok" : br_error());
    }
    if (st == BR_OK) {
        fuzz_check_success("br_tensor_file_read");
        FUZZ_ASSERT(ok, "the reader accepted a file it must refuse");
        check_read(&fp, &set);
    } else {
        FUZZ_ASSERT(!ok, "the reader refused a file it must accept: %s", br_error());
        FUZZ_ASSERT(set.n_tensors == 0 && set.n_settings == 0,
                    "a failed read left %d tensors and %d settings in the set (%s)", set.n_tensors,
                    set.n_settings, br_error());
        fuzz_check_failure(st, path, "br_tensor_file_read");
    }
    br_set_free(&set);
    br_clear_error();
    return 0;
}
