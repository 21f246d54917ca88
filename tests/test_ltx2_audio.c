// test_ltx2_audio.c: LTX-2's audio decoders on the CPU (src/model/ltx2/ltx2_audio_vae.c,
// ltx2_vocoder.c and their parts) against diffusers (../shared/fixtures/ltx2-tiny: audio_vae/,
// vocoder/ (LTX2VocoderWithBWE), vocoder-2.0/ (LTX2Vocoder); case_vae, case_vocoder,
// case_pipeline). Each tensor within 1e-4 of its scale (max abs error / max |want|): fp32 sums of
// a few hundred terms in another order, through a dozen layers, stay far below. Each part of the
// 2.3 vocoder is also checked on the reference's own input, so a failure says which. Then the
// pipeline's de-normalisation, the configs' refusals and a tensor of the wrong shape, each in
// one line.
// Usage: test_ltx2_audio FIXTURES
#define _POSIX_C_SOURCE 200809L // mkdtemp, symlink
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "io/tensor_file.h"
#include "model/ltx2/ltx2_audio_vae.h"
#include "model/ltx2/ltx2_vocoder.h"

static const double BOUND = 1e-4;

static const float *data(const br_tensor_set *set, const char *name) {
    const br_tensor *t = br_set_find(set, name);
    CHECK(t != NULL);
    return t ? t->data : NULL;
}

static int read_case(const char *fixtures, const char *file, br_tensor_set *set) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ltx2-tiny/%s", fixtures, file);
    memset(set, 0, sizeof *set);
    return CHECK(br_tensor_file_read(path, set) == BR_OK);
}

// audio_latents [1, C, L, M] of the case -> mel, against the case's mel.
static void decode_case(const ltx2_audio_vae *vae, const char *fixtures, const char *file) {
    br_tensor_set set;
    if (!read_case(fixtures, file, &set)) return;
    const br_tensor *lat = br_set_find(&set, "audio_latents");
    if (CHECK(lat && lat->ndim == 4)) {
        const int L = (int)lat->shape[2], T = ltx2_audio_vae_frames(vae, L);
        const size_t n = (size_t)vae->cfg.output_channels * T * vae->cfg.mel_bins;
        float *mel = malloc(n * sizeof(float));
        CHECK_OK(ltx2_audio_vae_decode(vae, lat->data, L, mel));
        char what[64];
        snprintf(what, sizeof what, "audio VAE, %s, %d latent frames", file, L);
        check_close(&set, "mel", mel, n, BOUND, what);
        free(mel);
    }
    br_set_free(&set);
}

// The pipeline's de-normalisation: unpack(normalise(x)) gives x back to a few fp32 roundings.
static void unpack_case(const ltx2_audio_vae *vae, const char *fixtures) {
    br_tensor_set set;
    if (!read_case(fixtures, "case_pipeline.safetensors", &set)) return;
    const br_tensor *packed = br_set_find(&set, "audio_latents_start");
    if (CHECK(packed && packed->ndim == 3)) {
        const int L = (int)packed->shape[1];
        const size_t n = (size_t)L * packed->shape[2];
        float *latents = malloc(n * sizeof(float));
        ltx2_audio_vae_unpack(vae, packed->data, L, latents);
        check_close(&set, "audio_latents_in", latents, n, 1e-6, "unpack of audio_latents_start");
        free(latents);
    }
    br_set_free(&set);
}

static void test_audio_vae(const char *fixtures) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/audio_vae", fixtures);
    ltx2_audio_vae vae;
    if (!CHECK(ltx2_audio_vae_open(dir, &vae) == BR_OK)) return;
    decode_case(&vae, fixtures, "case_vae.safetensors");
    decode_case(&vae, fixtures, "case_vocoder.safetensors");
    unpack_case(&vae, fixtures);
    CHECK_FAILS(ltx2_audio_vae_decode(&vae, NULL, 0, NULL), "latent frames", "not 0");
    ltx2_audio_vae_free(&vae);
}

// LTX-2.3's parts on the reference's inputs, then the whole vocoder on the mel.
static void test_vocoder_bwe(const char *fixtures, const br_tensor_set *set) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vocoder", fixtures);
    ltx2_vocoder voc;
    const float *mel = data(set, "mel"), *low = data(set, "vocoder_waveform_16k");
    const float *bwe_mel = data(set, "bwe_mel");
    if (!mel || !low || !bwe_mel || !CHECK(ltx2_vocoder_open(dir, &voc) == BR_OK)) return;
    const int T = 13, N = ltx2_generator_samples(&voc.vocoder, T), S = 2, B = voc.stft.mels;
    const int frames = ltx2_mel_stft_frames(&voc.stft, N), out = ltx2_vocoder_samples(&voc, T);
    CHECK(N == 2080 && frames == 26 && out == 6240 && ltx2_vocoder_rate(&voc) == 48000);
    float *buf = malloc((size_t)S * out * sizeof(float));
    CHECK_OK(ltx2_generator_run(&voc.vocoder, mel, S, T, 16, buf));
    check_close(set, "vocoder_waveform_16k", buf, (size_t)S * N, BOUND, "vocoder/ first generator");
    for (int s = 0; s < S; s++)
        CHECK_OK(ltx2_mel_stft_run(&voc.stft, low + (size_t)s * N, N, buf + (size_t)s * frames * B));
    check_close(set, "bwe_mel", buf, (size_t)S * frames * B, BOUND, "vocoder/ mel STFT");
    CHECK_OK(ltx2_generator_run(&voc.bwe, bwe_mel, S, frames, B, buf));
    check_close(set, "bwe_residual", buf, (size_t)S * out, BOUND, "vocoder/ extender");
    check_close(set, "resampler_filter", voc.resampler.filter, (size_t)voc.resampler.taps, BOUND,
            "vocoder/ x3 resampler");
    for (int s = 0; s < S; s++)
        ltx2_upsample(&voc.resampler, low + (size_t)s * N, N, 1, buf + (size_t)s * out);
    check_close(set, "resampler_skip", buf, (size_t)S * out, BOUND, "vocoder/ x3 resampler");
    CHECK_OK(ltx2_vocoder_run(&voc, mel, S, T, 16, buf));
    check_close(set, "waveform", buf, (size_t)S * out, BOUND, "vocoder/ 48 kHz");
    free(buf);
    ltx2_vocoder_free(&voc);
}

static void test_vocoder_2_0(const char *fixtures, const br_tensor_set *set) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ltx2-tiny/vocoder-2.0", fixtures);
    ltx2_vocoder voc;
    const float *mel = data(set, "mel");
    if (!mel || !CHECK(ltx2_vocoder_open(dir, &voc) == BR_OK)) return;
    const int out = ltx2_vocoder_samples(&voc, 13);
    CHECK(out == 3120 && ltx2_vocoder_rate(&voc) == 24000);
    float *wave = malloc((size_t)2 * out * sizeof(float));
    CHECK_OK(ltx2_vocoder_run(&voc, mel, 2, 13, 16, wave));
    check_close(set, "waveform_2_0", wave, (size_t)2 * out, BOUND, "vocoder-2.0/ 24 kHz");
    CHECK_FAILS(ltx2_vocoder_run(&voc, mel, 2, 13, 8, wave), "mel channels x bins = 32", "2 x 8");
    free(wave);
    ltx2_vocoder_free(&voc);
}

static void vae_rejects(const char *json_text, const char *want) {
    cJSON *json = cJSON_Parse(json_text);
    ltx2_audio_vae_config cfg;
    CHECK_FAILS(ltx2_audio_vae_config_parse(&cfg, json, "audio_vae/config.json"),
                "audio_vae/config.json", want);
    cJSON_Delete(json);
}

static void vocoder_rejects(const char *json_text, const char *want) {
    cJSON *json = cJSON_Parse(json_text);
    ltx2_vocoder_config cfg;
    CHECK_FAILS(ltx2_vocoder_config_parse(&cfg, json, "vocoder/config.json"),
                "vocoder/config.json", want);
    cJSON_Delete(json);
}

static void test_config(void) {
    vae_rejects("{\"_class_name\": \"AutoencoderKLLTX2Video\"}", "AutoencoderKLLTX2Audio");
    vae_rejects("{\"norm_type\": \"group\"}", "norm_type");
    vae_rejects("{\"causality_axis\": \"width\"}", "causality_axis");
    vae_rejects("{\"causality_axis\": null}", "causality_axis");
    vae_rejects("{\"attn_resolutions\": [64]}", "attn_resolutions");
    vae_rejects("{\"mid_block_add_attention\": true}", "mid_block_add_attention");
    vae_rejects("{\"base_channels\": 64}", "base_channels");
    vae_rejects("{\"ch_mult\": [1, 0]}", "ch_mult");
    vocoder_rejects("{\"in_channels\": 8}", "_class_name");
    vocoder_rejects("{\"_class_name\": \"LTX2Vocoder\", \"act_fn\": \"snake\"}", "snake");
    vocoder_rejects("{\"_class_name\": \"LTX2VocoderWithBWE\", \"antialias\": false}",
                    "antialias");
    vocoder_rejects("{\"_class_name\": \"LTX2Vocoder\", \"antialias\": true}", "antialias");
    vocoder_rejects("{\"_class_name\": \"LTX2Vocoder\", \"upsample_factors\": [2, 2]}",
                    "upsample_kernel_sizes");
    vocoder_rejects("{\"_class_name\": \"LTX2VocoderWithBWE\", \"bwe_in_channels\": 64}",
                    "bwe_in_channels");
    vocoder_rejects("{\"_class_name\": \"LTX2Vocoder\", \"final_act_fn\": \"sigmoid\"}",
                    "final_act_fn");
}

// A folder of config_text and a link to folder's weights (the tiny checkpoint), in tmp.
static int fake_folder(char *tmp, const char *fixtures, const char *folder,
                       const char *config_text) {
    char path[4300], target[4300];
    strcpy(tmp, "/tmp/test_ltx2_audio.XXXXXX");
    if (!CHECK(mkdtemp(tmp) != NULL)) return 0;
    snprintf(path, sizeof path, "%s/config.json", tmp);
    FILE *f = fopen(path, "w");
    if (!CHECK(f != NULL)) return 0;
    fputs(config_text, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", tmp);
    snprintf(target, sizeof target, "%s/ltx2-tiny/%s/diffusion_pytorch_model.safetensors",
             fixtures, folder);
    return CHECK(symlink(target, path) == 0);
}

static void remove_folder(const char *tmp) {
    char path[4300];
    snprintf(path, sizeof path, "%s/config.json", tmp);
    unlink(path);
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", tmp);
    unlink(path);
    rmdir(tmp);
}

// Configs the tiny checkpoints do not fit: the first tensor that differs is named.
static void test_wrong_shape(const char *fixtures) {
    char tmp[64];
    ltx2_audio_vae vae;
    ltx2_vocoder voc;
    if (fake_folder(tmp, fixtures, "audio_vae", "{\"base_channels\": 8, \"latent_channels\": 2, "
                    "\"mel_bins\": 16, \"num_res_blocks\": 1, \"ch_mult\": [1, 2, 8]}"))
        CHECK_FAILS(ltx2_audio_vae_open(tmp, &vae), "decoder.conv_in.conv.weight",
                    "[32, 2, 3, 3], the config implies [64, 2, 3, 3]");
    remove_folder(tmp);
    if (fake_folder(tmp, fixtures, "vocoder-2.0", "{\"_class_name\": \"LTX2Vocoder\", "
                    "\"in_channels\": 32, \"hidden_channels\": 64}"))
        CHECK_FAILS(ltx2_vocoder_open(tmp, &voc), "\"conv_in.weight\"",
                    "the config implies [64, 32, 7]");
    remove_folder(tmp);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_ltx2_audio FIXTURES\n");
        return 2;
    }
    test_audio_vae(argv[1]);
    br_tensor_set set;
    if (read_case(argv[1], "case_vocoder.safetensors", &set)) {
        test_vocoder_bwe(argv[1], &set);
        test_vocoder_2_0(argv[1], &set);
        br_set_free(&set);
    }
    test_config();
    test_wrong_shape(argv[1]);
    return check_summary();
}
