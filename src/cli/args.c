// args.c: a small option parser (getopt_long is not in C11, and we need only long options).
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const br_option *find(const br_option *opts, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return &opts[i];
    return NULL;
}

br_status br_parse_options(int argc, char **argv, const br_option *opts, int n_opts,
                           const char *command) {
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        if (strncmp(word, "--", 2) != 0)
            return br_fail(BR_EINPUT, "brigade %s: unexpected argument '%s' (see --help)",
                           command, word);
        const char *name = word + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const br_option *o = find(opts, n_opts, name, len);
        if (!o)
            return br_fail(BR_EINPUT, "brigade %s: unknown option '%.*s' (see --help)", command,
                           (int)len + 2, word);
        if (o->flag) {
            if (eq)
                return br_fail(BR_EINPUT, "brigade %s: option --%s takes no value", command,
                               o->name);
            *o->flag = 1;
            continue;
        }
        if (!eq && i + 1 >= argc)
            return br_fail(BR_EINPUT, "brigade %s: option --%s needs a value", command, o->name);
        const char *value = eq ? eq + 1 : argv[++i];
        if (!o->count) {
            *o->value = value;
        } else if (*o->count < o->max_count) {
            o->value[(*o->count)++] = value;
        } else {
            return br_fail(BR_EINPUT, "brigade %s: option --%s is given more than %d times",
                           command, o->name, o->max_count);
        }
    }
    return BR_OK;
}

int br_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

br_status br_parse_int(const char *text, const char *option, long lo, long hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || errno || v < lo || v > hi)
        return br_fail(BR_EINPUT, "--%s %s: expected an integer in %ld..%ld", option,
                       text ? text : "", lo, hi);
    *out = (int)v;
    return BR_OK;
}

br_status br_parse_double(const char *text, const char *option, double *out) {
    char *end = NULL;
    errno = 0;
    double v = text ? strtod(text, &end) : 0;
    if (!text || end == text || *end || errno || v != v)
        return br_fail(BR_EINPUT, "--%s %s: expected a number", option, text ? text : "");
    *out = v;
    return BR_OK;
}

br_status br_parse_u64(const char *text, const char *option, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = text && *text != '-' ? strtoull(text, &end, 10) : 0;
    if (!text || *text == '-' || end == text || *end || errno)
        return br_fail(BR_EINPUT, "--%s %s: expected a non-negative integer", option,
                       text ? text : "");
    *out = (uint64_t)v;
    return BR_OK;
}

br_status br_parse_size(const char *text, const char *option, double *out) {
    char *end;
    const double v = strtod(text, &end);
    const double unit = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 1;
    if (unit > 1) end++;
    if (end == text || *end || !(v > 0) || v * unit > 1e18)
        return br_fail(BR_EINPUT, "--%s %s: a size, e.g. 512M or 22.5G", option, text);
    *out = v * unit;
    return BR_OK;
}
