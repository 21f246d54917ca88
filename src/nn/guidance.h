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

#endif
