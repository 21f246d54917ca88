// test_ltx2_connectors.c: LTX-2.3's text connectors (src/model/ltx2/ltx2_connectors.c) on the CPU
// against diffusers' LTX2TextConnectors (../shared/fixtures/ltx2-tiny: connectors/ and
// case_pipeline, whose prompts are left-padded: the registers fill 2 and 5 of 8 tokens) within
// 1e-4 of each output's scale; and the refusals, each one line.
// Usage: test_ltx2_connectors FIXTURES
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "io/tensor_file.h"
#include "model/ltx2/ltx2_connectors.h"

// The pipeline's batch [negative, positive] of hidden states [2, L, 72] and masks [2, L].
static void stack(const br_tensor_set *set, const char *a, const char *b, size_t n, float *out) {
    const br_tensor *ta = br_set_find(set, a), *tb = br_set_find(set, b);
    memcpy(out, ta->data, n * sizeof(float));
    memcpy(out + n, tb->data, n * sizeof(float));
}

static void test_case(const char *fixtures) {
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/connectors", fixtures);
    snprintf(path, sizeof path, "%s/ltx2-tiny/case_pipeline.safetensors", fixtures);
    br_backend *be = br_backend_cpu();
    ltx2_connectors c;
    br_tensor_set set = {0};
    if (!CHECK(ltx2_connectors_load(be, dir, 0, &c) == BR_OK) ||
        !CHECK(br_tensor_file_read(path, &set) == BR_OK))
        return;
    const br_tensor *pe = br_set_find(&set, "prompt_embeds");
    if (CHECK(pe && pe->ndim == 3 && br_set_find(&set, "negative_prompt_embeds"))) {
        const int L = (int)pe->shape[1], F = (int)pe->shape[2];
        const int D = c.cfg.video.dim, Da = c.cfg.audio.dim;
        float *hidden = malloc(2 * (size_t)L * F * sizeof(float)), *mask = malloc(2 * L * sizeof(float));
        float *video = malloc(2 * (size_t)L * D * sizeof(float));
        float *audio = malloc(2 * (size_t)L * Da * sizeof(float));
        stack(&set, "negative_prompt_embeds", "prompt_embeds", (size_t)L * F, hidden);
        stack(&set, "negative_prompt_attention_mask", "prompt_attention_mask", L, mask);
        CHECK_OK(ltx2_connectors_run(be, &c, hidden, mask, 2, L, "case_pipeline", video, audio));
        check_close(&set, "connector_video_embeds", video, 2 * (size_t)L * D, 1e-4, "video");
        check_close(&set, "connector_audio_embeds", audio, 2 * (size_t)L * Da, 1e-4, "audio");
        const br_tensor *want_mask = br_set_find(&set, "connector_attention_mask");
        int all_kept = want_mask != NULL;
        for (int i = 0; want_mask && i < 2 * L; i++) all_kept &= want_mask->data[i] == 1.0f;
        CHECK(all_kept); // what the transformer is then given: every token kept

        CHECK_FAILS(ltx2_connectors_run(be, &c, hidden, mask, 1, L - 2, "prompts.h5", video, audio),
                    "prompts.h5", "multiple of their registers");
        mask[3] = 0.5f;
        CHECK_FAILS(ltx2_connectors_run(be, &c, hidden, mask, 2, L, "prompts.h5", video, audio),
                    "prompts.h5", "must be 1 (keep) or 0");
        free(hidden), free(mask), free(video), free(audio);
    }
    ltx2_connectors_free(be, &c);
    br_set_free(&set);
}

static void check_rejects(const char *json_text, const char *want) {
    cJSON *json = cJSON_Parse(json_text);
    ltx2_connectors_config cfg;
    CHECK_FAILS(ltx2_connectors_config_parse(&cfg, json, "connectors/config.json"),
                "connectors/config.json", want);
    cJSON_Delete(json);
}

static void test_config(void) {
    check_rejects("{\"_class_name\": \"LTX2VideoTransformer3DModel\"}", "LTX2TextConnectors");
    check_rejects("{\"per_modality_projections\": false}", "LTX-2.0");
    check_rejects("{\"per_modality_projections\": true, \"video_hidden_dim\": 100}",
                  "video_hidden_dim 100");
    check_rejects("{\"per_modality_projections\": true, \"video_hidden_dim\": 3840, "
                  "\"audio_connector_num_learnable_registers\": null}", "registers");
    check_rejects("{\"per_modality_projections\": true, \"video_hidden_dim\": 3840, "
                  "\"audio_hidden_dim\": 3840, \"rope_type\": \"interleaved\"}", "rope_type");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_ltx2_connectors FIXTURES\n");
        return 2;
    }
    test_config();
    test_case(argv[1]);
    return check_summary();
}
