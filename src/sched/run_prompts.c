// run_prompts.c: `brigade run --prompt`: the prompts as text through the pipeline's text encoder
// (src/text), split over the same ranks, before the transformer is loaded, once for all of the
// run's prompts; the encoder is freed before the transformer loads. Where the family has a text
// projection (recipe.h: text_sink_open, e.g. a text connector's projections in), the hidden
// states are folded into it along the pipeline and rank 0 receives the projections, the
// transformer then taking them as its prompt (model.text_projected); else rank 0 receives every
// hidden state, as an embeddings file holds them. Either way rank 0 ends with run->inputs as
// read_embeddings (run.c) reads it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "run_internal.h"
#include "text/text_encoder.h"

static const double MiB = 1048576.0;

void run_text_keep_clear(run_text_keep *k) {
    if (k->sink_open) k->recipe->text_sink_close(k->be, k->sink);
    if (k->open) br_text_encoder_close(k->te, k->be);
    free(k->sink), free(k->te);
    memset(k, 0, sizeof *k);
}

// This rank's part of the encoder and, where the family has one, its sink, on be into tk (not
// collective; run_text_keep_clear undoes what was done).
static br_status open_text(run_state *run, br_backend *be, const char *dir, run_text_keep *tk) {
    const size_t before = be->bytes_in_use;
    const int L = run->recipe->text_tokens;
    tk->be = be, tk->recipe = run->recipe;
    snprintf(tk->dir, sizeof tk->dir, "%s", dir);
    tk->te = calloc(1, sizeof *tk->te), tk->sink = calloc(1, sizeof *tk->sink);
    br_status st = tk->te && tk->sink ? BR_OK : br_fail(BR_ENOMEM, "out of memory");
    if (st == BR_OK)
        tk->open = (st = br_text_encoder_open(tk->te, be, dir, NULL, run->rank, run->n_ranks,
                                              L)) == BR_OK;
    if (st == BR_OK && run->recipe->text_sink_open) {
        int k0, k1;
        br_text_encoder_states(tk->te, &k0, &k1);
        tk->sink_open = (st = run->recipe->text_sink_open(&run->model, be, k0, k1, L, tk->sink,
                                                          &tk->width)) == BR_OK;
    }
    tk->bytes = (double)(be->bytes_in_use - before);
    return st;
}

// This rank's plan of the text phase, counted before anything loads (as run_memory.c plans the
// transformer): the encoder's layers (the embedding table stays in the file: rows read per
// token), the text projection's columns, the buffers of a prompt of the pipeline's length.
static br_status plan_text(run_state *run, const char *dir, double *bytes) {
    br_backend *cb = br_backend_counting(run->be);
    if (!cb) return BR_ENOMEM;
    run_text_keep tk = {0};
    br_status st = open_text(run, cb, dir, &tk);
    if (st == BR_OK) {
        const size_t every_state = (size_t)tk.te->hidden_states * br_text_encoder_hidden(tk.te);
        const size_t per_token = tk.sink_open ? tk.sink->floats_per_token : every_state;
        st = br_text_encode_buffers(tk.te, cb, run->recipe->text_tokens, per_token);
    }
    *bytes = (double)cb->peak_bytes;
    run_text_keep_clear(&tk);
    br_backend_counting_free(cb);
    return st;
}

// The plan on every rank against its limit (--mem-limit, else the device's free memory); rank 0
// prints every rank's; a rank over its limit refuses the run before the encoder loads.
static br_status check_text_plan(run_state *run, const char *dir) {
    double mine[2] = {0, run->opts->mem_limit}, *all = NULL;
    br_status st = br_comm_agree(run->comm, plan_text(run, dir, &mine[0]));
    if (st != BR_OK) return st;
    if (!mine[1] && run->be->free_bytes) mine[1] = (double)run->be->free_bytes(run->be);
    if (run->rank == 0 && !(all = malloc((size_t)run->n_ranks * sizeof mine))) return BR_ENOMEM;
    st = br_comm_gather_bytes(run->comm, mine, all, sizeof mine, 0);
    for (int r = 0; st == BR_OK && run->rank == 0 && r < run->n_ranks; r++)
        printf("text encoder plan: rank %d: %.1f MiB (limit %.1f MiB)\n", r, all[2 * r] / MiB,
               all[2 * r + 1] / MiB);
    free(all);
    if (st == BR_OK && mine[1] > 0 && mine[0] > mine[1])
        st = br_fail(BR_ENOMEM, "the text encoder's part needs %.1f MiB, over this rank's limit "
                     "of %.1f MiB: run on more ranks", mine[0] / MiB, mine[1] / MiB);
    return br_comm_agree(run->comm, st);
}

br_status run_encode_prompts(run_state *run) {
    const br_run_opts *o = run->opts;
    const char *dir = run->model.pipeline_dir;
    br_status st = BR_OK;
    if (!run->recipe->text_tokens)
        st = br_fail(BR_EINPUT, "--prompt: brigade has no text encoder for %s yet: give the "
                     "prompts as --embeddings (tools/encode_prompt.py)", run->model.family->name);
    else if (!dir[0])
        st = br_fail(BR_EINPUT, "--prompt: the text encoder comes from a pipeline folder (--model "
                     "DIR with text_encoder/ and tokenizer/); %s is a transformer alone",
                     run->model.config_path);
    // The request's own checks first: a bad setting is refused before the encoder loads.
    if (st == BR_OK && run->rank == 0) st = br_run_check(&run->model, o);
    if ((st = br_comm_agree(run->comm, st)) != BR_OK) return st;
    // A server's encoder stays loaded for the next job of the same pipeline (every rank decides
    // the same: they all have the same settings).
    run_text_keep local = {0}, *tk = run_keep_text(run) ? run_keep_text(run) : &local;
    if (tk->open && (strcmp(tk->dir, dir) || tk->recipe != run->recipe)) run_text_keep_clear(tk);
    const double t0 = br_now();
    const int load_now = !tk->open;
    if (load_now) {
        if ((st = check_text_plan(run, dir)) == BR_OK)
            st = br_comm_agree(run->comm, open_text(run, run->be, dir, tk));
        if (st != BR_OK) return run_text_keep_clear(tk), st;
    }
    const double t_load = br_now() - t0;
    const br_encode_opts eo = {dir, o->prompts, o->n_prompts,
                               run_wants_negative(run) ? (o->negative_prompt ? o->negative_prompt : "") : NULL,
                               NULL, run->recipe->text_tokens, NULL, 0, NULL};
    // Through the family's text projection the transformer then takes the projections.
    st = br_encode_set(run->comm, run->be, tk->te, &eo, tk->sink_open ? tk->sink : NULL,
                       &run->inputs);
    if (tk->sink_open) run->model.text_channels = tk->width, run->model.text_projected = 1;
    const int layers = tk->te->hidden_states - 1;
    if (tk == &local) run_text_keep_clear(tk);
    else run->text_kept_bytes = tk->bytes;
    if (st == BR_OK && run->rank == 0) {
        printf("text encoder: %d prompt(s)%s in %.2f s (%s %.2f s, %d layers over %d rank(s)%s)\n",
               o->n_prompts, eo.negative ? " and the negative prompt" : "", br_now() - t0 - t_load,
               load_now ? "loaded in" : "kept loaded; looked up in", t_load,
               layers, run->n_ranks, run->model.text_projected ? ", projected along the ranks" : "");
        fflush(stdout);
    }
    return st;
}
