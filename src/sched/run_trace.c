// run_trace.c: every rank's timeline of the denoising loop (compute; the last rank's output side
// and scheduler step; waiting for or receiving the baton, sending it), written by rank 0 as
// Chrome-trace JSON (--trace FILE): open it in chrome://tracing or ui.perfetto.dev to see the
// pipeline fill, one row per rank. Times are seconds since the loop's start, which all ranks take
// right after one agreement.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "run_internal.h"

void run_trace_add(run_state *run, double t0, double t1, int step, int micro, char kind) {
    if (!run->opts->trace_path) return;
    if (run->n_events == run->cap_events) {
        int cap = run->cap_events ? 2 * run->cap_events : 1024;
        run_event *grown = realloc(run->events, (size_t)cap * sizeof *grown);
        if (!grown) return; // a shorter trace, not a failed run
        run->events = grown, run->cap_events = cap;
    }
    run->events[run->n_events++] = (run_event){(float)(t0 - run->t_origin), (float)(t1 - run->t_origin),
                                               (short)step, (short)micro, kind};
}

static void write_events(FILE *f, const run_event *ev, int n, int rank, int *first) {
    for (int i = 0; i < n; i++) {
        const char kind = ev[i].kind;
        const char *what = kind == 'c' ? "compute" : kind == 'o' ? "output" : kind == 'r' ? "receive"
                                                                                          : "send";
        fprintf(f, "%s\n{\"name\": \"%s s%d m%d\", \"cat\": \"%s\", \"ph\": \"X\", \"pid\": 0, "
                "\"tid\": %d, \"ts\": %.1f, \"dur\": %.1f, \"args\": {\"step\": %d, \"micro_batch\": %d}}",
                *first ? "" : ",", what, ev[i].step, ev[i].micro, what, rank, ev[i].t0 * 1e6,
                (ev[i].t1 - ev[i].t0) * 1e6, ev[i].step, ev[i].micro);
        *first = 0;
    }
}

// Rank 0: receives each rank's events in turn and writes them.
static br_status write_all(run_state *run, const int *counts, FILE *f) {
    int first = 1;
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [");
    for (int r = 0; r < run->n_ranks; r++) {
        fprintf(f, "%s\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 0, \"tid\": %d, "
                "\"args\": {\"name\": \"rank %d\"}}", first ? "" : ",", r, r);
        first = 0;
        run_event *ev = r == 0 ? run->events : malloc((size_t)counts[r] * sizeof *ev + 1);
        if (!ev) return br_fail(BR_ENOMEM, "out of memory for the trace");
        br_status st = r == 0 ? BR_OK
                              : br_comm_recv_bytes(run->comm, ev, (size_t)counts[r] * sizeof *ev, r);
        if (st == BR_OK) write_events(f, ev, counts[r], r, &first);
        if (r) free(ev);
        BR_TRY(st);
    }
    fprintf(f, "\n]}\n");
    return BR_OK;
}

br_status run_write_trace(run_state *run) {
    if (!run->opts->trace_path) return BR_OK;
    int mine = run->n_events, *counts = NULL;
    if (run->rank == 0 && !(counts = calloc((size_t)run->n_ranks, sizeof *counts)))
        return br_fail(BR_ENOMEM, "out of memory");
    br_status st = br_comm_gather_bytes(run->comm, &mine, counts, sizeof mine, 0);
    if (st == BR_OK && run->rank != 0)
        st = br_comm_send_bytes(run->comm, run->events, (size_t)mine * sizeof *run->events, 0);
    if (st == BR_OK && run->rank == 0) {
        br_atomic_file a;
        st = br_atomic_create(&a, run->opts->trace_path);
        if (st == BR_OK) st = write_all(run, counts, a.f);
        st = br_atomic_finish(&a, run->opts->trace_path, st);
    }
    free(counts);
    return st;
}
