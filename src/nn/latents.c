// latents.c: see latents.h (diffusers' LTXPipeline._pack_latents, _unpack_latents,
// _normalize_latents, _denormalize_latents; Qwen-Image's _unpack_latents is the same with pt = 1,
// p = 2).
#include "latents.h"

#include <stddef.h>

void nn_unpack_latents(float *unpacked, const float *packed, int C, int F, int H, int W, int p,
                        int pt) {
    const int Ht = H / p, Wt = W / p, features = C * pt * p * p;
    for (int f = 0; f < F; f++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) {
                size_t token = ((size_t)(f / pt) * Ht + h / p) * Wt + w / p;
                int cell = ((f % pt) * p + h % p) * p + w % p;
                for (int c = 0; c < C; c++)
                    unpacked[(((size_t)c * F + f) * H + h) * W + w] =
                        packed[token * features + (size_t)c * pt * p * p + cell];
            }
}

void nn_pack_latents(float *packed, const float *unpacked, int C, int F, int H, int W, int p,
                     int pt) {
    const int Ht = H / p, Wt = W / p, features = C * pt * p * p;
    for (int f = 0; f < F; f++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) {
                size_t token = ((size_t)(f / pt) * Ht + h / p) * Wt + w / p;
                int cell = ((f % pt) * p + h % p) * p + w % p;
                for (int c = 0; c < C; c++)
                    packed[token * features + (size_t)c * pt * p * p + cell] =
                        unpacked[(((size_t)c * F + f) * H + h) * W + w];
            }
}

void nn_normalize_latents(float *x, const float *mean, const float *std, float scaling_factor,
                          int C, int cells) {
    for (int c = 0; c < C; c++)
        for (int i = 0; i < cells; i++) {
            float *v = x + (size_t)c * cells + i;
            *v = (*v - mean[c]) * scaling_factor / std[c];
        }
}

void nn_denormalize_latents(float *x, const float *mean, const float *std, float scaling_factor,
                             int C, int cells) {
    for (int c = 0; c < C; c++)
        for (int i = 0; i < cells; i++) {
            float *v = x + (size_t)c * cells + i;
            *v = *v * std[c] / scaling_factor + mean[c];
        }
}
