// cmd_encode.c: `brigade encode`: prompts as text to the embeddings file `brigade run` reads.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "device.h"
#include "sched/encode.h"
#include "prompt_args.h"

const char br_encode_help[] =
    "usage: mpirun -np P brigade encode --model DIR (--prompt TEXT | --prompts FILE) --out FILE\n"
    "\n"
    "Encodes prompts with a pipeline's own text encoder, split over the P ranks (each holds a\n"
    "contiguous group of its layers), and writes what the pipeline hands its text connectors:\n"
    "the embeddings file `brigade run --embeddings` reads. LTX-2 (LTX2Pipeline): Gemma 3\n"
    "(text_encoder/: Gemma3ForConditionalGeneration, of which the language model is used;\n"
    "tokenizer/tokenizer.model: its SentencePiece model). Each prompt is tokenized as the\n"
    "pipeline does (stripped, <bos>, cut to --max-tokens with a warning, left-padded); the file\n"
    "holds every hidden state (the embeddings and each layer's output):\n"
    "  prompt_embeds [N, L, C*K] (feature c*K + k; padding rows zero), prompt_attention_mask\n"
    "  [N, L] (1 keep, 0 pad), input_ids [N, L]; with --negative-prompt the same three named\n"
    "  negative_prompt_embeds, negative_prompt_attention_mask, negative_input_ids [1, ...]\n"
    "\n"
    "  --model DIR          the pipeline folder (text_encoder/ and tokenizer/ in it)\n"
    "  --prompt TEXT        a prompt (repeat for several)\n"
    "  --prompts FILE       prompts one per line (UTF-8; blank lines skipped)\n"
    "  --negative-prompt T  also encode T (the pipeline's negative prompt)\n"
    "  --out FILE           HDF5 when FILE ends in .h5, else safetensors; written to a temporary\n"
    "                       name, then renamed\n"
    "  --max-tokens N       the pipeline's length (default 1024, LTX2Pipeline's)\n"
    "  --text-encoder DIR   another text_encoder/ folder than DIR's; random:gemma-3-12b: random\n"
    "                       weights of LTX-2's Gemma 3 12B (benchmarks)\n"
    "  --repeat N           time N encodings after a warm-up one (no --out needed); print the\n"
    "                       median and spread\n"
    "  --json FILE          with --repeat: the timing record (seconds, load time, peak memory\n"
    "                       per rank) as JSON\n"
    "\n"
    "  --backend B, --compute C, --storage S, --share-gpus: as for brigade forward\n";

br_status br_cmd_encode(br_comm *comm, int argc, char **argv) {
    br_encode_opts opts = {0};
    br_cli_device dev = BR_CLI_DEVICE_DEFAULTS;
    const char *words[BR_MAX_PROMPT_WORDS], *file = NULL, *max_tokens = "1024", *repeat = "0";
    int n_words = 0;
    const br_option options[] = {
        BR_CLI_DEVICE_OPTIONS(&dev),
        {"model", &opts.model_dir, NULL},
        {"prompt", words, NULL, &n_words, BR_MAX_PROMPT_WORDS},
        {"prompts", &file, NULL},
        {"negative-prompt", &opts.negative, NULL},
        {"out", &opts.out_path, NULL},
        {"max-tokens", &max_tokens, NULL},
        {"text-encoder", &opts.encoder, NULL},
        {"repeat", &repeat, NULL},
        {"json", &opts.json_path, NULL},
    };
    br_status st = br_parse_options(argc, argv, options, sizeof options / sizeof options[0],
                                    "encode");
    if (st == BR_OK) st = br_parse_int(max_tokens, "max-tokens", 1, 1 << 16, &opts.max_tokens);
    if (st == BR_OK) st = br_parse_int(repeat, "repeat", 0, 1000, &opts.repeat);
    if (st == BR_OK && (!opts.model_dir || (!opts.out_path && !opts.repeat) || (!n_words && !file)))
        st = br_fail(BR_EINPUT, "brigade encode: --model, --out (or --repeat) and a --prompt or "
                     "--prompts are required (see --help)");
    br_prompt_list prompts = {0};
    br_backend *be = NULL;
    if ((st = br_cli_gather_prompts(comm, st, words, n_words, file, &prompts, &opts.n_prompts)) == BR_OK) {
        opts.prompts = (const char *const *)prompts.texts;
        if ((st = br_cli_open_device(comm, st, &dev, &be)) == BR_OK) st = br_encode(comm, be, &opts);
        br_backend_close(be);
    }
    br_prompt_list_free(&prompts);
    return st;
}
