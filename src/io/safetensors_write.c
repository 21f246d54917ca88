// safetensors_write.c: br_st_write, the atomic .safetensors writer. Tensors go out as F32 and
// settings as __metadata__ JSON strings ("0.32", "[0.32, 32, 32]"); cJSON builds the header,
// padded with spaces to a multiple of 8. Everything is written to path.tmp, then renamed to path,
// so no half-written file ever carries the final name; path.tmp is removed on failure.
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "br_st_write stores host floats as they are; a big-endian host needs a byte swap there"
#endif

// cJSON keeps numbers as doubles and prints integers of up to 15 digits digit for digit (%d or
// %1.15g); from 10^15 on it may print 1e+15, or round (2^53 comes out as 9.00719925474099e+15).
#define MAX_PRINTED_INT 999999999999999ull

// The shortest of %.15g, %.16g, %.17g that reads back as v: "0.32", not "0.32000000000000001";
// %.17g always round-trips, so the value is exact either way. Integral values print as integers.
static void format_number(char *buf, size_t size, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

// A setting's value as the text of its __metadata__ string: "0.32", or "[0.32, 32, 32]" for a
// list. size holds BR_SETTING_MAX numbers of at most 24 characters each, with separators.
static br_status setting_text(const char *path, const br_setting *s, char *buf, size_t size) {
    int list = s->count > 1;
    size_t used = (size_t)snprintf(buf, size, "%s", list ? "[" : "");
    for (int k = 0; k < s->count && used < size; k++) {
        if (!isfinite(s->values[k]))
            return br_fail(BR_EINPUT, "%s: setting %s has a value that is not finite", path,
                           s->name);
        char num[40];
        format_number(num, sizeof num, s->values[k]);
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? ", " : "", num);
    }
    if (list && used < size) used += (size_t)snprintf(buf + used, size - used, "]");
    if (used >= size) return br_fail(BR_EINTERNAL, "%s: setting %s is too long", path, s->name);
    return BR_OK;
}

// Adds item under key, or deletes it (NULL after a failed allocation is fine): 0 when it failed.
static int attach(cJSON *object, const char *key, cJSON *item) {
    if (item && cJSON_AddItemToObject(object, key, item)) return 1;
    cJSON_Delete(item);
    return 0;
}

static br_status out_of_memory(const char *path) {
    return br_fail(BR_ENOMEM, "%s: out of memory for the header", path);
}

static br_status add_settings(const char *path, const br_tensor_set *set, cJSON *root) {
    cJSON *md = cJSON_CreateObject();
    if (!attach(root, "__metadata__", md)) return out_of_memory(path);
    for (int i = 0; i < set->n_settings; i++) {
        const br_setting *s = &set->settings[i];
        char text[BR_SETTING_MAX * 32];
        BR_TRY(setting_text(path, s, text, sizeof text));
        if (!attach(md, s->name, cJSON_CreateString(text))) return out_of_memory(path);
    }
    return BR_OK;
}

// t's {"dtype", "shape", "data_offsets"} entry; its bytes start at *offset, which moves past them.
static br_status add_tensor(const char *path, const br_tensor *t, uint64_t *offset, cJSON *root) {
    double dims[BR_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0 || (uint64_t)t->shape[d] > MAX_PRINTED_INT)
            return br_fail(BR_EINPUT, "%s: tensor \"%s\": dimension %d is %lld, outside the "
                                      "[0, 10^15) that the header holds exactly",
                           path, t->name, d, (long long)t->shape[d]);
        dims[d] = (double)t->shape[d];
    }
    uint64_t bytes = (uint64_t)br_numel(t->ndim, t->shape) * sizeof(float);
    if (bytes > MAX_PRINTED_INT - *offset) // *offset <= MAX_PRINTED_INT: the last call checked it
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" ends past byte 10^15, more than the header "
                                  "holds exactly",
                       path, t->name);
    double offsets[2] = {(double)*offset, (double)(*offset + bytes)};
    *offset += bytes;
    cJSON *e = cJSON_CreateObject();
    int ok = e && attach(e, "dtype", cJSON_CreateString("F32")) &&
             attach(e, "shape", cJSON_CreateDoubleArray(dims, t->ndim)) &&
             attach(e, "data_offsets", cJSON_CreateDoubleArray(offsets, 2));
    if (!ok) {
        cJSON_Delete(e);
        return out_of_memory(path);
    }
    if (!attach(root, t->name, e)) return out_of_memory(path);
    return BR_OK;
}

// The JSON header, padded with spaces to a multiple of 8 so that the data block is aligned; *len
// is its length without the terminating NUL.
static br_status build_header(const char *path, const br_tensor_set *set, char **out,
                              size_t *len) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return out_of_memory(path);
    br_status st = BR_OK;
    if (set->n_settings > 0) st = add_settings(path, set, root);
    uint64_t offset = 0;
    for (int i = 0; i < set->n_tensors && st == BR_OK; i++)
        st = add_tensor(path, &set->tensors[i], &offset, root);
    char *text = st == BR_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (st != BR_OK) return st;
    if (!text) return out_of_memory(path);
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    char *buf = malloc(padded + 1);
    if (buf) {
        memcpy(buf, text, n);
        memset(buf + n, ' ', padded - n);
        buf[padded] = '\0';
    }
    cJSON_free(text);
    if (!buf) return out_of_memory(path);
    *out = buf;
    *len = padded;
    return BR_OK;
}

static br_status write_tmp(const char *path, const char *tmp, const br_tensor_set *set,
                           const char *hdr, size_t hdr_len, int *created) {
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return br_fail(BR_EIO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    *created = 1;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)hdr_len >> (8 * i));
    int ok = fwrite(len, 1, 8, fp) == 8 && fwrite(hdr, 1, hdr_len, fp) == hdr_len;
    for (int i = 0; i < set->n_tensors && ok; i++) {
        const br_tensor *t = &set->tensors[i];
        size_t n = (size_t)br_numel(t->ndim, t->shape);
        ok = n == 0 || fwrite(t->data, sizeof(float), n, fp) == n;
    }
    int err = ok ? 0 : errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        return br_fail(BR_EIO, "%s: cannot write %s: %s", path, tmp, strerror(err ? err : EIO));
    return BR_OK;
}

br_status br_st_write(const char *path, const br_tensor_set *set) {
    char *hdr = NULL;
    size_t hdr_len = 0;
    char *tmp = malloc(strlen(path) + 5);
    if (!tmp) return br_fail(BR_ENOMEM, "%s: out of memory", path);
    sprintf(tmp, "%s.tmp", path);
    int created = 0;
    br_status st = build_header(path, set, &hdr, &hdr_len);
    if (st == BR_OK) st = write_tmp(path, tmp, set, hdr, hdr_len, &created);
    if (st == BR_OK && rename(tmp, path) != 0)
        st = br_fail(BR_EIO, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
    if (st != BR_OK && created) remove(tmp);
    free(tmp);
    free(hdr);
    return st;
}
