// checkpoint.c: a diffusers model folder: config.json, and the weights as one safetensors file
// or as shards named by an index (diffusers' names, or transformers' model.safetensors for a
// text encoder). Opening reads only the JSON files; a shard is mapped and
// validated the first time a tensor in it is asked for. Every error names the folder or file
// and the tensor.
#define _POSIX_C_SOURCE 200809L // stat, strdup

#include "checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// The weights' file names: diffusers' models', then transformers' (a pipeline's text encoder).
static const char *const SINGLE_FILES[] = {"diffusion_pytorch_model.safetensors", "model.safetensors"};
static const char *const INDEX_FILES[] = {"diffusion_pytorch_model.safetensors.index.json",
                                          "model.safetensors.index.json"};
enum { N_NAMINGS = 2 };
#define MAX_JSON_FILE (64u << 20) // config and index files are kilobytes; this bounds a bad one

// dir + "/" + name (no doubled slash), malloc'd; NULL when out of memory.
static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    const char *sep = n && dir[n - 1] == '/' ? "" : "/";
    char *p = malloc(n + strlen(sep) + strlen(name) + 1);
    if (p) sprintf(p, "%s%s%s", dir, sep, name);
    return p;
}

// Reads the whole file (at most MAX_JSON_FILE bytes) into a NUL-terminated buffer of *len bytes
// before the NUL.
static br_status slurp(const char *path, char **out, size_t *out_len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return br_fail(errno == ENOENT ? BR_EINPUT : BR_EIO, "%s: cannot open: %s", path,
                            strerror(errno));
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    br_status st = buf ? BR_OK : br_fail(BR_ENOMEM, "%s: out of memory", path);
    while (st == BR_OK) {
        if (len + 1 == cap) {
            char *p = cap > MAX_JSON_FILE ? NULL : realloc(buf, cap * 2);
            if (!p) {
                st = br_fail(BR_EINPUT, "%s: larger than %u bytes (or out of memory)", path,
                             MAX_JSON_FILE);
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, fp);
        len += got;
        if (got == 0) break;
    }
    if (st == BR_OK && ferror(fp))
        st = br_fail(BR_EIO, "%s: cannot read: %s", path, strerror(errno));
    fclose(fp);
    if (st != BR_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return BR_OK;
}

// Parses path as JSON whose top level must be an object. cJSON stops at a NUL byte, which would
// hide whatever follows it: a NUL is refused (JSON text has none).
br_status br_json_read_object(const char *path, cJSON **out) {
    char *text = NULL;
    size_t len = 0;
    BR_TRY(slurp(path, &text, &len));
    if (strlen(text) != len) {
        br_status st = br_fail(BR_EINPUT, "%s: not valid JSON (a NUL byte at byte %zu)", path,
                               strlen(text));
        free(text);
        return st;
    }
    cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
    br_status st = BR_OK;
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        st = br_fail(BR_EINPUT, "%s: not valid JSON (near byte %ld)", path,
                     at && at >= text ? (long)(at - text) : -1L);
    } else if (!cJSON_IsObject(j)) {
        st = br_fail(BR_EINPUT, "%s: not a JSON object", path);
        cJSON_Delete(j);
    } else {
        *out = j;
    }
    free(text);
    return st;
}

// Names go into one-line messages: a control character (a newline) would break the line.
static int has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

// A shard named by the index must be a file of the folder itself: no path, no "." or "..".
static int plain_file_name(const char *s) {
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || has_control(s)) return 0;
    return strchr(s, '/') == NULL;
}

// The index of shard file name in c->shard_paths, adding it when new; -1 when out of memory.
static int shard_index(br_checkpoint *c, const char *file) {
    for (int i = 0; i < c->n_shards; i++) {
        const char *p = c->shard_paths[i];
        const char *base = strrchr(p, '/');
        if (strcmp(base ? base + 1 : p, file) == 0) return i;
    }
    char *path = join(c->dir, file);
    if (!path) return -1;
    c->shard_paths[c->n_shards] = path;
    return c->n_shards++;
}

typedef struct {
    char *name;
    int shard;
} map_item;

static int cmp_map_item(const void *a, const void *b) {
    return strcmp(((const map_item *)a)->name, ((const map_item *)b)->name);
}

static int cmp_name_ptr(const void *key, const void *elem) {
    return strcmp(key, *(char *const *)elem);
}

// Moves the sorted items into c->map_names / map_shard, rejecting a tensor listed twice.
static br_status store_map(br_checkpoint *c, const char *path, map_item *items, int n) {
    qsort(items, (size_t)n, sizeof *items, cmp_map_item);
    for (int i = 0; i < n; i++) {
        c->map_names[i] = items[i].name;
        c->map_shard[i] = items[i].shard;
        items[i].name = NULL;
        c->n_map = i + 1;
    }
    for (int i = 1; i < n; i++)
        if (strcmp(c->map_names[i - 1], c->map_names[i]) == 0)
            return br_fail(BR_EINPUT, "%s: tensor \"%s\" is listed twice in weight_map", path,
                           c->map_names[i]);
    return BR_OK;
}

// Reads weight_map entries into items (count in *n_items).
static br_status read_weight_map(br_checkpoint *c, const char *path, const cJSON *wm,
                                 map_item *items, int *n_items) {
    for (const cJSON *it = wm->child; it; it = it->next) {
        if (has_control(it->string))
            return br_fail(BR_EINPUT, "%s: a tensor name in weight_map contains a control "
                                      "character", path);
        if (!cJSON_IsString(it))
            return br_fail(BR_EINPUT, "%s: weight_map entry for \"%s\" is not a string", path,
                           it->string);
        if (!plain_file_name(it->valuestring))
            return br_fail(BR_EINPUT, "%s: tensor \"%s\": shard \"%s\" is not a plain file name "
                                      "in the checkpoint folder",
                           path, it->string,
                           has_control(it->valuestring) ? "(unprintable)" : it->valuestring);
        map_item *m = &items[(*n_items)++];
        m->name = strdup(it->string);
        m->shard = shard_index(c, it->valuestring);
        if (!m->name || m->shard < 0) return br_fail(BR_ENOMEM, "%s: out of memory", path);
    }
    return BR_OK;
}

static br_status read_index(br_checkpoint *c, const char *path) {
    cJSON *root = NULL;
    BR_TRY(br_json_read_object(path, &root));
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    int n = cJSON_IsObject(wm) ? cJSON_GetArraySize(wm) : 0;
    br_status st = BR_OK;
    map_item *items = NULL;
    if (!cJSON_IsObject(wm))
        st = br_fail(BR_EINPUT, "%s: no \"weight_map\" object", path);
    else if (n == 0)
        st = br_fail(BR_EINPUT, "%s: weight_map is empty", path);
    if (st == BR_OK) {
        items = calloc((size_t)n, sizeof *items);
        c->map_names = calloc((size_t)n, sizeof *c->map_names);
        c->map_shard = calloc((size_t)n, sizeof *c->map_shard);
        c->shard_paths = calloc((size_t)n, sizeof *c->shard_paths); // at most one shard per tensor
        c->shards = calloc((size_t)n, sizeof *c->shards);
        if (!items || !c->map_names || !c->map_shard || !c->shard_paths || !c->shards)
            st = br_fail(BR_ENOMEM, "%s: out of memory", path);
    }
    int n_items = 0;
    if (st == BR_OK) st = read_weight_map(c, path, wm, items, &n_items);
    if (st == BR_OK) st = store_map(c, path, items, n_items);
    for (int i = 0; items && i < n_items; i++) free(items[i].name); // those not moved to c
    free(items);
    cJSON_Delete(root);
    return st;
}

static br_status use_single_file(br_checkpoint *c, char *path) {
    c->shard_paths = calloc(1, sizeof *c->shard_paths);
    c->shards = calloc(1, sizeof *c->shards);
    if (!c->shard_paths || !c->shards) {
        free(path);
        return br_fail(BR_ENOMEM, "%s: out of memory", c->dir);
    }
    c->shard_paths[0] = path;
    c->n_shards = 1;
    return BR_OK;
}

// 1 when path exists, 0 when it does not, -1 (error recorded) when it cannot be told.
static int exists(const char *path) {
    struct stat sb;
    if (stat(path, &sb) == 0) return 1;
    if (errno == ENOENT) return 0;
    br_fail(BR_EIO, "%s: cannot access: %s", path, strerror(errno));
    return -1;
}

// Finds the weights under one naming: *found 1 when its single file or its index is there.
static br_status find_named(br_checkpoint *c, int naming, int *found) {
    char *single = join(c->dir, SINGLE_FILES[naming]), *index = join(c->dir, INDEX_FILES[naming]);
    br_status st = BR_OK;
    int have_single = 0, have_index = 0;
    if (!single || !index) st = br_fail(BR_ENOMEM, "%s: out of memory", c->dir);
    if (st == BR_OK && (have_single = exists(single)) < 0) st = BR_EIO;
    if (st == BR_OK && !have_single && (have_index = exists(index)) < 0) st = BR_EIO;
    if (st == BR_OK && have_single) {
        st = use_single_file(c, single);
        single = NULL; // owned by c now
    } else if (st == BR_OK && have_index) {
        st = read_index(c, index);
    }
    *found = have_single || have_index;
    free(single);
    free(index);
    return st;
}

static br_status find_weights(br_checkpoint *c) {
    for (int naming = 0; naming < N_NAMINGS; naming++) {
        int found;
        BR_TRY(find_named(c, naming, &found));
        if (found) return BR_OK;
    }
    return br_fail(BR_EINPUT, "%s: neither %s nor %s found", c->dir, SINGLE_FILES[0],
                   INDEX_FILES[0]);
}

br_status br_ckpt_open(br_checkpoint *c, const char *dir) {
    memset(c, 0, sizeof *c);
    c->dir = strdup(dir);
    if (!c->dir) return br_fail(BR_ENOMEM, "%s: out of memory", dir);
    char *config = join(dir, "config.json");
    br_status st = config ? br_json_read_object(config, &c->config)
                          : br_fail(BR_ENOMEM, "%s: out of memory", dir);
    free(config);
    if (st == BR_OK) st = find_weights(c);
    if (st != BR_OK) br_ckpt_close(c);
    return st;
}

void br_ckpt_close(br_checkpoint *c) {
    for (int i = 0; i < c->n_shards; i++) {
        br_st_close(&c->shards[i]);
        free(c->shard_paths[i]);
    }
    free(c->shards);
    free(c->shard_paths);
    for (int i = 0; i < c->n_map; i++) free(c->map_names[i]);
    free(c->map_names);
    free(c->map_shard);
    cJSON_Delete(c->config);
    free(c->dir);
    memset(c, 0, sizeof *c);
}

// Finds tensor name: opens its shard if needed and checks that the shard really holds it.
static br_status locate(br_checkpoint *c, const char *name, br_st_file **file,
                        const br_st_entry **entry) {
    if (c->n_shards == 0) return br_fail(BR_EINTERNAL, "checkpoint used before it was opened");
    int shard = 0;
    if (c->n_map > 0) {
        char **hit = bsearch(name, c->map_names, (size_t)c->n_map, sizeof *c->map_names,
                             cmp_name_ptr);
        if (!hit)
            return br_fail(BR_EINPUT, "%s: tensor \"%s\" not found (checkpoint has %d tensors)",
                           c->dir, name, c->n_map);
        shard = c->map_shard[hit - c->map_names];
    }
    br_st_file *f = &c->shards[shard];
    if (!f->map) BR_TRY(br_st_open(f, c->shard_paths[shard]));
    const br_st_entry *e = br_st_find(f, name);
    if (!e && c->n_map > 0)
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" is listed in the index but absent from this shard",
                       f->path, name);
    if (!e)
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" not found (checkpoint has %d tensors)",
                       c->dir, name, f->n_entries);
    *file = f;
    *entry = e;
    return BR_OK;
}

// locate() for the queries below: they answer yes or no and leave the recorded error as they
// found it, so that a later, real failure is the one reported. (A shard that fails to open
// reads as "absent" here; loading from it reports why.)
int br_ckpt_has(br_checkpoint *c, const char *name) {
    if (c->random_seed) return 1; // every name a loader asks for is made
    const int had_error = br_error()[0] != '\0'; // br_fail keeps the first message
    br_st_file *f;
    const br_st_entry *e;
    const int found = locate(c, name, &f, &e) == BR_OK;
    if (!had_error) br_clear_error();
    return found;
}

// A negative wanted dimension matches any size (br_shape_str prints it as "*").
static int shape_matches(const br_st_entry *e, int ndim, const int64_t *want) {
    if (e->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (want[i] >= 0 && want[i] != e->shape[i]) return 0;
    return 1;
}

// The tensor, found and checked: its shape against want_shape, its dtype convertible to fp32.
static br_status find_checked(br_checkpoint *c, const char *name, int ndim,
                              const int64_t *want_shape, br_st_file **f, const br_st_entry **e) {
    BR_TRY(locate(c, name, f, e));
    if (!shape_matches(*e, ndim, want_shape)) {
        char have[256], want[256];
        int n = ndim < 0 ? 0 : ndim > BR_MAX_DIMS ? BR_MAX_DIMS : ndim;
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" has shape %s, the config implies %s",
                       (*f)->path, name, br_shape_str(have, sizeof have, (*e)->ndim, (*e)->shape),
                       br_shape_str(want, sizeof want, n, want_shape));
    }
    // n = 0 only asks whether the dtype converts, before anything is allocated for it
    if (!br_convert_to_f32((*e)->dtype, NULL, NULL, 0))
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" has dtype %s; only F32, F16, BF16 and "
                                  "U8 convert to fp32",
                       (*f)->path, name, br_dtype_name((*e)->dtype));
    return BR_OK;
}

br_status br_ckpt_load(br_checkpoint *c, const char *name, int ndim, const int64_t *want_shape,
                       float **out) {
    if (c->random_seed) return br_ckpt_random_tensor(c, name, ndim, want_shape, out);
    *out = NULL;
    br_st_file *f = NULL;
    const br_st_entry *e = NULL;
    BR_TRY(find_checked(c, name, ndim, want_shape, &f, &e));
    int64_t n = br_numel(e->ndim, e->shape);
    float *data = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!data)
        return br_fail(BR_ENOMEM, "%s: out of memory for tensor \"%s\" (%lld floats)", f->path,
                       name, (long long)n);
    br_status st = br_st_read_f32(f, e, data);
    if (st != BR_OK) {
        free(data);
        return st;
    }
    *out = data;
    return BR_OK;
}

br_status br_ckpt_load_rows(br_checkpoint *c, const char *name, int ndim, const int64_t *shape,
                            int64_t row0, int64_t n_rows, float *out) {
    const int64_t rows = ndim > 0 ? shape[0] : 1, numel = br_numel(ndim, shape);
    int whole = ndim >= 0 && ndim <= BR_MAX_DIMS;
    for (int i = 0; whole && i < ndim; i++) whole = shape[i] >= 0;
    if (!whole || row0 < 0 || n_rows < 0 || row0 + n_rows > rows)
        return br_fail(BR_EINTERNAL, "%s: tensor \"%s\": rows [%lld, %lld) asked of %lld", c->dir,
                       name, (long long)row0, (long long)(row0 + n_rows), (long long)rows);
    if (c->random_seed) return br_ckpt_random_rows(c, name, ndim, shape, row0, n_rows, out);
    br_st_file *f = NULL;
    const br_st_entry *e = NULL;
    BR_TRY(find_checked(c, name, ndim, shape, &f, &e));
    const size_t row = rows ? (size_t)(numel / rows) : 0;
    return br_st_read_f32_range(f, e, (size_t)row0 * row, (size_t)n_rows * row, out);
}
