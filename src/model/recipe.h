// recipe.h: what `brigade run` asks of a family besides its transformer (family.h): its defaults,
// the latent grid of a request, the encoding of the images a request conditions on (an edit's
// references), the timestep the model takes at a sigma, the passes of a step and the guidance
// formula, and the decoder of its latents, which the scheduler spreads over the ranks tile by
// tile. The flow-matching schedule itself is shared (nn/flow_match.h).
// Legend: S latent tokens being denoised, R conditioning tokens after them (S + R = the model's
// sequence), C packed latent features (the transformer's in_channels).
#ifndef BR_RECIPE_H
#define BR_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "family.h"
#include "io/image.h"

// The passes of a step: one transformer forward each per job (an item of the run), with the
// prompt its kind takes (uncond: the negative prompt; the others: the prompt) and, for the last
// two, the model called another way (family.h's BR_MODE_*): spatio-temporal guidance's perturbed
// blocks, the modality-isolated call.
typedef enum { BR_PASS_UNCOND, BR_PASS_COND, BR_PASS_PERTURBED, BR_PASS_ISOLATED } br_pass;
enum { BR_MAX_PASSES = 4 };

// The BR_MODE_* of the micro-batch that carries a pass.
static inline unsigned br_pass_mode(br_pass p) {
    return p == BR_PASS_PERTURBED ? BR_MODE_PERTURBED : p == BR_PASS_ISOLATED ? BR_MODE_ISOLATED : 0;
}

// The guidance settings of a request: classifier-free guidance's scale and rescale, and where a
// family has them, spatio-temporal guidance's and modality guidance's scales, and the same four
// for an audio stream (LTX-2).
typedef struct {
    float scale, rescale, stg, modality;
    float audio_scale, audio_rescale, audio_stg, audio_modality;
} br_guidance;

// What a request asks for: sizes in pixels (0: the family's default, which geometry() fills in),
// and the images it conditions on, read on rank 0 (an edit's references).
typedef struct {
    int height, width, frames;
    double frame_rate;
    int n_images;
    const br_image *images;
    double image_area; // the area a reference is resized to for the VAE (the pipeline's 1024^2)
    const br_guidance *guidance;
    const char *recipe;  // --recipe: the family's name of a way to run (NULL: its default)
    uint64_t stg_blocks; // the blocks spatio-temporal guidance perturbs (bit i: block i); 0: the
                         // family's default
} br_run_request;

typedef struct {
    size_t tile_bytes;          // device memory one tile's decode may take (0: the whole grid)
    float timestep;             // for timestep-conditioned decoders
    float noise_scale;          // noise mixed into the latents before such a decode
    uint64_t seed;              // of that noise
    int frames, height, width;  // the output the request asked for (checked)
} br_decode_settings;

typedef struct br_text_sink br_text_sink; // text/text_encoder.h
typedef struct br_decoder br_decoder; // a family's decoder, loaded
typedef struct br_sound br_sound;     // a family's sound decoders, loaded
typedef struct {
    int n_tiles;             // tiles per job
    size_t input_floats;     // the decoder's input of one job
    size_t most_tile_floats; // pixels of the largest tile
    int frames, height, width;
} br_decode_shape;

struct br_recipe {
    int default_steps;
    br_guidance default_guidance; // what a request leaves unset
    // Other defaults for a --recipe (NULL, or returning NULL: default_guidance).
    const br_guidance *(*guidance_for)(const char *recipe);
    int max_images;   // the most --image it takes (0: none, a text-to-video model)
    int image_output; // 1: one PNG per job (an image model); 0: a folder of frames and an mp4
    // The geometry of a request (rank 0), its default sizes filled in; refuses what the model
    // cannot take, naming the setting.
    br_status (*geometry)(const br_model *m, br_run_request *req, br_geometry *g);
    // Rank 0: the conditioning of the request's images, by the VAE of folder dir on be (freed
    // before it returns): cond[held + R, C], the values of the geometry's held tokens, then the
    // R tokens after the latents (an edit's references); NULL when the family conditions on none.
    br_status (*encode)(const br_model *m, const char *dir, br_backend *be,
                        const br_run_request *req, const br_geometry *g, float *cond);
    // A run in stages (NULL: one stage). stages: how many the request asks for (LTX-2.3's
    // distilled recipe: 2, half size then full size), or -1 after br_fail (an unknown --recipe);
    // stage_request: stage s's sizes from the request's, and its own sigmas where it has them
    // (*steps of them; 0: the scheduler's for --steps); next_stage (rank 0, host): the n jobs'
    // latents after stage s, from [n, S_from, C] of geometry `from`, into the start of stage
    // s + 1, to [n, S_to, C] (the distilled recipe: upsampled, then noised at sigma with draws
    // of seed, or with noise [noise_rows: n or 1, S_to, C] where given).
    int (*stages)(const br_run_request *req);
    br_status (*stage_request)(const br_model *m, int s, br_run_request *req, float *sigmas,
                               int *steps);
    br_status (*next_stage)(const br_model *m, br_backend *be, const br_geometry *from, const float *x_from, const br_geometry *to,
                            float *x_to, int n, float sigma, uint64_t seed, const float *noise,
                            int noise_rows);
    // Prompts as text (brigade's text encoder; NULL: embeddings files only): the sink that folds
    // the encoder's hidden states [k0, k1), the ones this rank makes, into what the family's
    // prompt starts from (LTX-2.3: the connectors' projections in), *width floats a token; with
    // m->text_projected, embed_prompt then takes those rows as the prompt.
    int text_tokens; // prompts as text: the pipeline's length (prompts are cut and padded to it)
    br_status (*text_sink_open)(const br_model *m, br_backend *be, int k0, int k1, int max_tokens,
                                br_text_sink *sink, int *width);
    void (*text_sink_close)(br_backend *be, br_text_sink *sink);
    // The timestep the transformer takes at sigma, and an item's step values at that timestep
    // (NULL: every one of the geometry's step values is the timestep).
    float (*timestep)(float sigma, int num_train_timesteps);
    void (*step_values)(const br_geometry *g, float timestep, float *values);
    // The passes of each step for these settings, in item order; their count.
    int (*passes)(const br_guidance *gs, br_pass *pass);
    // With more than one pass: the guided prediction v[S*C] from the passes' predictions
    // pred[k][S*C], k in the order of passes() (v may alias pred[0]), at the step's sigma from the
    // job's latents x[S*C].
    void (*guide)(const br_model *m, const br_geometry *g, const br_guidance *gs, float sigma,
                  const float *x, float *v, const float *const *pred);

    // The decoder of folder dir on be, planned for the geometry; its shape out.
    br_status (*decoder_open)(const br_model *m, const char *dir, br_backend *be,
                              const br_geometry *g, const br_decode_settings *s, br_decoder **d,
                              br_decode_shape *shape);
    // Rank 0: the decoder's input of job `job` from its final packed latents [S, C].
    br_status (*decoder_input)(br_decoder *d, const float *latents, int job, float *input);
    size_t (*tile_floats)(const br_decoder *d, int tile);
    // Any rank: tile `tile` of the input into pixels (host).
    br_status (*decode_tile)(br_decoder *d, br_backend *be, const float *input, int tile,
                             float *pixels);
    // Rank 0, in tile order: the tile blended into video [3, frames, height, width]; then the
    // finish (the blend's normalisation). The video is about [-1, 1].
    void (*blend_tile)(br_decoder *d, int tile, const float *pixels, float *video);
    br_status (*blend_finish)(br_decoder *d, float *video);
    // A family's sound (NULL: none), on rank 0: its decoders opened once for the run, then after
    // each job's frames the waveform of its final latents [S, C], wave [channels, samples]
    // (malloc'd), at *rate per second.
    br_status (*sound_open)(const br_model *m, const br_geometry *g, br_sound **s);
    br_status (*sound)(br_sound *s, const float *latents, float **wave, int *channels,
                       long *samples, int *rate);
    void (*sound_close)(br_sound *s);
    void (*decoder_close)(br_decoder *d, br_backend *be);
};

#endif
