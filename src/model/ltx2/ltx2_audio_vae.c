// ltx2_audio_vae.c: see ltx2_audio_vae.h; LTX2AudioDecoder.forward op by op, channels-last, and
// the pipeline's de-normalisation and unpacking of the audio latents.
#include "ltx2_audio_vae.h"

#include <stdlib.h>
#include <string.h>

#include "kernels_cpu.h"
#include "ltx2_conv_rows.h"

static const float NORM_EPS = 1e-6f; // LTX2AudioPixelNorm's, as the decoder builds it

// The buffers of one decode, each of the largest padded activation.
typedef struct {
    float *x;       // [T, F, C] the stream
    float *h;       // the shortcut; the upsampler's doubled image
    float *pad;     // a convolution's zero-padded input [T + 2, F + 2, C_in]
    float *scratch; // the convolutions' im2col tiles
} vae_run;

typedef struct {
    const float *pad;
    int rows, cols, C, W; // the padded input's size, the output's width
} gather_2d;

static void gather(const void *ctx, float *out, int row0, int n_rows) {
    const gather_2d *g = ctx;
    cpu_im2col_2d(out, g->pad, g->rows, g->cols, g->C, 1, 0, g->W, row0, n_rows);
}

// y[T, W, C_out] = conv(x[T, W, C_in]) (y may be x: the input is copied into r->pad first).
// A 3x3 is LTX2AudioCausalConv2d on the time axis: two zero rows before, none after, one zero
// column on each side; a 1x1 a plain product.
static void conv(vae_run *r, const ltx2_audio_conv *cv, const float *x, int T, int W, float *y) {
    const int C = cv->c_in, Wp = W + 2;
    if (cv->taps == 1) {
        cpu_linear(y, x, cv->w, cv->b, T * W, C, cv->c_out);
        return;
    }
    const size_t row = (size_t)Wp * C, px = (size_t)C * sizeof(float);
    memset(r->pad, 0, 2 * row * sizeof(float));
    for (int t = 0; t < T; t++) {
        float *p = r->pad + (size_t)(t + 2) * row;
        memset(p, 0, px);
        memcpy(p + C, x + (size_t)t * W * C, (size_t)W * px);
        memset(p + (size_t)(W + 1) * C, 0, px);
    }
    const gather_2d g = {r->pad, T + 2, Wp, C, W};
    ltx2_conv_rows(y, T * W, 9 * C, cv->c_out, cv->w, cv->b, gather, &g, r->scratch);
}

// The pixel norm, then SiLU, on x[T*W, C].
static void norm_silu(float *x, int pixels, int C) {
    cpu_rms_norm(x, NULL, pixels, C, NORM_EPS);
    cpu_silu(x, (size_t)pixels * C);
}

// x[T, W, C_in] -> x[T, W, C_out]: LTX2AudioResnetBlock (dropout is the identity at inference).
static void res_block(vae_run *r, const ltx2_audio_res *b, int T, int W) {
    const int pixels = T * W;
    if (b->c_in != b->c_out) conv(r, &b->shortcut, r->x, T, W, r->h);
    else memcpy(r->h, r->x, (size_t)pixels * b->c_in * sizeof(float));
    norm_silu(r->x, pixels, b->c_in);
    conv(r, &b->conv1, r->x, T, W, r->x);
    norm_silu(r->x, pixels, b->c_out);
    conv(r, &b->conv2, r->x, T, W, r->x);
    for (size_t i = 0, n = (size_t)pixels * b->c_out; i < n; i++) r->x[i] += r->h[i];
}

// LTX2AudioUpsample: x[T, W, C] -> x[2T - 1, 2W, C] (nearest x2, the causal conv, its first row
// dropped).
static void upsample(vae_run *r, const ltx2_audio_conv *cv, int *T, int *W) {
    const int C = cv->c_in;
    cpu_upsample_nearest2(r->h, r->x, *T, *W, C);
    *T *= 2, *W *= 2;
    conv(r, cv, r->h, *T, *W, r->h);
    *T -= 1;
    memcpy(r->x, r->h + (size_t)*W * C, (size_t)*T * *W * C * sizeof(float));
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

// The largest activation (floats) of a decode of L frames, each counted with a convolution's
// padding, walking the decoder's shapes.
static size_t largest(const ltx2_audio_vae *vae, int L) {
    const ltx2_audio_vae_config *cfg = &vae->cfg;
    size_t T = (size_t)L, W = (size_t)cfg->latent_mel_bins, c = (size_t)vae->conv_in.c_out;
#define CELLS ((T + 2) * (W + 2))
    size_t most = CELLS * max_size(c, (size_t)cfg->latent_channels);
    for (int i = 0; i < cfg->levels; i++) {
        const size_t out = (size_t)cfg->base_channels * cfg->ch_mult[cfg->levels - 1 - i];
        most = max_size(most, CELLS * max_size(c, out));
        c = out;
        if (i == cfg->levels - 1) break;
        T *= 2, W *= 2;
        most = max_size(most, CELLS * c);
        T -= 1;
    }
    return max_size(most, CELLS * (size_t)cfg->output_channels);
#undef CELLS
}

static int widest_input(const ltx2_audio_vae *vae) {
    int c = vae->conv_in.c_in;
    for (int i = 0; i < vae->cfg.levels * (vae->cfg.num_res_blocks + 1); i++)
        c = vae->blocks[i].c_in > c ? vae->blocks[i].c_in : c;
    return vae->mid[0].c_in > c ? vae->mid[0].c_in : c;
}

int ltx2_audio_vae_frames(const ltx2_audio_vae *vae, int L) {
    (void)vae; // the reference's LATENT_DOWNSAMPLE_FACTOR 4, whatever the levels
    return 4 * L - 3 > 1 ? 4 * L - 3 : 1;
}

void ltx2_audio_vae_unpack(const ltx2_audio_vae *vae, const float *packed, int L,
                           float *latents) {
    const int C = vae->cfg.latent_channels, M = vae->cfg.latent_mel_bins;
    for (int c = 0; c < C; c++)
        for (int l = 0; l < L; l++)
            for (int m = 0; m < M; m++) {
                const int f = c * M + m;
                const float scaled = packed[(size_t)l * C * M + f] * vae->latents_std[f];
                latents[((size_t)c * L + l) * M + m] = scaled + vae->latents_mean[f];
            }
}

br_status ltx2_audio_vae_decode(const ltx2_audio_vae *vae, const float *latents, int L,
                                float *mel) {
    const ltx2_audio_vae_config *cfg = &vae->cfg;
    const int C = cfg->latent_channels, M = cfg->latent_mel_bins, out = cfg->output_channels;
    if (L < 1 || L > 1 << 16) // 2^16 latent frames: 44 minutes at 25 per second
        return br_fail(BR_EINPUT, "the audio VAE decodes 1..65536 latent frames, not %d", L);
    const size_t most = largest(vae, L), scratch = ltx2_conv_rows_scratch(9 * widest_input(vae));
    vae_run r;
    float *block = malloc((3 * most + scratch) * sizeof(float));
    if (!block)
        return br_fail(BR_ENOMEM, "out of memory for the audio VAE's activations (%d latent "
                       "frames)", L);
    r.x = block, r.h = block + most, r.pad = block + 2 * most, r.scratch = block + 3 * most;
    for (int c = 0; c < C; c++) // x[l, m, c] = latents[c, l, m]
        for (int p = 0; p < L * M; p++) r.h[(size_t)p * C + c] = latents[(size_t)c * L * M + p];
    int T = L, W = M;
    conv(&r, &vae->conv_in, r.h, T, W, r.x);
    res_block(&r, &vae->mid[0], T, W); // mid.attn_1 is the identity (no attention)
    res_block(&r, &vae->mid[1], T, W);
    const int per_level = cfg->num_res_blocks + 1;
    for (int i = 0; i < cfg->levels; i++) {
        for (int b = 0; b < per_level; b++) res_block(&r, &vae->blocks[i * per_level + b], T, W);
        if (i < cfg->levels - 1) upsample(&r, &vae->upsample[i], &T, &W);
    }
    norm_silu(r.x, T * W, vae->conv_out.c_in);
    conv(&r, &vae->conv_out, r.x, T, W, r.h);
    const int frames = ltx2_audio_vae_frames(vae, L), F = cfg->mel_bins;
    for (int c = 0; c < out; c++) // cut to [frames, F], zeros where the decoder fell short
        for (int t = 0; t < frames; t++)
            for (int f = 0; f < F; f++)
                mel[((size_t)c * frames + t) * F + f] =
                    t < T && f < W ? r.h[((size_t)t * W + f) * out + c] : 0.0f;
    free(block);
    return BR_OK;
}
