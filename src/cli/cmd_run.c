// cmd_run.c: `brigade run`: a model's pipeline (text-to-video with LTX-Video), split over the MPI
// ranks.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "device.h"
#include "run_args.h"

const char br_run_help[] =
    "usage: mpirun -np P brigade run --model DIR (--embeddings FILE | --prompt TEXT)\n"
    "                               [--image REF.png] [--out DIR] [options]\n"
    "\n"
    "Runs a model's pipeline: the flow-matching denoising loop with guidance, its transformer\n"
    "blocks split over the P ranks, then the VAE decode spread over the ranks. One job per\n"
    "prompt in FILE. The model family is told by DIR's model_index.json (else its transformer's\n"
    "config.json):\n"
    "  LTX-Video   text to video: classifier-free guidance, frames as PNGs (and an mp4)\n"
    "  Qwen-Image  QwenImageEditPlusPipeline (FireRed-Image-Edit, Qwen-Image-Edit): an image and\n"
    "              an instruction to the edited image: each --image resized (Lanczos, as PIL) to\n"
    "              --image-area, encoded by the VAE and joined to the noise; true CFG with the\n"
    "              norm rescale; job-NNN.png\n"
    "  LTX-2       LTX2Pipeline (LTX-2.3): text to a clip with its sound: the text connectors on\n"
    "              the text encoder's states, classifier-free, spatio-temporal and modality\n"
    "              guidance (or --recipe distilled), the video VAE and the audio VAE + vocoder:\n"
    "              frames, job-NNN.wav, job-NNN.mp4 with the sound\n"
    "\n"
    "  --model DIR          diffusers pipeline folder with transformer/, vae/, scheduler/ (LTX-2:\n"
    "                       also connectors/, audio_vae/, vocoder/, latent_upsampler/)\n"
    "  --transformer DIR    override DIR/transformer (also random:NAME: random weights)\n"
    "  --vae DIR            override DIR/vae; 'none': no decode, latents.h5 only\n"
    "  --scheduler DIR      override DIR/scheduler (scheduler_config.json)\n"
    "  --embeddings FILE    HDF5 or safetensors: prompt_embeds [N, L, C] and its mask [N, L]\n"
    "                       (prompt_attention_mask or prompt_embeds_mask; 1 keep, 0 pad); with\n"
    "                       guidance also negative_prompt_embeds and its mask ([N or 1, L, ..]).\n"
    "                       tools/encode_prompt.py makes this file from text (LTX-Video: T5);\n"
    "                       random:N,L makes N random prompts of L tokens (benchmarks). LTX-2:\n"
    "                       the text encoder's hidden states of every layer, stacked (Gemma 3:\n"
    "                       C = 3840 x 49, feature c*49 + layer), L a multiple of the\n"
    "                       connectors' registers (128)\n"
    "  --prompt TEXT        instead of --embeddings, a prompt as text (repeat for several jobs),\n"
    "                       through the pipeline's own text encoder in brigade, split over the\n"
    "                       ranks and loaded once for all prompts (LTX-2: Gemma 3, from --model's\n"
    "                       text_encoder/ and tokenizer/; tokenized as LTX2Pipeline does, cut to\n"
    "                       1024 tokens with a warning)\n"
    "  --prompts FILE       prompts one per line (UTF-8; blank lines skipped)\n"
    "  --negative-prompt T  with --prompt: the negative prompt of the guidance (default \"\")\n"

    "  --image FILE         an 8-bit RGB PNG to edit (Qwen-Image; up to 7, the target's size from\n"
    "                       the last one's aspect ratio); LTX-2: the first frame (image to video,\n"
    "                       at the clip's --width x --height)\n"
    "  --image-area PIXELS  the area each --image is resized to for the VAE (1048576 = 1024^2)\n"
    "  --out DIR            outputs (default brigade-out): latents.h5, job-NNN/frame-NNNN.png and\n"
    "                       job-NNN.mp4 when ffmpeg is installed (LTX-Video), job-NNN.png\n"
    "                       (Qwen-Image), run.json; each file is written to a temporary name and\n"
    "                       renamed when complete\n"
    "\n"
    "  --height H --width W pixels. LTX-Video: multiples of 32 (512 x 704); Qwen-Image: floored\n"
    "                       to multiples of 16 (default 1024^2 at the last image's aspect ratio)\n"
    "  --frames F           LTX-Video: 8k+1 (161); Qwen-Image: 1\n"
    "  --frame-rate R       frames per second (LTX-Video 25, LTX-2 24): sets the RoPE time scale\n"
    "                       and the mp4's rate\n"
    "  --steps N            denoising steps (LTX-Video 50, Qwen-Image 40, LTX-2 30)\n"
    "  --recipe R           LTX-2: full (default: LTX2Pipeline, one stage) or distilled (the\n"
    "                       distilled checkpoint's two stages: half the size with its 8 sigmas,\n"
    "                       the latent upsampler x2, the full size renoised at the first of its\n"
    "                       3 sigmas; no guidance; sizes multiples of 64; --steps unused)\n"
    "  --guidance G         guidance scale, 1 or less: off (LTX-Video: classifier-free, 3;\n"
    "                       Qwen-Image: true CFG, 4); --true-cfg-scale is the same option\n"
    "  --guidance-rescale R mix of the rescaled guided prediction, 0..1 (LTX-Video 0, LTX-2 0.7)\n"
    "  --stg-scale S        LTX-2: spatio-temporal guidance (1; 0: off), the --stg-blocks'\n"
    "                       self-attentions replaced by their values in an extra pass\n"
    "  --stg-blocks LIST    LTX-2: the blocks STG perturbs, e.g. 28 (the default) or 1,2\n"
    "  --modality-scale S   LTX-2: modality guidance against a pass without audio-video\n"
    "                       attention (3; 1: off)\n"
    "  --audio-guidance G, --audio-guidance-rescale R, --audio-stg-scale S,\n"
    "  --audio-modality-scale S   LTX-2: the same four for the audio (7, 0.7, 1, 3)\n"
    "  --decode-timestep T  for timestep-conditioned VAEs (0)\n"
    "  --decode-noise-scale S  noise mixed into the latents before decoding (default: T)\n"
    "  --seed N             start latents from brigade's generator, stream j for job j (0)\n"
    "  --latents FILE       start latents from FILE instead: tensor latents [N or 1, S, C] packed\n"
    "                       (e.g. a previous run's latents.h5); LTX-2 distilled: also \"renoise\",\n"
    "                       the noise of stage 2's start [N or 1, S2, C] (else drawn from --seed)\n"
    "\n"
    "  --schedule S         pipelined (default: up to P micro-batches in flight, no barrier\n"
    "                       between steps) or sequential (one at a time: the naive split)\n"
    "  --microbatch B       CFG halves per micro-batch (1: each half of each job alone)\n"
    "  --trace FILE         every rank's timeline as Chrome-trace JSON (chrome://tracing)\n"
    "  --decode-tile GIB    memory budget of one decode tile in GiB (default 2; 0: whole video)\n"
    "  --mem-limit SIZE     memory a rank may hold, e.g. 24G (default: its GPU's free memory; on\n"
    "                       the CPU, the host's available memory shared by its ranks): every\n"
    "                       rank plans each phase before loading (rank 0 prints the table) and\n"
    "                       a plan over the limit is refused, with what would fit\n"
    "  --checkpoint-every K write OUT/checkpoint.h5 every K steps (the jobs' latents and step),\n"
    "                       after the last step, and on Ctrl-C or SIGTERM (the last completed\n"
    "                       step); it is removed once every output is written\n"
    "  --resume             go on from OUT/checkpoint.h5: the same command line gives the bits\n"
    "                       of an uninterrupted run; other settings or models are refused\n"
    "  --timeout SEC        end the job when a rank makes no progress for SEC seconds (default:\n"
    "                       10x the longest pause seen, at least 120 s), naming rank and step\n"
    "  --check WHEN         none, first (default: every block at the first step) or all steps:\n"
    "                       test each block's output for NaN/Inf, stop with rank, block and step\n"
    "  --host-watts W       each host's power besides its GPUs (CPU, memory, fans; default 0:\n"
    "                       not counted): the hosts' energy is estimated as W x hosts x seconds\n"
    "  --price-kwh P        price of a kWh for the cost in run.json and the summary (0.157)\n"
    "  --backend B          auto (default), cpu or cuda; ranks take GPUs by node-local rank\n"
    "  --share-gpus         let more ranks than GPUs run on a host (round-robin; for tests)\n"
    "  --split LIST         blocks per rank, e.g. 12,12,12,12 (summing to the model's blocks),\n"
    "                       or weights for uneven hosts, e.g. 1,1,2 (default: balanced)\n"
    "  --compute C          auto (default), fp32 or bf16\n"
    "  --storage S          the weights on the GPU: auto (the compute's type), fp32, bf16 or\n"
    "                       fp16 (with --compute fp32: half the memory, fp32 arithmetic; fp16\n"
    "                       refuses weights beyond 65504, bf16 holds any bf16 checkpoint exactly)\n"
    "                       or int8 (also on the CPU: per-output-channel symmetric int8, a\n"
    "                       quarter of the memory, fp32 arithmetic; each matrix's max relative\n"
    "                       error, at most 1/254, goes into the log and run.json)\n";

// The guidance scales of LTX-2's other terms (NaN when not given: the family's defaults).
static br_status parse_guidance(const char *const *text, br_run_opts *o) {
    double *v[] = {&o->stg_scale, &o->modality_scale, &o->audio_guidance,
                   &o->audio_guidance_rescale, &o->audio_stg_scale, &o->audio_modality_scale};
    const char *names[] = {"stg-scale", "modality-scale", "audio-guidance",
                           "audio-guidance-rescale", "audio-stg-scale", "audio-modality-scale"};
    for (int i = 0; i < 6; i++) {
        *v[i] = NAN;
        if (text[i]) BR_TRY(br_parse_double(text[i], names[i], v[i]));
    }
    return BR_OK;
}

// --stg-blocks "28" or "1,2": a bit per block.
static br_status parse_blocks(const char *text, uint64_t *mask) {
    *mask = 0;
    if (!text) return BR_OK;
    char word[32];
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        int block;
        if (n == 0 || n >= sizeof word)
            return br_fail(BR_EINPUT, "--stg-blocks %s: a list of block numbers, e.g. 28 or 1,2", text);
        memcpy(word, p, n), word[n] = 0;
        BR_TRY(br_parse_int(word, "stg-blocks", 0, 63, &block));
        *mask |= 1ull << block;
        p += n + (p[n] == ',');
    }
    return BR_OK;
}

// Every numeric option, parsed strictly.
static br_status parse_numbers(const char *const *text, br_run_opts *o, const char *check) {
    // Not given: 0 (NaN for the guidance), the model family's default.
    if (text[0]) BR_TRY(br_parse_int(text[0], "height", 1, 1 << 20, &o->height));
    if (text[1]) BR_TRY(br_parse_int(text[1], "width", 1, 1 << 20, &o->width));
    if (text[2]) BR_TRY(br_parse_int(text[2], "frames", 1, 1 << 20, &o->frames));
    if (text[3]) BR_TRY(br_parse_double(text[3], "frame-rate", &o->frame_rate));
    if (text[4]) BR_TRY(br_parse_int(text[4], "steps", 1, 1 << 20, &o->steps));
    double *guidance[] = {&o->guidance, &o->guidance_rescale};
    const char *names[] = {"guidance", "guidance-rescale"};
    for (int i = 0; i < 2; i++) {
        *guidance[i] = NAN;
        if (text[5 + i]) BR_TRY(br_parse_double(text[5 + i], names[i], guidance[i]));
    }
    BR_TRY(br_parse_double(text[7], "decode-timestep", &o->decode_timestep));
    o->decode_noise_scale = o->decode_timestep; // the pipeline's default
    if (text[8]) BR_TRY(br_parse_double(text[8], "decode-noise-scale", &o->decode_noise_scale));
    BR_TRY(br_parse_u64(text[9], "seed", &o->seed));
    BR_TRY(br_parse_int(text[10], "microbatch", 1, 1 << 16, &o->microbatch));
    BR_TRY(br_parse_double(text[11], "decode-tile", &o->decode_tile_gib));
    if (strcmp(check, "none") && strcmp(check, "first") && strcmp(check, "all"))
        return br_fail(BR_EINPUT, "brigade run: --check must be none, first or all");
    o->check = !strcmp(check, "none") ? 0 : !strcmp(check, "first") ? 1 : 2;
    return BR_OK;
}

// The three component folders: --model DIR/<part> unless overridden.
static br_status component(const char *model, const char *given, const char *part, char *buf,
                           size_t size, const char **out) {
    if (given) {
        *out = given;
        return BR_OK;
    }
    if (!model)
        return br_fail(BR_EINPUT, "brigade run: --model DIR (or --%s DIR) is required", part);
    snprintf(buf, size, "%s/%s", model, part);
    *out = buf;
    return BR_OK;
}

static void join_words(char *buf, size_t size, int argc, char **argv) {
    size_t used = (size_t)snprintf(buf, size, "brigade run");
    for (int i = 0; i < argc && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, " %s", argv[i]);
}

br_status br_run_parse(int argc, char **argv, br_run_args *a) {
    memset(a, 0, sizeof *a);
    br_run_opts *o = &a->opts;
    a->dev = (br_cli_device)BR_CLI_DEVICE_DEFAULTS;
    const char *check = "first", *model = NULL;
    const char *schedule = "pipelined", *every = "0", *timeout = "0";
    const char *watts = "0", *price = "0.157"; // a residential rate
    // Sizes, steps and guidance: 0 / unset for the model family's defaults.
    const char *text[12] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, "0", NULL, "0", "1", "2"};
    const char *guidance[6] = {NULL}, *stg_blocks = NULL;
    const char *area = "1048576"; // the pipeline's VAE_IMAGE_SIZE, 1024^2
    const char *mem_limit = NULL;
    br_cli_device *dev = &a->dev;
    o->out_dir = "brigade-out";
    const br_option options[] = {
        {"model", &model, NULL}, {"transformer", &o->transformer_dir, NULL},
        {"vae", &o->vae_dir, NULL}, {"scheduler", &o->scheduler_dir, NULL},
        {"embeddings", &o->embeddings_path, NULL}, {"latents", &o->latents_path, NULL},
        {"out", &o->out_dir, NULL}, {"height", &text[0], NULL}, {"width", &text[1], NULL},
        {"frames", &text[2], NULL}, {"frame-rate", &text[3], NULL}, {"steps", &text[4], NULL},
        {"guidance", &text[5], NULL}, {"guidance-rescale", &text[6], NULL},
        {"decode-timestep", &text[7], NULL}, {"decode-noise-scale", &text[8], NULL},
        {"seed", &text[9], NULL}, {"microbatch", &text[10], NULL},
        {"decode-tile", &text[11], NULL}, {"check", &check, NULL},
        BR_CLI_DEVICE_OPTIONS(dev),
        {"schedule", &schedule, NULL}, {"trace", &o->trace_path, NULL},
        {"checkpoint-every", &every, NULL}, {"resume", NULL, &o->resume},
        {"timeout", &timeout, NULL},
        {"split", &o->split, NULL}, {"host-watts", &watts, NULL}, {"price-kwh", &price, NULL},
        {"true-cfg-scale", &text[5], NULL},
        {"image", a->images, NULL, &o->n_images, 8}, {"image-area", &area, NULL},
        {"stg-scale", &guidance[0], NULL}, {"modality-scale", &guidance[1], NULL},
        {"audio-guidance", &guidance[2], NULL}, {"audio-guidance-rescale", &guidance[3], NULL},
        {"audio-stg-scale", &guidance[4], NULL}, {"audio-modality-scale", &guidance[5], NULL},
        {"stg-blocks", &stg_blocks, NULL}, {"recipe", &o->recipe, NULL},
        {"mem-limit", &mem_limit, NULL},
        {"prompt", a->prompt_words, NULL, &a->n_prompt_words, BR_MAX_PROMPT_WORDS},
        {"prompts", &a->prompts_file, NULL}, {"negative-prompt", &o->negative_prompt, NULL},
    };
    br_status st = br_parse_options(argc, argv, options, sizeof options / sizeof *options, "run");
    if (st == BR_OK) st = parse_numbers(text, o, check);
    if (st == BR_OK) st = parse_guidance(guidance, o);
    if (st == BR_OK) st = parse_blocks(stg_blocks, &o->stg_blocks);
    if (st == BR_OK) st = br_parse_double(area, "image-area", &o->image_area);
    if (st == BR_OK && mem_limit) st = br_parse_size(mem_limit, "mem-limit", &o->mem_limit);
    o->images = a->images;
    // A pipeline folder's model_index.json names the family: the transformer opens through it.
    struct stat sb;
    char index[4200];
    snprintf(index, sizeof index, "%s/model_index.json", model ? model : "");
    if (st == BR_OK && model && !o->transformer_dir && stat(index, &sb) == 0)
        o->transformer_dir = model;
    if (st == BR_OK) st = component(model, o->transformer_dir, "transformer", a->dirs[0], 4096, &o->transformer_dir);
    if (st == BR_OK) st = component(model, o->vae_dir, "vae", a->dirs[1], 4096, &o->vae_dir);
    if (st == BR_OK) st = component(model, o->scheduler_dir, "scheduler", a->dirs[2], 4096, &o->scheduler_dir);
    if (st == BR_OK) st = br_parse_int(every, "checkpoint-every", 0, 1 << 20, &o->checkpoint_every);
    if (st == BR_OK) st = br_parse_double(timeout, "timeout", &o->timeout_seconds);
    if (st == BR_OK && !(o->timeout_seconds >= 0))
        st = br_fail(BR_EINPUT, "brigade run: --timeout must be a number of seconds (0: automatic)");
    if (st == BR_OK) st = br_parse_double(watts, "host-watts", &o->host_watts);
    if (st == BR_OK) st = br_parse_double(price, "price-kwh", &o->price_kwh);
    if (st == BR_OK && !(o->host_watts >= 0 && o->price_kwh >= 0))
        st = br_fail(BR_EINPUT, "brigade run: --host-watts and --price-kwh must be >= 0");
    if (st == BR_OK && strcmp(schedule, "pipelined") && strcmp(schedule, "sequential"))
        st = br_fail(BR_EINPUT, "brigade run: --schedule must be pipelined or sequential");
    o->pipelined = strcmp(schedule, "sequential") != 0;
    const int texts = a->n_prompt_words > 0 || a->prompts_file;
    if (st == BR_OK && !o->embeddings_path == !texts)
        st = br_fail(BR_EINPUT, "brigade run: give the prompts as --embeddings FILE or as text "
                     "(--prompt TEXT, --prompts FILE), one of the two (see --help)");
    if (st == BR_OK && o->negative_prompt && !texts)
        st = br_fail(BR_EINPUT, "brigade run: --negative-prompt goes with --prompt (an embeddings "
                     "file holds its own negative prompt)");
    join_words(a->command, sizeof a->command, argc, argv);
    o->command_line = a->command;
    return st;
}

br_status br_cmd_run(br_comm *comm, int argc, char **argv) {
    br_run_args *a = malloc(sizeof *a); // its paths' buffers are large
    if (!a) return br_fail(BR_ENOMEM, "out of memory");
    br_status st = br_run_parse(argc, argv, a);
    br_prompt_list prompts = {0};
    st = br_cli_gather_prompts(comm, st, a->prompt_words, a->n_prompt_words, a->prompts_file,
                               &prompts, &a->opts.n_prompts);
    a->opts.prompts = (const char *const *)prompts.texts;
    br_backend *be = NULL;
    if (st == BR_OK && (st = br_cli_open_device(comm, st, &a->dev, &be)) == BR_OK)
        st = br_run(comm, be, &a->opts);
    br_backend_close(be);
    br_prompt_list_free(&prompts);
    free(a);
    return st;
}
