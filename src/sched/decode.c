// decode.c: the decode of `brigade run` (the family's decoder, recipe.h), spread over the ranks,
// and the frames out.
//   all ranks  load the decoder (the transformer is already freed), plan the tiles from the
//              --decode-tile budget (one plan for every job)
//   rank 0     per job: the decoder's input from the final latents (unpacked, de-normalised,
//              ...: the family's business); broadcast it
//   all ranks  decode the tiles of the (job, tile) tasks they own: task i goes to rank i mod P
//   rank 0     receives the tiles in task order, blends them, writes job-NNN/frame-NNNN.png
//              (in job-NNN.tmp/, renamed when complete), the sound where the family makes one
//              (job-NNN.wav) and job-NNN.mp4 of both when ffmpeg is there; or an image model's
//              job-NNN.png
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

#include "io/png_write.h"
#include "io/remove_tree.h"
#include "io/wav_write.h"
#include "run_internal.h"

typedef struct {
    br_decoder *dec;
    br_sound *sound; // rank 0, where the family makes sound
    br_decode_shape shape;
    float *input;  // host: the decoder's input of the job being decoded
    float *pixels; // host: the largest tile
    float *video;  // rank 0: host [3, Fo, Ho, Wo]
} decoder;

static size_t video_floats(const decoder *d) {
    return (size_t)3 * d->shape.frames * d->shape.height * d->shape.width;
}

static br_status open_decoder(run_state *run, decoder *d) {
    const br_run_opts *o = run->opts;
    const br_decode_settings s = {.tile_bytes = (size_t)(o->decode_tile_gib * (1u << 30)),
                                  .timestep = (float)o->decode_timestep,
                                  .noise_scale = (float)o->decode_noise_scale, .seed = o->seed,
                                  .frames = o->frames, .height = o->height, .width = o->width};
    BR_TRY(run->recipe->decoder_open(&run->model, o->vae_dir, run->be, &run->plan.geom, &s,
                                     &d->dec, &d->shape));
    if (!(d->input = malloc(d->shape.input_floats * sizeof(float))) ||
        !(d->pixels = malloc(d->shape.most_tile_floats * sizeof(float))) ||
        (run->rank == 0 && !(d->video = malloc(video_floats(d) * sizeof(float)))))
        return br_fail(BR_ENOMEM, "out of host memory for the decode (%zu MiB of video)",
                       video_floats(d) * 4 >> 20);
    if (run->rank == 0 && run->recipe->sound_open && br_wav_available()) // (else warned at start)
        BR_TRY(run->recipe->sound_open(&run->model, &run->plan.geom, &d->sound));
    if (run->rank == 0)
        printf("decode: %d tile(s) per job over %d rank(s), %d frames of %dx%d\n",
               d->shape.n_tiles, run->n_ranks, d->shape.frames, d->shape.width, d->shape.height);
    return BR_OK;
}

static void close_decoder(run_state *run, decoder *d) {
    if (d->dec) run->recipe->decoder_close(d->dec, run->be);
    if (d->sound) run->recipe->sound_close(d->sound);
    free(d->input), free(d->pixels), free(d->video);
}

// job-NNN.mp4 through ffmpeg when it is installed (optional: a missing ffmpeg is no error),
// with the sound of wav (NULL: none) as its AAC track.
static void write_mp4(const run_state *run, const char *frames_dir, const char *wav,
                      const char *mp4) {
    char pattern[4500], rate[32], tmp[4500];
    snprintf(pattern, sizeof pattern, "%s/frame-%%04d.png", frames_dir);
    snprintf(rate, sizeof rate, "%g", run->opts->frame_rate);
    snprintf(tmp, sizeof tmp, "%s.tmp.mp4", mp4);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1), dup2(null, 2);
        if (wav)
            execlp("ffmpeg", "ffmpeg", "-y", "-loglevel", "error", "-framerate", rate, "-i",
                   pattern, "-i", wav, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", tmp,
                   (char *)NULL);
        else
            execlp("ffmpeg", "ffmpeg", "-y", "-loglevel", "error", "-framerate", rate, "-i",
                   pattern, "-pix_fmt", "yuv420p", tmp, (char *)NULL);
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
    const size_t n = video_floats(d);
    const int Fo = d->shape.frames, Ho = d->shape.height, Wo = d->shape.width;
    for (size_t i = 0; i < n; i++) d->video[i] = d->video[i] * 0.5f + 0.5f; // [-1, 1] -> [0, 1]
    for (int f = 0; f < Fo; f++) {
        snprintf(path, sizeof path, "%s/frame-%04d.png", tmp, f);
        br_status st = br_png_write_frame(path, d->video, Fo, Ho, Wo, f);
        if (st != BR_OK) return br_remove_tree(tmp), st; // no partial job left, its space freed
    }
    // An earlier run's frames are replaced only once the new ones are complete.
    struct stat sb;
    int had_old = stat(dir, &sb) == 0 && rename(dir, old) == 0;
    if (rename(tmp, dir) != 0) return br_fail(BR_EIO, "cannot rename %s to %s", tmp, dir);
    if (had_old) br_remove_tree(old);
    return BR_OK;
}

// Rank 0: the job's sound, where the family makes one, as job-NNN.wav; *made says whether.
static br_status write_sound(run_state *run, decoder *d, int job, const char *wav, int *made) {
    const br_recipe *r = run->recipe;
    *made = 0;
    if (!d->sound) return BR_OK;
    const float *latents = run->x + (size_t)job * run->plan.geom.latent_tokens * run->plan.C;
    float *wave = NULL;
    int channels, rate;
    long samples;
    const double t0 = br_now();
    br_status st = r->sound(d->sound, latents, &wave, &channels, &samples, &rate);
    if (st == BR_OK)
        printf("sound: job %d, %ld samples x %d channels at %d Hz, %.2f s\n", job, samples,
               channels, rate, br_now() - t0);
    if (st == BR_OK) st = br_wav_write(wav, wave, channels, samples, rate);
    free(wave);
    *made = st == BR_OK;
    return st;
}

// Rank 0: an image model's output: job-NNN.png (written to a temporary name, then renamed).
static br_status write_image(run_state *run, decoder *d, int job) {
    char path[4200];
    snprintf(path, sizeof path, "%s/job-%03d.png", run->opts->out_dir, job);
    const size_t n = video_floats(d);
    for (size_t i = 0; i < n; i++) d->video[i] = d->video[i] * 0.5f + 0.5f; // [-1, 1] -> [0, 1]
    return br_png_write_frame(path, d->video, 1, d->shape.height, d->shape.width, 0);
}

// One job: every rank decodes its tiles; rank 0 blends them in plan order.
static br_status decode_job(run_state *run, decoder *d, int job) {
    const br_recipe *r = run->recipe;
    const run_plan *p = &run->plan;
    const float *latents = run->x + (size_t)job * p->geom.latent_tokens * p->C;
    // A failure here is agreed on after the job (the others decode what they got, then stop).
    br_status input = run->rank == 0 ? r->decoder_input(d->dec, latents, job, d->input) : BR_OK;
    BR_TRY(br_comm_bcast_bytes(run->comm, d->input, d->shape.input_floats * sizeof(float), 0));
    BR_TRY(input);
    if (run->rank == 0) memset(d->video, 0, video_floats(d) * sizeof(float));
    for (int t = 0; t < d->shape.n_tiles; t++) {
        const int owner = (job * d->shape.n_tiles + t) % run->n_ranks;
        if (run->rank != owner && run->rank != 0) continue;
        const size_t bytes = r->tile_floats(d->dec, t) * sizeof(float);
        if (run->rank == owner) BR_TRY(r->decode_tile(d->dec, run->be, d->input, t, d->pixels));
        if (owner != 0 && run->rank == owner)
            BR_TRY(br_comm_send_bytes(run->comm, d->pixels, bytes, 0));
        if (owner != 0 && run->rank == 0)
            BR_TRY(br_comm_recv_bytes(run->comm, d->pixels, bytes, owner));
        if (run->rank == 0) r->blend_tile(d->dec, t, d->pixels, d->video);
    }
    if (run->rank != 0) return BR_OK;
    BR_TRY(r->blend_finish(d->dec, d->video));
    if (r->image_output) return write_image(run, d, job);
    BR_TRY(write_frames(run, d, job));
    char dir[4200], wav[4300], mp4[4300];
    snprintf(dir, sizeof dir, "%s/job-%03d", run->opts->out_dir, job);
    snprintf(wav, sizeof wav, "%s.wav", dir);
    snprintf(mp4, sizeof mp4, "%s.mp4", dir);
    int sound;
    BR_TRY(write_sound(run, d, job, wav, &sound));
    write_mp4(run, dir, sound ? wav : NULL, mp4);
    return BR_OK;
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
