// flow_match.h: the denoising schedule and update of the flow-matching pipelines (LTX-Video,
// Qwen-Image, LTX-2): FlowMatchEulerDiscreteScheduler as a scheduler_config.json configures it,
// and the Euler step. Host arithmetic in fp32 in the reference's order of operations (numpy and
// torch compute these in float32), so the timesteps match diffusers' to the bit.
// Legend: n floats of one job's packed latents.
#ifndef BR_NN_FLOW_MATCH_H
#define BR_NN_FLOW_MATCH_H

#include <stddef.h>

#include "core/status.h"

typedef struct cJSON cJSON;

typedef struct {
    int num_train_timesteps;      // timestep = sigma * this (1000)
    int use_dynamic_shifting;     // resolution-dependent shift mu from the token count
    int exponential;              // time_shift_type: exponential (else linear)
    double base_image_seq_len, max_image_seq_len, base_shift, max_shift; // mu's line
    double shift;                 // the static shift when not dynamic
    double shift_terminal;        // 0: none; else the last sigma is stretched to this
} nn_flow_config;

// Fills cfg from scheduler_config.json (path names the file in errors); options brigade does
// not implement (karras/exponential/beta sigmas, inverted sigmas, stochastic sampling) fail.
br_status nn_flow_config_parse(nn_flow_config *cfg, const cJSON *json, const char *path);

// sigmas[steps + 1] (the last is 0) for seq_len latent tokens (those the pipeline counts for its
// shift). Fails, naming the cause, where the schedule has no finite values (diffusers would give
// NaN): 1 step with shift_terminal (a 0/0 in the stretch), or a shift so large for seq_len that
// exp overflows.
// given (NULL: the pipeline's linspace(1, 1/steps, steps)): the pipeline's own sigmas, shifted as
// set_timesteps(sigmas=...) shifts them.
br_status nn_flow_sigmas(const nn_flow_config *cfg, int steps, int seq_len, const float *given,
                         float *sigmas);

// x += (sigma_next - sigma) * v.
void nn_euler_step(float *x, const float *v, size_t n, float sigma, float sigma_next);

#endif
