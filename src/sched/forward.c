// forward.c: the schedule of one forward pass over P ranks (one batch in flight), for any family.
//   all ranks     open the model (the family from _class_name), agree
//   rank 0        read and check the inputs; broadcast the geometry; agree
//   all ranks     load own weights (input side on rank 0, output side on the last), the tables;
//                 agree
//   rank 0        input side: the prompt slots (broadcast to every rank) and the baton
//   rank r        recv the baton from r-1, run own blocks, send it to r+1
//   last rank     output side, gather the dumps, write the file atomically; agree
// Every failure is agreed on, so all ranks exit with the same message and nothing hangs waiting
// for a rank that gave up.
#include "forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "io/atomic_file.h"
#include "io/tensor_file.h"
#include "placement.h"
#include "stage/split.h"
#include "stage/stage.h"

// What rank 0 decides from the inputs file, broadcast as bytes.
typedef struct {
    int B;
    unsigned mode; // BR_MODE_* of the forward
    br_geometry geom;
} forward_shape;

typedef struct {
    br_comm *comm;
    br_backend *be;
    const br_forward_opts *opts;
    int rank, n_ranks, last;
    br_model model;
    forward_shape shape;
    br_layout layout;
    br_tensor_set inputs;  // rank 0
    br_forward_inputs in;  // rank 0: views into inputs
    int first[1 + 4096];   // block split (bounded by the ranks we accept)
    br_stage stage;
    void *ws;
    br_batch batch;        // views of the buffers below
    float *baton;          // device [B * baton floats]
    float *sample;         // last rank: device [B, S, C_out]
    float *dump;           // host [blocks of this rank][stream floats of B items]
    float *input_dump;     // rank 0: host copy of the baton after the input side
    float *latents, *timestep, *prompt; // rank 0: device copies of the inputs
    double *seconds;       // per repetition, as the last rank saw them
} forward_run;

static size_t baton_floats(const forward_run *run) {
    return (size_t)run->shape.B * br_baton_floats(&run->layout);
}

// Rank 0: reads (or makes) the inputs, the files as one set (a case can come in two: its inputs
// and a mode's), and lets the family check them; its messages name the files.
static br_status read_inputs(forward_run *run) {
    const br_family *f = run->model.family;
    char names[1024] = "";
    for (int i = 0; i < run->opts->n_inputs; i++) {
        const char *path = run->opts->inputs[i];
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " + " : "", path);
        br_tensor_set one = {0};
        br_status st = strncmp(path, "random:", 7) == 0
                           ? f->random_inputs(&run->model, path, &one)
                           : br_tensor_file_read(path, &one);
        if (st == BR_OK) st = br_set_merge(&run->inputs, &one, path); // empties `one`
        br_set_free(&one);
        BR_TRY(st);
    }
    BR_TRY(f->forward_inputs(&run->model, &run->inputs, names, run->opts->mode, &run->shape.geom,
                             &run->in));
    run->shape.B = run->in.B, run->shape.mode = run->in.mode;
    return BR_OK;
}

// Device buffers of every slot, and the batch's views of them.
static br_status alloc_slots(forward_run *run) {
    br_backend *be = run->be;
    const br_layout *l = &run->layout;
    const int B = run->shape.B;
    br_batch *b = &run->batch;
    *b = (br_batch){.n = B, .geom = &run->shape.geom, .mode = run->shape.mode};
    if (!(run->baton = be->alloc(be, baton_floats(run), "the baton"))) return BR_ENOMEM;
    float *at = run->baton;
    for (int k = 0; k < l->n_baton; k++) {
        b->baton[k] = at;
        at += B * br_slot_floats(&l->baton[k]);
    }
    for (int k = 0; k < l->n_prompt; k++)
        if (!(b->prompt[k] = be->alloc(be, B * br_slot_floats(&l->prompt[k]), l->prompt[k].name)))
            return BR_ENOMEM;
    for (int k = 0; k < l->n_table; k++)
        if (!(b->table[k] = be->alloc(be, br_slot_floats(&l->table[k]), l->table[k].name)))
            return BR_ENOMEM;
    return BR_OK;
}

static br_status alloc_buffers(forward_run *run) {
    br_backend *be = run->be;
    const br_geometry *g = &run->shape.geom;
    const size_t B = (size_t)run->shape.B;
    BR_TRY(run->model.family->workspace_alloc(&run->model, be, g, run->shape.B, &run->ws));
    BR_TRY(alloc_slots(run));
    if (run->rank == run->last &&
        !(run->sample = be->alloc(be, B * g->tokens * run->model.out_channels, "output sample")))
        return BR_ENOMEM;
    if (run->opts->dump_blocks) {
        size_t blocks = (size_t)(run->stage.end_block - run->stage.first_block);
        size_t per_block = br_stage_stream_floats(&run->layout, run->shape.B);
        if (!(run->dump = malloc((blocks ? blocks : 1) * per_block * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of memory for the block dumps");
        if (run->rank == 0 && !(run->input_dump = malloc(baton_floats(run) * sizeof(float))))
            return br_fail(BR_ENOMEM, "out of memory for the input side's dump");
    }
    return BR_OK;
}

// Uploads n floats of host data into a fresh device buffer.
static float *upload(br_backend *be, const float *data, size_t n, const char *purpose) {
    float *d = be->alloc(be, n, purpose);
    if (d) be->upload(be, d, data, n);
    return d;
}

// Rank 0: the inputs onto the device, once.
static br_status upload_inputs(forward_run *run) {
    br_backend *be = run->be;
    const br_model *m = &run->model;
    const size_t B = (size_t)run->shape.B, S = run->shape.geom.tokens;
    const size_t L = run->shape.geom.text_tokens;
    if (!(run->latents = upload(be, run->in.latents, B * S * m->in_channels, "input latents")) ||
        !(run->timestep = upload(be, run->in.timestep, B * run->shape.geom.step_values,
                                 "timesteps")) ||
        !(run->prompt = upload(be, run->in.prompt, B * L * m->text_channels, "prompt embeddings")))
        return BR_ENOMEM;
    return BR_OK;
}

// Rank 0: the input side into the prompt slots and the baton.
static br_status input_side(forward_run *run) {
    const br_family *f = run->model.family;
    BR_TRY(f->embed_prompt(&run->model, run->be, run->stage.in, &run->batch, run->ws, run->prompt,
                           run->in.mask, &run->batch.flags));
    f->embed_latents(&run->model, run->be, run->stage.in, &run->batch, run->ws, run->latents,
                     run->timestep);
    if (run->input_dump) run->be->download(run->be, run->input_dump, run->baton, baton_floats(run));
    return BR_OK;
}

// The prompt slots reach every rank once per forward: one broadcast each, and their flags.
static br_status share_prompts(forward_run *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    BR_TRY(br_comm_bcast_bytes(run->comm, &run->batch.flags, sizeof run->batch.flags, 0));
    run->be->sync(run->be);
    for (int k = 0; k < run->layout.n_prompt; k++)
        BR_TRY(tr->bcast(run->comm, run->batch.prompt[k],
                         run->shape.B * br_slot_floats(&run->layout.prompt[k]), 0));
    return BR_OK;
}

// The baton: recv from the previous rank, run own blocks, send to the next one.
static br_status pass_baton(forward_run *run) {
    const br_transport *tr = br_comm_transport(run->comm);
    const size_t n = baton_floats(run);
    if (run->rank > 0) BR_TRY(tr->recv(run->comm, run->baton, n, run->rank - 1));
    br_guard guard = {run->opts->check, 0, 0};
    br_status st = br_stage_run_blocks(&run->stage, &run->layout, &run->batch, run->ws, run->dump,
                                       &guard);
    run->be->sync(run->be);
    // Even a guard failure passes the baton on: the agreement after the pass names the first rank.
    if (run->rank < run->last) BR_TRY(tr->send(run->comm, run->baton, n, run->rank + 1));
    return st;
}

// A slot's dump: [B, rows, cols] or [B, cols] per item; a table [rows, cols] (or per item).
static br_tensor *add_slot(br_tensor_set *out, const char *name, const br_slot *s, int B,
                           int per_item) {
    int64_t shape[3];
    int nd = 0;
    if (per_item) shape[nd++] = B;
    if (s->rows) shape[nd++] = s->rows;
    shape[nd++] = s->cols;
    return br_set_add(out, name, nd, shape);
}

// The output's named parts (the family's, or the whole sequence as "sample").
static int output_parts(const forward_run *run, br_output_part parts[4]) {
    const br_family *f = run->model.family;
    if (f->output_parts) return f->output_parts(&run->model, &run->shape.geom, parts);
    parts[0] = (br_output_part){"sample", 0, run->shape.geom.tokens};
    return 1;
}

// Last rank: a result set with room for every output part and everything the dumps hold.
static br_status prepare_output(forward_run *run, br_tensor_set *out) {
    const br_layout *l = &run->layout;
    const int64_t B = run->shape.B;
    if (run->rank != run->last) return BR_OK;
    br_output_part parts[4];
    for (int i = 0, n = output_parts(run, parts); i < n; i++)
        if (!br_set_add(out, parts[i].name, 3, (int64_t[]){B, parts[i].tokens,
                                                            run->model.out_channels}))
            return BR_ENOMEM;
    if (!run->opts->dump_blocks) return BR_OK;
    for (int k = 0; k < l->n_baton; k++)
        if (l->baton[k].dump && !add_slot(out, l->baton[k].dump, &l->baton[k], (int)B, 1))
            return BR_ENOMEM;
    for (int k = 0; k < l->n_prompt; k++)
        if (l->prompt[k].dump && !add_slot(out, l->prompt[k].dump, &l->prompt[k], (int)B, 1))
            return BR_ENOMEM;
    for (int k = 0; k < l->n_table; k++)
        if (l->table[k].dump &&
            !add_slot(out, l->table[k].dump, &l->table[k], (int)B, l->table[k].dump_per_item))
            return BR_ENOMEM;
    for (int i = 0; i < run->model.layers; i++)
        for (int k = 0; k < l->n_baton; k++) {
            if (!l->baton[k].stream) continue;
            char name[BR_NAME_MAX];
            snprintf(name, sizeof name, l->baton[k].block_dump, i);
            if (!add_slot(out, name, &l->baton[k], (int)B, 1)) return BR_ENOMEM;
        }
    return BR_OK;
}

static float *out_data(br_tensor_set *out, const char *name) {
    return br_set_find(out, name)->data;
}

// Dumps travel on the control plane (host memory) to the last rank, in block order.
static br_status send_dumps(forward_run *run) {
    const size_t n = br_stage_stream_floats(&run->layout, run->shape.B);
    const size_t blocks = (size_t)(run->stage.end_block - run->stage.first_block);
    if (run->rank == 0)
        BR_TRY(br_comm_send_bytes(run->comm, run->input_dump, baton_floats(run) * sizeof(float),
                                  run->last));
    for (size_t i = 0; i < blocks; i++)
        BR_TRY(br_comm_send_bytes(run->comm, run->dump + i * n, n * sizeof(float), run->last));
    return BR_OK;
}

// Last rank: the input side's baton (from rank 0), then its own prompt slots and tables.
static br_status receive_input_dumps(forward_run *run, br_tensor_set *out) {
    br_backend *be = run->be;
    const br_layout *l = &run->layout;
    const int B = run->shape.B;
    float *baton = run->input_dump;
    if (run->last != 0 && !(baton = malloc(baton_floats(run) * sizeof(float))))
        return br_fail(BR_ENOMEM, "out of memory for the input side's dump");
    br_status st = run->last == 0 ? BR_OK
                                  : br_comm_recv_bytes(run->comm, baton,
                                                       baton_floats(run) * sizeof(float), 0);
    size_t at = 0;
    for (int k = 0; st == BR_OK && k < l->n_baton; k++) {
        const size_t n = B * br_slot_floats(&l->baton[k]);
        if (l->baton[k].dump)
            memcpy(out_data(out, l->baton[k].dump), baton + at, n * sizeof(float));
        at += n;
    }
    if (baton != run->input_dump) free(baton);
    for (int k = 0; st == BR_OK && k < l->n_prompt; k++)
        if (l->prompt[k].dump)
            be->download(be, out_data(out, l->prompt[k].dump), run->batch.prompt[k],
                         B * br_slot_floats(&l->prompt[k]));
    for (int k = 0; st == BR_OK && k < l->n_table; k++) {
        if (!l->table[k].dump) continue;
        const size_t n = br_slot_floats(&l->table[k]);
        for (int i = 0; i < (l->table[k].dump_per_item ? B : 1); i++)
            be->download(be, out_data(out, l->table[k].dump) + i * n, run->batch.table[k], n);
    }
    return st;
}

// Last rank: block i's streams, split into their tensors.
static void unpack_block_dump(forward_run *run, br_tensor_set *out, int block, const float *src) {
    const br_layout *l = &run->layout;
    size_t at = 0;
    for (int k = 0; k < l->n_baton; k++) {
        if (!l->baton[k].stream) continue;
        char name[BR_NAME_MAX];
        snprintf(name, sizeof name, l->baton[k].block_dump, block);
        const size_t n = run->shape.B * br_slot_floats(&l->baton[k]);
        memcpy(out_data(out, name), src + at, n * sizeof(float));
        at += n;
    }
}

static br_status receive_dumps(forward_run *run, br_tensor_set *out) {
    const size_t n = br_stage_stream_floats(&run->layout, run->shape.B);
    float *buf = malloc(n * sizeof(float));
    if (!buf) return br_fail(BR_ENOMEM, "out of memory for the block dumps");
    br_status st = receive_input_dumps(run, out);
    // One message per block, from its owner, in block order.
    for (int r = 0; st == BR_OK && r <= run->last; r++) {
        const int blocks = run->first[r + 1] - run->first[r];
        for (int i = 0; st == BR_OK && i < blocks; i++) {
            const float *src = run->dump + i * n;
            if (r != run->last) {
                st = br_comm_recv_bytes(run->comm, buf, n * sizeof(float), r);
                src = buf;
            }
            if (st == BR_OK) unpack_block_dump(run, out, run->first[r] + i, src);
        }
    }
    free(buf);
    return st;
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
    double flops = run->model.family->flops(&run->model, &sh->geom, sh->B);
    double hop = (double)baton_floats(run) * sizeof(float);
    printf("forward: %.4f s median of %d (after 1 warm-up), %.1f TFLOP/s, %d ranks, %s, %s\n",
           median, runs - 1, flops / median / 1e12, n, run->be->device_name,
           br_compute_name(run->be->compute));
    fflush(stdout);
    if (!run->opts->json_path) {
        free(peaks);
        return BR_OK;
    }
    br_atomic_file a;
    st = br_atomic_create(&a, run->opts->json_path);
    if (st != BR_OK) {
        free(peaks);
        return st;
    }
    FILE *f = a.f;
    fprintf(f, "{\"model\": \"%s\", \"family\": \"%s\", \"ranks\": %d, \"device\": \"%s\", "
            "\"compute\": \"%s\", \"weights\": \"%s\", "
            "\"batch\": %d, \"tokens\": %d, \"prompt_tokens\": %d, \"seconds\": %.6f, "
            "\"runs\": %d, \"seconds_min\": %.6f, \"seconds_max\": %.6f, \"tflops\": %.3f, "
            "\"flop\": %.6g, \"bytes_per_hop\": %.0f, \"peak_bytes_per_rank\": [",
            run->opts->transformer_dir, run->model.family->name, n, run->be->device_name,
            run->be->compute == BR_COMPUTE_BF16 ? "bf16" : "fp32",
            br_storage_name(run->be->storage), sh->B, sh->geom.tokens, sh->geom.text_tokens,
            median, runs - 1, t[0], t[runs - 2], flops / median / 1e12, flops, n > 1 ? hop : 0.0);
    // The CPU backend does not track its memory: null, not a made-up 0.
    for (int r = 0; r < n; r++)
        peaks[r] > 0 ? fprintf(f, "%s%.0f", r ? ", " : "", peaks[r])
                     : fprintf(f, "%snull", r ? ", " : "");
    fprintf(f, "], \"seconds_all\": [");
    for (int i = 0; i < runs; i++) fprintf(f, "%s%.6f", i ? ", " : "", run->seconds[i]);
    fprintf(f, "]}\n");
    free(peaks);
    return br_atomic_finish(&a, run->opts->json_path, BR_OK);
}

// One forward pass through the pipeline: input side, prompts to every rank, the baton through
// the blocks, output side.
static br_status one_forward(forward_run *run) {
    if (run->rank == 0) BR_TRY(input_side(run));
    BR_TRY(share_prompts(run));
    BR_TRY(pass_baton(run));
    if (run->rank == run->last)
        run->model.family->output_side(&run->model, run->be, run->stage.out, &run->batch, run->ws,
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
    const br_family *f = run->model.family;
    be->release(be, run->latents);
    be->release(be, run->timestep);
    be->release(be, run->prompt);
    free(run->seconds);
    be->release(be, run->baton);
    for (int k = 0; k < BR_MAX_SLOTS; k++) {
        be->release(be, run->batch.prompt[k]);
        be->release(be, run->batch.table[k]);
    }
    be->release(be, run->sample);
    free(run->dump);
    free(run->input_dump);
    if (f) f->workspace_free(be, run->ws);
    br_stage_free(&run->stage);
    br_set_free(&run->inputs);
    br_model_close(&run->model);
}

// Loads this rank's part and readies every buffer.
static br_status load(forward_run *run) {
    br_status st = br_stage_load(&run->stage, run->be, &run->model, run->rank, run->n_ranks,
                                 run->first);
    if (st == BR_OK) st = alloc_buffers(run);
    if (st == BR_OK) st = run->model.family->tables(&run->model, run->be, &run->batch);
    if (st == BR_OK && run->rank == 0) st = upload_inputs(run);
    if (st == BR_OK && run->opts->repeat &&
        !(run->seconds = calloc(1 + run->opts->repeat, sizeof(double))))
        st = br_fail(BR_ENOMEM, "out of memory");
    return st;
}

// Last rank: the output sequence [B, S, C] into its parts' tensors [B, tokens, C].
static br_status download_parts(forward_run *run, br_tensor_set *out) {
    const size_t B = (size_t)run->shape.B, S = run->shape.geom.tokens, C = run->model.out_channels;
    float *all = malloc(B * S * C * sizeof(float));
    if (!all) return br_fail(BR_ENOMEM, "out of memory for the output");
    run->be->download(run->be, all, run->sample, B * S * C);
    br_output_part parts[4];
    for (int i = 0, n = output_parts(run, parts); i < n; i++) {
        float *to = out_data(out, parts[i].name);
        const size_t part = (size_t)parts[i].tokens * C;
        for (size_t b = 0; b < B; b++)
            memcpy(to + b * part, all + (b * S + parts[i].first) * C, part * sizeof(float));
    }
    free(all);
    return BR_OK;
}

// The writer makes room first and all agree, so no rank is left blocked in a send.
static br_status write_output(forward_run *run) {
    br_tensor_set out = {0};
    br_status st = br_comm_agree(run->comm, prepare_output(run, &out));
    if (st == BR_OK) {
        if (run->opts->dump_blocks)
            st = run->rank == run->last ? receive_dumps(run, &out) : send_dumps(run);
        if (st == BR_OK && run->rank == run->last) st = download_parts(run, &out);
        if (st == BR_OK && run->rank == run->last)
            st = br_tensor_file_write(run->opts->out_path, &out);
        st = br_comm_agree(run->comm, st);
    }
    br_set_free(&out);
    return st;
}

br_status br_forward(br_comm *comm, br_backend *be, const br_forward_opts *opts) {
    forward_run *run = calloc(1, sizeof *run);
    if (!run) return br_fail(BR_ENOMEM, "out of memory");
    run->comm = comm, run->be = be, run->opts = opts;
    run->rank = br_comm_rank(comm), run->n_ranks = br_comm_size(comm);
    run->last = run->n_ranks - 1;
    br_status st = br_model_open(opts->transformer_dir, &run->model);
    if (st == BR_OK && run->n_ranks > 4096)
        st = br_fail(BR_EINPUT, "%d ranks: at most 4096 are supported", run->n_ranks);
    if (st == BR_OK) st = br_split_parse(opts->split, run->model.layers, run->n_ranks, run->first);
    if ((st = br_comm_agree(comm, st)) != BR_OK) goto done;

    st = run->rank == 0 ? read_inputs(run) : BR_OK;
    if ((st = br_comm_agree(comm, st)) != BR_OK) goto done;
    if ((st = br_comm_bcast_bytes(comm, &run->shape, sizeof run->shape, 0)) != BR_OK) goto done;
    run->model.family->layout(&run->model, &run->shape.geom, &run->layout);

    const double hop = (double)baton_floats(run) * sizeof(float);
    if ((st = br_placement_report(comm, be, run->first, hop, 0, NULL)) != BR_OK) goto done;
    if ((st = br_comm_agree(comm, load(run))) != BR_OK) goto done;
    if ((st = timed_forwards(run)) != BR_OK) goto done;
    if (opts->repeat && (st = br_comm_agree(comm, report_timing(run))) != BR_OK) goto done;
    st = write_output(run);
done:
    run_free(run);
    free(run);
    return st;
}
