// serve_settings.c: a job's settings are the options of `brigade run` that a job may choose (its
// sizes, steps, guidance, seed...); the server chooses the rest (the model, the files, where the
// outputs go, the devices). Stored as a JSON object of strings, turned into the same words that
// `brigade run` parses, so a job is checked and run exactly as the command line would be.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static const char *const job_options[] = {
    "height", "width", "frames", "frame-rate", "steps", "recipe", "guidance", "true-cfg-scale",
    "guidance-rescale", "stg-scale", "stg-blocks", "modality-scale", "audio-guidance",
    "audio-guidance-rescale", "audio-stg-scale", "audio-modality-scale", "decode-timestep",
    "decode-noise-scale", "seed", "microbatch", "decode-tile", "check", "image-area", "prompt",
    "negative-prompt", NULL};

enum { MAX_PROMPT_BYTES = 4000 }; // a prompt's text: 1024 tokens are a few thousand bytes

// The options whose value is a text (a prompt), not a number or a word.
static int text_option(const char *option) {
    return !strcmp(option, "prompt") || !strcmp(option, "negative-prompt");
}

// The option a key names ("frame_rate" or "frame-rate"), or NULL.
static const char *option_of(const char *key) {
    char name[64];
    if (strlen(key) >= sizeof name) return NULL;
    for (size_t i = 0; (name[i] = key[i] == '_' ? '-' : key[i]); i++) {}
    for (int i = 0; job_options[i]; i++)
        if (!strcmp(job_options[i], name)) return job_options[i];
    return NULL;
}

br_status serve_settings_canonical(const void *settings_cjson, char **json) {
    const cJSON *in = settings_cjson;
    *json = NULL;
    if (in && !cJSON_IsObject(in))
        return br_fail(BR_EINPUT, "settings: a JSON object of run options");
    cJSON *out = cJSON_CreateObject();
    if (!out) return br_fail(BR_ENOMEM, "out of memory");
    const cJSON *item;
    br_status st = BR_OK;
    cJSON_ArrayForEach(item, in) {
        const char *option = option_of(item->string);
        char value[MAX_PROMPT_BYTES + 1];
        if (!option) {
            st = br_fail(BR_EINPUT, "settings: unknown option \"%.64s\" (a job sets: height, "
                         "width, frames, frame-rate, steps, recipe, guidance, guidance-rescale, "
                         "the stg/modality/audio scales, stg-blocks, decode-timestep, "
                         "decode-noise-scale, seed, microbatch, decode-tile, check, image-area, "
                         "prompt, negative-prompt)",
                         item->string);
            break;
        }
        if (text_option(option)) {
            if (!cJSON_IsString(item) || strlen(item->valuestring) > MAX_PROMPT_BYTES) {
                st = br_fail(BR_EINPUT, "settings: \"%s\" must be a text of at most %d bytes",
                             option, MAX_PROMPT_BYTES);
                break;
            }
            snprintf(value, sizeof value, "%s", item->valuestring);
        } else if (cJSON_IsNumber(item)) {
            snprintf(value, sizeof value, "%.17g", item->valuedouble);
        } else if (cJSON_IsString(item) && strlen(item->valuestring) < 256 &&
                   item->valuestring[0] && item->valuestring[0] != '-') {
            snprintf(value, sizeof value, "%s", item->valuestring);
        } else {
            st = br_fail(BR_EINPUT, "settings: \"%s\" must be a number or a short word", option);
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(out, option)) {
            st = br_fail(BR_EINPUT, "settings: \"%s\" is given twice", option);
            break;
        }
        cJSON_AddStringToObject(out, option, value);
    }
    if (st == BR_OK && !(*json = cJSON_PrintUnformatted(out)))
        st = br_fail(BR_ENOMEM, "out of memory");
    cJSON_Delete(out);
    return st;
}

// Appends one word; fails when the words are full.
static br_status add(serve_words *w, size_t *used, const char *word) {
    const size_t n = strlen(word) + 1;
    if (w->argc >= SERVE_MAX_WORDS - 1 || *used + n > sizeof w->text)
        return br_fail(BR_EINPUT, "a job's settings are too long");
    memcpy(w->text + *used, word, n);
    *used += n, w->argc++;
    return BR_OK;
}

br_status serve_job_words(const serve_config *cfg, const serve_job *job, const char *out_dir,
                          int resume, serve_words *w) {
    size_t used = 0;
    char every[32];
    snprintf(every, sizeof every, "%d", cfg->checkpoint_every);
    memset(w, 0, sizeof *w);
    const char *head[] = {"--model", cfg->model, "--out", out_dir, "--checkpoint-every", every,
                          "--embeddings", job->embeddings};
    // (a job with its prompts as text has no embeddings file: its settings hold "prompt")
    const int with_file = job->embeddings && job->embeddings[0];
    for (int i = 0; i < (with_file ? 8 : 6); i++) BR_TRY(add(w, &used, head[i]));
    for (int i = 0; i < cfg->n_run_words; i++) BR_TRY(add(w, &used, cfg->run_words[i]));
    if (resume) BR_TRY(add(w, &used, "--resume"));
    cJSON *images = cJSON_Parse(job->images ? job->images : "[]");
    cJSON *settings = cJSON_Parse(job->settings ? job->settings : "{}");
    br_status st = images && settings ? BR_OK : br_fail(BR_EINPUT, "job %ld: its record is damaged", job->id);
    const cJSON *item;
    cJSON_ArrayForEach(item, images) {
        if (st == BR_OK && cJSON_IsString(item)) st = add(w, &used, "--image");
        if (st == BR_OK && cJSON_IsString(item)) st = add(w, &used, item->valuestring);
    }
    cJSON_ArrayForEach(item, settings) {
        char option[80];
        snprintf(option, sizeof option, "--%s", item->string);
        if (st == BR_OK && cJSON_IsString(item)) st = add(w, &used, option);
        if (st == BR_OK && cJSON_IsString(item)) st = add(w, &used, item->valuestring);
    }
    cJSON_Delete(images);
    cJSON_Delete(settings);
    return st;
}

void serve_words_argv(serve_words *w, char **argv) {
    char *p = w->text;
    for (int i = 0; i < w->argc; i++, p += strlen(p) + 1) argv[i] = p;
    argv[w->argc] = NULL;
}
