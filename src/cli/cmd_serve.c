// cmd_serve.c: `brigade serve`: the options, then the server (src/serve).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "device.h"
#include "serve/serve.h"

const char br_serve_help[] =
    "usage: mpirun -np P brigade serve --model DIR --state DIR [--listen 127.0.0.1:8585]\n"
    "                                 [options]\n"
    "\n"
    "A job server: every rank loads its blocks of DIR's transformer once and keeps them; rank 0\n"
    "answers HTTP and keeps the queue and every job's state in SQLite (--state's queue.db). Up to\n"
    "--max-jobs jobs are in flight together, their steps' micro-batches following each other\n"
    "through the pipeline of ranks (a job submitted while others run starts at once), each as\n"
    "`brigade run` would run it alone (the same bits), checkpointed as they go: a server started\n"
    "again on the same --state resumes the jobs that were running and runs the queued ones.\n"
    "The API (docs/serve.md):\n"
    "  POST /jobs               a JSON object {\"embeddings\": NAME under --inputs, \"steps\": 8,\n"
    "                           ...} or a form with the file \"embeddings\" (and \"image\") and\n"
    "                           the settings as fields; returns {\"id\": N}\n"
    "  GET /jobs, GET /jobs/N   the queue; a job's state, step k of n, seconds per step, ETA\n"
    "  GET /jobs/N/files/NAME   its outputs (frames, mp4, wav, png, latents.h5, run.json)\n"
    "  DELETE /jobs/N           cancel (a running job stops at its next step)\n"
    "  GET /health, /metrics    liveness; Prometheus text; GET / is a page for all of it\n"
    "\n"
    "  --model DIR          the pipeline folder every job runs (as brigade run --model)\n"
    "  --state DIR          the queue, the jobs' outputs (DIR/jobs/N) and uploads; made if absent\n"
    "  --listen HOST:PORT   where to answer (127.0.0.1:8585; port 0: any free one, printed)\n"
    "  --token-file FILE    its first line is a bearer token every request but /health must\n"
    "                       carry; required to listen beyond loopback\n"
    "  --inputs DIR         a folder of embeddings and images that jobs may name\n"
    "  --max-upload SIZE    largest request body, e.g. 512M or 4G (2G)\n"
    "  --checkpoint-every K a running job's latents are saved every K steps (5)\n"
    "  --max-attempts N     a job that ended the server N times fails instead of starting (3)\n"
    "  --max-jobs N         jobs in flight together, 1..64 (4); one that does not fit beside\n"
    "                       them (memory, see --mem-limit) waits until one ends\n"
    "  --vae DIR|none, --split LIST, --schedule S, --timeout SEC, --host-watts W,\n"
    "  --price-kwh P, --mem-limit SIZE   as brigade run, for every job\n"
    "  --backend B, --compute C, --storage S, --share-gpus   the devices, as brigade run\n"
    "A job's settings are brigade run's options: height, width, frames, frame-rate, steps,\n"
    "recipe, guidance, guidance-rescale, stg-scale, stg-blocks, modality-scale, audio-guidance,\n"
    "audio-guidance-rescale, audio-stg-scale, audio-modality-scale, decode-timestep,\n"
    "decode-noise-scale, seed, microbatch, decode-tile, check, image-area.\n";

br_status br_cmd_serve(br_comm *comm, int argc, char **argv) {
    serve_config c = {.listen = "127.0.0.1:8585"};
    br_cli_device dev = BR_CLI_DEVICE_DEFAULTS;
    const char *every = "5", *upload = "2G", *attempts = "3", *max_jobs = "4";
    // The options every job's run gets, as brigade run's words.
    static const char *const passed[] = {"--vae", "--split", "--schedule", "--timeout",
                                         "--host-watts", "--price-kwh", "--mem-limit"};
    enum { N_PASSED = sizeof passed / sizeof *passed };
    const char *pass_value[N_PASSED] = {NULL};
    const br_option options[] = {
        {"model", &c.model, NULL}, {"state", &c.state_dir, NULL}, {"inputs", &c.inputs_dir, NULL},
        {"listen", &c.listen, NULL}, {"token-file", &c.token_file, NULL},
        {"max-upload", &upload, NULL}, {"checkpoint-every", &every, NULL},
        {"max-attempts", &attempts, NULL}, {"max-jobs", &max_jobs, NULL},
        BR_CLI_DEVICE_OPTIONS(&dev), {passed[0] + 2, &pass_value[0], NULL},
        {passed[1] + 2, &pass_value[1], NULL}, {passed[2] + 2, &pass_value[2], NULL},
        {passed[3] + 2, &pass_value[3], NULL}, {passed[4] + 2, &pass_value[4], NULL},
        {passed[5] + 2, &pass_value[5], NULL}, {passed[6] + 2, &pass_value[6], NULL},
    };
    _Static_assert(N_PASSED == 7, "one option above per passed word");
    br_status st = br_parse_options(argc, argv, options, sizeof options / sizeof *options, "serve");
    if (st == BR_OK && (!c.model || !c.state_dir))
        st = br_fail(BR_EINPUT, "brigade serve: --model DIR and --state DIR are required (see --help)");
    if (st == BR_OK) st = br_parse_int(every, "checkpoint-every", 1, 1 << 20, &c.checkpoint_every);
    if (st == BR_OK) st = br_parse_int(attempts, "max-attempts", 1, 1000, &c.max_attempts);
    if (st == BR_OK) st = br_parse_int(max_jobs, "max-jobs", 1, SERVE_MAX_JOBS, &c.max_jobs);
    double upload_bytes = 0;
    if (st == BR_OK) st = br_parse_size(upload, "max-upload", &upload_bytes);
    c.max_upload = (long)upload_bytes;
    for (int i = 0; i < N_PASSED; i++) {
        if (!pass_value[i]) continue;
        c.run_words[c.n_run_words++] = passed[i];
        c.run_words[c.n_run_words++] = pass_value[i];
    }
    br_backend *be;
    if ((st = br_cli_open_device(comm, st, &dev, &be)) == BR_OK) st = br_serve(comm, be, &c);
    br_backend_close(be);
    return st;
}
