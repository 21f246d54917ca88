// flow_match.c: see flow_match.h. The float casts are deliberate: each line does what the
// reference does in float32 (numpy NEP 50 keeps python scalars "weak", so they are rounded to
// float32 before the operation).
#include "flow_match.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "io/json_keys.h"

br_status nn_flow_config_parse(nn_flow_config *cfg, const cJSON *json, const char *path) {
    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(json)) return br_fail(BR_EINPUT, "%s: not a JSON object", path);
    BR_TRY(br_json_class(json, path, "FlowMatchEulerDiscreteScheduler"));
    static const char *unsupported[] = {"use_karras_sigmas", "use_exponential_sigmas",
                                        "use_beta_sigmas", "invert_sigmas", "stochastic_sampling"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
        int on;
        BR_TRY(br_json_bool(json, path, unsupported[i], 0, &on));
        if (on) return br_fail(BR_EINPUT, "%s: \"%s\" true is not implemented", path, unsupported[i]);
    }
    double steps;
    BR_TRY(br_json_number(json, path, "num_train_timesteps", 1000, 1, 1e6, &steps));
    cfg->num_train_timesteps = (int)steps;
    BR_TRY(br_json_bool(json, path, "use_dynamic_shifting", 0, &cfg->use_dynamic_shifting));
    BR_TRY(br_json_number(json, path, "base_image_seq_len", 256, 1, 1e9, &cfg->base_image_seq_len));
    BR_TRY(br_json_number(json, path, "max_image_seq_len", 4096, 1, 1e9, &cfg->max_image_seq_len));
    BR_TRY(br_json_number(json, path, "base_shift", 0.5, -100, 100, &cfg->base_shift));
    BR_TRY(br_json_number(json, path, "max_shift", 1.15, -100, 100, &cfg->max_shift));
    BR_TRY(br_json_number(json, path, "shift", 1.0, 1e-6, 1e6, &cfg->shift));
    BR_TRY(br_json_number(json, path, "shift_terminal", 0, 0, 0.999, &cfg->shift_terminal));
    if (cfg->max_image_seq_len == cfg->base_image_seq_len)
        return br_fail(BR_EINPUT, "%s: max_image_seq_len equals base_image_seq_len", path);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "time_shift_type");
    cfg->exponential = 1;
    if (type && !cJSON_IsNull(type)) {
        if (!cJSON_IsString(type) ||
            (strcmp(type->valuestring, "exponential") && strcmp(type->valuestring, "linear")))
            return br_fail(BR_EINPUT, "%s: \"time_shift_type\" must be exponential or linear", path);
        cfg->exponential = strcmp(type->valuestring, "exponential") == 0;
    }
    return BR_OK;
}

// The pipelines' calculate_shift (LTXPipeline, QwenImageEditPlusPipeline), in double as Python computes it.
static double shift_mu(const nn_flow_config *cfg, int seq_len) {
    double m = (cfg->max_shift - cfg->base_shift) / (cfg->max_image_seq_len - cfg->base_image_seq_len);
    double b = cfg->base_shift - m * cfg->base_image_seq_len;
    return seq_len * m + b;
}

br_status nn_flow_sigmas(const nn_flow_config *cfg, int steps, int seq_len, const float *given,
                         float *sigmas) {
    // The pipeline's np.linspace(1, 1/steps, steps) in double, then float32.
    for (int i = 0; i < steps && given; i++) sigmas[i] = given[i];
    for (int i = 0; i < steps && !given; i++) {
        double end = 1.0 / steps;
        double t = steps > 1 ? 1.0 + i * ((end - 1.0) / (steps - 1)) : 1.0;
        if (steps > 1 && i == steps - 1) t = end;
        sigmas[i] = (float)t;
    }
    const float mu = cfg->exponential ? (float)exp(shift_mu(cfg, seq_len))
                                      : (float)shift_mu(cfg, seq_len);
    for (int i = 0; i < steps; i++) {
        float s = sigmas[i];
        if (cfg->use_dynamic_shifting) s = mu / (mu + (1.0f / s - 1.0f));
        else s = (float)cfg->shift * s / (1.0f + (float)(cfg->shift - 1.0) * s);
        sigmas[i] = s;
    }
    if (cfg->shift_terminal > 0) { // stretch so that the last sigma is shift_terminal
        float scale = (1.0f - sigmas[steps - 1]) / (float)(1.0 - cfg->shift_terminal);
        if (scale == 0)
            return br_fail(BR_EINPUT, "--steps %d: the scheduler's shift_terminal %g needs at "
                           "least 2 steps (with 1 its stretch divides 0 by 0)", steps,
                           cfg->shift_terminal);
        for (int i = 0; i < steps; i++) sigmas[i] = 1.0f - (1.0f - sigmas[i]) / scale;
    }
    sigmas[steps] = 0.0f;
    for (int i = 0; i < steps; i++)
        if (!isfinite(sigmas[i]))
            return br_fail(BR_EINPUT, "the scheduler's shift settings give no finite sigma for "
                           "%d latent tokens (sigma %d is %g): check max_shift, base_shift and "
                           "the image_seq_len bounds", seq_len, i, sigmas[i]);
    return BR_OK;
}

void nn_euler_step(float *x, const float *v, size_t n, float sigma, float sigma_next) {
    const float dt = sigma_next - sigma;
    for (size_t i = 0; i < n; i++) x[i] = x[i] + dt * v[i];
}
