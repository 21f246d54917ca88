// decode.c: the VAE decode of `brigade run`, spread over the ranks, and the frames out.
//   all ranks  load the decoder (the transformer is already freed), plan the tiles from the
//              --decode-tile budget (one plan for every job)
//   rank 0     per job: unpack and de-normalise the final latents (and, for a timestep-
//              conditioned decoder, mix in the decode noise); broadcast them
//   all ranks  decode the tiles of the (job, tile) tasks they own: task i goes to rank i mod P
//   rank 0     receives the tiles in task order, blends them, writes job-NNN/frame-NNNN.png
//              (in job-NNN.tmp/, renamed when complete) and job-NNN.mp4 when ffmpeg is there
// Blending happens on one rank in plan order, so the frames do not depend on the rank count.
#define _XOPEN_SOURCE 700 // fork, waitpid
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"
#include "io/png_write.h"
#include "io/remove_tree.h"
#include "model/ltx_latents.h"
#include "model/ltx_vae.h"
#include "run_internal.h"

typedef struct {
    br_checkpoint ck;
    ltx_vae_config cfg;
    ltx_vae vae;
    ltx_vae_plan plan;
    int Fo, Ho, Wo;
    float *latents; // host [C, F, H, W] of the job being decoded
    float *pixels;  // host: the largest tile
    float *video;   // rank 0: host [3, Fo, Ho, Wo]
} decoder;

static br_status open_decoder(run_state *run, decoder *d) {
    const run_plan *p = &run->plan;
    const br_run_opts *o = run->opts;
    BR_TRY(ltx_vae_open(o->vae_dir, &d->ck, &d->cfg));
    if (d->cfg.latent_channels != p->C)
        return br_fail(BR_EINPUT, "%s: latent_channels %d differs from the transformer's %d",
                       o->vae_dir, d->cfg.latent_channels, p->C);
    ltx_vae_output_size(&d->cfg, p->F, p->H, p->W, &d->Fo, &d->Ho, &d->Wo);
    if (d->Fo != o->frames || d->Ho != o->height || d->Wo != o->width)
        return br_fail(BR_EINPUT, "%s: decodes %d x %d x %d latents to %d frames of %dx%d, not the "
                       "%d frames of %dx%d asked for", o->vae_dir, p->F, p->H, p->W, d->Fo, d->Wo,
                       d->Ho, o->frames, o->width, o->height);
    BR_TRY(ltx_vae_load(run->be, &d->ck, &d->cfg, &d->vae));
    const size_t budget = (size_t)(o->decode_tile_gib * (1u << 30));
    if (budget) BR_TRY(ltx_vae_plan_for_budget(&d->cfg, p->F, p->H, p->W, budget, 1, 2, &d->plan));
    else BR_TRY(ltx_vae_plan_make(&d->cfg, p->F, p->H, p->W, p->F, p->H > p->W ? p->H : p->W, 1, 2,
                                  &d->plan));
    size_t most = 0;
    for (int i = 0; i < d->plan.n_tiles; i++) {
        ltx_vae_tile t;
        ltx_vae_plan_tile(&d->plan, i, &t);
        size_t n = ltx_vae_tile_floats(&d->cfg, &t);
        most = n > most ? n : most;
    }
    const size_t cells = (size_t)p->F * p->H * p->W, video = (size_t)3 * d->Fo * d->Ho * d->Wo;
    if (!(d->latents = malloc(cells * p->C * sizeof(float))) ||
        !(d->pixels = malloc(most * sizeof(float))) ||
        (run->rank == 0 && !(d->video = malloc(video * sizeof(float)))))
        return br_fail(BR_ENOMEM, "out of host memory for the decode (%zu MiB of video)",
                       video * 4 >> 20);
    if (run->rank == 0)
        printf("decode: %d tile(s) per job over %d rank(s), %d frames of %dx%d\n",
               d->plan.n_tiles, run->n_ranks, d->Fo, d->Wo, d->Ho);
    return BR_OK;
}

static void close_decoder(run_state *run, decoder *d) {
    ltx_vae_free(run->be, &d->vae);
    br_ckpt_close(&d->ck);
    free(d->latents), free(d->pixels), free(d->video);
}

// Rank 0: what the decoder takes for job j: unpacked, de-normalised, and for a timestep-
// conditioned decoder mixed with noise: (1 - s) x + s noise (s = --decode-noise-scale).
static br_status decoder_input(run_state *run, decoder *d, int job) {
    const run_plan *p = &run->plan;
    const size_t cells = (size_t)p->F * p->H * p->W, n = cells * p->C;
    ltx_unpack_latents(d->latents, run->x + job * n, p->C, p->F, p->H, p->W, 1, 1);
    ltx_vae_denormalize(&d->vae, d->latents, cells);
    const float s = (float)run->opts->decode_noise_scale;
    if (!d->cfg.timestep_conditioning || s == 0) return BR_OK;
    float *noise = malloc(n * sizeof(float));
    if (!noise) return br_fail(BR_ENOMEM, "out of memory for the decode noise");
    br_rng rng = br_rng_make(run->opts->seed, 10000 + (uint64_t)job); // apart from the start latents
    br_rng_normal(&rng, noise, n);
    for (size_t i = 0; i < n; i++) d->latents[i] = (1.0f - s) * d->latents[i] + s * noise[i];
    free(noise);
    return BR_OK;
}

// job-NNN.mp4 through ffmpeg when it is installed (optional: a missing ffmpeg is no error).
static void write_mp4(const run_state *run, const char *frames_dir, const char *mp4) {
    char pattern[4500], rate[32], tmp[4500];
    snprintf(pattern, sizeof pattern, "%s/frame-%%04d.png", frames_dir);
    snprintf(rate, sizeof rate, "%g", run->opts->frame_rate);
    snprintf(tmp, sizeof tmp, "%s.tmp.mp4", mp4);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1), dup2(null, 2);
        execlp("ffmpeg", "ffmpeg", "-y", "-loglevel", "error", "-framerate", rate, "-i", pattern,
               "-pix_fmt", "yuv420p", tmp, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0 && rename(tmp, mp4) == 0)
        return;
    remove(tmp);
}

// Rank 0: the blended video of job j to PNGs: into job-NNN.tmp/, then renamed over job-NNN.
static br_status write_frames(run_state *run, decoder *d, int job) {
    char dir[4200], tmp[4300], old[4300], path[4400];
    snprintf(dir, sizeof dir, "%s/job-%03d", run->opts->out_dir, job);
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    snprintf(old, sizeof old, "%s.old", dir);
    br_remove_tree(tmp); // a leftover of an interrupted run
    if (mkdir(tmp, 0777) != 0) return br_fail(BR_EIO, "cannot create %s: %s", tmp, strerror(errno));
    const size_t n = (size_t)3 * d->Fo * d->Ho * d->Wo;
    for (size_t i = 0; i < n; i++) d->video[i] = d->video[i] * 0.5f + 0.5f; // [-1, 1] -> [0, 1]
    for (int f = 0; f < d->Fo; f++) {
        snprintf(path, sizeof path, "%s/frame-%04d.png", tmp, f);
        BR_TRY(br_png_write_frame(path, d->video, d->Fo, d->Ho, d->Wo, f));
    }
    // An earlier run's frames are replaced only once the new ones are complete.
    struct stat sb;
    int had_old = stat(dir, &sb) == 0 && rename(dir, old) == 0;
    if (rename(tmp, dir) != 0) return br_fail(BR_EIO, "cannot rename %s to %s", tmp, dir);
    if (had_old) br_remove_tree(old);
    snprintf(path, sizeof path, "%s.mp4", dir);
    write_mp4(run, dir, path);
    return BR_OK;
}

// One job: every rank decodes its tiles; rank 0 blends them in plan order.
static br_status decode_job(run_state *run, decoder *d, int job) {
    const run_plan *p = &run->plan;
    const size_t n_latents = (size_t)p->C * p->F * p->H * p->W;
    // A failure here is agreed on after the job (the others decode what they got, then stop).
    br_status input = run->rank == 0 ? decoder_input(run, d, job) : BR_OK;
    BR_TRY(br_comm_bcast_bytes(run->comm, d->latents, n_latents * sizeof(float), 0));
    BR_TRY(input);
    if (run->rank == 0) memset(d->video, 0, (size_t)3 * d->Fo * d->Ho * d->Wo * sizeof(float));
    for (int t = 0; t < d->plan.n_tiles; t++) {
        const int owner = (job * d->plan.n_tiles + t) % run->n_ranks;
        if (run->rank != owner && run->rank != 0) continue;
        ltx_vae_tile tile;
        ltx_vae_plan_tile(&d->plan, t, &tile);
        const size_t bytes = ltx_vae_tile_floats(&d->cfg, &tile) * sizeof(float);
        if (run->rank == owner)
            BR_TRY(ltx_vae_decode_tile(run->be, &d->vae, d->latents, p->F, p->H, p->W, &tile,
                                       (float)run->opts->decode_timestep, run->opts->seed, d->pixels));
        if (owner != 0 && run->rank == owner)
            BR_TRY(br_comm_send_bytes(run->comm, d->pixels, bytes, 0));
        if (owner != 0 && run->rank == 0)
            BR_TRY(br_comm_recv_bytes(run->comm, d->pixels, bytes, owner));
        if (run->rank == 0) ltx_vae_blend_tile(&d->cfg, &d->plan, t, d->pixels, d->video);
    }
    if (run->rank != 0) return BR_OK;
    BR_TRY(ltx_vae_blend_finish(&d->cfg, &d->plan, d->video));
    return write_frames(run, d, job);
}

br_status run_decode(run_state *run) {
    if (strcmp(run->opts->vae_dir, "none") == 0) return BR_OK;
    const double t0 = br_now();
    decoder d;
    memset(&d, 0, sizeof d);
    br_status st = br_comm_agree(run->comm, open_decoder(run, &d));
    for (int j = 0; st == BR_OK && j < run->plan.n_jobs; j++)
        st = br_comm_agree(run->comm, decode_job(run, &d, j));
    close_decoder(run, &d);
    run->stats.decode = br_now() - t0;
    return st;
}
