// cmd_init_model.c: `brigade init-model DIR`: a tiny model with random weights, written in the
// diffusers layout users download: LTX-Video's transformer/, vae/, scheduler/ and random prompt
// embeddings, so that the whole pipeline runs on any machine in seconds; or Qwen-Image's
// transformer/ and the inputs of one forward. The weights' names and
// shapes come from brigade's own loaders (a random checkpoint records what they ask for), so the
// folder holds exactly what `brigade run` reads. One process, no MPI.
#define _POSIX_C_SOURCE 200809L // mkdir
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "core/rng.h"
#include "io/checkpoint.h"
#include "io/remove_tree.h"
#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "model/family.h"
#include "model/ltx/ltx_vae.h"
#include "model/ltx2/ltx2_audio_vae.h"
#include "model/ltx2/ltx2_connectors.h"
#include "model/ltx2/ltx2_upsampler.h"
#include "model/ltx2/ltx2_vae_encoder.h"
#include "model/ltx2/ltx2_vocoder.h"

const char br_init_model_help[] =
    "usage: brigade init-model DIR [--family ltx-video|qwen-image|ltx-2.3] [--seed N]\n"
    "\n"
    "Writes a tiny model with random weights in the diffusers layout. LTX-Video (the default):\n"
    "  DIR/transformer/  LTXVideoTransformer3DModel, 8 blocks, 4 heads x 16, 16 latent channels\n"
    "  DIR/vae/          AutoencoderKLLTXVideo (0.9.0 layout), 16 latent channels, x32 / x8\n"
    "  DIR/scheduler/    FlowMatchEulerDiscreteScheduler as LTX-Video ships it\n"
    "  DIR/embeddings.h5 two random 'prompts' (64 channels, 16 tokens) and negative prompts\n"
    "then: mpirun -np 2 brigade run --model DIR --embeddings DIR/embeddings.h5 \\\n"
    "          --height 256 --width 384 --frames 25 --steps 10 --out OUT\n"
    "Qwen-Image (--family qwen-image):\n"
    "  DIR/transformer/  QwenImageTransformer2DModel, 4 blocks, 2 heads x 16, 4 latent channels\n"
    "  DIR/inputs.safetensors  one forward's inputs: a 4 x 6 token target and a 4 x 6 token\n"
    "                    reference image, 9 text tokens, batch 2\n"
    "then: mpirun -np 2 brigade forward --transformer DIR/transformer \\\n"
    "          --inputs DIR/inputs.safetensors --out OUT.safetensors\n"
    "LTX-2.3 (--family ltx-2.3), an LTX2Pipeline folder (model_index.json):\n"
    "  DIR/transformer/  LTX2VideoTransformer3DModel (LTX-2.3 layout), 4 blocks, video 2 heads\n"
    "                    x 16, audio 2 heads x 8, 8 latent channels\n"
    "  DIR/connectors/   LTX2TextConnectors from 24 x 3 text encoder features, 2 layers, 4 registers\n"
    "  DIR/scheduler/    FlowMatchEulerDiscreteScheduler as LTX-2 ships it\n"
    "  DIR/vae/, audio_vae/, vocoder/, latent_upsampler/  LTX-2.3's layouts: 8 latent channels\n"
    "                    (x32, x8), stereo 16-bin mel to 48 kHz, the x2 upsampler\n"
    "  DIR/embeddings.h5 the text encoder's states of two 'prompts' (8 tokens) and negative ones\n"
    "  DIR/inputs.safetensors  one forward's inputs: 3 x 4 x 6 video and 18 audio tokens, 8 text\n"
    "                    tokens, batch 2\n"
    "then: mpirun -np 2 brigade run --model DIR --embeddings DIR/embeddings.h5 \\\n"
    "          --height 128 --width 192 --frames 17 --steps 4 --stg-blocks 1 --out OUT\n"
    "  (frames, job-000.wav, job-000.mp4 with its sound; --recipe distilled: two stages)\n"
    "  or: mpirun -np 2 brigade forward --transformer DIR/transformer \\\n"
    "          --inputs DIR/inputs.safetensors --out OUT.safetensors\n"
    "DIR must not exist; it is written as DIR.tmp and renamed when complete.\n";

static cJSON *int_array(const int *v, int n) { return cJSON_CreateIntArray(v, n); }

static cJSON *bool_array(const int *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateBool(v[i]));
    return a;
}

// The VAE of the demo: the 0.9.0 layout at 1/8 of the real widths.
static cJSON *demo_vae_config(void) {
    cJSON *c = cJSON_CreateObject();
    const int widths[] = {16, 32, 32, 32}, layers[] = {1, 1, 1, 1, 1}, scaling[] = {1, 1, 1, 0};
    const int no[] = {0, 0, 0, 0, 0}, ones[] = {1, 1, 1, 1};
    cJSON_AddStringToObject(c, "_class_name", "AutoencoderKLLTXVideo");
    cJSON_AddNumberToObject(c, "in_channels", 3);
    cJSON_AddNumberToObject(c, "out_channels", 3);
    cJSON_AddNumberToObject(c, "latent_channels", 16);
    cJSON_AddItemToObject(c, "block_out_channels", int_array(widths, 4));
    cJSON_AddItemToObject(c, "decoder_block_out_channels", int_array(widths, 4));
    cJSON_AddItemToObject(c, "layers_per_block", int_array(layers, 5));
    cJSON_AddItemToObject(c, "decoder_layers_per_block", int_array(layers, 5));
    cJSON_AddItemToObject(c, "spatio_temporal_scaling", bool_array(scaling, 4));
    cJSON_AddItemToObject(c, "decoder_spatio_temporal_scaling", bool_array(scaling, 4));
    cJSON_AddItemToObject(c, "decoder_inject_noise", bool_array(no, 5));
    cJSON_AddItemToObject(c, "upsample_residual", bool_array(no, 4));
    cJSON_AddItemToObject(c, "upsample_factor", int_array(ones, 4));
    cJSON_AddBoolToObject(c, "timestep_conditioning", 0);
    cJSON_AddNumberToObject(c, "patch_size", 4);
    cJSON_AddNumberToObject(c, "patch_size_t", 1);
    cJSON_AddNumberToObject(c, "resnet_norm_eps", 1e-6);
    cJSON_AddNumberToObject(c, "scaling_factor", 1.0);
    cJSON_AddBoolToObject(c, "encoder_causal", 1);
    cJSON_AddBoolToObject(c, "decoder_causal", 0);
    return c;
}

// LTX-Video's scheduler_config.json.
static cJSON *scheduler_config(void) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "_class_name", "FlowMatchEulerDiscreteScheduler");
    cJSON_AddNumberToObject(c, "base_image_seq_len", 1024);
    cJSON_AddNumberToObject(c, "base_shift", 0.95);
    cJSON_AddNumberToObject(c, "max_image_seq_len", 4096);
    cJSON_AddNumberToObject(c, "max_shift", 2.05);
    cJSON_AddNumberToObject(c, "num_train_timesteps", 1000);
    cJSON_AddNumberToObject(c, "shift", 1.0);
    cJSON_AddNumberToObject(c, "shift_terminal", 0.1);
    cJSON_AddBoolToObject(c, "use_dynamic_shifting", 1);
    cJSON_AddStringToObject(c, "time_shift_type", "exponential");
    return c;
}

static br_status write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    int bad = !f || fputs(text, f) < 0;
    if (f && fclose(f) != 0) bad = 1;
    return bad ? br_fail(BR_EIO, "cannot write %s", path) : BR_OK;
}

// DIR/part/config.json (or scheduler_config.json) from config.
static br_status write_config(const char *dir, const char *part, const char *file, cJSON *config) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, part);
    if (mkdir(path, 0777) != 0) return br_fail(BR_EIO, "cannot create %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/%s", dir, part, file);
    char *text = cJSON_Print(config);
    br_status st = text ? write_text(path, text) : br_fail(BR_ENOMEM, "out of memory");
    free(text);
    return st;
}

// The safetensors file of a recorded set: DIR/part/diffusion_pytorch_model.safetensors.
static br_status write_record(const char *dir, const char *part, const br_tensor_set *record) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/diffusion_pytorch_model.safetensors", dir, part);
    return br_st_write(path, record);
}

// The transformer of preset `name`: its config, and every weight its family's loaders ask a
// recording random checkpoint for.
static br_status write_transformer(const char *dir, const char *name, uint64_t seed) {
    br_model m;
    br_tensor_set record = {0};
    br_backend *be = br_backend_cpu();
    br_status st = br_model_random(name, seed, &m);
    if (st == BR_OK) st = write_config(dir, "transformer", "config.json", m.ck.config);
    m.ck.record = &record;
    const br_family *f = m.family;
    void *w = NULL;
    if (st == BR_OK) st = f->load_input(&m, be, &w);
    if (f) f->free_input(be, w), w = NULL;
    for (int i = 0; st == BR_OK && i < m.layers; i++, f->free_block(be, w), w = NULL)
        st = f->load_block(&m, be, i, &w);
    if (st == BR_OK) st = f->load_output(&m, be, &w);
    if (f) f->free_output(be, w);
    if (st == BR_OK) st = write_record(dir, "transformer", &record);
    br_model_close(&m);
    br_set_free(&record);
    return st;
}

// LTX-Video's VAE of the demo, through its loader and a recording random checkpoint.
static br_status write_vae(const char *dir, cJSON *config, uint64_t seed) {
    br_checkpoint ck;
    br_tensor_set record = {0};
    BR_TRY(br_ckpt_open_random(&ck, config, seed));
    ck.record = &record;
    ltx_vae_config cfg;
    ltx_vae vae;
    br_status st = ltx_vae_config_parse(&cfg, config, "demo vae config");
    if (st == BR_OK && (st = ltx_vae_load(br_backend_cpu(), &ck, &cfg, &vae)) == BR_OK)
        ltx_vae_free(br_backend_cpu(), &vae);
    if (st == BR_OK) st = write_record(dir, "vae", &record);
    ck.config = NULL; // the caller still writes it
    br_ckpt_close(&ck);
    br_set_free(&record);
    return st;
}

// DIR/embeddings.h5: two jobs' random prompt embeddings [2, L, C] and negative prompts, drawn
// from streams `stream` and stream + 1; the masks keep kept[0][j] tokens of job j's prompt and
// kept[1][j] of its negative, at the start of the L tokens, or at the end where left_padded (as
// Gemma's tokenizer pads).
static br_status write_prompts(const char *dir, uint64_t seed, int L, int C, const int kept[2][2],
                               int left_padded, uint64_t stream) {
    const int N = 2;
    br_tensor_set set = {0};
    const char *embeds[] = {"prompt_embeds", "negative_prompt_embeds"};
    const char *masks[] = {"prompt_attention_mask", "negative_prompt_attention_mask"};
    for (int k = 0; k < 2; k++) {
        br_tensor *e = br_set_add(&set, embeds[k], 3, (int64_t[]){N, L, C});
        br_tensor *m = br_set_add(&set, masks[k], 2, (int64_t[]){N, L});
        if (!e || !m) {
            br_set_free(&set);
            return BR_ENOMEM;
        }
        br_rng rng = br_rng_make(seed, stream + (uint64_t)k);
        br_rng_normal(&rng, e->data, (size_t)N * L * C);
        for (int j = 0; j < N; j++)
            for (int t = 0; t < L; t++)
                m->data[j * L + t] = left_padded ? t >= L - kept[k][j] : t < kept[k][j];
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/embeddings.h5", dir);
    br_status st = br_tensor_file_write(path, &set);
    br_set_free(&set);
    return st;
}

// LTX-Video's demo: transformer/, vae/, scheduler/ and prompt embeddings, for `brigade run`.
static br_status write_ltx(const char *dir, uint64_t seed) {
    cJSON *vae = demo_vae_config(), *sched = scheduler_config();
    br_status st = write_transformer(dir, "tiny", seed);
    if (st == BR_OK) st = write_config(dir, "vae", "config.json", vae);
    if (st == BR_OK) st = write_vae(dir, vae, seed);
    if (st == BR_OK) st = write_config(dir, "scheduler", "scheduler_config.json", sched);
    // Two jobs of 16 tokens (12 and 9 kept) and "" as negative prompt (one token kept, as T5
    // encodes an empty string).
    if (st == BR_OK)
        st = write_prompts(dir, seed, 16, 64, (const int[2][2]){{12, 9}, {1, 1}}, 0, 1000);
    cJSON_Delete(vae), cJSON_Delete(sched);
    return st;
}

// LTX-2.3's text connectors, decoders and upsampler at the tiny transformer's widths (the
// fixture's layouts).
static const char ltx2_connectors_json[] =
    "{\"_class_name\": \"LTX2TextConnectors\", \"caption_channels\": 24,"
    " \"text_proj_in_factor\": 3, \"video_connector_num_attention_heads\": 2, \"video_connector_attention_head_dim\": 16,"
    " \"video_connector_num_layers\": 2, \"video_connector_num_learnable_registers\": 4,"
    " \"video_hidden_dim\": 32, \"audio_connector_num_attention_heads\": 2,"
    " \"audio_connector_attention_head_dim\": 8, \"audio_connector_num_layers\": 2,"
    " \"audio_connector_num_learnable_registers\": 4, \"audio_hidden_dim\": 16,"
    " \"video_gated_attn\": true, \"audio_gated_attn\": true, \"per_modality_projections\": true,"
    " \"proj_bias\": true, \"rope_double_precision\": true, \"rope_type\": \"split\"}";
static const char ltx2_vae_json[] =
    "{\"_class_name\": \"AutoencoderKLLTX2Video\", \"block_out_channels\": [8, 16, 32, 32],"
    " \"decoder_block_out_channels\": [8, 16, 16, 32], \"decoder_causal\": false,"
    " \"decoder_inject_noise\": [false, false, false, false, false],"
    " \"decoder_layers_per_block\": [1, 1, 1, 1, 1], \"decoder_spatial_padding_mode\": \"zeros\","
    " \"decoder_spatio_temporal_scaling\": [true, true, true, true],"
    " \"downsample_type\": [\"spatial\", \"temporal\", \"spatiotemporal\", \"spatiotemporal\"],"
    " \"encoder_causal\": true, \"encoder_spatial_padding_mode\": \"zeros\", \"in_channels\": 3,"
    " \"latent_channels\": 8, \"layers_per_block\": [1, 1, 1, 1, 1], \"out_channels\": 3,"
    " \"patch_size\": 4, \"patch_size_t\": 1, \"resnet_norm_eps\": 1e-06, \"scaling_factor\": 1.0,"
    " \"spatio_temporal_scaling\": [true, true, true, true], \"timestep_conditioning\": false,"
    " \"upsample_factor\": [2, 2, 1, 2], \"upsample_residual\": [false, false, false, false],"
    " \"upsample_type\": [\"spatiotemporal\", \"spatiotemporal\", \"temporal\", \"spatial\"]}";
static const char ltx2_audio_vae_json[] =
    "{\"_class_name\": \"AutoencoderKLLTX2Audio\", \"base_channels\": 8, \"causality_axis\":"
    " \"height\", \"ch_mult\": [1, 2, 4], \"double_z\": true, \"in_channels\": 2, \"is_causal\":"
    " true, \"latent_channels\": 2, \"mel_bins\": 16, \"mel_hop_length\": 160,"
    " \"mid_block_add_attention\": false, \"norm_type\": \"pixel\", \"num_res_blocks\": 1,"
    " \"output_channels\": 2, \"resolution\": 256, \"sample_rate\": 16000}";
static const char ltx2_vocoder_json[] =
    "{\"_class_name\": \"LTX2VocoderWithBWE\", \"act_fn\": \"snakebeta\", \"antialias\": true,"
    " \"antialias_kernel_size\": 12, \"antialias_ratio\": 2, \"bwe_act_fn\": \"snakebeta\","
    " \"bwe_antialias\": true, \"bwe_antialias_kernel_size\": 12, \"bwe_antialias_ratio\": 2,"
    " \"bwe_final_act_fn\": null, \"bwe_final_bias\": false, \"bwe_hidden_channels\": 32,"
    " \"bwe_in_channels\": 32, \"bwe_out_channels\": 2,"
    " \"bwe_resnet_dilations\": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], \"bwe_resnet_kernel_sizes\":"
    " [3, 7, 11], \"bwe_upsample_factors\": [6, 5, 2, 2, 2], \"bwe_upsample_kernel_sizes\":"
    " [12, 11, 4, 4, 4], \"filter_length\": 128, \"final_act_fn\": null, \"final_bias\": false,"
    " \"hidden_channels\": 64, \"hop_length\": 80, \"in_channels\": 32, \"input_sampling_rate\":"
    " 16000, \"num_mel_channels\": 16, \"out_channels\": 2, \"output_sampling_rate\": 48000,"
    " \"resnet_dilations\": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], \"resnet_kernel_sizes\": [3, 7, 11],"
    " \"upsample_factors\": [5, 2, 2, 2, 2, 2], \"upsample_kernel_sizes\": [11, 4, 4, 4, 4, 4],"
    " \"window_length\": 128}";
static const char ltx2_upsampler_json[] =
    "{\"_class_name\": \"LTX2LatentUpsamplerModel\", \"dims\": 3, \"in_channels\": 8,"
    " \"mid_channels\": 32, \"num_blocks_per_stage\": 2, \"spatial_upsample\": true,"
    " \"temporal_upsample\": false, \"use_rational_resampler\": false}";

// Each LTX-2 component: part/config.json and the weights its loader asks a recording random
// checkpoint for.
static br_status load_ltx2_part(const char *part, br_checkpoint *ck) {
    br_backend *be = br_backend_cpu();
    const char *path = part;
    if (!strcmp(part, "connectors")) {
        ltx2_connectors c;
        BR_TRY(ltx2_connectors_load_from(be, ck, path, 0, &c));
        ltx2_connectors_free(be, &c);
    } else if (!strcmp(part, "vae")) { // the decoder, then the encoder
        ltx_vae_config cfg;
        ltx2_vae_encoder_config enc_cfg;
        ltx_vae vae = {0};
        ltx2_vae_encoder enc = {0};
        br_status st = ltx_vae_config_parse(&cfg, ck->config, path);
        if (st == BR_OK) st = ltx_vae_load(be, ck, &cfg, &vae);
        ltx_vae_free(be, &vae);
        if (st == BR_OK) st = ltx2_vae_encoder_config_parse(&enc_cfg, ck->config, path);
        if (st == BR_OK) st = ltx2_vae_encoder_load(be, ck, &enc_cfg, &enc);
        ltx2_vae_encoder_free(be, &enc);
        return st;
    } else if (!strcmp(part, "audio_vae")) {
        ltx2_audio_vae vae;
        BR_TRY(ltx2_audio_vae_load(ck, path, &vae));
        ltx2_audio_vae_free(&vae);
    } else if (!strcmp(part, "vocoder")) {
        ltx2_vocoder voc;
        BR_TRY(ltx2_vocoder_load(ck, path, &voc));
        ltx2_vocoder_free(&voc);
    } else {
        ltx2_latent_upsampler_config cfg;
        ltx2_latent_upsampler up = {0};
        BR_TRY(ltx2_latent_upsampler_config_parse(&cfg, ck->config, path));
        br_status st = ltx2_latent_upsampler_load(be, ck, &cfg, &up);
        ltx2_latent_upsampler_free(be, &up);
        return st;
    }
    return BR_OK;
}

static br_status write_ltx2_part(const char *dir, const char *part, const char *json,
                                 uint64_t seed) {
    cJSON *config = cJSON_Parse(json);
    if (!config) return br_fail(BR_ENOMEM, "out of memory");
    br_checkpoint ck;
    br_tensor_set record = {0};
    br_status st = write_config(dir, part, "config.json", config);
    if (st == BR_OK) st = br_ckpt_open_random(&ck, config, seed);
    else cJSON_Delete(config);
    if (st != BR_OK) return st;
    ck.record = &record;
    st = load_ltx2_part(part, &ck);
    if (st == BR_OK) st = write_record(dir, part, &record);
    br_ckpt_close(&ck); // (the config with it)
    br_set_free(&record);
    return st;
}

// A transformer preset's forward inputs (random_inputs' spec) as DIR/inputs.safetensors.
static br_status write_forward_inputs(const char *dir, const char *preset, const char *spec,
                                      uint64_t seed) {
    br_model m;
    br_tensor_set inputs = {0};
    char path[4300];
    br_status st = br_model_random(preset, seed, &m);
    if (st == BR_OK) st = m.family->random_inputs(&m, spec, &inputs);
    snprintf(path, sizeof path, "%s/inputs.safetensors", dir);
    if (st == BR_OK) st = br_tensor_file_write(path, &inputs);
    br_model_close(&m);
    br_set_free(&inputs);
    return st;
}

// Qwen-Image's: transformer/ and the inputs of one forward (a 4 x 6 token target beside a
// 4 x 6 token reference image, 9 text tokens, batch 2), for `brigade forward`.
static br_status write_qwen(const char *dir, uint64_t seed) {
    br_status st = write_transformer(dir, "qwen-image-tiny", seed);
    return st == BR_OK ? write_forward_inputs(dir, "qwen-image-tiny", "random:2,4,6,9,2", seed) : st;
}

// LTX-2.3's: a pipeline folder (model_index.json, transformer/, connectors/, scheduler/), the
// text encoder states of two prompts for `brigade run`, and the inputs of one forward (batch 2:
// 3 x 4 x 6 video tokens, 18 audio tokens, 8 text tokens) for `brigade forward`.
static br_status write_ltx2(const char *dir, uint64_t seed) {
    cJSON *sched = scheduler_config();
    char path[4300];
    snprintf(path, sizeof path, "%s/model_index.json", dir);
    br_status st = write_text(path, "{\"_class_name\": \"LTX2Pipeline\"}\n");
    if (st == BR_OK) st = write_transformer(dir, "ltx-2.3-tiny", seed);
    if (st == BR_OK) st = write_config(dir, "scheduler", "scheduler_config.json", sched);
    const char *parts[] = {"connectors", "vae", "audio_vae", "vocoder", "latent_upsampler"};
    const char *jsons[] = {ltx2_connectors_json, ltx2_vae_json, ltx2_audio_vae_json,
                           ltx2_vocoder_json, ltx2_upsampler_json};
    for (int i = 0; i < 5 && st == BR_OK; i++) st = write_ltx2_part(dir, parts[i], jsons[i], seed);
    // The text encoder's states for the connectors: 8 tokens of 24 x 3 features, 6 and 5 kept,
    // negative prompts of 2.
    if (st == BR_OK)
        st = write_prompts(dir, seed, 8, 72, (const int[2][2]){{6, 5}, {2, 2}}, 1, 2000);
    if (st == BR_OK) st = write_forward_inputs(dir, "ltx-2.3-tiny", "random:2,3,4,6,18,8", seed);
    cJSON_Delete(sched);
    return st;
}

static br_status init_model(const char *dir, const char *family, uint64_t seed) {
    char tmp[4200];
    struct stat sb;
    const int qwen = strcmp(family, "qwen-image") == 0, ltx2 = strcmp(family, "ltx-2.3") == 0;
    if (!qwen && !ltx2 && strcmp(family, "ltx-video") != 0)
        return br_fail(BR_EINPUT, "--family %s: ltx-video, qwen-image or ltx-2.3", family);
    if (stat(dir, &sb) == 0) return br_fail(BR_EINPUT, "%s exists: choose another folder", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    if (mkdir(tmp, 0777) != 0) return br_fail(BR_EIO, "cannot create %s: %s", tmp, strerror(errno));
    br_status st = qwen ? write_qwen(tmp, seed) : ltx2 ? write_ltx2(tmp, seed) : write_ltx(tmp, seed);
    if (st == BR_OK && rename(tmp, dir) != 0)
        st = br_fail(BR_EIO, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
    if (st != BR_OK) br_remove_tree(tmp); // nothing half-written
    return st;
}

int br_cmd_init_model(int argc, char **argv) {
    const char *seed_text = "1", *family = "ltx-video";
    const br_option options[] = {{"seed", &seed_text, NULL}, {"family", &family, NULL}};
    uint64_t seed = 0;
    const char *dir = argc > 0 && strncmp(argv[0], "--", 2) != 0 ? argv[0] : NULL;
    br_status st = dir ? br_parse_options(argc - 1, argv + 1, options, 2, "init-model")
                       : br_fail(BR_EINPUT, "brigade init-model: the folder to write is missing "
                                 "(see --help)");
    if (st == BR_OK) st = br_parse_u64(seed_text, "seed", &seed);
    if (st == BR_OK) st = init_model(dir, family, seed ? seed : 1);
    if (st != BR_OK) {
        fprintf(stderr, "brigade: error: %s\n", br_error());
        return 1;
    }
    const char *parts = strcmp(family, "qwen-image") == 0 ? "transformer/, inputs.safetensors"
                        : strcmp(family, "ltx-2.3") == 0
                            ? "transformer/, connectors/, scheduler/, vae/, audio_vae/, vocoder/, "
                              "latent_upsampler/, embeddings.h5, inputs.safetensors"
                            : "transformer/, vae/, scheduler/, embeddings.h5";
    printf("wrote %s (%s)\n", dir, parts);
    return 0;
}
