// text_encoder.c: see text_encoder.h.
//   rank 0     tokenize (truncation warned), check the ids; broadcast the token counts; agree
//   all ranks  per prompt: rank 0 embeds; each rank runs its layers and hands every hidden state
//              it makes to the sink; the hidden states and the accumulator go to the next rank;
//              the last rank applies the final norm and keeps the accumulator
//   last rank  sends the accumulators to rank 0; agree
#include "text_encoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int br_text_encoder_hidden(const br_text_encoder *te) { return te->part.cfg.hidden; }

// Rank 0 makes state 0 (the embeddings); layer i's rank makes state i + 1, except that the last
// layer's (i + 1 = layers) comes after the final norm, on the last rank.
void br_text_encoder_states(const br_text_encoder *te, int *k0, int *k1) {
    const int layers = te->part.cfg.layers, first = te->part.first, end = te->part.end;
    *k0 = te->rank == 0 ? 0 : (first + 1 < layers ? first + 1 : layers);
    *k1 = te->rank == te->n_ranks - 1 ? layers + 1 : (end < layers - 1 ? end : layers - 1) + 1;
    if (*k1 < *k0) *k1 = *k0;
}

// The first layer of rank r: contiguous groups, as even as they come (a rank may get none when
// there are more ranks than layers; it then passes the baton on).
static int first_layer(int layers, int r, int n_ranks) {
    return (int)((long long)r * layers / n_ranks);
}

// The weights: a folder, or random:NAME (config names the config in errors).
static br_status open_weights(br_text_encoder *te, const char *dir, const char *encoder,
                              char *config, size_t size) {
    if (encoder && strncmp(encoder, "random:", 7) == 0) {
        cJSON *json = gemma3_preset(encoder + 7);
        if (!json) return br_fail(BR_EINPUT, "%s: unknown size (brigade knows random:gemma-3-12b)", encoder);
        snprintf(config, size, "%s", encoder);
        BR_TRY(br_ckpt_open_random(&te->ck, json, 1));
    } else {
        char path[4300];
        if (encoder) snprintf(path, sizeof path, "%s", encoder);
        else snprintf(path, sizeof path, "%s/text_encoder", dir);
        snprintf(config, size, "%s/config.json", path);
        BR_TRY(br_ckpt_open(&te->ck, path));
    }
    te->ck_open = 1;
    return BR_OK;
}

br_status br_text_encoder_open(br_text_encoder *te, br_backend *be, const char *dir,
                               const char *encoder, int rank, int n_ranks, int max_tokens) {
    memset(te, 0, sizeof *te);
    snprintf(te->dir, sizeof te->dir, "%s", dir);
    te->rank = rank, te->n_ranks = n_ranks, te->max_tokens = max_tokens;
    char path[4300], config[4400];
    BR_TRY(open_weights(te, dir, encoder, config, sizeof config));
    gemma3_config cfg;
    br_status st = gemma3_config_parse(&cfg, te->ck.config, config);
    if (st == BR_OK) {
        const int first = first_layer(cfg.layers, rank, n_ranks);
        const int end = first_layer(cfg.layers, rank + 1, n_ranks);
        te->hidden_states = cfg.layers + 1;
        st = gemma3_load(be, &te->ck, config, first, end, rank == 0, rank == n_ranks - 1,
                         max_tokens, &te->part);
    }
    if (st == BR_OK && rank == 0) {
        snprintf(path, sizeof path, "%s/tokenizer", dir);
        st = br_tokenizer_open(path, &te->tokenizer);
    }
    if (st != BR_OK) br_text_encoder_close(te, be);
    return st;
}

void br_text_encoder_close(br_text_encoder *te, br_backend *be) {
    br_tokenizer_close(te->tokenizer);
    gemma3_free(be, &te->part);
    if (te->ck_open) br_ckpt_close(&te->ck);
    memset(te, 0, sizeof *te);
}

void br_text_result_free(br_text_result *r) {
    for (int i = 0; r->acc && i < r->n; i++) free(r->acc[i]);
    free(r->acc), free(r->ids), free(r->tokens);
    memset(r, 0, sizeof *r);
}

// Rank 0: the ids of every prompt, left-padded, and their counts.
static br_status tokenize(br_text_encoder *te, const char *const *texts, br_text_result *r) {
    const int L = te->max_tokens, pad = br_tokenizer_pad_id(te->tokenizer);
    const int vocab = te->part.cfg.vocab;
    int *ids = malloc((size_t)L * sizeof *ids);
    if (!ids) return br_fail(BR_ENOMEM, "out of memory");
    br_status st = BR_OK;
    for (int i = 0; i < r->n && st == BR_OK; i++) {
        int n, n_all;
        if ((st = br_tokenizer_encode(te->tokenizer, texts[i], L, ids, &n, &n_all)) != BR_OK) break;
        if (n_all > n)
            fprintf(stderr, "brigade: warning: prompt %d has %d tokens; the pipeline keeps the "
                    "first %d (truncated as LTX2Pipeline does)\n", i + 1, n_all, n);
        for (int t = 0; t < n && st == BR_OK; t++)
            if (ids[t] < 0 || ids[t] >= vocab)
                st = br_fail(BR_EINPUT, "%s/tokenizer: token id %d is outside the text encoder's "
                             "vocabulary of %d: the tokenizer and text_encoder/ do not belong "
                             "together", te->dir, ids[t], vocab);
        int *row = r->ids + (size_t)i * L;
        for (int t = 0; t < L; t++) row[t] = t < L - n ? pad : ids[t - (L - n)];
        r->tokens[i] = n;
    }
    free(ids);
    return st;
}

// One rank's buffers for the largest prompt.
typedef struct {
    float *x, *acc;
    gemma3_scratch s;
} encode_buffers;

static void free_buffers(br_backend *be, encode_buffers *b) {
    if (b->x) be->release(be, b->x);
    if (b->acc) be->release(be, b->acc);
    gemma3_scratch_free(be, &b->s);
}

static br_status alloc_buffers(br_text_encoder *te, br_backend *be, const br_text_sink *sink,
                               int T, encode_buffers *b) {
    memset(b, 0, sizeof *b);
    if (!(b->x = be->alloc(be, (size_t)T * te->part.cfg.hidden, "text encoder hidden states")) ||
        !(b->acc = be->alloc(be, (size_t)T * sink->floats_per_token, "text encoder accumulator")) ||
        gemma3_scratch_alloc(be, &te->part.cfg, T, &b->s) != BR_OK) {
        free_buffers(be, b);
        return BR_ENOMEM;
    }
    return BR_OK;
}

br_status br_text_encode_buffers(br_text_encoder *te, br_backend *be, int T,
                                 size_t floats_per_token) {
    encode_buffers b;
    const br_text_sink sink = {floats_per_token, NULL, NULL, NULL};
    BR_TRY(alloc_buffers(te, be, &sink, T, &b));
    free_buffers(be, &b);
    return BR_OK;
}

// This rank's share of prompt i: receive (or embed), its layers with their hidden states to the
// sink, then send on (or, on the last rank, the final norm and the accumulator to the host).
// *guard: set to the numeric guard's failure (the first layer with NaN/Inf), which does not stop
// the pipeline.
static br_status encode_prompt(br_text_encoder *te, br_comm *comm, br_backend *be,
                               const br_text_sink *sink, br_text_result *r, int i,
                               encode_buffers *b, br_status *guard) {
    const br_transport *tr = br_comm_transport(comm);
    const gemma3_part *p = &te->part;
    const int T = r->tokens[i], layers = p->cfg.layers, last = te->n_ranks - 1;
    const size_t hidden = (size_t)T * p->cfg.hidden, acc = (size_t)T * sink->floats_per_token;
    const int position = te->max_tokens - T;
    const gemma3_batch batch = {1, &r->tokens[i], &position, T};
    if (te->rank == 0) {
        const br_status st = gemma3_embed(be, p, r->ids + (size_t)i * te->max_tokens + position, T, b->x);
        if (*guard == BR_OK) *guard = st; // like the guard's NaN: the baton still goes on
        sink->take(sink->ctx, be, 0, b->x, T, b->acc);
    } else {
        BR_TRY(tr->recv(comm, b->x, hidden, te->rank - 1));
        BR_TRY(tr->recv(comm, b->acc, acc, te->rank - 1));
    }
    for (int l = p->first; l < p->end; l++) {
        gemma3_layer_forward(be, p, l, &batch, &b->s, b->x);
        if (l + 1 < layers) sink->take(sink->ctx, be, l + 1, b->x, T, b->acc);
        float largest;
        const size_t bad = *guard == BR_OK ? be->count_non_finite(be, b->x, hidden, &largest) : 0;
        if (bad)
            *guard = br_fail(BR_EINPUT, "text encoder layer %d: %zu NaN/Inf values in prompt %d's "
                             "hidden states (largest finite magnitude %.4g) computing in %s on %s",
                             l, bad, i + 1, largest, br_compute_name(be->compute), be->device_name);
    }
    if (te->rank < last) { // the baton goes on even after a failure: no rank waits forever
        be->sync(be);
        BR_TRY(tr->send(comm, b->x, hidden, te->rank + 1));
        return tr->send(comm, b->acc, acc, te->rank + 1);
    }
    gemma3_final_norm(be, p, b->x, T);
    sink->take(sink->ctx, be, layers, b->x, T, b->acc);
    if (!(r->acc[i] = malloc(acc * sizeof(float))))
        return br_fail(BR_ENOMEM, "out of memory for the text encoder's output");
    be->download(be, r->acc[i], b->acc, acc);
    be->sync(be);
    return BR_OK;
}

// The last rank's accumulators to rank 0 (control plane, one prompt at a time).
static br_status gather_results(br_text_encoder *te, br_comm *comm, const br_text_sink *sink,
                                br_text_result *r) {
    const int last = te->n_ranks - 1;
    if (last == 0 || (te->rank != 0 && te->rank != last)) return BR_OK;
    for (int i = 0; i < r->n; i++) {
        const size_t bytes = (size_t)r->tokens[i] * sink->floats_per_token * sizeof(float);
        if (te->rank == last) {
            BR_TRY(br_comm_send_bytes(comm, r->acc[i], bytes, 0));
            free(r->acc[i]);
            r->acc[i] = NULL;
        } else {
            if (!(r->acc[i] = malloc(bytes))) return br_fail(BR_ENOMEM, "out of memory");
            BR_TRY(br_comm_recv_bytes(comm, r->acc[i], bytes, last));
        }
    }
    return BR_OK;
}

br_status br_text_encode(br_text_encoder *te, br_comm *comm, br_backend *be,
                         const char *const *texts, int n, const br_text_sink *sink,
                         br_text_result *r) {
    memset(r, 0, sizeof *r);
    r->n = n;
    br_status st = BR_OK;
    if (!(r->tokens = calloc((size_t)n, sizeof *r->tokens)) ||
        !(r->acc = calloc((size_t)n, sizeof *r->acc)) ||
        (te->rank == 0 && !(r->ids = malloc((size_t)n * te->max_tokens * sizeof *r->ids))))
        st = br_fail(BR_ENOMEM, "out of memory");
    if (st == BR_OK && te->rank == 0) st = tokenize(te, texts, r);
    if ((st = br_comm_agree(comm, st)) == BR_OK)
        st = br_comm_agree(comm, br_comm_bcast_bytes(comm, r->tokens, (size_t)n * sizeof *r->tokens, 0));
    int most = 1;
    for (int i = 0; i < n; i++) most = r->tokens[i] > most ? r->tokens[i] : most;
    encode_buffers b = {0};
    if (st == BR_OK) st = br_comm_agree(comm, alloc_buffers(te, be, sink, most, &b));
    br_status guard = BR_OK; // every prompt still goes through every rank after it fails
    for (int i = 0; i < n && st == BR_OK; i++) st = encode_prompt(te, comm, be, sink, r, i, &b, &guard);
    if (st == BR_OK) st = gather_results(te, comm, sink, r);
    if (st == BR_OK) st = guard;
    free_buffers(be, &b);
    st = br_comm_agree(comm, st);
    if (st != BR_OK) br_text_result_free(r);
    return st;
}
