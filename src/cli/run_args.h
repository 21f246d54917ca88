// run_args.h: the words of `brigade run` as run options: the command line's parser, which
// `brigade serve` also runs on the words it makes of each job's settings (the same checks, the
// same one-line errors).
#ifndef BR_RUN_ARGS_H
#define BR_RUN_ARGS_H

#include "device.h"
#include "prompt_args.h"
#include "sched/run.h"

typedef struct {
    br_run_opts opts;
    br_cli_device dev;
    const char *images[8];    // --image (opts.images points here)
    const char *prompt_words[BR_MAX_PROMPT_WORDS]; // --prompt
    int n_prompt_words;
    const char *prompts_file; // --prompts
    char dirs[3][4096];       // --model DIR's transformer, vae and scheduler folders
    char command[8192];       // the command line, for the report
} br_run_args;

// Parses argv[0..argc) into *a (its strings point into argv, which must outlive *a). Settings
// every rank can check alone are checked here; the model's own checks come in br_run.
br_status br_run_parse(int argc, char **argv, br_run_args *a);

#endif
