// main.c: brigade's entry point: help without MPI, otherwise start MPI, run the command on every
// rank, print the agreed error once (rank 0) and exit non-zero on every rank.
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "comm/comm.h"
#include "parallel.h"

static const char usage[] =
    "brigade: pipeline-parallel inference of diffusion transformers (LTX-Video, Qwen-Image,\n"
    "LTX-2).\n"
    "Each MPI rank owns a contiguous group of transformer blocks and passes the activations to\n"
    "the next rank.\n"
    "\n"
    "usage: mpirun -np P brigade COMMAND [options]     (P = 1 also runs without mpirun)\n"
    "\n"
    "commands:\n"
    "  run         a model's pipeline: prompt embeddings (and images) in, latents, PNG frames,\n"
    "              sound and mp4 out (LTX-Video, Qwen-Image-Edit, LTX-2.3)\n"
    "  forward     one transformer forward pass of a checkpoint (LTX-Video, Qwen-Image, LTX-2)\n"
    "              on given inputs\n"
    "  encode      prompts as text through a pipeline's text encoder (LTX-2's Gemma 3) to the\n"
    "              embeddings file run reads\n"
    "  serve       a job server: the model loaded once, jobs over HTTP, a queue that\n"
    "              survives a restart\n"
    "  init-model  write a tiny model with random weights (a diffusers folder)\n"
    "\n"
    "Run 'brigade COMMAND --help' for a command's options.\n";

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("brigade 0.1");
        return 0;
    }
    static const struct {
        const char *name;
        br_status (*run)(br_comm *, int, char **);
        const char *help;
    } commands[] = {{"forward", br_cmd_forward, br_forward_help}, {"run", br_cmd_run, br_run_help},
                    {"serve", br_cmd_serve, br_serve_help}, {"encode", br_cmd_encode, br_encode_help}};
    const int n_commands = sizeof commands / sizeof commands[0];
    if (strcmp(argv[1], "init-model") == 0) {
        if (br_wants_help(argc - 2, argv + 2)) return fputs(br_init_model_help, stdout), 0;
        return br_cmd_init_model(argc - 2, argv + 2);
    }
    int c = 0;
    while (c < n_commands && strcmp(argv[1], commands[c].name) != 0) c++;
    if (c == n_commands) {
        fprintf(stderr, "brigade: unknown command '%s' (see brigade --help)\n", argv[1]);
        return 2;
    }
    if (br_wants_help(argc - 2, argv + 2)) {
        fputs(commands[c].help, stdout);
        return 0;
    }
    br_comm *comm = NULL;
    br_status st = br_comm_init(&argc, &argv, &comm);
    if (st != BR_OK) {
        fprintf(stderr, "brigade: error: %s\n", br_error());
        return 1;
    }
    br_parallel_init(br_comm_local_size(comm)); // the CPU threads, shared by this host's ranks
    st = commands[c].run(comm, argc - 2, argv + 2);
    if (st != BR_OK && br_comm_rank(comm) == 0) fprintf(stderr, "brigade: error: %s\n", br_error());
    br_comm_finalize(comm);
    return st == BR_OK ? 0 : 1;
}
