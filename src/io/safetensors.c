// safetensors.c: the .safetensors reader (mmap, every header field validated before use); the
// writer is in safetensors_write.c. The file is untrusted: nothing from it is used as a size,
// offset or count until it has been checked against the file itself, and each error is one line
// naming the file (and the tensor). The header goes through cJSON; the data is not copied on open.
#define _POSIX_C_SOURCE 200809L // mmap, open, fstat, strdup

#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXACT_INT 9007199254740992.0 // 2^53: larger JSON numbers (doubles) are not exact

// ---------------------------------------------------------------------------------------------
// Small helpers

static uint64_t load_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

// Names go into one-line messages: a control character (a newline) would break the line.
static int has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

static const char *printable(const char *s) { return has_control(s) ? "(unprintable)" : s; }

// A JSON number that is an exact non-negative integer (cJSON keeps numbers as doubles).
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= MAX_EXACT_INT && d == floor(d))) return 0; // also false for NaN
    *out = (uint64_t)d;
    return 1;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const br_st_entry *)a)->name, ((const br_st_entry *)b)->name);
}

static int cmp_entry_begin(const void *a, const void *b) {
    const br_st_entry *x = *(const br_st_entry *const *)a, *y = *(const br_st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

// ---------------------------------------------------------------------------------------------
// Opening

// Maps the whole file. One shorter than the 8-byte length is left unmapped (mmap refuses an
// empty one); validate() says what is wrong with it.
static br_status map_file(br_st_file *f) {
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return br_fail(BR_EIO, "%s: cannot open: %s", f->path, strerror(errno));
    struct stat sb;
    br_status st = BR_OK;
    if (fstat(fd, &sb) != 0) {
        st = br_fail(BR_EIO, "%s: cannot stat: %s", f->path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = br_fail(BR_EINPUT, "%s: not a regular file", f->path);
    } else if ((uintmax_t)sb.st_size > SIZE_MAX) {
        st = br_fail(BR_EINPUT, "%s: file of %lld bytes is too large to map", f->path,
                     (long long)sb.st_size);
    } else if (sb.st_size >= 8) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            st = br_fail(BR_EIO, "%s: cannot map: %s", f->path, strerror(errno));
        } else {
            f->map = m;
            f->size = (size_t)sb.st_size;
            f->mapped = 1;
        }
    } else {
        f->size = (size_t)sb.st_size;
    }
    close(fd);
    return st;
}

// Parses the n header bytes. The copy adds the NUL cJSON needs; bytes after the JSON value may
// only be the padding spaces (a NUL inside the header shows up as such a stray byte).
static br_status parse_json(const br_st_file *f, size_t n, cJSON **out) {
    char *text = malloc(n + 1);
    if (!text) return br_fail(BR_ENOMEM, "%s: out of memory for a %zu-byte header", f->path, n);
    memcpy(text, f->map + 8, n);
    text[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
    br_status st = BR_OK;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long pos = at && at >= text && at <= text + n ? (long)(at - text) : -1;
        st = br_fail(BR_EINPUT, "%s: header is not valid JSON (near byte %ld of %zu)", f->path, pos,
                     n);
    } else {
        for (const char *p = end; p < text + n && st == BR_OK; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                st = br_fail(BR_EINPUT, "%s: header has stray bytes after the JSON (at byte %ld)",
                             f->path, (long)(p - text));
        if (st == BR_OK && !cJSON_IsObject(root))
            st = br_fail(BR_EINPUT, "%s: header is JSON but not an object", f->path);
    }
    free(text);
    if (st != BR_OK) cJSON_Delete(root);
    else *out = root;
    return st;
}

static br_status read_shape(const br_st_file *f, br_st_entry *e, const cJSON *shape) {
    if (!cJSON_IsArray(shape))
        return br_fail(BR_EINPUT, "%s: tensor \"%s\": \"shape\" missing or not an array", f->path,
                       e->name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > BR_MAX_DIMS)
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" has %d dimensions, at most %d are supported",
                       f->path, e->name, ndim, BR_MAX_DIMS);
    int64_t numel = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return br_fail(BR_EINPUT,
                           "%s: tensor \"%s\": shape entry %d is not an integer in [0, 2^53]",
                           f->path, e->name, i);
        e->shape[i] = (int64_t)v;
        // numel x element size must fit int64 (and so size_t on 64-bit, checked again below)
        if (v != 0 && numel > (int64_t)(INT64_MAX / 8 / v))
            return br_fail(BR_EINPUT, "%s: tensor \"%s\": shape has too many elements", f->path,
                           e->name);
        numel *= (int64_t)v;
    }
    e->ndim = ndim;
    return BR_OK;
}

static br_status read_offsets(const br_st_file *f, br_st_entry *e, const cJSON *off) {
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &b) ||
        !json_uint(off->child->next, &en))
        return br_fail(BR_EINPUT,
                       "%s: tensor \"%s\": \"data_offsets\" must be 2 integers in [0, 2^53]",
                       f->path, e->name);
    if (b > en)
        return br_fail(BR_EINPUT, "%s: tensor \"%s\": data_offsets [%llu, %llu] end before begin",
                       f->path, e->name, (unsigned long long)b, (unsigned long long)en);
    if (en > f->data_size)
        return br_fail(BR_EINPUT,
                       "%s: tensor \"%s\": data_offsets [%llu, %llu] end past the data block "
                       "(%zu bytes)",
                       f->path, e->name, (unsigned long long)b, (unsigned long long)en,
                       f->data_size);
    e->begin = b;
    e->end = en;
    uint64_t need = (uint64_t)br_numel(e->ndim, e->shape) * br_dtype_size(e->dtype);
    if (en - b != need) {
        char s[256];
        return br_fail(BR_EINPUT,
                       "%s: tensor \"%s\": data_offsets [%llu, %llu] hold %llu bytes, but %s %s "
                       "needs %llu",
                       f->path, e->name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)(en - b), br_dtype_name(e->dtype),
                       br_shape_str(s, sizeof s, e->ndim, e->shape), (unsigned long long)need);
    }
    return BR_OK;
}

// One "name": {"dtype", "shape", "data_offsets"} entry. e->name is set first, so that the
// caller's cleanup frees it whatever fails after.
static br_status read_entry(const br_st_file *f, const cJSON *item, br_st_entry *e) {
    if (has_control(item->string))
        return br_fail(BR_EINPUT, "%s: a tensor name contains a control character", f->path);
    e->name = strdup(item->string);
    if (!e->name) return br_fail(BR_ENOMEM, "%s: out of memory", f->path);
    if (!cJSON_IsObject(item))
        return br_fail(BR_EINPUT, "%s: tensor \"%s\": entry is not a JSON object", f->path,
                       e->name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dtype))
        return br_fail(BR_EINPUT, "%s: tensor \"%s\": \"dtype\" missing or not a string", f->path,
                       e->name);
    if (!br_dtype_parse(dtype->valuestring, &e->dtype))
        return br_fail(BR_EINPUT, "%s: tensor \"%s\": unknown dtype \"%s\"", f->path, e->name,
                       printable(dtype->valuestring));
    BR_TRY(read_shape(f, e, cJSON_GetObjectItemCaseSensitive(item, "shape")));
    return read_offsets(f, e, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"));
}

static br_status read_entries(br_st_file *f, const cJSON *root) {
    int n = 0, n_meta_keys = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) n_meta_keys++;
        else n++;
    }
    if (n_meta_keys > 1)
        return br_fail(BR_EINPUT, "%s: \"__metadata__\" appears %d times", f->path, n_meta_keys);
    f->entries = calloc(n ? (size_t)n : 1, sizeof *f->entries);
    if (!f->entries) return br_fail(BR_ENOMEM, "%s: out of memory for %d entries", f->path, n);
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) continue;
        BR_TRY(read_entry(f, it, &f->entries[f->n_entries++]));
    }
    return BR_OK;
}

static br_status read_metadata(br_st_file *f, const cJSON *root) {
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    if (!md) return BR_OK;
    if (!cJSON_IsObject(md))
        return br_fail(BR_EINPUT, "%s: \"__metadata__\" is not a JSON object", f->path);
    int n = cJSON_GetArraySize(md);
    f->meta_keys = calloc(n ? (size_t)n : 1, sizeof *f->meta_keys);
    f->meta_values = calloc(n ? (size_t)n : 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values) return br_fail(BR_ENOMEM, "%s: out of memory", f->path);
    for (const cJSON *it = md->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return br_fail(BR_EINPUT, "%s: __metadata__ \"%s\" is not a string", f->path,
                           printable(it->string));
        int i = f->n_meta++;
        f->meta_keys[i] = strdup(it->string);
        f->meta_values[i] = strdup(it->valuestring);
        if (!f->meta_keys[i] || !f->meta_values[i])
            return br_fail(BR_ENOMEM, "%s: out of memory", f->path);
    }
    return BR_OK;
}

// Sorts the entries by name (for br_st_find), then rejects duplicate names (cJSON keeps both
// copies of a repeated key) and tensors whose byte ranges overlap. Empty tensors occupy no bytes.
static br_status check_entries(br_st_file *f) {
    int n = f->n_entries;
    qsort(f->entries, (size_t)n, sizeof *f->entries, cmp_entry_name);
    for (int i = 1; i < n; i++)
        if (strcmp(f->entries[i - 1].name, f->entries[i].name) == 0)
            return br_fail(BR_EINPUT, "%s: tensor \"%s\" appears twice in the header", f->path,
                           f->entries[i].name);
    const br_st_entry **by_begin = malloc((n ? (size_t)n : 1) * sizeof *by_begin);
    if (!by_begin) return br_fail(BR_ENOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < n; i++) by_begin[i] = &f->entries[i];
    qsort(by_begin, (size_t)n, sizeof *by_begin, cmp_entry_begin);
    const br_st_entry *reach = NULL; // the tensor seen so far that ends furthest
    br_status st = BR_OK;
    for (int i = 0; i < n && st == BR_OK; i++) {
        const br_st_entry *e = by_begin[i];
        if (e->begin == e->end) continue;
        if (reach && e->begin < reach->end)
            st = br_fail(BR_EINPUT,
                         "%s: tensors \"%s\" [%llu, %llu] and \"%s\" [%llu, %llu] overlap",
                         f->path, reach->name, (unsigned long long)reach->begin,
                         (unsigned long long)reach->end, e->name, (unsigned long long)e->begin,
                         (unsigned long long)e->end);
        if (!reach || e->end > reach->end) reach = e;
    }
    free(by_begin);
    return st;
}

// Validates the f->size bytes at f->map: the header, then every entry against the data block.
static br_status validate(br_st_file *f) {
    if (f->size < 8)
        return br_fail(BR_EINPUT, "%s: file is %zu bytes, too short for the 8-byte header length",
                       f->path, f->size);
    uint64_t n = load_u64(f->map);
    size_t room = f->size - 8;
    if (n > room)
        return br_fail(BR_EINPUT, "%s: header length %llu exceeds file size %zu", f->path,
                       (unsigned long long)n, f->size);
    if (n == 0) return br_fail(BR_EINPUT, "%s: header length is 0", f->path);
    if (n > BR_ST_MAX_HEADER)
        return br_fail(BR_EINPUT, "%s: header length %llu exceeds the limit of %u bytes", f->path,
                       (unsigned long long)n, BR_ST_MAX_HEADER);
    f->data = f->map + 8 + n;
    f->data_size = room - (size_t)n;
    cJSON *root = NULL;
    BR_TRY(parse_json(f, (size_t)n, &root));
    br_status st = read_entries(f, root);
    if (st == BR_OK) st = read_metadata(f, root);
    cJSON_Delete(root);
    if (st == BR_OK) st = check_entries(f);
    return st;
}

br_status br_st_open(br_st_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return br_fail(BR_ENOMEM, "%s: out of memory", path);
    br_status st = map_file(f);
    if (st == BR_OK) st = validate(f);
    if (st != BR_OK) br_st_close(f);
    return st;
}

br_status br_st_open_memory(br_st_file *f, const char *name, const void *bytes, size_t size) {
    memset(f, 0, sizeof *f);
    f->path = strdup(name);
    if (!f->path) return br_fail(BR_ENOMEM, "%s: out of memory", name);
    f->map = bytes;
    f->size = size;
    br_status st = validate(f);
    if (st != BR_OK) br_st_close(f);
    return st;
}

void br_st_close(br_st_file *f) {
    if (f->mapped) munmap((void *)f->map, f->size);
    for (int i = 0; i < f->n_entries; i++) free(f->entries[i].name);
    free(f->entries);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->path);
    memset(f, 0, sizeof *f);
}

static int cmp_name_entry(const void *key, const void *elem) {
    return strcmp(key, ((const br_st_entry *)elem)->name);
}

const br_st_entry *br_st_find(const br_st_file *f, const char *name) {
    if (!f->entries) return NULL;
    return bsearch(name, f->entries, (size_t)f->n_entries, sizeof *f->entries, cmp_name_entry);
}

const char *br_st_meta(const br_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
    return NULL;
}

static br_status unconvertible(const br_st_file *f, const br_st_entry *e) {
    return br_fail(BR_EINPUT,
                   "%s: tensor \"%s\" has dtype %s; only F32, F16, BF16 and U8 convert to fp32",
                   f->path, e->name, br_dtype_name(e->dtype));
}

br_status br_st_read_f32(const br_st_file *f, const br_st_entry *e, float *out) {
    size_t n = (size_t)(e->end - e->begin) / br_dtype_size(e->dtype);
    return br_st_read_f32_range(f, e, 0, n, out);
}

br_status br_st_read_f32_range(const br_st_file *f, const br_st_entry *e, size_t first, size_t n,
                               float *out) {
    const size_t size = br_dtype_size(e->dtype), all = (size_t)(e->end - e->begin) / size;
    if (first > all || n > all - first)
        return br_fail(BR_EINTERNAL, "%s: tensor \"%s\": elements [%zu, %zu) asked of %zu", f->path,
                       e->name, first, first + n, all);
    if (!br_convert_to_f32(e->dtype, f->data + e->begin + first * size, out, n))
        return unconvertible(f, e);
    return BR_OK;
}

// ---------------------------------------------------------------------------------------------
// Reading a whole file into a tensor set

// A name must fit a br_tensor / br_setting and be new to the set (which may not start empty).
static br_status check_set_name(const br_st_file *f, const br_tensor_set *set, const char *what,
                                const char *name) {
    if (strlen(name) >= BR_NAME_MAX)
        return br_fail(BR_EINPUT, "%s: %s name \"%.40s...\" is longer than %d characters", f->path,
                       what, name, BR_NAME_MAX - 1);
    if (br_set_find(set, name) || br_set_find_setting(set, name))
        return br_fail(BR_EINPUT, "%s: %s \"%s\" is already in the set", f->path, what, name);
    return BR_OK;
}

static br_status add_tensor(const br_st_file *f, const br_st_entry *e, br_tensor_set *set) {
    BR_TRY(check_set_name(f, set, "tensor", e->name));
    // n = 0 only asks whether the dtype converts, before allocating anything for it
    if (!br_convert_to_f32(e->dtype, NULL, NULL, 0)) return unconvertible(f, e);
    br_tensor *t = br_set_add(set, e->name, e->ndim, e->shape);
    if (!t) return BR_ENOMEM; // the name was checked, so only the allocation can have failed
    return br_st_read_f32(f, e, t->data);
}

// Appends the numbers of j (a number or a boolean, 1 or 0, or a list of them or of such lists,
// flattened in order) to v[*n] (the first BR_SETTING_MAX kept, all counted); 0 when j holds
// anything else.
static int flatten_numbers(const cJSON *j, double *v, int *n, int depth) {
    if (cJSON_IsNumber(j) || cJSON_IsBool(j)) {
        if (*n < BR_SETTING_MAX) v[*n] = cJSON_IsBool(j) ? cJSON_IsTrue(j) : j->valuedouble;
        (*n)++;
        return 1;
    }
    if (!cJSON_IsArray(j) || !j->child || depth > 8) return 0;
    for (const cJSON *x = j->child; x; x = x->next)
        if (!flatten_numbers(x, v, n, depth + 1)) return 0;
    return 1;
}

// The numbers of a metadata value that is JSON for a number, a boolean or a non-empty (nested)
// list of them, such as Qwen-Image's img_shapes [[[1, 4, 6], [1, 5, 4]]]: their count (the first
// BR_SETTING_MAX stored in v), or 0 for anything else (descriptive text).
static int parse_numbers(const char *text, double *v) {
    cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
    int n = 0;
    if (!flatten_numbers(j, v, &n, 0)) n = 0;
    cJSON_Delete(j);
    return n;
}

static br_status add_setting(const br_st_file *f, int i, br_tensor_set *set) {
    const char *key = f->meta_keys[i];
    double v[BR_SETTING_MAX];
    int n = parse_numbers(f->meta_values[i], v);
    if (n == 0) return BR_OK;
    if (has_control(key))
        return br_fail(BR_EINPUT, "%s: a __metadata__ key contains a control character", f->path);
    if (n > BR_SETTING_MAX)
        return br_fail(BR_EINPUT, "%s: __metadata__ \"%s\" is a list of %d numbers, at most %d are "
                                  "supported",
                       f->path, key, n, BR_SETTING_MAX);
    for (int k = 0; k < n; k++)
        if (!isfinite(v[k])) // cJSON reads 1e999 as inf
            return br_fail(BR_EINPUT, "%s: __metadata__ \"%s\" has a number out of range", f->path,
                           key);
    BR_TRY(check_set_name(f, set, "setting", key));
    return br_set_add_setting(set, key, n, v);
}

// Forgets what a failed read added, so that set is as the caller passed it.
static void roll_back(br_tensor_set *set, int n_tensors, int n_settings) {
    while (set->n_tensors > n_tensors) free(set->tensors[--set->n_tensors].data);
    set->n_settings = n_settings;
}

br_status br_st_add_to_set(const br_st_file *f, br_tensor_set *set) {
    int n_tensors = set->n_tensors, n_settings = set->n_settings;
    br_status st = BR_OK;
    for (int i = 0; i < f->n_entries && st == BR_OK; i++) st = add_tensor(f, &f->entries[i], set);
    for (int i = 0; i < f->n_meta && st == BR_OK; i++) st = add_setting(f, i, set);
    if (st != BR_OK) roll_back(set, n_tensors, n_settings);
    return st;
}

br_status br_st_read_all(const char *path, br_tensor_set *set) {
    br_st_file f;
    BR_TRY(br_st_open(&f, path));
    br_status st = br_st_add_to_set(&f, set);
    br_st_close(&f);
    return st;
}
