// encode.c: see encode.h. The sink keeps every hidden state: per prompt the K hidden states of
// its T tokens side by side, k-major ([K, T, C]), one copy each; rank 0 lays them out as the
// pipeline does (torch.stack(hidden_states, -1).flatten(2): feature c*K + k; left padding, whose
// rows are zero here: the connectors ignore them).
#include "encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "io/atomic_file.h"
#include "io/tensor_file.h"
#include "text/text_encoder.h"

typedef struct {
    int K, C;
} dump_sink;

static void dump_take(void *ctx, br_backend *be, int k, const float *h, int T, float *acc) {
    const dump_sink *d = ctx;
    be->copy(be, acc + (size_t)k * T * d->C, h, (size_t)T * d->C);
}

// [K, T, C] -> rows [T, C*K], feature c*K + k (the pipeline's stacking).
static void dump_rows(void *ctx, const float *acc, int T, float *rows) {
    const dump_sink *d = ctx;
    const int K = d->K, C = d->C;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++)
                rows[((size_t)t * C + c) * K + k] = acc[((size_t)k * T + t) * C + c];
}

// Rank 0: prompts [first, first + n) of the encoding as a prompt tensor embeds [n, L, width]
// (left padding: zero rows), its mask and the ids.
static void lay_out(const br_text_sink *sink, const br_text_result *r, int first, int n, int L,
                    float *embeds, float *mask, float *ids) {
    const size_t width = sink->floats_per_token;
    for (int i = 0; i < n; i++) {
        const int p = first + i, T = r->tokens[p], pad = L - T;
        float *e = embeds + (size_t)i * L * width;
        memset(e, 0, (size_t)pad * width * sizeof(float));
        sink->rows(sink->ctx, r->acc[p], T, e + (size_t)pad * width);
        for (int t = 0; t < L; t++) {
            mask[(size_t)i * L + t] = t >= pad;
            ids[(size_t)i * L + t] = (float)r->ids[(size_t)p * L + t];
        }
    }
}

// Rank 0: the file's tensors from the encoding.
static br_status fill_set(const br_encode_opts *o, const br_text_sink *sink,
                          const br_text_result *r, br_tensor_set *set) {
    const int L = o->max_tokens, N = o->n_prompts;
    const char *names[2][3] = {{"prompt_embeds", "prompt_attention_mask", "input_ids"},
                               {"negative_prompt_embeds", "negative_prompt_attention_mask",
                                "negative_input_ids"}};
    for (int neg = 0; neg < 1 + (o->negative != NULL); neg++) {
        const int64_t n = neg ? 1 : N;
        br_tensor *e = br_set_add(set, names[neg][0], 3, (int64_t[]){n, L, (int64_t)sink->floats_per_token});
        br_tensor *m = e ? br_set_add(set, names[neg][1], 2, (int64_t[]){n, L}) : NULL;
        br_tensor *ids = m ? br_set_add(set, names[neg][2], 2, (int64_t[]){n, L}) : NULL;
        if (!ids) return BR_ENOMEM;
        lay_out(sink, r, neg ? N : 0, (int)n, L, e->data, m->data, ids->data);
    }
    return BR_OK;
}

br_status br_encode_set(br_comm *comm, br_backend *be, br_text_encoder *te,
                        const br_encode_opts *o, const br_text_sink *given, br_tensor_set *set) {
    const int rank = br_comm_rank(comm);
    dump_sink d = {te->hidden_states, br_text_encoder_hidden(te)};
    const br_text_sink dump = {(size_t)d.K * d.C, dump_take, dump_rows, &d};
    const br_text_sink *sink = given ? given : &dump;
    const int n = o->n_prompts + (o->negative != NULL);
    const char **texts = NULL;
    if (rank == 0 && (texts = malloc((size_t)n * sizeof *texts))) {
        for (int i = 0; i < o->n_prompts; i++) texts[i] = o->prompts[i];
        if (o->negative) texts[n - 1] = o->negative;
    }
    br_status st = br_comm_agree(comm, rank == 0 && !texts ? br_fail(BR_ENOMEM, "out of memory") : BR_OK);
    br_text_result r;
    if (st == BR_OK) st = br_text_encode(te, comm, be, texts, n, sink, &r);
    if (st == BR_OK) {
        st = br_comm_agree(comm, rank == 0 ? fill_set(o, sink, &r, set) : BR_OK);
        br_text_result_free(&r);
    }
    free(texts);
    return st;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Rank 0: the timing record of --repeat: the median, spread and every run, the load time, the
// peak device memory of every rank (null where not tracked: the CPU).
static br_status write_timing(const br_encode_opts *o, const br_backend *be, int ranks,
                              double load, double *seconds, const double *peaks) {
    const int runs = o->repeat;
    qsort(seconds, (size_t)runs, sizeof *seconds, cmp_double);
    const double median = runs % 2 ? seconds[runs / 2] : 0.5 * (seconds[runs / 2 - 1] + seconds[runs / 2]);
    printf("encode: %.4f s median of %d (after 1 warm-up; %.4f .. %.4f), %d prompt(s), loaded in "
           "%.2f s, %d rank(s), %s, %s\n", median, runs, seconds[0], seconds[runs - 1],
           o->n_prompts, load, ranks, be->device_name, br_compute_name(be->compute));
    if (!o->json_path) return BR_OK;
    br_atomic_file a;
    BR_TRY(br_atomic_create(&a, o->json_path));
    fprintf(a.f, "{\"encoder\": \"%s\", \"prompts\": %d, \"max_tokens\": %d, \"ranks\": %d, "
            "\"device\": \"%s\", \"compute\": \"%s\", \"weights\": \"%s\", \"load_seconds\": %.3f, "
            "\"seconds\": %.6f, \"runs\": %d, \"seconds_min\": %.6f, \"seconds_max\": %.6f, "
            "\"seconds_all\": [", o->encoder ? o->encoder : "text_encoder", o->n_prompts,
            o->max_tokens, ranks, be->device_name, br_compute_name(be->compute),
            br_storage_name(be->storage), load, median, runs, seconds[0], seconds[runs - 1]);
    for (int i = 0; i < runs; i++) fprintf(a.f, "%s%.6f", i ? ", " : "", seconds[i]);
    fprintf(a.f, "], \"peak_bytes_per_rank\": [");
    for (int r = 0; r < ranks; r++)
        peaks[r] > 0 ? fprintf(a.f, "%s%.0f", r ? ", " : "", peaks[r]) : fprintf(a.f, "%snull", r ? ", " : "");
    fprintf(a.f, "]}\n");
    return br_atomic_finish(&a, o->json_path, BR_OK);
}

// --repeat: a warm-up, then repeat timed encodings, each from an agreement to the last rank's
// result on rank 0.
static br_status timed_encodings(br_comm *comm, br_backend *be, br_text_encoder *te,
                                 const br_encode_opts *o, double load) {
    const int rank = br_comm_rank(comm), ranks = br_comm_size(comm);
    double *seconds = calloc((size_t)o->repeat, sizeof *seconds);
    double *peaks = calloc((size_t)ranks, sizeof *peaks);
    br_status st = br_comm_agree(comm, seconds && peaks ? BR_OK : br_fail(BR_ENOMEM, "out of memory"));
    for (int i = 0; i <= o->repeat && st == BR_OK; i++) {
        br_tensor_set set = {0};
        const double t0 = br_now();
        st = br_encode_set(comm, be, te, o, NULL, &set);
        if (i > 0) seconds[i - 1] = br_now() - t0;
        br_set_free(&set);
    }
    double peak = (double)be->peak_bytes;
    if (st == BR_OK) st = br_comm_agree(comm, br_comm_gather_bytes(comm, &peak, peaks, sizeof peak, 0));
    if (st == BR_OK) st = br_comm_agree(comm, rank == 0 ? write_timing(o, be, ranks, load, seconds, peaks) : BR_OK);
    free(seconds), free(peaks);
    return st;
}

br_status br_encode(br_comm *comm, br_backend *be, const br_encode_opts *o) {
    br_text_encoder te;
    const double t0 = br_now();
    const br_status mine = br_text_encoder_open(&te, be, o->model_dir, o->encoder,
                                                br_comm_rank(comm), br_comm_size(comm),
                                                o->max_tokens);
    br_status st = br_comm_agree(comm, mine);
    if (st != BR_OK) {
        if (mine == BR_OK) br_text_encoder_close(&te, be); // another rank failed
        return st;
    }
    const double load = br_now() - t0;
    if (o->repeat) {
        st = timed_encodings(comm, be, &te, o, load);
        br_text_encoder_close(&te, be);
        return st;
    }
    br_tensor_set set = {0};
    st = br_encode_set(comm, be, &te, o, NULL, &set);
    br_text_encoder_close(&te, be);
    if (st == BR_OK)
        st = br_comm_agree(comm, br_comm_rank(comm) == 0 ? br_tensor_file_write(o->out_path, &set) : BR_OK);
    br_set_free(&set);
    return st;
}
