// json_keys.h: the typed keys of a diffusers config.json, checked. An absent or null key gives
// the default; anything else of the wrong type or out of range fails with one line naming the
// file and the key. The three config parsers (transformer, scheduler, VAE) read through these.
#ifndef BR_JSON_KEYS_H
#define BR_JSON_KEYS_H

#include <cjson/cJSON.h>

#include "core/status.h"

// The item of key, or NULL when it is absent or null.
const cJSON *br_json_key(const cJSON *json, const char *key);
// A config's "_class_name", when present (and not null), must be `expected`: a config of another
// model fails here, naming the file, instead of later on a key that does not fit.
br_status br_json_class(const cJSON *json, const char *path, const char *expected);
// Whether v is an integer in lo..hi (the range is checked before any conversion to int, which
// is undefined outside it: 1e30, inf).
int br_json_int_in(const cJSON *v, int lo, int hi);

br_status br_json_int(const cJSON *json, const char *path, const char *key, int def, int lo,
                      int hi, int *out);
br_status br_json_bool(const cJSON *json, const char *path, const char *key, int def, int *out);
// Fails unless key is absent or equals want: the only setting brigade implements.
br_status br_json_want_string(const cJSON *json, const char *path, const char *key,
                              const char *want);
br_status br_json_want_bool(const cJSON *json, const char *path, const char *key, int want);
// A number in [lo, hi].
br_status br_json_number(const cJSON *json, const char *path, const char *key, double def,
                         double lo, double hi, double *out);
// A number in (0, hi) that is still positive as the fp32 it is stored in: 1e-60 would become 0
// (an eps of 0, a division by a scaling factor of 0).
br_status br_json_positive_float(const cJSON *json, const char *path, const char *key,
                                 double def, double hi, float *out);

#endif
