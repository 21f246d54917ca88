// ltx2_vocoder_act.h: the activations of LTX-2's vocoders, in place on channels-last signals
// x[T, C]: SnakeBeta wrapped in anti-aliasing (AntiAliasAct1d: upsample, x + sin(a x)^2 / b per
// channel, downsample; LTX-2.3) or a leaky ReLU (LTX-2.0).
// Legend: T samples, C channels.
#ifndef BR_LTX2_VOCODER_ACT_H
#define BR_LTX2_VOCODER_ACT_H

#include "io/checkpoint.h"
#include "ltx2_resample.h"

typedef struct {
    int snake;       // 1: anti-aliased SnakeBeta; 0: leaky ReLU
    float slope;     // the leaky ReLU's negative slope
    int C;
    float *alpha;    // [C]: exp(alpha) (the checkpoint stores logs)
    float *inv_beta; // [C]: 1 / (exp(beta) + 1e-9)
    ltx2_upsampler up;
    ltx2_downsampler down;
} ltx2_act;

// prefix.act.alpha, prefix.act.beta [C] and prefix.upsample.filter, prefix.downsample.filter
// [1, 1, taps] (an AntiAliasAct1d of a SnakeBeta, resampling by ratio).
br_status ltx2_act_load_snake(br_checkpoint *ck, const char *prefix, int C, int ratio, int taps,
                              ltx2_act *a);
void ltx2_act_leaky(int C, float slope, ltx2_act *a);
void ltx2_act_free(ltx2_act *a);
// x[T, C] = act(x), in place; workspace: ratio * T * C floats for the snake (the upsampled
// signal), unused by the leaky ReLU.
void ltx2_act_apply(const ltx2_act *a, float *x, int T, float *workspace);

#endif
