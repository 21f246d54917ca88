// test_qwen_vae.c: Qwen-Image's VAE (src/model/qwenimage/qwen_vae.c) on the CPU against
// diffusers' AutoencoderKLQwenImage (../shared/fixtures/qwenimage-tiny: vae/ and case_vae): the
// encoder's latent mean (the mode, what the edit pipeline takes) and the decoder's image within
// 1e-4 of their scale (fp32 sums over a few hundred terms in another order stay far below), the
// config's refusals in one line.
// Usage: test_qwen_vae FIXTURES
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "io/tensor_file.h"
#include "model/qwenimage/qwen_vae.h"

static void test_case(const char *fixtures) {
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/qwenimage-tiny/vae", fixtures);
    snprintf(path, sizeof path, "%s/qwenimage-tiny/case_vae.safetensors", fixtures);
    br_checkpoint ck;
    qwen_vae_config cfg;
    qwen_vae vae;
    br_tensor_set set = {0};
    br_backend *be = br_backend_cpu();
    if (!CHECK(qwen_vae_open(dir, &ck, &cfg) == BR_OK) || !CHECK(br_tensor_file_read(path, &set) == BR_OK))
        return;
    CHECK_OK(qwen_vae_load(be, &ck, &cfg, 1, 1, &vae));
    const br_tensor *image = br_set_find(&set, "image"), *mean = br_set_find(&set, "latent_mean");
    const br_tensor *latents = br_set_find(&set, "latents"), *decoded = br_set_find(&set, "decoded");
    if (CHECK(image && mean && latents && decoded)) {
        const int H = (int)image->shape[3], W = (int)image->shape[4];
        const int h = (int)mean->shape[3], w = (int)mean->shape[4], z = cfg.z_dim;
        float *got = malloc((size_t)z * h * w * sizeof(float));
        CHECK_OK(qwen_vae_encode(be, &vae, image->data, H, W, got));
        double e = rel_error(got, mean->data, (size_t)z * h * w);
        printf("%s encode %dx%d: latent mean within %.3g of the reference (bound 1e-4)\n",
               e <= 1e-4 ? "ok  " : "FAIL", W, H, e);
        CHECK(e <= 1e-4);
        float *img = malloc((size_t)3 * H * W * sizeof(float));
        CHECK_OK(qwen_vae_decode(be, &vae, latents->data, h, w, 1, img));
        e = rel_error(img, decoded->data, (size_t)3 * H * W);
        printf("%s decode %dx%d: image within %.3g of the reference (bound 1e-4)\n",
               e <= 1e-4 ? "ok  " : "FAIL", w, h, e);
        CHECK(e <= 1e-4);
        free(got), free(img);
    }
    qwen_vae_free(be, &vae);
    br_ckpt_close(&ck);
    br_set_free(&set);
}

static void check_rejects(const char *json_text, const char *want) {
    cJSON *json = cJSON_Parse(json_text);
    qwen_vae_config cfg;
    CHECK_FAILS(qwen_vae_config_parse(&cfg, json, "vae/config.json"), "vae/config.json", want);
    cJSON_Delete(json);
}

static void test_config(void) {
    check_rejects("{\"_class_name\": \"AutoencoderKLLTXVideo\"}", "AutoencoderKLQwenImage");
    check_rejects("{\"attn_scales\": [1.0], \"latents_mean\": [0], \"latents_std\": [1], "
                  "\"z_dim\": 1}", "attn_scales");
    check_rejects("{\"z_dim\": 2, \"latents_mean\": [0], \"latents_std\": [1]}",
                  "\"latents_mean\" has 1 values for z_dim 2");
    check_rejects("{\"z_dim\": 1, \"latents_mean\": [0]}", "\"latents_std\" missing");
    check_rejects("{\"z_dim\": 1, \"latents_mean\": [0], \"latents_std\": [0]}", "positive");
    check_rejects("{\"dim_mult\": [1, 0.5], \"z_dim\": 1, \"latents_mean\": [0], "
                  "\"latents_std\": [1]}", "dim_mult");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_qwen_vae FIXTURES\n");
        return 2;
    }
    test_case(argv[1]);
    test_config();
    return check_summary();
}
