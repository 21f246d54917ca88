// args.h: command-line options of the form --name VALUE, --name=VALUE and --flag.
#ifndef BR_ARGS_H
#define BR_ARGS_H

#include <stdint.h>

#include "core/status.h"

typedef struct {
    const char *name;   // without the leading "--"
    const char **value; // set for an option that takes a value, else NULL
    int *flag;          // set to 1 for a flag, else NULL
    int *count;         // a repeatable option: value is an array of max_count, *count set
    int max_count;
} br_option;

// Parses argv[0..argc) (the words after the command); errors name the command and the option.
br_status br_parse_options(int argc, char **argv, const br_option *opts, int n_opts,
                           const char *command);

// Strict number parsing of an option's value (the whole word, in range); errors name --option.
br_status br_parse_int(const char *text, const char *option, long lo, long hi, int *out);
br_status br_parse_double(const char *text, const char *option, double *out);
br_status br_parse_u64(const char *text, const char *option, uint64_t *out);
// A size in bytes: a number with an optional K, M or G (powers of 1024), e.g. 512M, 22.5G.
br_status br_parse_size(const char *text, const char *option, double *out);

// 1 when any word is --help or -h.
int br_wants_help(int argc, char **argv);

#endif
