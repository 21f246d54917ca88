// h5file.c: reading and writing brigade's HDF5 tensor files with the serial HDF5 C API.
// Reading walks the root group: each dataset of integer or float type becomes an fp32 tensor
// (HDF5 converts on read), each numeric attribute a setting. The file is untrusted, so ranks,
// element counts and names are checked before anything is allocated. Writing goes through
// path + ".tmp" and rename(), so a crash never leaves a half-written file under the final name,
// and seals the file with a checksum that reading checks first (see "The seal" below).
// HDF5's own error printing is switched off while we work: every failure is one br_fail() line
// naming the file and the dataset or attribute at fault.
#include "h5file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "atomic_file.h"

// 2^34 elements (64 GiB of fp32): larger than any tensor brigade reads, small enough that a
// corrupt header cannot make us ask for an absurd allocation.
#define H5_MAX_NUMEL (1ull << 34)
// Deflate, the compression every HDF5 build has, packs at most about 1032 bytes into one.
#define H5_MAX_EXPANSION 1032.0

typedef struct {
    H5E_auto2_t func;
    void *data;
} h5_error_printing;

// HDF5 prints a stack trace to stderr on every failed call unless told not to; we report our
// own line instead, and put the previous setting back when done.
static void errors_silence(h5_error_printing *saved) {
    if (H5Eget_auto2(H5E_DEFAULT, &saved->func, &saved->data) < 0) saved->func = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void errors_restore(const h5_error_printing *saved) {
    H5Eset_auto2(H5E_DEFAULT, saved->func, saved->data);
}

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown";
    }
}

// ---------------------------------------------------------------------------------------------
// The seal. Brigade's HDF5 files begin with a user block of H5_SEAL_BYTES (HDF5 and h5py skip
// it) holding a checksum of the rest of the file, written after HDF5 closed it. A file damaged
// since (truncated, a changed byte) is refused before HDF5 parses it: HDF5 checks little of its
// own structure, and some damage crashes it (HDF5 1.10.8, a changed byte in an attribute's
// header: a segfault in H5Aiterate2).

typedef struct {
    uint64_t hash, bytes; // FNV-1a 64 of the bytes after the user block, and their count
} h5_seal;

static void hash_bytes(h5_seal *s, const unsigned char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) s->hash = (s->hash ^ buf[i]) * 1099511628211ull;
    s->bytes += n;
}

// The seal of the open file f as it now is.
static int hash_rest(FILE *f, h5_seal *s) {
    unsigned char buf[1 << 16];
    s->hash = 1469598103934665603ull, s->bytes = 0;
    if (fseek(f, H5_SEAL_BYTES, SEEK_SET) != 0) return -1;
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) hash_bytes(s, buf, n);
    return ferror(f) ? -1 : 0;
}

// The seal into the user block of a whole file's image in memory.
static void seal_image(unsigned char *image, size_t size) {
    h5_seal s = {1469598103934665603ull, 0};
    hash_bytes(&s, image + H5_SEAL_BYTES, size - H5_SEAL_BYTES);
    char head[H5_SEAL_BYTES] = {0};
    snprintf(head, sizeof head, "%sfnv1a64=%016llx bytes=%llu\n", H5_SEAL_MAGIC,
             (unsigned long long)s.hash, (unsigned long long)s.bytes);
    memcpy(image, head, sizeof head);
}

// BR_OK for a sealed file that is as brigade wrote it, and for an HDF5 file without a seal (made
// elsewhere, e.g. by h5py); a failure naming the file otherwise.
static br_status check_seal(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return br_fail(BR_EIO, "cannot open %s: %s", path, strerror(errno));
    char head[H5_SEAL_BYTES + 1] = {0};
    const size_t n = fread(head, 1, H5_SEAL_BYTES, f), magic = strlen(H5_SEAL_MAGIC);
    unsigned long long want_hash, want_bytes;
    h5_seal got;
    br_status st = BR_OK;
    if (n < magic || memcmp(head, H5_SEAL_MAGIC, magic) != 0) {
        // not sealed: HDF5's own checks only
    } else if (sscanf(head + magic, "fnv1a64=%16llx bytes=%llu", &want_hash, &want_bytes) != 2) {
        st = br_fail(BR_EINPUT, "%s is damaged: its checksum line is unreadable", path);
    } else if (n < H5_SEAL_BYTES || hash_rest(f, &got) != 0 || got.bytes != want_bytes) {
        st = br_fail(BR_EINPUT, "%s is truncated or damaged: %llu bytes after its header, "
                     "brigade wrote %llu", path, n < H5_SEAL_BYTES ? 0ull : (unsigned long long)got.bytes,
                     want_bytes);
    } else if (got.hash != want_hash) {
        st = br_fail(BR_EINPUT, "%s is damaged: its checksum does not match what brigade wrote "
                     "(a byte changed since)", path);
    }
    fclose(f);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Reading

typedef struct {
    const char *path;
    br_tensor_set *set;
    br_status status; // the failure a callback stopped the iteration for
} read_ctx;

static int is_numeric(H5T_class_t c) { return c == H5T_INTEGER || c == H5T_FLOAT; }

// Names go into one-line messages: a control character (a newline) would break the line.
static int has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

// The class of a dataset's or attribute's type id (which it closes), or H5T_NO_CLASS.
static H5T_class_t take_class(hid_t type) {
    if (type < 0) return H5T_NO_CLASS;
    H5T_class_t c = H5Tget_class(type);
    H5Tclose(type);
    return c;
}

// The shape of a dataset's dataspace, checked: scalar or simple, rank <= BR_MAX_DIMS, at most
// H5_MAX_NUMEL elements. A dimension of 0 is allowed (an empty tensor), the others still bounded.
static br_status dataset_shape(const read_ctx *ctx, const char *name, hid_t space, int *ndim,
                               int64_t *shape) {
    H5S_class_t kind = H5Sget_simple_extent_type(space);
    if (kind == H5S_SCALAR) {
        *ndim = 0;
        return BR_OK;
    }
    if (kind != H5S_SIMPLE)
        return br_fail(BR_EINPUT, "%s: dataset %s has no data (null dataspace)", ctx->path, name);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0 || rank > BR_MAX_DIMS)
        return br_fail(BR_EINPUT, "%s: dataset %s has rank %d (at most %d)", ctx->path, name, rank,
                       BR_MAX_DIMS);
    hsize_t dims[BR_MAX_DIMS];
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        return br_fail(BR_EINPUT, "%s: cannot read the shape of dataset %s", ctx->path, name);
    // The product of the non-zero dimensions is bounded even when another is 0 (an empty
    // tensor): br_numel multiplies them all, and [2^47, 2^17, 0] would overflow it before the 0.
    unsigned long long n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0) continue;
        if (dims[i] > H5_MAX_NUMEL / n) // checked per step, so the product cannot overflow
            return br_fail(BR_EINPUT, "%s: dataset %s has more than 2^34 elements", ctx->path,
                           name);
        n *= dims[i];
    }
    *ndim = rank;
    for (int i = 0; i < rank; i++) shape[i] = (int64_t)dims[i];
    return BR_OK;
}

// Names must fit a br_tensor / br_setting and be new to the set (which may not start empty).
static br_status check_name(const read_ctx *ctx, const char *what, const char *name) {
    if (strlen(name) >= BR_NAME_MAX)
        return br_fail(BR_EINPUT, "%s: %s name %.40s... is longer than %d characters", ctx->path,
                       what, name, BR_NAME_MAX - 1);
    if (br_set_find(ctx->set, name) || br_set_find_setting(ctx->set, name))
        return br_fail(BR_EINPUT, "%s: %s %s is already in the set", ctx->path, what, name);
    return BR_OK;
}

// Drops the last tensor of set (added, then not filled because the read failed).
static void drop_last_tensor(br_tensor_set *set) {
    set->n_tensors--;
    free(set->tensors[set->n_tensors].data);
}

// External storage and virtual datasets take their bytes from other files named inside this
// one: from an untrusted file, that would read any file we can open. Neither is accepted.
static br_status check_storage(const read_ctx *ctx, hid_t dset, const char *name) {
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) return br_fail(BR_EINPUT, "%s: cannot read dataset %s", ctx->path, name);
    int foreign = H5Pget_layout(dcpl) == H5D_VIRTUAL || H5Pget_external_count(dcpl) != 0;
    H5Pclose(dcpl);
    if (foreign)
        return br_fail(BR_EINPUT, "%s: dataset %s keeps its data in other files (not supported)",
                       ctx->path, name);
    return BR_OK;
}

// The values of a dataset must be in the file before we allocate room for them: one never
// written (HDF5 would read it as fill values) or stored in fewer bytes than its shape needs
// would have a file of a few hundred bytes claim up to 2^34 floats. Compressed (filtered) data
// may need more bytes than it stores, by at most deflate's ratio.
static br_status check_stored(const read_ctx *ctx, hid_t dset, const char *name, int ndim,
                              const int64_t *shape, size_t elem_size) {
    int64_t numel = br_numel(ndim, shape);
    if (numel == 0) return BR_OK;
    hid_t dcpl = H5Dget_create_plist(dset);
    int filtered = dcpl >= 0 && H5Pget_nfilters(dcpl) > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    double stored = (double)H5Dget_storage_size(dset); // 0 also when it cannot be told
    double need = (double)numel * (double)elem_size;    // both below 2^53: exact
    if (need <= stored * (filtered ? H5_MAX_EXPANSION : 1.0)) return BR_OK;
    char s[256];
    br_shape_str(s, sizeof s, ndim, shape);
    if (stored == 0)
        return br_fail(BR_EINPUT, "%s: dataset %s of shape %s has no data stored in the file",
                       ctx->path, name, s);
    return br_fail(BR_EINPUT, "%s: dataset %s of shape %s needs %.0f bytes but stores %.0f%s",
                   ctx->path, name, s, need, stored, filtered ? " (compressed)" : "");
}

static br_status read_dataset(const read_ctx *ctx, hid_t dset, const char *name) {
    BR_TRY(check_name(ctx, "dataset", name));
    BR_TRY(check_storage(ctx, dset, name));
    hid_t type = H5Dget_type(dset);
    size_t elem_size = type >= 0 ? H5Tget_size(type) : 0;
    H5T_class_t c = take_class(type);
    if (!is_numeric(c))
        return br_fail(BR_EINPUT, "%s: dataset %s has %s type; tensors must be integer or float",
                       ctx->path, name, class_name(c));
    hid_t space = H5Dget_space(dset);
    if (space < 0) return br_fail(BR_EINPUT, "%s: cannot read dataset %s", ctx->path, name);
    int ndim = 0;
    int64_t shape[BR_MAX_DIMS];
    br_status st = dataset_shape(ctx, name, space, &ndim, shape);
    H5Sclose(space);
    if (st != BR_OK) return st;
    BR_TRY(check_stored(ctx, dset, name, ndim, shape, elem_size));
    br_tensor *t = br_set_add(ctx->set, name, ndim, shape);
    if (!t) return BR_ENOMEM; // names were checked above, so only the allocation can fail
    if (br_numel(ndim, shape) > 0 &&
        H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
        drop_last_tensor(ctx->set);
        return br_fail(BR_EINPUT, "%s: cannot read dataset %s (corrupt or unsupported storage)",
                       ctx->path, name);
    }
    return BR_OK;
}

// H5Literate callback: datasets become tensors; groups and named datatypes are skipped.
// Only hard links are followed: a soft link may dangle and an external one would open another
// file, neither of which an inputs file needs.
static herr_t read_link(hid_t group, const char *name, const H5L_info_t *info, void *op) {
    read_ctx *ctx = op;
    if (has_control(name)) {
        ctx->status = br_fail(BR_EINPUT, "%s: the root group has a name with a control character",
                              ctx->path);
        return -1;
    }
    if (info->type != H5L_TYPE_HARD) {
        ctx->status = br_fail(BR_EINPUT, "%s: %s is a soft or external link (not supported)",
                              ctx->path, name);
        return -1;
    }
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) {
        ctx->status = br_fail(BR_EINPUT, "%s: cannot open object %s", ctx->path, name);
        return -1;
    }
    if (H5Iget_type(obj) == H5I_DATASET) ctx->status = read_dataset(ctx, obj, name);
    H5Oclose(obj);
    return ctx->status == BR_OK ? 0 : -1;
}

// The number of values of a setting attribute: 1 for a scalar, n for a 1-D array of
// 1..BR_SETTING_MAX; 0 for anything else.
static int setting_count(hid_t attr) {
    hid_t space = H5Aget_space(attr);
    if (space < 0) return 0;
    int count = 0;
    H5S_class_t kind = H5Sget_simple_extent_type(space);
    if (kind == H5S_SCALAR) {
        count = 1;
    } else if (kind == H5S_SIMPLE && H5Sget_simple_extent_ndims(space) == 1) {
        hsize_t n = 0;
        H5Sget_simple_extent_dims(space, &n, NULL);
        if (n >= 1 && n <= BR_SETTING_MAX) count = (int)n;
    }
    H5Sclose(space);
    return count;
}

static br_status read_setting(const read_ctx *ctx, hid_t attr, const char *name) {
    H5T_class_t c = take_class(H5Aget_type(attr));
    if (c == H5T_STRING) return BR_OK; // descriptive text, not a setting
    if (!is_numeric(c))
        return br_fail(BR_EINPUT, "%s: attribute %s has %s type; settings must be numbers",
                       ctx->path, name, class_name(c));
    int count = setting_count(attr);
    if (count == 0)
        return br_fail(BR_EINPUT, "%s: attribute %s must be a scalar or a list of 1..%d numbers",
                       ctx->path, name, BR_SETTING_MAX);
    BR_TRY(check_name(ctx, "attribute", name));
    double values[BR_SETTING_MAX];
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, values) < 0)
        return br_fail(BR_EINPUT, "%s: cannot read attribute %s", ctx->path, name);
    // As safetensors metadata: a setting is a count or a scale, never NaN or infinite.
    for (int i = 0; i < count; i++)
        if (!isfinite(values[i]))
            return br_fail(BR_EINPUT, "%s: attribute %s has a value that is NaN or infinite",
                           ctx->path, name);
    return br_set_add_setting(ctx->set, name, count, values);
}

// H5Aiterate2 callback: each attribute of the root group becomes a setting (strings skipped).
static herr_t read_attribute(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
    read_ctx *ctx = op;
    if (has_control(name)) {
        ctx->status = br_fail(BR_EINPUT, "%s: an attribute name has a control character",
                              ctx->path);
        return -1;
    }
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) {
        ctx->status = br_fail(BR_EINPUT, "%s: cannot open attribute %s", ctx->path, name);
        return -1;
    }
    ctx->status = read_setting(ctx, attr, name);
    H5Aclose(attr);
    return ctx->status == BR_OK ? 0 : -1;
}

static int is_hdf5(const char *path) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Fis_accessible(path, H5P_DEFAULT) > 0;
#else
    return H5Fis_hdf5(path) > 0;
#endif
}

// Reads the root group's datasets, then its attributes. An iteration stopped by one of our
// callbacks carries the callback's status; one that HDF5 itself stopped gets a generic line.
static br_status read_root(read_ctx *ctx, hid_t root) {
    if (H5Literate(root, H5_INDEX_NAME, H5_ITER_INC, NULL, read_link, ctx) < 0)
        return ctx->status != BR_OK
                   ? ctx->status
                   : br_fail(BR_EINPUT, "%s: cannot list the datasets of the root group",
                             ctx->path);
    if (H5Aiterate2(root, H5_INDEX_NAME, H5_ITER_INC, NULL, read_attribute, ctx) < 0)
        return ctx->status != BR_OK
                   ? ctx->status
                   : br_fail(BR_EINPUT, "%s: cannot list the attributes of the root group",
                             ctx->path);
    return BR_OK;
}

static br_status read_file(const char *path, br_tensor_set *set) {
    // Our own open first: for a missing or unreadable file, errno says why better than HDF5 can.
    BR_TRY(check_seal(path));
    if (!is_hdf5(path)) return br_fail(BR_EINPUT, "%s is not an HDF5 file", path);
    br_status st = BR_OK;
    read_ctx ctx = {path, set, BR_OK};
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return br_fail(BR_EINPUT, "cannot open HDF5 file %s (corrupt?)", path);
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    if (root < 0) {
        st = br_fail(BR_EINPUT, "%s: cannot open the root group", path);
        goto close_file;
    }
    st = read_root(&ctx, root);
    H5Gclose(root);
close_file:
    H5Fclose(file);
    return st;
}

// On failure, set is left as the caller passed it (as br_st_read_all leaves it): no half file.
br_status br_h5_read_all(const char *path, br_tensor_set *set) {
    int n_tensors = set->n_tensors, n_settings = set->n_settings;
    h5_error_printing saved;
    errors_silence(&saved);
    br_status st = read_file(path, set);
    errors_restore(&saved);
    if (st != BR_OK) {
        while (set->n_tensors > n_tensors) drop_last_tensor(set);
        set->n_settings = n_settings;
    }
    return st;
}

// ---------------------------------------------------------------------------------------------
// Writing

// A dataspace of the given shape: scalar for rank 0, simple otherwise.
static hid_t make_space(int ndim, const int64_t *shape) {
    if (ndim == 0) return H5Screate(H5S_SCALAR);
    hsize_t dims[BR_MAX_DIMS];
    for (int i = 0; i < ndim; i++) dims[i] = (hsize_t)shape[i];
    return H5Screate_simple(ndim, dims, NULL);
}

// The system's reason for a failed write (HDF5's file driver leaves errno set, e.g. ENOSPC).
static const char *write_error(void) { return errno ? strerror(errno) : "write error"; }

static br_status write_tensor(hid_t file, const char *path, const br_tensor *t) {
    int bad_shape = t->ndim < 0 || t->ndim > BR_MAX_DIMS;
    for (int i = 0; i < t->ndim && !bad_shape; i++) bad_shape = t->shape[i] < 0;
    if (bad_shape)
        return br_fail(BR_EINTERNAL, "%s: tensor %s has an invalid shape", path, t->name);
    br_status st = BR_OK;
    hid_t space = make_space(t->ndim, t->shape);
    if (space < 0) return br_fail(BR_EINPUT, "%s: cannot describe tensor %s", path, t->name);
    // A '/' in the name would ask HDF5 for a (missing) group: that fails here, as it should.
    hid_t dset = H5Dcreate2(file, t->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    if (dset < 0) {
        st = br_fail(BR_EIO, "%s: cannot create dataset %s", path, t->name);
        goto close_space;
    }
    errno = 0;
    if (br_numel(t->ndim, t->shape) > 0 &&
        H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0)
        st = br_fail(BR_EIO, "%s: cannot write dataset %s: %s", path, t->name, write_error());
    if (H5Dclose(dset) < 0 && st == BR_OK)
        st = br_fail(BR_EIO, "%s: cannot write dataset %s: %s", path, t->name, write_error());
close_space:
    H5Sclose(space);
    return st;
}

static br_status write_setting(hid_t root, const char *path, const br_setting *s) {
    if (s->count < 1 || s->count > BR_SETTING_MAX)
        return br_fail(BR_EINTERNAL, "%s: setting %s has %d values", path, s->name, s->count);
    br_status st = BR_OK;
    int64_t n = s->count;
    hid_t space = make_space(s->count == 1 ? 0 : 1, &n);
    if (space < 0) return br_fail(BR_EINPUT, "%s: cannot describe attribute %s", path, s->name);
    hid_t attr = H5Acreate2(root, s->name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
        st = br_fail(BR_EIO, "%s: cannot create attribute %s", path, s->name);
        goto close_space;
    }
    if (H5Awrite(attr, H5T_NATIVE_DOUBLE, s->values) < 0)
        st = br_fail(BR_EIO, "%s: cannot write attribute %s", path, s->name);
    H5Aclose(attr);
close_space:
    H5Sclose(space);
    return st;
}

static br_status write_contents(hid_t file, const char *path, const br_tensor_set *set) {
    for (int i = 0; i < set->n_tensors; i++) BR_TRY(write_tensor(file, path, &set->tensors[i]));
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    if (root < 0) return br_fail(BR_EIO, "%s: cannot open the root group", path);
    br_status st = BR_OK;
    for (int i = 0; i < set->n_settings && st == BR_OK; i++)
        st = write_setting(root, path, &set->settings[i]);
    H5Gclose(root);
    return st;
}

// The bytes of image to path (PATH.tmp, renamed when complete; removed on failure).
static br_status write_image(const char *path, const unsigned char *image, size_t size) {
    br_atomic_file a;
    BR_TRY(br_atomic_create(&a, path));
    fwrite(image, 1, size, a.f); // a short write leaves the stream's error set: finish reports it
    return br_atomic_finish(&a, path, BR_OK);
}

// The whole file built in memory (HDF5's core driver), sealed, then written with plain stdio: a
// full disk is then an ordinary failed write, never one inside HDF5 (1.10.8 keeps a file whose
// close failed in its tables and crashes on it at exit).
static br_status write_file(const char *path, const br_tensor_set *set) {
    hid_t create = H5Pcreate(H5P_FILE_CREATE), access = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = -1;
    if (create >= 0 && access >= 0 && H5Pset_userblock(create, H5_SEAL_BYTES) >= 0 &&
        H5Pset_fapl_core(access, 1 << 20, 0) >= 0)
        file = H5Fcreate(path, H5F_ACC_TRUNC, create, access); // (a name only: no file is made)
    if (create >= 0) H5Pclose(create);
    if (access >= 0) H5Pclose(access);
    if (file < 0) return br_fail(BR_EIO, "cannot create %s: HDF5 refused an in-memory file", path);
    br_status st = write_contents(file, path, set);
    const ssize_t size = st == BR_OK && H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0
                             ? H5Fget_file_image(file, NULL, 0) : -1;
    // The image starts at the superblock: the user block goes in front (the superblock counts
    // its addresses from there); an HDF5 that includes the user block leaves no signature at 0.
    unsigned char *image = size > 8 ? malloc((size_t)size + H5_SEAL_BYTES) : NULL;
    if (st == BR_OK &&
        (!image || H5Fget_file_image(file, image + H5_SEAL_BYTES, (size_t)size) != size))
        st = br_fail(BR_EIO, "cannot write %s: HDF5 gave no file image", path);
    H5Fclose(file);
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    const int has_block = st == BR_OK && memcmp(image + H5_SEAL_BYTES, signature, 8) != 0;
    unsigned char *whole = has_block ? image + H5_SEAL_BYTES : image;
    const size_t bytes = has_block ? (size_t)size : (size_t)size + H5_SEAL_BYTES;
    if (st == BR_OK) seal_image(whole, bytes), st = write_image(path, whole, bytes);
    free(image);
    return st;
}

br_status br_h5_write(const char *path, const br_tensor_set *set) {
    h5_error_printing saved;
    errors_silence(&saved);
    br_status st = write_file(path, set);
    errors_restore(&saved);
    return st;
}
