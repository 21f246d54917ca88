// tensor_set.c: growable arrays of named tensors and settings.
#include "tensor_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t br_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

char *br_shape_str(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++) {
        if (shape[i] < 0)
            used += (size_t)snprintf(buf + used, size - used, "%s*", i ? ", " : "");
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                     (long long)shape[i]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

static int grow(void **items, int *cap, int need, size_t item_size) {
    if (need <= *cap) return 1;
    int new_cap = *cap ? *cap * 2 : 8;
    while (new_cap < need) new_cap *= 2;
    void *p = realloc(*items, (size_t)new_cap * item_size);
    if (!p) return 0;
    *items = p;
    *cap = new_cap;
    return 1;
}

br_tensor *br_set_add(br_tensor_set *set, const char *name, int ndim, const int64_t *shape) {
    if (strlen(name) >= BR_NAME_MAX || ndim < 0 || ndim > BR_MAX_DIMS) {
        br_fail(BR_EINTERNAL, "tensor name or rank out of range: %s", name);
        return NULL;
    }
    if (br_set_find(set, name)) {
        br_fail(BR_EINPUT, "tensor %s given twice", name);
        return NULL;
    }
    if (!grow((void **)&set->tensors, &set->cap_tensors, set->n_tensors + 1, sizeof(br_tensor))) {
        br_fail(BR_ENOMEM, "out of memory adding tensor %s", name);
        return NULL;
    }
    int64_t n = br_numel(ndim, shape);
    float *data = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!data) {
        br_fail(BR_ENOMEM, "out of memory for tensor %s (%lld floats)", name, (long long)n);
        return NULL;
    }
    br_tensor *t = &set->tensors[set->n_tensors++];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    return t;
}

br_status br_set_add_setting(br_tensor_set *set, const char *name, int count, const double *values) {
    if (strlen(name) >= BR_NAME_MAX || count < 1 || count > BR_SETTING_MAX)
        return br_fail(BR_EINPUT, "setting %s: name too long or %d values (1..%d allowed)", name,
                       count, BR_SETTING_MAX);
    if (br_set_find_setting(set, name)) return br_fail(BR_EINPUT, "setting %s given twice", name);
    if (!grow((void **)&set->settings, &set->cap_settings, set->n_settings + 1, sizeof(br_setting)))
        return br_fail(BR_ENOMEM, "out of memory adding setting %s", name);
    br_setting *s = &set->settings[set->n_settings++];
    memset(s, 0, sizeof *s);
    strcpy(s->name, name);
    s->count = count;
    memcpy(s->values, values, (size_t)count * sizeof(double));
    return BR_OK;
}

const br_tensor *br_set_find(const br_tensor_set *set, const char *name) {
    for (int i = 0; i < set->n_tensors; i++)
        if (strcmp(set->tensors[i].name, name) == 0) return &set->tensors[i];
    return NULL;
}

const br_setting *br_set_find_setting(const br_tensor_set *set, const char *name) {
    for (int i = 0; i < set->n_settings; i++)
        if (strcmp(set->settings[i].name, name) == 0) return &set->settings[i];
    return NULL;
}

void br_set_free(br_tensor_set *set) {
    for (int i = 0; i < set->n_tensors; i++) free(set->tensors[i].data);
    free(set->tensors);
    free(set->settings);
    memset(set, 0, sizeof *set);
}

br_status br_set_need(const br_tensor_set *set, const char *path, const char *name, int ndim,
                      const int64_t *want, int rows_may_be_1, const char *hint,
                      const br_tensor **out) {
    const br_tensor *t = br_set_find(set, name);
    if (!t) return br_fail(BR_EINPUT, "%s: tensor \"%s\" missing", path, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = want[i] < 0 || t->shape[i] == want[i] || (i == 0 && rows_may_be_1 && t->shape[0] == 1);
    if (!ok) {
        char got[96], exp[96];
        const int last_differs = t->ndim == ndim && want[ndim - 1] >= 0 &&
                                 t->shape[ndim - 1] != want[ndim - 1];
        return br_fail(BR_EINPUT, "%s: tensor \"%s\" has shape %s, expected %s%s", path, name,
                       br_shape_str(got, sizeof got, t->ndim, t->shape),
                       br_shape_str(exp, sizeof exp, ndim, want),
                       hint && last_differs ? hint : "");
    }
    *out = t;
    return BR_OK;
}

br_status br_set_need_int(const br_tensor_set *set, const char *path, const char *name, int lo,
                          int hi, int *out) {
    const br_setting *s = br_set_find_setting(set, name);
    if (!s) return br_fail(BR_EINPUT, "%s: setting \"%s\" missing", path, name);
    const double v = s->values[0];
    if (s->count != 1 || !(v >= lo && v <= hi) || v != (double)(int)v)
        return br_fail(BR_EINPUT, "%s: setting \"%s\" must be one integer in %d..%d", path, name,
                       lo, hi);
    *out = (int)v;
    return BR_OK;
}

br_status br_set_merge(br_tensor_set *into, br_tensor_set *from, const char *path) {
    br_status st = BR_OK;
    for (int i = 0; i < from->n_settings && st == BR_OK; i++) {
        const br_setting *s = &from->settings[i], *had = br_set_find_setting(into, s->name);
        if (!had) st = br_set_add_setting(into, s->name, s->count, s->values);
        else if (had->count != s->count ||
                 memcmp(had->values, s->values, (size_t)s->count * sizeof(double)) != 0)
            st = br_fail(BR_EINPUT, "%s: setting \"%s\" differs from the one an earlier file "
                         "gave", path, s->name);
    }
    for (int i = 0; i < from->n_tensors && st == BR_OK; i++)
        if (br_set_find(into, from->tensors[i].name))
            st = br_fail(BR_EINPUT, "%s: tensor \"%s\" is also in an earlier file", path,
                         from->tensors[i].name);
    if (st == BR_OK &&
        !grow((void **)&into->tensors, &into->cap_tensors, into->n_tensors + from->n_tensors,
              sizeof(br_tensor)))
        st = br_fail(BR_ENOMEM, "out of memory merging %s", path);
    if (st == BR_OK) { // the tensors' data changes hands
        memcpy(into->tensors + into->n_tensors, from->tensors, (size_t)from->n_tensors * sizeof(br_tensor));
        into->n_tensors += from->n_tensors;
        from->n_tensors = 0;
    }
    br_set_free(from);
    return st;
}
