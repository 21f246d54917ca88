// test_families.c: the model-family seam and the shared layers that need no pipeline run:
//   - the registry picks the family from _class_name (transformer and pipeline folders, random
//     presets) and refuses an unknown class in one line naming the known ones;
//   - Qwen-Image's RoPE tables against the reference's (fixture and tests/data cases): positions
//     of targets, references and text, every axis;
//   - true CFG with the norm rescale (nn_true_cfg_norm) against QwenImageEditPlusPipeline's step 0;
//   - Qwen-Image's img_shapes as nested JSON metadata, flattened into one setting;
//   - LTX-2's RoPE tables (video, audio, the audio-video attentions') against the reference's.
// Usage: test_families FIXTURES DATA
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/tensor_file.h"
#include "model/family.h"
#include "model/ltx2/ltx2_rope.h"
#include "model/qwenimage/qwen_config.h"
#include "model/qwenimage/qwen_rope.h"
#include "nn/guidance.h"

static const char *fixtures, *data;

static const br_tensor *find(const br_tensor_set *set, const char *name) {
    const br_tensor *t = br_set_find(set, name);
    if (!t) printf("FAIL: tensor %s missing\n", name), failed++;
    return t;
}

static void test_registry(void) {
    char dir[4096];
    br_model m;
    snprintf(dir, sizeof dir, "%s/ltx-tiny/transformer", fixtures);
    CHECK_OK(br_model_open(dir, &m));
    CHECK(m.family && strcmp(m.family->name, "LTX-Video") == 0 && m.layers == 4);
    br_model_close(&m);
    snprintf(dir, sizeof dir, "%s/qwenimage-tiny/transformer-edit", fixtures);
    CHECK_OK(br_model_open(dir, &m));
    CHECK(m.family && strcmp(m.family->name, "Qwen-Image") == 0);
    CHECK(m.in_channels == 64 && m.out_channels == 64 && m.text_channels == 24);
    br_model_close(&m);
    CHECK_OK(br_model_open("random:qwen-image-tiny", &m));
    CHECK(m.family && strcmp(m.family->name, "Qwen-Image") == 0 && m.layers == 4);
    br_model_close(&m);
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/transformer", fixtures);
    CHECK_OK(br_model_open(dir, &m));
    CHECK(m.family && strcmp(m.family->name, "LTX-2") == 0 && m.layers == 4);
    CHECK(m.in_channels == 8 && m.out_channels == 8 && m.text_channels == 32 + 16);
    br_model_close(&m);
    CHECK_OK(br_model_open("random:ltx-2.3-tiny", &m));
    CHECK(m.family && strcmp(m.family->name, "LTX-2") == 0);
    br_model_close(&m);
    // A folder of something that is not a transformer: refused by class, naming the known ones.
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vae", fixtures);
    CHECK_FAILS(br_model_open(dir, &m), "AutoencoderKLLTX2Video\" is not a model brigade runs",
                "known: LTXVideoTransformer3DModel, LTXPipeline, QwenImageTransformer2DModel");
    br_model_close(&m);
    CHECK_FAILS(br_model_open("random:nope", &m), "random:nope", "qwen-image-20b");
    br_model_close(&m);
}

// The tables brigade builds, column 2k of each row, against the reference's complex rotation of
// pair k (its real and imaginary parts). Tolerance 1e-6: both round cos and sin of the same fp32
// angle (up to an ulp of the fp32 frequency 1/10000^(2k/d): positions are < 100 here).
static void test_rope_case(const char *path, const char *transformer) {
    br_tensor_set set = {0};
    br_model m;
    if (!CHECK(br_tensor_file_read(path, &set) == BR_OK) ||
        !CHECK(br_model_open(transformer, &m) == BR_OK))
        return;
    const qwen_config *cfg = m.cfg;
    br_forward_inputs in;
    br_geometry g;
    CHECK_OK(m.family->forward_inputs(&m, &set, path, NULL, &g, &in));
    const int dh = cfg->head_dim;
    float *c = malloc(dh * sizeof(float)), *s = malloc(dh * sizeof(float));
    const char *names[2][2] = {{"img_rope_cos", "img_rope_sin"}, {"txt_rope_cos", "txt_rope_sin"}};
    for (int text = 0; text < 2; text++) {
        const br_tensor *want_c = find(&set, names[text][0]), *want_s = find(&set, names[text][1]);
        const int rows = text ? g.text_tokens : g.tokens;
        double err = 0;
        for (int r = 0; want_c && want_s && r < rows; r++) {
            int pos[3];
            text ? qwen_rope_text_position(&g, r, pos) : qwen_rope_image_position(&g, r, pos);
            qwen_rope_row(cfg, pos, c, s);
            for (int k = 0; k < dh / 2; k++) {
                err = fmax(err, fabs(c[2 * k] - want_c->data[(size_t)r * dh / 2 + k]));
                err = fmax(err, fabs(s[2 * k] - want_s->data[(size_t)r * dh / 2 + k]));
                err = fmax(err, fabs(c[2 * k + 1] - c[2 * k]) + fabs(s[2 * k + 1] - s[2 * k]));
            }
        }
        printf("%s %s %s: %d rows, max error %.3g\n", err <= 1e-6 ? "ok  " : "FAIL", path,
               names[text][0], rows, err);
        CHECK(err <= 1e-6);
    }
    free(c), free(s);
    br_model_close(&m);
    br_set_free(&set);
}

static void test_rope(void) {
    char path[4096], dir[4096];
    snprintf(path, sizeof path, "%s/qwenimage-tiny/case_forward.safetensors", fixtures);
    snprintf(dir, sizeof dir, "%s/qwenimage-tiny/transformer", fixtures);
    test_rope_case(path, dir);
    const char *cases[] = {"qwen-odd", "qwen-wide"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s/case_forward.safetensors", data, cases[i]);
        snprintf(dir, sizeof dir, "%s/%s/transformer", data, cases[i]);
        test_rope_case(path, dir);
    }
}

// Step 0 of the edit pipeline: comb = uncond + 4 (cond - uncond), rescaled per token to the
// conditional prediction's norm. Bound 1e-5 of the scale: fp32 sums of 64 terms in another order.
static void test_true_cfg(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/qwenimage-tiny/case_edit_pipeline.safetensors", fixtures);
    br_tensor_set set = {0};
    if (!CHECK(br_tensor_file_read(path, &set) == BR_OK)) return;
    const br_tensor *cond = find(&set, "step_00_noise_pred_cond");
    const br_tensor *uncond = find(&set, "step_00_noise_pred_uncond");
    const br_tensor *want = find(&set, "step_00_noise_pred");
    const br_setting *scale = br_set_find_setting(&set, "true_cfg_scale");
    if (cond && uncond && want && CHECK(scale != NULL)) {
        const int T = (int)cond->shape[1], C = (int)cond->shape[2];
        float *v = malloc((size_t)T * C * sizeof(float));
        nn_true_cfg_norm(v, uncond->data, cond->data, T, C, (float)scale->values[0]);
        double err = 0, top = 0;
        for (int i = 0; i < T * C; i++) {
            err = fmax(err, fabs(v[i] - want->data[i]));
            top = fmax(top, fabs(want->data[i]));
        }
        printf("%s true CFG with the norm rescale: relative error %.3g\n",
               err <= 1e-5 * top ? "ok  " : "FAIL", err / top);
        CHECK(err <= 1e-5 * top);
        free(v);
    }
    br_set_free(&set);
}

// The fixture's img_shapes [[[1, 4, 6], [1, 5, 4]], [[1, 4, 6], [1, 5, 4]]]: 12 numbers in order.
static void test_nested_metadata(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/qwenimage-tiny/case_forward.safetensors", fixtures);
    br_tensor_set set = {0};
    CHECK_OK(br_tensor_file_read(path, &set));
    const br_setting *s = br_set_find_setting(&set, "img_shapes");
    const double want[12] = {1, 4, 6, 1, 5, 4, 1, 4, 6, 1, 5, 4};
    CHECK(s && s->count == 12 && memcmp(s->values, want, sizeof want) == 0);
    br_set_free(&set);
}

// LTX-2's four RoPE tables against the fixture's ([B, H, T, half] there: head-major columns
// here), for the LTX-2.3 and LTX-2.0 cases: within 2 ulps of 1 (the reference's fp32 cos and sin
// of the same fp32 angles).
static void test_ltx2_rope_case(const char *case_name, const char *transformer) {
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/ltx2-tiny/%s", fixtures, case_name);
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/%s", fixtures, transformer);
    br_tensor_set set = {0};
    br_model m;
    if (!CHECK(br_tensor_file_read(path, &set) == BR_OK) || !CHECK(br_model_open(dir, &m) == BR_OK))
        return;
    br_forward_inputs in;
    br_geometry g;
    CHECK_OK(m.family->forward_inputs(&m, &set, path, NULL, &g, &in));
    const char *names[4] = {"video_rope", "audio_rope", "ca_video_rope", "ca_audio_rope"};
    for (int k = 0; k < 4; k++) {
        int rows, cols;
        ltx2_rope_size(m.cfg, &g, (ltx2_rope_kind)k, &rows, &cols);
        float *mine = malloc(2 * (size_t)rows * cols * sizeof(float));
        ltx2_rope_table(m.cfg, &g, (ltx2_rope_kind)k, mine, mine + (size_t)rows * cols);
        for (int s = 0; s < 2; s++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", names[k], s ? "sin" : "cos");
            const br_tensor *want = find(&set, name);
            if (!want || !CHECK(want->ndim == 4 && want->shape[2] == rows &&
                                want->shape[1] * want->shape[3] == cols))
                continue;
            const int H = (int)want->shape[1], half = (int)want->shape[3];
            double err = 0;
            for (int h = 0; h < H; h++)
                for (int t = 0; t < rows; t++)
                    for (int i = 0; i < half; i++) {
                        const float w = want->data[((size_t)h * rows + t) * half + i];
                        const float got = mine[(size_t)s * rows * cols + (size_t)t * cols + h * half + i];
                        err = fmax(err, fabs((double)got - w));
                    }
            printf("%s %s %s: max error %.3g\n", err <= 1.2e-7 ? "ok  " : "FAIL", case_name, name, err);
            err <= 1.2e-7 ? passed++ : failed++;
        }
        free(mine);
    }
    br_model_close(&m);
    br_set_free(&set);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_families FIXTURES DATA\n");
        return 2;
    }
    fixtures = argv[1], data = argv[2];
    test_registry();
    test_rope();
    test_true_cfg();
    test_nested_metadata();
    test_ltx2_rope_case("case_forward.safetensors", "transformer");
    test_ltx2_rope_case("case_forward_2.0.safetensors", "transformer-2.0");
    return check_summary();
}
