// registry.c: the families brigade knows, and the choice among them by _class_name (family.h).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "family.h"
#include "ltx/ltx_family.h"
#include "ltx2/ltx2_family.h"
#include "qwenimage/qwen_family.h"

const br_family *const br_families[] = {&br_family_ltx_video, &br_family_qwen_image,
                                        &br_family_ltx2, NULL};

size_t br_slot_floats(const br_slot *s) { return (size_t)(s->rows ? s->rows : 1) * s->cols; }

size_t br_baton_floats(const br_layout *l) {
    size_t n = 0;
    for (int k = 0; k < l->n_baton; k++) n += br_slot_floats(&l->baton[k]);
    return n;
}

static const br_family *family_of_class(const char *cls) {
    for (int f = 0; br_families[f]; f++)
        for (int c = 0; br_families[f]->classes[c]; c++)
            if (strcmp(br_families[f]->classes[c], cls) == 0) return br_families[f];
    return NULL;
}

// "A, B, C": every class brigade takes, for the error of an unknown one.
static void known_classes(char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int f = 0; br_families[f]; f++)
        for (int c = 0; br_families[f]->classes[c] && used < size; c++)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                     br_families[f]->classes[c]);
}

// The family a JSON file's _class_name names.
static br_status family_of_file(const cJSON *json, const char *path, const br_family **out) {
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(json, "_class_name");
    char known[1024];
    known_classes(known, sizeof known);
    if (!cJSON_IsString(cls))
        return br_fail(BR_EINPUT, "%s: no \"_class_name\" to tell the model by (known: %s)", path,
                       known);
    if (!(*out = family_of_class(cls->valuestring)))
        return br_fail(BR_EINPUT, "%s: _class_name \"%s\" is not a model brigade runs (known: %s)",
                       path, cls->valuestring, known);
    return BR_OK;
}

// Random weights of preset `name`: the family whose preset it is.
static br_status open_random(const char *name, uint64_t seed, br_model *m) {
    for (int f = 0; br_families[f]; f++) {
        cJSON *config = br_families[f]->preset(name);
        if (!config) continue;
        m->family = br_families[f];
        return br_ckpt_open_random(&m->ck, config, seed);
    }
    char names[512];
    size_t used = 0;
    for (int f = 0; br_families[f] && used < sizeof names; f++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s: %s", used ? "; " : "",
                                 br_families[f]->name, br_families[f]->presets);
    return br_fail(BR_EINPUT, "random:%s: known sizes are %s", name, names);
}

// A pipeline folder (model_index.json) names the family and holds the transformer in
// transformer/; a transformer folder names it in config.json.
static br_status open_folder(const char *dir, br_model *m) {
    char path[4200], transformer[4150];
    struct stat sb;
    snprintf(path, sizeof path, "%s/model_index.json", dir);
    snprintf(transformer, sizeof transformer, "%s", dir);
    if (stat(path, &sb) == 0) {
        cJSON *index = NULL;
        BR_TRY(br_json_read_object(path, &index));
        br_status st = family_of_file(index, path, &m->family);
        cJSON_Delete(index);
        BR_TRY(st);
        snprintf(transformer, sizeof transformer, "%s/transformer", dir);
        snprintf(m->pipeline_dir, sizeof m->pipeline_dir, "%s", dir);
    }
    BR_TRY(br_ckpt_open(&m->ck, transformer));
    snprintf(m->config_path, sizeof m->config_path, "%s/config.json", transformer);
    const br_family *named;
    BR_TRY(family_of_file(m->ck.config, m->config_path, &named));
    if (m->family && named != m->family)
        return br_fail(BR_EINPUT, "%s: a transformer of %s in a %s pipeline (%s)", m->config_path,
                       named->name, m->family->name, path);
    m->family = named;
    return BR_OK;
}

br_status br_model_open(const char *dir, br_model *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->config_path, sizeof m->config_path, "%s", dir);
    BR_TRY(strncmp(dir, "random:", 7) == 0 ? open_random(dir + 7, 42, m) : open_folder(dir, m));
    return m->family->parse(m, m->ck.config, m->config_path);
}

br_status br_model_random(const char *name, uint64_t seed, br_model *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->config_path, sizeof m->config_path, "random:%s", name);
    BR_TRY(open_random(name, seed, m));
    return m->family->parse(m, m->ck.config, m->config_path);
}

void br_model_close(br_model *m) {
    free(m->cfg);
    br_ckpt_close(&m->ck);
    memset(m, 0, sizeof *m);
}
