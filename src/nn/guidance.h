// guidance.h: how a step combines the predictions of its passes, on the host in fp32 as the
// pipelines do. Each formula writes the guided prediction v from the unconditional and the
// conditional ones (v may alias v_uncond).
// Legend: n floats of one job's packed latents, T tokens of C features (n = T*C).
#ifndef BR_NN_GUIDANCE_H
#define BR_NN_GUIDANCE_H

#include <stddef.h>

// Classifier-free guidance with the optional rescale (LTXPipeline): v = v_uncond + g (v_cond -
// v_uncond); with rescale r > 0, v = r v std(v_cond)/std(v) + (1-r) v (standard deviations over
// the whole job, unbiased, as torch.std).
void nn_cfg_std_rescale(float *v, const float *v_uncond, const float *v_cond, size_t n, float g,
                        float rescale);

// True CFG with the norm rescale (QwenImagePipeline, QwenImageEditPlusPipeline): comb = v_uncond
// + g (v_cond - v_uncond), then each token's C features scaled by |v_cond| / |comb| (L2 norms
// over the token's features).
void nn_true_cfg_norm(float *v, const float *v_uncond, const float *v_cond, int T, int C, float g);

// LTX2Pipeline's guidance of one stream (n values of a job), in x0 space: each prediction p
// becomes x0 = x - p sigma; g = x0_cond + (scale - 1)(x0_cond - x0_uncond) + stg (x0_cond -
// x0_perturbed) + (modality - 1)(x0_cond - x0_isolated), summed in that order (a term whose pass
// is NULL is left out); with rescale r > 0, g = r g std(x0_cond)/std(g) + (1 - r) g; then back to
// a velocity, v = (x - g) / sigma.
typedef struct {
    const float *cond, *uncond, *perturbed, *isolated; // the passes' predictions
    float scale, rescale, stg, modality;
} nn_x0_guidance;
void nn_x0_guide(float *v, const float *x, const nn_x0_guidance *gd, size_t n, float sigma);

#endif
