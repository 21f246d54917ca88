// timestep.h: diffusers' Timesteps + TimestepEmbedding (flip_sin_to_cos, shift 0): a sinusoid
// of the timestep, then linear_1 -> SiLU -> linear_2 (LTX-Video's AdaLayerNormSingle, Qwen-Image's
// QwenTimestepProjEmbeddings).
// Legend: B batch, T sinusoid channels (256), E = linear_2's width.
#ifndef BR_NN_TIMESTEP_H
#define BR_NN_TIMESTEP_H

#include "linear.h"

typedef struct {
    nn_linear linear_1; // [E, T]
    nn_linear linear_2; // [E, E]
} nn_timestep_embedder;

// out[B, E] from t[B] (device): sinusoid of t * scale (the reference's `scale`: 1, or 1000
// where the model takes t in 0..1). sinus [B, T] and hidden [B, E] are fp32 scratch.
static inline void nn_timestep_embed(br_backend *be, const nn_timestep_embedder *te,
                                     const float *t, int B, float scale, float *sinus,
                                     float *hidden, float *out) {
    be->timestep_embedding(be, sinus, t, B, te->linear_1.n_in, scale);
    nn_apply(be, hidden, sinus, &te->linear_1, B);
    be->silu(be, hidden, (size_t)B * te->linear_1.n_out);
    nn_apply(be, out, hidden, &te->linear_2, B);
}

// Loads prefix.linear_1 [E, T] and prefix.linear_2 [E, E].
br_status nn_load_timestep_embedder(br_backend *be, br_checkpoint *ck, const char *prefix, int T,
                                    int E, nn_timestep_embedder *te);
void nn_free_timestep_embedder(br_backend *be, nn_timestep_embedder *te);

#endif
