// ltx2_family.h: LTX-2 (LTX2VideoTransformer3DModel: LTX-2.0 and LTX-2.3) as a family of the
// seam (family.h, recipe.h): ltx2_family.c adapts the transformer of ltx2_model.h (and, opened
// from a pipeline folder, the text connectors before it), ltx2_recipe.c LTX2Pipeline's grid and
// guidance.
#ifndef BR_LTX2_FAMILY_H
#define BR_LTX2_FAMILY_H

#include "ltx2_config.h"
#include "ltx2_connectors.h"
#include "model/family.h"
#include "model/recipe.h"

// The family's config (br_model.cfg). Opened from a pipeline folder, the prompts are the text
// encoder's per-layer hidden states and the connectors of DIR/connectors turn them into the
// texts on the input side; opened from a transformer folder, they are the connectors' outputs.
typedef struct {
    ltx2_config t;
    int with_connectors;
    ltx2_connectors_config connectors;
    char connectors_dir[4300];
} ltx2_family_config;

enum { LTX2_CROSS_TIMESTEP = 1 }; // geometry options: LTX-2.3's use_cross_timestep

extern const br_family br_family_ltx2;
extern const br_recipe ltx2_recipe;

// ltx2_stages.c: the distilled recipe's two stages (recipe.h).
int ltx2_stages(const br_run_request *req);
const br_guidance *ltx2_guidance_for(const char *recipe);
br_status ltx2_stage_request(const br_model *m, int s, br_run_request *req, float *sigmas,
                             int *steps);
br_status ltx2_next_stage(const br_model *m, br_backend *be, const br_geometry *from,
                          const float *x_from, const br_geometry *to, float *x_to, int n,
                          float sigma, uint64_t seed, const float *noise, int noise_rows);

// ltx2_image.c: image-to-video's conditioning (recipe.h's encode and step_values).
br_status ltx2_encode_image(const br_model *m, const char *dir, br_backend *be,
                            const br_run_request *req, const br_geometry *g, float *cond);
void ltx2_step_values(const br_geometry *g, float timestep, float *values);

// ltx2_sound.c: the recipe's sound (recipe.h): audio VAE and vocoder of the pipeline folder.
br_status ltx2_sound_open(const br_model *m, const br_geometry *g, br_sound **s);
br_status ltx2_sound(br_sound *s, const float *latents, float **wave, int *channels,
                     long *samples, int *rate);
void ltx2_sound_close(br_sound *s);

#endif
