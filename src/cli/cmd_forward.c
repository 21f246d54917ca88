// cmd_forward.c: `brigade forward`: one transformer forward pass, split over the MPI ranks.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "device.h"
#include "sched/forward.h"

const char br_forward_help[] =
    "usage: mpirun -np P brigade forward --transformer DIR --inputs FILE --out FILE [--dump-blocks]\n"
    "\n"
    "Runs one forward pass of a diffusion transformer, its blocks split over the P ranks in\n"
    "contiguous, balanced groups (P at most the number of blocks). Rank 0 runs the input side;\n"
    "the activations (the baton) go rank to rank; the last rank runs the output side and writes\n"
    "FILE. The model is told by its config's _class_name:\n"
    "  LTX-Video   LTXVideoTransformer3DModel\n"
    "  Qwen-Image  QwenImageTransformer2DModel (Qwen-Image, Qwen-Image-Edit, FireRed-Image-Edit)\n"
    "\n"
    "  --transformer DIR  diffusers folder: config.json and diffusion_pytorch_model.safetensors,\n"
    "                     or shards listed in diffusion_pytorch_model.safetensors.index.json;\n"
    "                     F32, F16 or BF16 weights (converted exactly to fp32); or a pipeline\n"
    "                     folder (model_index.json) with the transformer in transformer/\n"
    "  --inputs FILE      safetensors or HDF5 (settings: JSON values in the safetensors\n"
    "                     __metadata__, or root attributes in HDF5); repeat it to read a case\n"
    "                     given in several files as one (a tensor in two is refused, settings\n"
    "                     must agree). LTX-Video: hidden_states [B, S, C_in],\n"
    "                     encoder_hidden_states [B, L, C_cap], encoder_attention_mask [B, L]\n"
    "                     (1 keep, 0 masked), timestep [B] (0..1000), settings num_frames,\n"
    "                     height, width (latent grid, S = their product) and\n"
    "                     rope_interpolation_scale (3 numbers: [8/frame_rate, 32, 32]).\n"
    "                     Qwen-Image: hidden_states [B, S, C_in] (packed target latents, then the\n"
    "                     references'), encoder_hidden_states [B, L, C_txt],\n"
    "                     encoder_hidden_states_mask [B, L] (optional), timestep [B] (0..1), and\n"
    "                     img_shapes: (frames, height, width) in tokens of each image, e.g.\n"
    "                     [[1, 64, 64], [1, 64, 64]]. LTX-2: hidden_states [B, S, C_in],\n"
    "                     audio_hidden_states [B, Sa, C_in], encoder_hidden_states and\n"
    "                     audio_encoder_hidden_states [B, L, *] (the connectors' outputs; LTX-2.0:\n"
    "                     the caption channels), their masks (optional), timestep [B] (or\n"
    "                     [B, S]: per token), audio_timestep, sigma, audio_sigma [B] (optional as\n"
    "                     in the reference), settings num_frames, height, width, audio_num_frames,\n"
    "                     fps (24), use_cross_timestep (false)\n"
    "  --out FILE         the result, tensor 'sample' [B, S, C_out] (LTX-2: also 'audio_sample'):\n"
    "                     HDF5 when FILE ends in .h5, else safetensors; written to FILE.tmp, then\n"
    "                     renamed\n"
    "  --mode M           another call of the model, from inputs under their own names. LTX-2.3:\n"
    "                     i2v (i2v_timestep [B, S], i2v_audio_timestep, i2v_sigma), stg (the\n"
    "                     setting stg_blocks: their self-attentions give their values), isolated\n"
    "                     (no audio-video attention)\n"
    "  --dump-blocks      also write each block's output (LTX-Video: block_NN_out; Qwen-Image:\n"
    "                     block_NN_img_out and block_NN_txt_out; LTX-2: block_NN_video_out and\n"
    "                     block_NN_audio_out) and the input side's tensors (proj_in_out, temb,\n"
    "                     ...; img_in_out, txt_in_out, temb)\n"
    "\n"
    "  --repeat N         time N forwards after a warm-up one; print the median (and TFLOP/s)\n"
    "  --json FILE        with --repeat: write the timing record (seconds, TFLOP/s, peak memory\n"
    "                     per rank, bytes per hop) as JSON\n"
    "\n"
    "For benchmarks, --transformer random:NAME makes random weights of a released size in memory\n"
    "(LTX-Video: 2b, 13b, tiny; Qwen-Image: qwen-image-20b, qwen-image-tiny; LTX-2: ltx-2.3-22b,\n"
    "ltx-2.3-tiny), and --inputs random:... random inputs of a shape: random:B,F,H,W,L for\n"
    "LTX-Video (batch, latent frames, height, width, prompt tokens), random:B,H,W,L,IMAGES for\n"
    "Qwen-Image (IMAGES images of H x W tokens; FireRed's 1024x1024 edit is random:1,64,64,256,2),\n"
    "random:B,F,H,W,A,L for LTX-2 (A audio latent frames).\n"
    "\n"
    "  --backend B        auto (default: CUDA when a GPU is visible, else the CPU), cpu or cuda;\n"
    "                     ranks take GPUs by node-local rank\n"
    "  --share-gpus       let more ranks than GPUs run on a host (round-robin; for tests)\n"
    "  --split LIST       blocks per rank, e.g. 12,12,12,12 (summing to the model's blocks),\n"
    "                     or weights for uneven hosts, e.g. 1,1,2 (default: balanced)\n"
    "  --check WHEN       none, first (default) or all: test each block's output for NaN/Inf and\n"
    "                     stop with the rank, block and largest magnitude (one forward: first = all)\n"
    "  --compute C        auto (default: bf16 with fp32 accumulation on sm_80 and newer, fp32\n"
    "                     below and on the CPU), fp32 (how a Pascal card such as a P40 computes),\n"
    "                     or bf16\n"
    "  --storage S        the weights on the GPU: auto (the compute's type), fp32, bf16 or fp16\n"
    "                     (16-bit weights with --compute fp32: half the memory, fp32 arithmetic),\n"
    "                     or int8 (also on the CPU: per-output-channel, a quarter of the memory)\n"
    "\n"
    "The CPU backend computes in fp32 (OpenBLAS); set OPENBLAS_NUM_THREADS to the cores per rank.\n";

br_status br_cmd_forward(br_comm *comm, int argc, char **argv) {
    br_forward_opts opts = {0};
    br_cli_device dev = BR_CLI_DEVICE_DEFAULTS;
    const char *check = "first", *repeat = "0";
    const br_option options[] = {
        BR_CLI_DEVICE_OPTIONS(&dev),
        {"check", &check, NULL},
        {"repeat", &repeat, NULL},
        {"json", &opts.json_path, NULL},
        {"transformer", &opts.transformer_dir, NULL},
        {"inputs", opts.inputs, NULL, &opts.n_inputs, 4},
        {"out", &opts.out_path, NULL},
        {"dump-blocks", NULL, &opts.dump_blocks},
        {"split", &opts.split, NULL},
        {"mode", &opts.mode, NULL},
    };
    br_status st = br_parse_options(argc, argv, options, sizeof options / sizeof options[0],
                                    "forward");
    if (st == BR_OK && strcmp(check, "none") && strcmp(check, "first") && strcmp(check, "all"))
        st = br_fail(BR_EINPUT, "brigade forward: --check must be none, first or all");
    opts.check = strcmp(check, "none") != 0;
    opts.repeat = atoi(repeat);
    if (st == BR_OK && (opts.repeat < 0 || opts.repeat > 1000))
        st = br_fail(BR_EINPUT, "brigade forward: --repeat must be in 0..1000");
    if (st == BR_OK && (!opts.transformer_dir || !opts.n_inputs || !opts.out_path))
        st = br_fail(BR_EINPUT,
                     "brigade forward: --transformer, --inputs and --out are required (see --help)");
    br_backend *be;
    if ((st = br_cli_open_device(comm, st, &dev, &be)) == BR_OK) st = br_forward(comm, be, &opts);
    br_backend_close(be);
    return st;
}
