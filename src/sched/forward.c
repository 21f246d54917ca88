// forward.c: the schedule of one forward pass over P ranks (one batch in flight).
//   all ranks     open the checkpoint, parse config.json, agree
//   rank 0        read and check the inputs; broadcast their shapes; agree
//   all ranks     load own weights (input side on rank 0, output side on the last), agree
//   rank 0        input side; broadcast temb, embedded timestep, projected prompt, mask bias once
//   rank r        recv h from r-1, run own blocks, send h to r+1
//   last rank     output side, gather the dumps, write the file atomically; agree
// Every failure is agreed on, so all ranks exit with the same message and nothing hangs waiting
// for a rank that gave up.
#include "forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "io/checkpoint.h"
#include "io/tensor_file.h"
#include "model/ltx_rope.h"
#include "stage/split.h"
#include "placement.h"
#include "stage/stage.h"

// Shapes of one forward, decided by rank 0 from the inputs file and broadcast.
typedef struct {
    int B, S, L;                // batch, video tokens, prompt tokens
    int frames, height, width;  // latent grid, S = frames * height * width
    float rope_scale[3];        // rope_interpolation_scale
} forward_shape;

typedef struct {
    br_comm *comm;
    br_backend *be;
    const br_forward_opts *opts;
    int rank, n_ranks, last;
    br_checkpoint ck;
    ltx_config cfg;
    forward_shape shape;
    br_tensor_set inputs; // rank 0
    int first[1 + 4096];  // block split (bounded by the ranks we accept)
    br_stage stage;
    ltx_context ctx;
    ltx_workspace ws;
    float *h;             // [B*S, D] the baton
    float *sample;        // [B*S, C_out] last rank
    float *dump;          // host [blocks of this rank][B*S*D]
    float *proj_in_dump;  // host [B*S*D], rank 0
    float *latents, *timestep, *prompt; // device copies of the inputs, rank 0
    double *seconds;      // per repetition, as the last rank saw them
} forward_run;

static br_status need_int(const br_tensor_set *set, const char *path, const char *name, int *out) {
    const br_setting *s = br_set_find_setting(set, name);
    if (!s) return br_fail(BR_EINPUT, "%s: setting \"%s\" missing", path, name);
    double v = s->values[0];
    if (s->count != 1 || !(v >= 1 && v <= 1 << 20) || v != (double)(int)v)
        return br_fail(BR_EINPUT, "%s: setting \"%s\" must be one positive integer", path, name);
    *out = (int)v;
    return BR_OK;
}

// "random:B,F,H,W,L": inputs of that shape (batch, latent frames, height, width, prompt tokens)
// with random values, every prompt token kept, timestep 500: for benchmarks.
static br_status random_inputs(const char *spec, const ltx_config *cfg, br_tensor_set *set) {
    int B, F, H, W, L;
    if (sscanf(spec, "random:%d,%d,%d,%d,%d", &B, &F, &H, &W, &L) != 5 || B < 1 || F < 1 ||
        H < 1 || W < 1 || L < 1 || (long long)F * H * W > 1 << 24 || B > 64 || L > 1 << 16)
        return br_fail(BR_EINPUT, "--inputs %s: expected random:B,F,H,W,L (positive sizes)", spec);
    const int64_t S = (int64_t)F * H * W;
    br_tensor *t[4] = {
        br_set_add(set, "hidden_states", 3, (int64_t[]){B, S, cfg->in_channels}),
        br_set_add(set, "encoder_hidden_states", 3, (int64_t[]){B, L, cfg->caption_channels}),
        br_set_add(set, "encoder_attention_mask", 2, (int64_t[]){B, L}),
        br_set_add(set, "timestep", 1, (int64_t[]){B})};
    if (!t[0] || !t[1] || !t[2] || !t[3]) return BR_ENOMEM;
    unsigned long long r = 12345;
    for (int i = 0; i < 2; i++)
        for (int64_t j = 0; j < br_numel(t[i]->ndim, t[i]->shape); j++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            t[i]->data[j] = (float)((r >> 40) & 0xffffff) / (float)(1 << 23) - 1.0f;
        }
    for (int j = 0; j < B * L; j++) t[2]->data[j] = 1.0f;
    for (int j = 0; j < B; j++) t[3]->data[j] = 500.0f;
    double grid[3][1] = {{F}, {H}, {W}}, scale[3] = {8.0 / 25, 32, 32};
    BR_TRY(br_set_add_setting(set, "num_frames", 1, grid[0]));
    BR_TRY(br_set_add_setting(set, "height", 1, grid[1]));
    BR_TRY(br_set_add_setting(set, "width", 1, grid[2]));
    return br_set_add_setting(set, "rope_interpolation_scale", 3, scale);
}

// Rank 0: reads the inputs and checks them against the config.
static br_status read_inputs(forward_run *run) {
    const char *path = run->opts->inputs_path;
    const ltx_config *cfg = &run->cfg;
    forward_shape *sh = &run->shape;
    if (strncmp(path, "random:", 7) == 0) BR_TRY(random_inputs(path, cfg, &run->inputs));
    else BR_TRY(br_tensor_file_read(path, &run->inputs));
    const br_tensor *t;
    BR_TRY(br_set_need(&run->inputs, path, "hidden_states", 3,
                       (int64_t[]){-1, -1, cfg->in_channels}, 0, NULL, &t));
    sh->B = (int)t->shape[0], sh->S = (int)t->shape[1];
    BR_TRY(br_set_need(&run->inputs, path, "encoder_hidden_states", 3,
                       (int64_t[]){sh->B, -1, cfg->caption_channels}, 0, NULL, &t));
    sh->L = (int)t->shape[1];
    BR_TRY(br_set_need(&run->inputs, path, "encoder_attention_mask", 2,
                       (int64_t[]){sh->B, sh->L}, 0, NULL, &t));
    BR_TRY(br_set_need(&run->inputs, path, "timestep", 1, (int64_t[]){sh->B}, 0, NULL, &t));
    if (sh->B < 1 || sh->S < 1 || sh->L < 1)
        return br_fail(BR_EINPUT, "%s: empty batch, video or prompt", path);
    BR_TRY(need_int(&run->inputs, path, "num_frames", &sh->frames));
    BR_TRY(need_int(&run->inputs, path, "height", &sh->height));
    BR_TRY(need_int(&run->inputs, path, "width", &sh->width));
    if ((long long)sh->frames * sh->height * sh->width != sh->S)
        return br_fail(BR_EINPUT,
                       "%s: num_frames x height x width = %d x %d x %d does not equal the %d "
                       "tokens of hidden_states",
                       path, sh->frames, sh->height, sh->width, sh->S);
    const br_setting *scale = br_set_find_setting(&run->inputs, "rope_interpolation_scale");
    if (!scale || scale->count != 3)
        return br_fail(BR_EINPUT, "%s: setting \"rope_interpolation_scale\" (3 numbers) missing",
                       path);
    for (int i = 0; i < 3; i++) sh->rope_scale[i] = (float)scale->values[i];
    return BR_OK;
}

static br_status alloc_buffers(forward_run *run) {
    br_backend *be = run->be;
    const forward_shape *sh = &run->shape;
    const size_t rows = (size_t)sh->B * sh->S, D = run->cfg.dim;
    BR_TRY(ltx_context_alloc(be, &run->cfg, sh->B, sh->S, sh->L, &run->ctx));
    BR_TRY(ltx_workspace_alloc(be, &run->cfg, sh->B, sh->S, sh->L, &run->ws));
    if (!(run->h = be->alloc(be, rows * D, "hidden states"))) return BR_ENOMEM;
    if (run->rank == run->last &&
        !(run->sample = be->alloc(be, rows * run->cfg.out_channels, "output sample")))
        return BR_ENOMEM;
    if (run->opts->dump_blocks) {
        size_t blocks = (size_t)(run->stage.end_block - run->stage.first_block);
        if (!(run->dump = malloc(blocks * rows * D * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of memory for the block dumps");
        if (run->rank == 0 && !(run->proj_in_dump = malloc(rows * D * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of memory for the proj_in dump");
    }
    return BR_OK;
}

// Uploads a host tensor into a fresh device buffer.
static float *upload(br_backend *be, const br_tensor *t, const char *purpose) {
    size_t n = (size_t)br_numel(t->ndim, t->shape);
    float *d = be->alloc(be, n, purpose);
    if (d) be->upload(be, d, t->data, n);
    return d;
}

// Rank 0: the inputs onto the device, once, and the mask as an additive bias.
static br_status upload_inputs(forward_run *run) {
    br_backend *be = run->be;
    const br_tensor_set *in = &run->inputs;
    const size_t n_bias = (size_t)run->shape.B * run->shape.L;
    if (!(run->latents = upload(be, br_set_find(in, "hidden_states"), "input latents")) ||
        !(run->timestep = upload(be, br_set_find(in, "timestep"), "timesteps")) ||
        !(run->prompt = upload(be, br_set_find(in, "encoder_hidden_states"), "prompt embeddings")))
        return BR_ENOMEM;
    float *bias = malloc(n_bias * sizeof(float));
    if (!bias) return br_fail(BR_ENOMEM, "out of memory for the mask bias");
    ltx_mask_bias(bias, br_set_find(in, "encoder_attention_mask")->data, (int)n_bias);
    be->upload(be, run->ctx.mask_bias, bias, n_bias);
    free(bias);
    return BR_OK;
}

// Rank 0: the input side, into run->h and run->ctx.
static void input_side(forward_run *run) {
    ltx_input_side(run->be, &run->cfg, &run->stage.in, run->latents, run->timestep, run->prompt,
                   &run->ctx, &run->ws, run->h);
    if (run->proj_in_dump)
        run->be->download(run->be, run->proj_in_dump, run->h,
                          (size_t)run->shape.B * run->shape.S * run->cfg.dim);
}

// What every block needs reaches every rank once: one broadcast per context tensor.
static br_status share_context(forward_run *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    const forward_shape *sh = &run->shape;
    const size_t D = run->cfg.dim;
    run->be->sync(run->be);
    BR_TRY(tr->bcast(run->comm, run->ctx.temb, sh->B * LTX_ADA_PARAMS * D, 0));
    BR_TRY(tr->bcast(run->comm, run->ctx.embedded_timestep, sh->B * D, 0));
    BR_TRY(tr->bcast(run->comm, run->ctx.caption, (size_t)sh->B * sh->L * D, 0));
    return tr->bcast(run->comm, run->ctx.mask_bias, (size_t)sh->B * sh->L, 0);
}

// The baton: recv from the previous rank, run own blocks, send to the next one.
static br_status pass_baton(forward_run *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    const size_t n = (size_t)run->shape.B * run->shape.S * run->cfg.dim;
    if (run->rank > 0) BR_TRY(tr->recv(run->comm, run->h, n, run->rank - 1));
    br_guard guard = {run->opts->check, 0, 0};
    br_status st = br_stage_run_blocks(&run->stage, &run->ctx, &run->ws, run->h, run->dump, &guard);
    run->be->sync(run->be);
    // Even a guard failure passes the baton on: the agreement after the pass names the first rank.
    if (run->rank < run->last) BR_TRY(tr->send(run->comm, run->h, n, run->rank + 1));
    return st;
}

// Last rank: the output side, and a result set with room for everything the others will send.
static br_status prepare_output(forward_run *run, br_tensor_set *out) {
    const forward_shape *sh = &run->shape;
    const int64_t B = sh->B, S = sh->S, L = sh->L, D = run->cfg.dim;
    if (run->rank != run->last) return BR_OK;
    if (!br_set_add(out, "sample", 3, (int64_t[]){B, S, run->cfg.out_channels})) return BR_ENOMEM;
    if (!run->opts->dump_blocks) return BR_OK;
    const char *names[] = {"proj_in_out", "caption_projection_out", "rope_cos", "rope_sin"};
    const int64_t rows[] = {S, L, S, S};
    for (int i = 0; i < 4; i++)
        if (!br_set_add(out, names[i], 3, (int64_t[]){B, rows[i], D})) return BR_ENOMEM;
    if (!br_set_add(out, "temb", 2, (int64_t[]){B, LTX_ADA_PARAMS * D}) ||
        !br_set_add(out, "embedded_timestep", 2, (int64_t[]){B, D}))
        return BR_ENOMEM;
    for (int b = 0; b < run->cfg.layers; b++) {
        char name[32];
        snprintf(name, sizeof name, "block_%02d_out", b);
        if (!br_set_add(out, name, 3, (int64_t[]){B, S, D})) return BR_ENOMEM;
    }
    return BR_OK;
}

static float *out_data(br_tensor_set *out, const char *name) {
    return br_set_find(out, name)->data;
}

// Dumps travel on the control plane (host memory) to the last rank, in block order.
static br_status send_dumps(forward_run *run) {
    const size_t n = (size_t)run->shape.B * run->shape.S * run->cfg.dim;
    const size_t blocks = (size_t)(run->stage.end_block - run->stage.first_block);
    if (run->rank == 0)
        BR_TRY(br_comm_send_bytes(run->comm, run->proj_in_dump, n * sizeof(float), run->last));
    for (size_t i = 0; i < blocks; i++)
        BR_TRY(br_comm_send_bytes(run->comm, run->dump + i * n, n * sizeof(float), run->last));
    return BR_OK;
}

static br_status receive_dumps(forward_run *run, br_tensor_set *out) {
    br_backend *be = run->be;
    const forward_shape *sh = &run->shape;
    const size_t D = run->cfg.dim, n = (size_t)sh->B * sh->S * D;
    be->download(be, out_data(out, "temb"), run->ctx.temb, sh->B * LTX_ADA_PARAMS * D);
    be->download(be, out_data(out, "embedded_timestep"), run->ctx.embedded_timestep, sh->B * D);
    be->download(be, out_data(out, "caption_projection_out"), run->ctx.caption,
                 (size_t)sh->B * sh->L * D);
    // The tables are per token; the reference repeats them for each batch element.
    for (int b = 0; b < sh->B; b++) {
        be->download(be, out_data(out, "rope_cos") + b * (size_t)sh->S * D, run->ctx.rope_cos,
                     (size_t)sh->S * D);
        be->download(be, out_data(out, "rope_sin") + b * (size_t)sh->S * D, run->ctx.rope_sin,
                     (size_t)sh->S * D);
    }
    float *proj_in = out_data(out, "proj_in_out");
    if (run->last == 0) memcpy(proj_in, run->proj_in_dump, n * sizeof(float));
    else BR_TRY(br_comm_recv_bytes(run->comm, proj_in, n * sizeof(float), 0));
    // One message per block, from its owner, in block order.
    for (int r = 0; r <= run->last; r++) {
        size_t blocks = (size_t)(run->first[r + 1] - run->first[r]);
        for (size_t i = 0; i < blocks; i++) {
            char name[32];
            snprintf(name, sizeof name, "block_%02d_out", run->first[r] + (int)i);
            float *dst = out_data(out, name);
            if (r == run->last) memcpy(dst, run->dump + i * n, n * sizeof(float));
            else BR_TRY(br_comm_recv_bytes(run->comm, dst, n * sizeof(float), r));
        }
    }
    return BR_OK;
}

// Last rank: the median time per forward, what each rank held at its peak, and the bytes of
// one hop; printed as one line and written to --json FILE (temporary name, then rename).
static br_status report_timing(forward_run *run) {
    const int n = run->n_ranks, runs = 1 + run->opts->repeat, me = run->rank;
    double peak = (double)run->be->peak_bytes, *peaks = NULL;
    if (me == run->last && !(peaks = calloc((size_t)n, sizeof *peaks)))
        return br_fail(BR_ENOMEM, "out of memory");
    br_status st = br_comm_gather_bytes(run->comm, &peak, peaks, sizeof peak, run->last);
    if (st != BR_OK || me != run->last) return st;
    // Median of the timed runs (the first run is the warm-up).
    double *t = run->seconds + 1;
    for (int i = 1; i < runs - 1; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j]; t[j] = t[j - 1]; t[j - 1] = x;
        }
    const forward_shape *sh = &run->shape;
    double median = t[(runs - 1) / 2];
    double flops = ltx_forward_flops(&run->cfg, sh->B, sh->S, sh->L);
    double hop = (double)sh->B * sh->S * run->cfg.dim * sizeof(float);
    printf("forward: %.4f s median of %d (after 1 warm-up), %.1f TFLOP/s, %d ranks, %s, %s\n",
           median, runs - 1, flops / median / 1e12, n, run->be->device_name,
           br_compute_name(run->be->compute));
    fflush(stdout);
    if (!run->opts->json_path) {
        free(peaks);
        return BR_OK;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", run->opts->json_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(peaks);
        return br_fail(BR_EIO, "cannot create %s", tmp);
    }
    fprintf(f, "{\"model\": \"%s\", \"ranks\": %d, \"device\": \"%s\", \"compute\": \"%s\", "
            "\"weights\": \"%s\", "
            "\"batch\": %d, \"tokens\": %d, \"prompt_tokens\": %d, \"seconds\": %.6f, "
            "\"runs\": %d, \"tflops\": %.3f, \"flop\": %.6g, \"bytes_per_hop\": %.0f, "
            "\"peak_bytes_per_rank\": [",
            run->opts->transformer_dir, n, run->be->device_name,
            run->be->compute == BR_COMPUTE_BF16 ? "bf16" : "fp32",
            br_storage_name(run->be->storage), sh->B, sh->S, sh->L, median,
            runs - 1, flops / median / 1e12, flops, n > 1 ? hop : 0.0);
    // The CPU backend does not track its memory: null, not a made-up 0.
    for (int r = 0; r < n; r++)
        peaks[r] > 0 ? fprintf(f, "%s%.0f", r ? ", " : "", peaks[r])
                     : fprintf(f, "%snull", r ? ", " : "");
    fprintf(f, "], \"seconds_all\": [");
    for (int i = 0; i < runs; i++) fprintf(f, "%s%.6f", i ? ", " : "", run->seconds[i]);
    fprintf(f, "]}\n");
    free(peaks);
    if (fclose(f) != 0 || rename(tmp, run->opts->json_path) != 0) {
        remove(tmp);
        return br_fail(BR_EIO, "cannot write %s", run->opts->json_path);
    }
    return BR_OK;
}

// One forward pass through the pipeline: input side, context to every rank, the baton through
// the blocks, output side.
static br_status one_forward(forward_run *run) {
    if (run->rank == 0) input_side(run);
    BR_TRY(share_context(run));
    BR_TRY(pass_baton(run));
    if (run->rank == run->last)
        ltx_output_side(run->be, &run->cfg, &run->stage.out, &run->ctx, &run->ws, run->h,
                        run->sample);
    run->be->sync(run->be);
    return BR_OK;
}

// The forward, once, or 1 + repeat times with each repetition timed from a common start (the
// agreement) to the last rank's output. Every repetition computes the same bits.
static br_status timed_forwards(forward_run *run) {
    const int runs = run->opts->repeat ? 1 + run->opts->repeat : 1;
    for (int i = 0; i < runs; i++) {
        double t0 = br_now();
        br_status st = br_comm_agree(run->comm, one_forward(run));
        if (st != BR_OK) return st;
        if (run->seconds) run->seconds[i] = br_now() - t0;
    }
    return BR_OK;
}

static void run_free(forward_run *run) {
    br_backend *be = run->be;
    be->release(be, run->latents);
    be->release(be, run->timestep);
    be->release(be, run->prompt);
    free(run->seconds);
    be->release(be, run->h);
    be->release(be, run->sample);
    free(run->dump);
    free(run->proj_in_dump);
    ltx_workspace_free(be, &run->ws);
    ltx_context_free(be, &run->ctx);
    br_stage_free(&run->stage);
    br_set_free(&run->inputs);
    br_ckpt_close(&run->ck);
}

br_status br_forward(br_comm *comm, br_backend *be, const br_forward_opts *opts) {
    forward_run *run = calloc(1, sizeof *run);
    if (!run) return br_fail(BR_ENOMEM, "out of memory");
    run->comm = comm, run->be = be, run->opts = opts;
    run->rank = br_comm_rank(comm), run->n_ranks = br_comm_size(comm);
    run->last = run->n_ranks - 1;
    br_status st = ltx_open_transformer(opts->transformer_dir, &run->ck, &run->cfg);
    if (st == BR_OK && run->n_ranks > 4096)
        st = br_fail(BR_EINPUT, "%d ranks: at most 4096 are supported", run->n_ranks);
    if (st == BR_OK) st = br_split_parse(run->opts->split, run->cfg.layers, run->n_ranks, run->first);
    if ((st = br_comm_agree(comm, st)) != BR_OK) goto done;

    st = run->rank == 0 ? read_inputs(run) : BR_OK;
    if ((st = br_comm_agree(comm, st)) != BR_OK) goto done;
    if ((st = br_comm_bcast_bytes(comm, &run->shape, sizeof run->shape, 0)) != BR_OK) goto done;

    const double hop = (double)run->shape.B * run->shape.S * run->cfg.dim * sizeof(float);
    if ((st = br_placement_report(comm, be, run->first, hop, 0, NULL)) != BR_OK) goto done;
    st = br_stage_load(&run->stage, be, &run->ck, &run->cfg, run->rank, run->n_ranks, run->first);
    if (st == BR_OK) st = alloc_buffers(run);
    if (st == BR_OK)
        st = ltx_rope_upload(be, &run->cfg, run->shape.frames, run->shape.height, run->shape.width,
                             run->shape.rope_scale, run->ctx.rope_cos, run->ctx.rope_sin);
    if (st == BR_OK && run->rank == 0) st = upload_inputs(run);
    if (st == BR_OK && opts->repeat && !(run->seconds = calloc(1 + opts->repeat, sizeof(double))))
        st = br_fail(BR_ENOMEM, "out of memory");
    if ((st = br_comm_agree(comm, st)) != BR_OK) goto done;

    if ((st = timed_forwards(run)) != BR_OK) goto done;
    if (opts->repeat && (st = br_comm_agree(comm, report_timing(run))) != BR_OK) goto done;

    // The writer makes room first and all agree, so no rank is left blocked in a send.
    br_tensor_set out = {0};
    st = prepare_output(run, &out);
    if ((st = br_comm_agree(comm, st)) == BR_OK) {
        if (opts->dump_blocks)
            st = run->rank == run->last ? receive_dumps(run, &out) : send_dumps(run);
        if (st == BR_OK && run->rank == run->last) {
            be->download(be, out_data(&out, "sample"), run->sample,
                         (size_t)run->shape.B * run->shape.S * run->cfg.out_channels);
            st = br_tensor_file_write(opts->out_path, &out);
        }
        st = br_comm_agree(comm, st);
    }
    br_set_free(&out);
done:
    run_free(run);
    free(run);
    return st;
}
