// timestep.c: loading a TimestepEmbedding (see timestep.h).
#include "timestep.h"

#include <stdio.h>

br_status nn_load_timestep_embedder(br_backend *be, br_checkpoint *ck, const char *prefix, int T,
                                    int E, nn_timestep_embedder *te) {
    char name[256];
    snprintf(name, sizeof name, "%s.linear_1", prefix);
    BR_TRY(nn_load_linear(be, ck, name, T, E, &te->linear_1));
    snprintf(name, sizeof name, "%s.linear_2", prefix);
    return nn_load_linear(be, ck, name, E, E, &te->linear_2);
}

void nn_free_timestep_embedder(br_backend *be, nn_timestep_embedder *te) {
    nn_free_linear(be, &te->linear_1);
    nn_free_linear(be, &te->linear_2);
}
