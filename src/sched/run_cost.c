// run_cost.c: what a run cost. Each rank meters its GPU's energy over the whole run (NVML, see
// core/energy.h); rank 0 adds the GPUs up (each GPU once, also when ranks share one), adds the
// hosts' share as an estimate (--host-watts per host, times the wall time), and prices the sum
// at --price-kwh. Per job is the run's share: the jobs run together in the pipeline. A server's
// runs in flight together share the devices: each takes its share of the metered energy (the
// hooks' share: its part of the wall time, split evenly among the runs in flight).
#include <stdio.h>
#include <string.h>

#include "run_internal.h"

enum { JOULES_PER_KWH = 3600000 };

// The first rank on the same host and GPU as rank r (itself unless ranks share the GPU).
static int first_on_gpu(const br_placement *p, int r) {
    for (int k = 0; k < r; k++)
        if (!strcmp(p[k].host, p[r].host) && !strcmp(p[k].pci_bus_id, p[r].pci_bus_id)) return k;
    return r;
}

static int count_hosts(const br_placement *p, int n) {
    int hosts = 0;
    for (int r = 0; r < n; r++) {
        int seen = 0;
        for (int k = 0; k < r && !seen; k++) seen = !strcmp(p[k].host, p[r].host);
        hosts += !seen;
    }
    return hosts;
}

run_cost run_cost_sum(const run_state *run, const run_rank_report *all, double seconds) {
    const br_placement *p = run->placement;
    run_cost c = {.seconds = seconds, .hosts = count_hosts(p, run->n_ranks)};
    for (int r = 0; r < run->n_ranks; r++) {
        if (first_on_gpu(p, r) != r) continue;
        c.gpus += p[r].pci_bus_id[0] != 0; // "": the CPU backend
        const br_energy_reading *e = &all[r].energy;
        if (e->measured) {
            c.gpus_metered++;
            c.gpu_joules += e->joules;
        } else if (!c.not_measured[0]) {
            snprintf(c.not_measured, sizeof c.not_measured, "rank %d: %s", r, e->method);
        }
    }
    const br_run_hooks *h = run->opts->hooks;
    c.share = h && h->share ? h->share(h->ctx) : 1;
    c.share = c.share > 0 && c.share < 1 ? c.share : 1;
    c.gpu_joules_metered = c.gpu_joules, c.gpu_joules *= c.share;
    c.host_joules = run->opts->host_watts * c.hosts * seconds * c.share;
    c.kwh = (c.gpu_joules + c.host_joules) / JOULES_PER_KWH;
    c.cost = c.kwh * run->opts->price_kwh;
    return c;
}

cJSON *run_cost_json(const run_state *run, const run_cost *c) {
    const int jobs = run->plan.n_jobs;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "seconds", c->seconds);
    cJSON_AddNumberToObject(j, "gpus", c->gpus);
    cJSON_AddNumberToObject(j, "gpus_metered", c->gpus_metered);
    if (c->gpus_metered) cJSON_AddNumberToObject(j, "gpu_joules", c->gpu_joules);
    else cJSON_AddNullToObject(j, "gpu_joules"); // not measured is not zero
    if (c->not_measured[0]) cJSON_AddStringToObject(j, "not_measured", c->not_measured);
    if (c->share < 1) { // the devices were shared with other runs
        cJSON_AddNumberToObject(j, "share_of_devices", c->share);
        if (c->gpus_metered) cJSON_AddNumberToObject(j, "gpu_joules_metered", c->gpu_joules_metered);
    }
    cJSON_AddNumberToObject(j, "hosts", c->hosts);
    cJSON_AddNumberToObject(j, "host_watts", run->opts->host_watts);
    cJSON_AddNumberToObject(j, "host_joules_estimate", c->host_joules);
    cJSON_AddNumberToObject(j, "kwh", c->kwh);
    cJSON_AddNumberToObject(j, "price_per_kwh", run->opts->price_kwh);
    cJSON_AddNumberToObject(j, "cost", c->cost);
    cJSON *per_job = cJSON_AddObjectToObject(j, "per_job");
    cJSON_AddNumberToObject(per_job, "seconds", c->seconds / jobs);
    cJSON_AddNumberToObject(per_job, "kwh", c->kwh / jobs);
    cJSON_AddNumberToObject(per_job, "cost", c->cost / jobs);
    return j;
}

void run_cost_line(const run_state *run, const run_cost *c, char *line, size_t size) {
    const int jobs = run->plan.n_jobs;
    const double watts = run->opts->host_watts;
    if (!c->gpus_metered && watts <= 0) {
        snprintf(line, size, "energy: not measured (%s); --host-watts W adds the hosts' estimate",
                 c->not_measured);
        return;
    }
    char parts[160];
    if (c->gpus_metered && watts > 0)
        snprintf(parts, sizeof parts, "%d GPU(s) measured %.1f kJ + %d host(s) at %.0f W "
                 "estimated %.1f kJ", c->gpus_metered, c->gpu_joules / 1e3, c->hosts, watts,
                 c->host_joules / 1e3);
    else if (c->gpus_metered)
        snprintf(parts, sizeof parts, "%d GPU(s) measured; hosts not counted: --host-watts W",
                 c->gpus_metered);
    else
        snprintf(parts, sizeof parts, "GPUs not measured; %d host(s) at %.0f W estimated",
                 c->hosts, watts);
    char shared[80] = "";
    if (c->share < 1)
        snprintf(shared, sizeof shared, " (its %.0f%% share of the devices, used by other jobs too)",
                 100 * c->share);
    snprintf(line, size, "energy: %.4g kWh (%s)%s = %.4g at %.3f/kWh; per job %.1f s, %.4g kWh, "
             "%.4g", c->kwh, parts, shared, c->cost, run->opts->price_kwh, c->seconds / jobs,
             c->kwh / jobs, c->cost / jobs);
}
