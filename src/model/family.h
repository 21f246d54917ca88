// family.h: the seam between the pipeline (src/stage, src/sched) and the model families
// (src/model/<family>/). A family says what its transformer needs as data: the geometry of a
// forward (token counts and grids), the baton as a list of named slots, the per-prompt tensors
// broadcast once, the tables every rank builds; and it offers functions over that data: config,
// weights by part, input side, block, output side, and for `brigade run` a recipe (latent grid,
// timestep, guidance formula, decoder). The stage and the scheduler move the slots and call the
// functions without knowing what the tensors are, so that no code there names a family.
// Legend: n items of a micro-batch (CFG halves of jobs, or a forward's batch), S latent tokens,
// L prompt tokens.
#ifndef BR_FAMILY_H
#define BR_FAMILY_H

#include <stdlib.h>

#include "core/backend.h"
#include "core/tensor_set.h"
#include "io/checkpoint.h"

enum { BR_MAX_SLOTS = 8, BR_MAX_GRIDS = 8 };

// The sizes of one forward, derived by the family from its inputs (`brigade forward`) or from
// the settings (`brigade run`); plain data, which rank 0 broadcasts as bytes.
typedef struct {
    int tokens;                // S: latent tokens in the model's sequence
    int text_tokens;           // L: prompt tokens
    int n_grids;               // images or videos in the latent sequence, in order
    int grid[BR_MAX_GRIDS][3]; // (frames, height, width) of each, in tokens
    float pos_scale[3];        // positions' scale per axis (LTX-Video's rope_interpolation_scale)
    int latent_tokens;         // the tokens being denoised: the first of the sequence (the rest,
                               // an edit's reference images, condition them); the sigma shift
                               // counts these, or shift_tokens when that is set
    int shift_tokens;          // 0, or what the sigma shift counts instead (LTX-2: the video's)
    int held_tokens;           // the first latent tokens the conditioning gives and holds (an
                               // image-to-video's first frame): their velocity is 0
    int step_values;           // values per item of the step's input (timestep): 1, or more
                               // where the family takes several (LTX-2: per-token timesteps,
                               // the audio's, sigma)
    int prompt_masks;          // masks per item of the prompt: 1, or one per text stream
    float frame_rate;          // of a video, where the positions count seconds (LTX-2)
    unsigned options;          // the family's own switches for this forward
    uint64_t perturbed_blocks; // the blocks a perturbed pass perturbs (bit i: block i)
} br_geometry;

// The micro-batch's pass, beyond cond and uncond (which differ in their prompt only): bits.
enum {
    BR_MODE_PERTURBED = 1, // spatio-temporal guidance: the geometry's perturbed blocks skip
                           // their self-attention's scores (LTX-2.3)
    BR_MODE_ISOLATED = 2,  // the streams do not attend to each other (LTX-2.3's modality pass)
};

// A named tensor of a micro-batch: rows x cols floats per item (a table: in all). rows 0 means a
// vector [cols]; dumps are [n, rows, cols] or [n, cols] (a table: [rows, cols], or per item).
typedef struct {
    const char *name;       // what it holds, for messages
    int rows, cols;
    int stream;             // baton only: the blocks update it (guarded and dumped per block)
    const char *dump;       // --dump-blocks: its name after the input side (NULL: not written)
    const char *block_dump; // streams: printf pattern of its name after block i
    int dump_per_item;      // tables: the dump repeats the table for each item
} br_slot;

typedef struct {
    int n_baton, n_prompt, n_table;
    br_slot baton[BR_MAX_SLOTS];  // rank to rank with each micro-batch: the streams the blocks
                                  // update, and the values of the step riding along with them
    br_slot prompt[BR_MAX_SLOTS]; // per item, made once per prompt on rank 0, broadcast once
    br_slot table[BR_MAX_SLOTS];  // the same for every item: each rank builds its own
} br_layout;

// A micro-batch as the family's functions see it: device views, slot k of the layout at [k].
typedef struct {
    int n;
    const br_geometry *geom;
    unsigned flags;              // what embed_prompt said of the prompts (the family's bits),
                                 // known to every rank
    unsigned mode;               // BR_MODE_* of this micro-batch
    float *baton[BR_MAX_SLOTS];  // [n, rows, cols] each
    float *prompt[BR_MAX_SLOTS]; // [n, rows, cols] each
    float *table[BR_MAX_SLOTS];  // [rows, cols] each
} br_batch;

// One forward's inputs, as the family found them in a file (rank 0, host; views into the set,
// to which the family may add tensors of its own, e.g. two streams' latents packed into one).
typedef struct {
    int B;
    const float *latents;  // [B, S, in_channels]
    const float *timestep; // [B, step_values], as the model takes it
    const float *prompt;   // [B, L, text_channels]
    const float *mask;     // [B, prompt_masks, L] 1 keep, 0 masked; NULL: every token kept
    unsigned mode;         // BR_MODE_* of the forward
} br_forward_inputs;

// A named part of the output sequence [B, S, out_channels]: its tokens [first, first + tokens).
typedef struct {
    const char *name;
    int first, tokens;
} br_output_part;

typedef struct br_family br_family;
typedef struct br_recipe br_recipe;

// An opened transformer: its family, its checkpoint, its parsed config and the sizes the
// pipeline needs.
typedef struct br_model {
    const br_family *family;
    char config_path[4200]; // DIR/config.json, or random:NAME: what errors name
    char pipeline_dir[4200]; // the pipeline folder it was opened from (model_index.json), or ""
    br_checkpoint ck;
    void *cfg;         // the family's config (malloc'd)
    int layers;        // transformer blocks
    int in_channels;   // packed latent features per token, in
    int out_channels;  // packed features of the prediction, out
    int text_channels; // width of the prompt embeddings
    int text_projected; // the prompts come from brigade's text encoder, already through the
                        // family's text projection (recipe.h: text_sink_open), text_channels
                        // wide; set by the run before any load
} br_model;

struct br_family {
    const char *name;       // "LTX-Video"
    const char *classes[8]; // the _class_name values it takes (transformer, pipelines), NULL-ended
    const char *presets;    // names of its random:NAME sizes, for messages
    // config.json -> m->cfg and the sizes of m (path names the file in errors).
    br_status (*parse)(br_model *m, const cJSON *json, const char *path);
    cJSON *(*preset)(const char *name); // the config of random:NAME, NULL when not its own
    // Refuses, before any weight is loaded, what this device cannot run (a head too wide).
    br_status (*check_device)(const br_model *m, const br_backend *be);

    // `brigade forward`: checks the inputs read from path (or made from a "random:..." spec)
    // and finds the geometry and the tensors in them; mode (NULL: the plain call) names one of
    // the family's other calls, whose inputs the file holds under names of their own.
    br_status (*random_inputs)(const br_model *m, const char *spec, br_tensor_set *set);
    br_status (*forward_inputs)(const br_model *m, br_tensor_set *set, const char *path,
                                const char *mode, br_geometry *g, br_forward_inputs *in);
    // The output's parts and their names (NULL: one part, "sample"); returns how many (<= 4).
    int (*output_parts)(const br_model *m, const br_geometry *g, br_output_part parts[4]);
    void (*layout)(const br_model *m, const br_geometry *g, br_layout *l);
    double (*flops)(const br_model *m, const br_geometry *g, int n); // of one forward of n items

    // Weights by part: the input side (first rank), block i, the output side (last rank). Each
    // free is safe on what a failed load left.
    br_status (*load_input)(br_model *m, br_backend *be, void **w);
    br_status (*load_block)(br_model *m, br_backend *be, int i, void **w);
    br_status (*load_output)(br_model *m, br_backend *be, void **w);
    void (*free_input)(br_backend *be, void *w);
    void (*free_block)(br_backend *be, void *w);
    void (*free_output)(br_backend *be, void *w);

    // Scratch for micro-batches of up to n items; the tables (RoPE) into the batch's views.
    br_status (*workspace_alloc)(const br_model *m, br_backend *be, const br_geometry *g, int n,
                                 void **ws);
    void (*workspace_free)(br_backend *be, void *ws);
    br_status (*tables)(const br_model *m, br_backend *be, const br_batch *b);

    // Input side, once per prompt: the prompt slots from prompt[n, L, text_channels] (device)
    // and mask[n, L] (host, NULL: all kept), and *flags, which the scheduler hands every rank
    // with the slots (e.g. whether any key is masked at all).
    br_status (*embed_prompt)(const br_model *m, br_backend *be, const void *w,
                              const br_batch *b, void *ws, const float *prompt,
                              const float *mask, unsigned *flags);
    // Input side, each step: the baton slots from latents[n, S, in_channels] and timestep[n]
    // (device).
    void (*embed_latents)(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                          void *ws, const float *latents, const float *timestep);
    void (*block)(const br_model *m, br_backend *be, const void *w, const br_batch *b, void *ws);
    // Output side: out[n, S, out_channels] (device).
    void (*output_side)(const br_model *m, br_backend *be, const void *w, const br_batch *b,
                        void *ws, float *out);

    const br_recipe *recipe; // `brigade run`; NULL: not yet (forward only)
};

// A part of a family's (weights by part, a workspace): a zeroed struct of `size` bytes in *p.
static inline br_status br_new_part(void **p, size_t size) {
    *p = calloc(1, size);
    return *p ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
}

// The families brigade knows, NULL-ended.
extern const br_family *const br_families[];

// Opens a transformer: a diffusers folder (config.json; or a pipeline folder, whose
// model_index.json names the family and whose transformer/ is opened) or random:NAME (random
// weights of a preset size). The family comes from _class_name; an unknown one is one error line
// naming the file and the classes brigade knows.
br_status br_model_open(const char *dir, br_model *m);
// Random weights of preset `name` of any family, drawn from seed.
br_status br_model_random(const char *name, uint64_t seed, br_model *m);
void br_model_close(br_model *m);
// Floats per item of the slots (a table: in all) and of the baton.
size_t br_slot_floats(const br_slot *s);
size_t br_baton_floats(const br_layout *l);

#endif
