// json_keys.c: see json_keys.h.
#include "json_keys.h"

#include <string.h>

const cJSON *br_json_key(const cJSON *json, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
    return item && !cJSON_IsNull(item) ? item : NULL;
}

br_status br_json_class(const cJSON *json, const char *path, const char *expected) {
    const cJSON *cls = br_json_key(json, "_class_name");
    if (cls && (!cJSON_IsString(cls) || strcmp(cls->valuestring, expected)))
        return br_fail(BR_EINPUT, "%s: _class_name is not %s", path, expected);
    return BR_OK;
}

int br_json_int_in(const cJSON *v, int lo, int hi) {
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
           v->valuedouble == (double)(int)v->valuedouble;
}

br_status br_json_int(const cJSON *json, const char *path, const char *key, int def, int lo,
                      int hi, int *out) {
    const cJSON *item = br_json_key(json, key);
    *out = def;
    if (item && !br_json_int_in(item, lo, hi))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be an integer in %d..%d", path, key, lo, hi);
    if (item) *out = (int)item->valuedouble;
    return BR_OK;
}

br_status br_json_bool(const cJSON *json, const char *path, const char *key, int def, int *out) {
    const cJSON *item = br_json_key(json, key);
    *out = def;
    if (item && !cJSON_IsBool(item))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be true or false", path, key);
    if (item) *out = cJSON_IsTrue(item);
    return BR_OK;
}

br_status br_json_number(const cJSON *json, const char *path, const char *key, double def,
                         double lo, double hi, double *out) {
    const cJSON *item = br_json_key(json, key);
    *out = def;
    if (item && (!cJSON_IsNumber(item) || !(item->valuedouble >= lo && item->valuedouble <= hi)))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a number in [%g, %g]", path, key, lo, hi);
    if (item) *out = item->valuedouble;
    return BR_OK;
}

br_status br_json_positive_float(const cJSON *json, const char *path, const char *key,
                                 double def, double hi, float *out) {
    const cJSON *item = br_json_key(json, key);
    double v = item ? item->valuedouble : def;
    if (item && (!cJSON_IsNumber(item) || !(v > 0 && v < hi) || !((float)v > 0)))
        return br_fail(BR_EINPUT, "%s: \"%s\" must be a number in (0, %g) that fp32 holds (not "
                                  "below 1.4e-45)", path, key, hi);
    *out = (float)v;
    return BR_OK;
}

br_status br_json_want_string(const cJSON *json, const char *path, const char *key,
                              const char *want) {
    const cJSON *item = br_json_key(json, key);
    if (!item) return BR_OK;
    if (!cJSON_IsString(item) || strcmp(item->valuestring, want) != 0)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be \"%s\" (the only one brigade implements)",
                       path, key, want);
    return BR_OK;
}

br_status br_json_want_bool(const cJSON *json, const char *path, const char *key, int want) {
    const cJSON *item = br_json_key(json, key);
    if (!item) return BR_OK;
    if (!cJSON_IsBool(item) || cJSON_IsTrue(item) != want)
        return br_fail(BR_EINPUT, "%s: \"%s\" must be %s (the only setting brigade implements)",
                       path, key, want ? "true" : "false");
    return BR_OK;
}
