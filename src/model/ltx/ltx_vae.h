// ltx_vae.h: the decoder of AutoencoderKLLTXVideo and of LTX-2's AutoencoderKLLTX2Video (the
// same network but for the upsamplers' strides: ltx_vae_config.h) on a br_backend, by tiles.
// A decode is a plan of overlapping tiles of the latent grid; each tile is decoded alone (host
// latents in, host pixels out: any rank can decode any tile), and the tiles are blended into
// the video with linear ramps over their overlaps, in plan order, on one host. Untiled is the
// plan of one tile covering the grid: the same code path. The weights live on the backend, the
// activations are channels-last [F, H, W, C] inside a decode (so that the norms, SiLU and the
// linear op apply as they are), and each 3x3x3 convolution is im2col + linear, by chunks of
// output cells so that the im2col workspace stays bounded.
// What it leaves out: the encoder (LTX-2's is src/model/ltx2/ltx2_vae_encoder.h); batches
// (decode one video at a time); the pipeline's mixing of noise into the latents for
// timestep-conditioned decoders (the caller does it).
// Legend: C channels (C_lat latent); F, H, W latent frames, rows, columns; Fo, Ho, Wo video
// frames, rows, columns; p patch size; E a time embedder's width; T = 256 sinusoid channels.
#ifndef BR_LTX_VAE_H
#define BR_LTX_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "io/checkpoint.h"
#include "ltx_vae_config.h"
#include "ltx_vae_conv.h"
#include "nn/linear.h"
#include "nn/timestep.h"

// LTXVideoResnetBlock3d (C_in -> C_out).
typedef struct {
    ltx_vae_conv conv1;           // [C_out, C_in, 3, 3, 3]
    ltx_vae_conv conv2;           // [C_out, C_out, 3, 3, 3]
    float *norm3_weight;          // [C_in]: the shortcut's LayerNorm, when C_in != C_out
    float *norm3_bias;            // [C_in]
    ltx_vae_conv conv_shortcut;   // [C_out, C_in, 1, 1, 1], when C_in != C_out
    float *scale_shift_table;     // [4, C]: shift1, scale1, shift2, scale2 (timestep-conditioned)
    float *per_channel_scale1;    // [C] on the host: gain of the noise after conv1 (inject_noise)
    float *per_channel_scale2;    // [C] on the host: after conv2
} ltx_vae_resnet;

// LTXVideoUpBlock3d.
typedef struct {
    ltx_vae_resnet conv_in;              // when the width changes
    ltx_vae_conv upsampler;              // upsamplers.0.conv: [8 C_out, C_out * factor, 3, 3, 3]
    nn_timestep_embedder time_embedder; // E = 4 C_out
    ltx_vae_resnet *resnets;             // [layers]
} ltx_vae_up;

typedef struct {
    ltx_vae_config cfg;
    ltx_vae_conv conv_in;                 // [C_mid, C_lat, 3, 3, 3]
    nn_timestep_embedder mid_time;       // mid_block.time_embedder: E = 4 C_mid
    ltx_vae_resnet *mid_resnets;          // [mid_layers]
    ltx_vae_up up[LTX_VAE_MAX_BLOCKS];    // [n_blocks], the decoder's order
    nn_timestep_embedder time_embedder;  // E = 2 C_final
    float *scale_shift_table;             // [2, C_final]: shift, scale after norm_out
    ltx_vae_conv conv_out;                // [3 p^2, C_final, 3, 3, 3], outputs reordered for
                                          // depth_to_space (see ltx_vae_weights.c)
    float timestep_scale_multiplier;      // host: decode_timestep is scaled by it (1000)
    float *latents_mean, *latents_std;    // [C_lat] host: the pipeline's de-normalisation
} ltx_vae;

// Loads the decoder's weights (decoder.*) onto be and the latent statistics onto the host.
// Errors name the checkpoint file and tensor. ltx_vae_free is safe on a partly loaded vae.
br_status ltx_vae_load(br_backend *be, br_checkpoint *ck, const ltx_vae_config *cfg,
                       ltx_vae *vae);
void ltx_vae_free(br_backend *be, ltx_vae *vae);

// The pipeline's de-normalisation, in place on latents[C_lat, cells] (host, channels first):
// x * std / scaling_factor + mean per channel.
void ltx_vae_denormalize(const ltx_vae *vae, float *latents, size_t cells);

// --- tiles ------------------------------------------------------------------------------------

typedef struct {
    int f0, f1, h0, h1, w0, w1; // latent ranges, half-open
} ltx_vae_tile;

enum { LTX_VAE_MAX_SPLITS = 256 }; // tiles along one axis

// A grid of overlapping tiles: n[a] segments along each axis a (frames, rows, columns). Tile k
// of the plan is segment (k / (n1 n2), k / n2 % n1, k % n2): frames slowest, columns fastest.
typedef struct {
    int F, H, W;                          // the latent grid
    int n[3];                             // segments per axis
    int start[3][LTX_VAE_MAX_SPLITS];     // latent ranges per axis, half-open
    int end[3][LTX_VAE_MAX_SPLITS];
    int n_tiles;                          // n[0] * n[1] * n[2]
} ltx_vae_plan;

// Tiles of at most tile_f x tile_hw x tile_hw latent cells covering F x H x W, neighbours
// overlapping by at least overlap_f / overlap_hw cells (spread evenly). Tiles as large as the
// grid give the one-tile plan. Splitting time needs overlap_f >= 1: a tile's first video frame
// is its first latent frame's last, so without a shared latent frame 7 frames would be missed.
br_status ltx_vae_plan_make(const ltx_vae_config *cfg, int F, int H, int W, int tile_f,
                            int tile_hw, int overlap_f, int overlap_hw, ltx_vae_plan *plan);
// The plan whose tiles each need at most budget_bytes of device memory besides the weights
// (ltx_vae_tile_workspace_bytes) with the least work: the fewest latent cells decoded, overlaps
// counted (on a tie, the larger tiles). One tile when the whole grid fits; fails when none does.
br_status ltx_vae_plan_for_budget(const ltx_vae_config *cfg, int F, int H, int W,
                                  size_t budget_bytes, int overlap_f, int overlap_hw,
                                  ltx_vae_plan *plan);
void ltx_vae_plan_tile(const ltx_vae_plan *plan, int index, ltx_vae_tile *tile);

// Video size of a latent grid: Fo = 1 + 2^nt (F - 1), Ho = H 2^ns p, Wo = W 2^ns p (nt, ns the
// upsamplers doubling time, space: 1 + 8 (F - 1), 32 H, 32 W for LTX-Video and LTX-2).
void ltx_vae_output_size(const ltx_vae_config *cfg, int F, int H, int W, int *Fo, int *Ho,
                         int *Wo);
// How far (in latent cells, on every axis) a tile's cut edge reaches into its pixels: the sum,
// over the decoder's 3x3x3 convolutions, of their radius at their level (1 / 2^level; the larger
// of time's and space's where the upsamplers scale them apart, as LTX-2's do). Pixels
// farther than this from every cut edge of their tile equal the untiled decode's (up to fp32
// summation order); nearer ones depend on the tile's padding, which the blend's overlap hides.
// 9.1 for ltx-tiny/vae, 23.9 for LTX-Video 0.9.0.
double ltx_vae_receptive_radius(const ltx_vae_config *cfg);
// Floats of a decoded tile (3 x its video frames x rows x columns).
size_t ltx_vae_tile_floats(const ltx_vae_config *cfg, const ltx_vae_tile *t);
// Device bytes a decode of a tile of that size allocates (weights excluded), plus the bf16
// conversion scratch that a bf16 backend keeps for its products: an upper bound of the peak.
size_t ltx_vae_tile_workspace_bytes(const ltx_vae_config *cfg, const ltx_vae_tile *t);

// Decodes tile t of latents (host, [C_lat, F, H, W] channels first as diffusers, already
// de-normalised) into pixels (host, [3, Fo_t, Ho_t, Wo_t]: the raw decoder output, about
// [-1, 1], not clamped). decode_timestep matters only to timestep-conditioned decoders,
// noise_seed only to decoders that inject noise: the noise of a pixel is drawn from brigade's
// RNG keyed by (seed, injection, the pixel's position in the whole video), so overlapping
// tiles draw the same noise where they overlap. Fails (BR_ENOMEM) when the workspace does not fit.
br_status ltx_vae_decode_tile(br_backend *be, const ltx_vae *vae, const float *latents, int F,
                              int H, int W, const ltx_vae_tile *t, float decode_timestep,
                              uint64_t noise_seed, float *pixels);

// Blending: video [3, Fo, Ho, Wo] (host) starts zeroed; blend_tile adds tile `index`'s pixels
// weighted by the product over the axes of linear ramps across each overlap with a neighbour
// (weights (j + 1) / (o + 1) up and (o - j) / (o + 1) down over an overlap of o video cells);
// blend_finish divides by the sum of the weights (BR_ENOMEM only: it needs Fo + Ho + Wo floats).
// Called for every tile in plan order, the result depends only on the plan and the decoded
// pixels, not on where they were decoded.
void ltx_vae_blend_tile(const ltx_vae_config *cfg, const ltx_vae_plan *plan, int index,
                        const float *pixels, float *video);
br_status ltx_vae_blend_finish(const ltx_vae_config *cfg, const ltx_vae_plan *plan, float *video);

// Every tile of plan decoded on be and blended into video [3, Fo, Ho, Wo] (host), in plan order.
br_status ltx_vae_decode(br_backend *be, const ltx_vae *vae, const float *latents,
                         const ltx_vae_plan *plan, float decode_timestep, uint64_t noise_seed,
                         float *video);

#endif
