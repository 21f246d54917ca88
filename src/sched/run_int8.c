// run_int8.c: --storage int8's account of its rounding: each matrix's max relative error against
// the checkpoint, recorded by the backend as it quantised it (br_q8_adopt). After the load, rank
// 0 prints one line per rank (how many matrices, the worst and which, the mean); run.json has
// every rank's table (rank 0 gathers them, one message per rank).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

typedef struct {
    int n;
    float worst, mean;
    char worst_name[96];
} int8_summary;

static int8_summary summarize(const br_backend *be) {
    int8_summary s = {.n = be->n_q8_errors};
    double sum = 0;
    for (int i = 0; i < be->n_q8_errors; i++) {
        const br_q8_error *e = &be->q8_errors[i];
        sum += e->error;
        if (e->error >= s.worst) s.worst = e->error, memcpy(s.worst_name, e->name, sizeof e->name);
    }
    s.mean = s.n ? (float)(sum / s.n) : 0;
    return s;
}

br_status run_int8_say(run_state *run) {
    if (run->be->storage != BR_STORAGE_INT8) return BR_OK;
    const int8_summary mine = summarize(run->be);
    int8_summary *all = run->rank == 0 ? calloc((size_t)run->n_ranks, sizeof *all) : NULL;
    if (run->rank == 0 && !all) return br_fail(BR_ENOMEM, "out of memory");
    br_status st = br_comm_gather_bytes(run->comm, &mine, all, sizeof mine, 0);
    for (int r = 0; st == BR_OK && all && r < run->n_ranks; r++)
        printf("int8 weights: rank %d: %d matrices, max relative error: worst %.3g (%s), mean "
               "%.3g\n", r, all[r].n, all[r].worst, all[r].worst_name, all[r].mean);
    fflush(stdout);
    free(all);
    return st;
}

// Every rank's table to rank 0 (collective): *tables a JSON array [P] of {"matrices": [[name,
// error], ...]} on rank 0, NULL elsewhere and without int8.
br_status run_int8_tables(run_state *run, cJSON **tables) {
    *tables = NULL;
    if (run->be->storage != BR_STORAGE_INT8) return BR_OK;
    const br_backend *be = run->be;
    if (run->rank != 0) {
        BR_TRY(br_comm_send_bytes(run->comm, &be->n_q8_errors, sizeof be->n_q8_errors, 0));
        return br_comm_send_bytes(run->comm, be->q8_errors,
                                  (size_t)be->n_q8_errors * sizeof *be->q8_errors, 0);
    }
    cJSON *all = cJSON_CreateArray();
    for (int r = 0; r < run->n_ranks; r++) {
        int n = be->n_q8_errors;
        br_q8_error *e = be->q8_errors, *got = NULL;
        if (r > 0) {
            BR_TRY(br_comm_recv_bytes(run->comm, &n, sizeof n, r));
            if (!(got = malloc((size_t)(n ? n : 1) * sizeof *got))) return br_fail(BR_ENOMEM, "out of memory");
            br_status st = br_comm_recv_bytes(run->comm, got, (size_t)n * sizeof *got, r);
            if (st != BR_OK) return free(got), st;
            e = got;
        }
        cJSON *table = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            cJSON *row = cJSON_CreateArray();
            cJSON_AddItemToArray(row, cJSON_CreateString(e[i].name));
            cJSON_AddItemToArray(row, cJSON_CreateNumber(e[i].error));
            cJSON_AddItemToArray(table, row);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "max_relative_error", table);
        cJSON_AddItemToArray(all, o);
        free(got);
    }
    *tables = all;
    return BR_OK;
}
