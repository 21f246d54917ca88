// ltx_scheduler.h: the denoising schedule and update of LTX-Video: FlowMatchEulerDiscreteScheduler
// as its scheduler_config.json configures it, classifier-free guidance with the optional rescale,
// and the Euler step. Host arithmetic in fp32 in the reference's order of operations (numpy and
// torch compute these in float32), so the timesteps match diffusers' to the bit.
// Legend: n = S*C floats of one job's packed latents.
#ifndef BR_LTX_SCHEDULER_H
#define BR_LTX_SCHEDULER_H

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
} ltx_sched_config;

// Fills cfg from scheduler_config.json (path names the file in errors); options brigade does
// not implement (karras/exponential/beta sigmas, inverted sigmas, stochastic sampling) fail.
br_status ltx_sched_config_parse(ltx_sched_config *cfg, const cJSON *json, const char *path);

// sigmas[steps + 1] (the last is 0) for a video of seq_len latent tokens. Fails, naming the
// cause, where the schedule has no finite values (diffusers would give NaN): 1 step with
// shift_terminal (a 0/0 in the stretch), or a shift so large for seq_len that exp overflows.
br_status ltx_sched_sigmas(const ltx_sched_config *cfg, int steps, int seq_len, float *sigmas);

// v = v_uncond + g (v_cond - v_uncond); with rescale r > 0, v = r v std(v_cond)/std(v) + (1-r) v
// (standard deviations over the whole job, unbiased, as torch.std).
void ltx_guidance(float *v, const float *v_uncond, const float *v_cond, size_t n, float g,
                  float rescale);

// x += (sigma_next - sigma) * v.
void ltx_euler_step(float *x, const float *v, size_t n, float sigma, float sigma_next);

#endif
