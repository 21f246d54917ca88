// fuzz_config.c: libFuzzer target for the model config parsers of src/model: the input is the
// text of a config.json (or scheduler_config.json), parsed by cJSON as br_json_read_object does
// (NUL-terminated, nothing after the value) and handed to every parser: the transformers'
// (ltx_config_parse, qwen_config_parse), the scheduler's and the VAE's. An accepted config
// must keep the promises brigade's code relies on (positive sizes within the parser's bounds,
// D = H x dh, an eps that is not 0 once stored as a float); a rejection is one line naming the
// file. Seeds: the fixtures' real configs and tests/fuzz/corpus/fuzz_config's edge cases.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz_common.h"
#include "model/ltx/ltx_config.h"
#include "model/ltx/ltx_vae_config.h"
#include "model/qwenimage/qwen_config.h"
#include "nn/flow_match.h"

#define NAME "fuzz/config.json"

static void fuzz_transformer(const cJSON *json) {
    ltx_config cfg;
    br_status st = ltx_config_parse(&cfg, json, NAME);
    if (st != BR_OK) {
        fuzz_check_failure(st, NAME, "ltx_config_parse");
        return;
    }
    fuzz_check_success("ltx_config_parse");
    const int sizes[] = {cfg.in_channels, cfg.out_channels, cfg.heads, cfg.head_dim, cfg.dim,
                         cfg.layers, cfg.caption_channels, cfg.patch_size, cfg.patch_size_t};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        FUZZ_ASSERT(sizes[i] >= 1 && sizes[i] <= 1 << 16, "size %zu is %d", i, sizes[i]);
    FUZZ_ASSERT((int64_t)cfg.heads * cfg.head_dim == cfg.dim && cfg.dim % 2 == 0 &&
                    cfg.cross_attention_dim == cfg.dim,
                "inner dim %d for %d x %d", cfg.dim, cfg.heads, cfg.head_dim);
    FUZZ_ASSERT(cfg.norm_eps > 0 && cfg.norm_eps <= 1, "norm_eps %g", cfg.norm_eps); // 1 - 1e-9: 1
}

static void fuzz_qwen(const cJSON *json) {
    qwen_config cfg;
    br_status st = qwen_config_parse(&cfg, json, NAME);
    if (st != BR_OK) {
        fuzz_check_failure(st, NAME, "qwen_config_parse");
        return;
    }
    fuzz_check_success("qwen_config_parse");
    const int sizes[] = {cfg.in_channels, cfg.out_channels, cfg.patch_size, cfg.heads,
                         cfg.head_dim, cfg.dim, cfg.layers, cfg.joint_dim};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        FUZZ_ASSERT(sizes[i] >= 1 && sizes[i] <= 1 << 16, "size %zu is %d", i, sizes[i]);
    FUZZ_ASSERT((int64_t)cfg.heads * cfg.head_dim == cfg.dim, "inner dim %d", cfg.dim);
    FUZZ_ASSERT(cfg.axes[0] + cfg.axes[1] + cfg.axes[2] == cfg.head_dim && cfg.axes[0] % 2 == 0 &&
                    cfg.axes[1] % 2 == 0 && cfg.axes[2] % 2 == 0 && cfg.axes[0] >= 2,
                "axes %d %d %d for dh %d", cfg.axes[0], cfg.axes[1], cfg.axes[2], cfg.head_dim);
    FUZZ_ASSERT(cfg.patch_size * cfg.patch_size * cfg.out_channels <= 1 << 16, "proj_out width");
}

static void fuzz_scheduler(const cJSON *json) {
    nn_flow_config cfg;
    br_status st = nn_flow_config_parse(&cfg, json, NAME);
    if (st != BR_OK) {
        fuzz_check_failure(st, NAME, "nn_flow_config_parse");
        return;
    }
    fuzz_check_success("nn_flow_config_parse");
    FUZZ_ASSERT(cfg.num_train_timesteps >= 1, "num_train_timesteps %d", cfg.num_train_timesteps);
    // The schedule an accepted config gives is either refused with a reason or finite: run it
    // for a few step counts and token counts of real videos (UBSan watches the arithmetic).
    static const int steps[] = {1, 2, 8, 50};
    static const int seq_lens[] = {1, 256, 4096, 1 << 20};
    float sigmas[51];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            if (nn_flow_sigmas(&cfg, steps[a], seq_lens[b], NULL, sigmas) != BR_OK) {
                br_clear_error();
                continue;
            }
            for (int i = 0; i <= steps[a]; i++)
                FUZZ_ASSERT(isfinite(sigmas[i]), "sigma %d of %d is %g", i, steps[a], sigmas[i]);
        }
}

static void fuzz_vae(const cJSON *json) {
    ltx_vae_config cfg;
    br_status st = ltx_vae_config_parse(&cfg, json, NAME);
    if (st != BR_OK) {
        fuzz_check_failure(st, NAME, "ltx_vae_config_parse");
        return;
    }
    fuzz_check_success("ltx_vae_config_parse");
    FUZZ_ASSERT(cfg.n_blocks >= 1 && cfg.n_blocks <= LTX_VAE_MAX_BLOCKS, "%d blocks", cfg.n_blocks);
    FUZZ_ASSERT(cfg.latent_channels >= 1 && cfg.out_channels >= 1 && cfg.patch_size >= 1 &&
                    cfg.mid_channels >= 1 && cfg.final_channels >= 1,
                "channels %d %d %d %d", cfg.latent_channels, cfg.out_channels, cfg.mid_channels,
                cfg.final_channels);
    for (int i = 0; i < cfg.n_blocks; i++)
        FUZZ_ASSERT(cfg.up[i].c_in >= 1 && cfg.up[i].c_out >= 1 && cfg.up[i].factor >= 1 &&
                        cfg.up[i].layers >= 0,
                    "block %d: %d -> %d channels", i, cfg.up[i].c_in, cfg.up[i].c_out);
    FUZZ_ASSERT(cfg.n_upsamplers <= cfg.n_blocks, "%d upsamplers", cfg.n_upsamplers);
    // Stored as floats: an eps or a scale the float cannot hold would divide by 0 or overflow.
    FUZZ_ASSERT(cfg.resnet_norm_eps > 0 && cfg.resnet_norm_eps <= 1, "resnet_norm_eps %g",
                cfg.resnet_norm_eps);
    FUZZ_ASSERT(cfg.scaling_factor > 0 && isfinite(cfg.scaling_factor), "scaling_factor %g",
                cfg.scaling_factor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    br_clear_error();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cJSON *json = cJSON_ParseWithOpts(text, NULL, 1);
    free(text);
    // A text that is not JSON never reaches the parsers; a JSON value that is not an object
    // does (br_json_read_object would stop it, but the parsers must not rely on that).
    if (json) {
        fuzz_transformer(json);
        fuzz_qwen(json);
        fuzz_scheduler(json);
        fuzz_vae(json);
    }
    cJSON_Delete(json);
    br_clear_error();
    return 0;
}
