// timestep.c: the sinusoidal timestep embedding of AdaLayerNormSingle and of
// QwenTimestepProjEmbeddings (diffusers' get_timestep_embedding with flip_sin_to_cos=True, downscale_freq_shift=0, and the
// given scale: 1 for LTX-Video, 1000 for Qwen-Image): cosines first.
// Each step is rounded to fp32 as the reference does, and cos/sin of the fp32 argument are
// evaluated in double, so that t up to 1000 keeps full fp32 accuracy.
#include <math.h>

#include "kernels_cpu.h"

void cpu_timestep_embedding(float *emb, const float *t, int B, int channels, float scale) {
    int half = channels / 2;
    const float neg_log_period = (float)-log(10000.0);
    for (int b = 0; b < B; b++) {
        float *e = emb + (size_t)b * channels;
        for (int i = 0; i < half; i++) {
            float exponent = neg_log_period * (float)i / (float)half;
            // (t f) s: the reference multiplies by its scale last (1 leaves the product as is).
            float arg = t[b] * expf(exponent) * scale;
            e[i] = (float)cos((double)arg);
            e[half + i] = (float)sin((double)arg);
        }
    }
}
