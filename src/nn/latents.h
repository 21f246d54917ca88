// latents.h: the two layouts of latents and the VAE's normalisation. The transformers (LTX-Video,
// Qwen-Image, LTX-2) take packed latents [S, C*pt*p*p] (tokens in (frame, height, width) order, the
// patch's cells folded into the features); the VAE takes unpacked [C, F, H, W], de-normalised.
// Legend (one job): C latent channels, F/H/W latent frames/height/width, p/pt spatial/temporal
// patch, S = (F/pt)(H/p)(W/p) tokens.
#ifndef BR_NN_LATENTS_H
#define BR_NN_LATENTS_H

// unpacked[C, F, H, W] from packed[S, C*pt*p*p].
void nn_unpack_latents(float *unpacked, const float *packed, int C, int F, int H, int W, int p,
                        int pt);
// packed[S, C*pt*p*p] from unpacked[C, F, H, W] (the inverse).
void nn_pack_latents(float *packed, const float *unpacked, int C, int F, int H, int W, int p,
                     int pt);
// x = (x - mean[c]) * scaling_factor / std[c] over unpacked[C, F*H*W] (_normalize_latents).
void nn_normalize_latents(float *x, const float *mean, const float *std, float scaling_factor,
                          int C, int cells);
// x = x * std[c] / scaling_factor + mean[c] over unpacked[C, F*H*W].
void nn_denormalize_latents(float *x, const float *mean, const float *std, float scaling_factor,
                             int C, int cells);

#endif
