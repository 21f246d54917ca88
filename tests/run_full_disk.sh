# run_full_disk.sh: outputs on a disk that fills up mid-run (a small tmpfs, in a mount namespace of
# the test's own, so nothing outlives it). Whatever write fails (the checkpoint, latents.h5, a
# frame, run.json): the job ends on every rank, non-zero, with one error line naming the file and
# the system's reason; no partial file is left under a final name nor a temporary one; the last
# checkpoint stays intact; and --resume after freeing space gives the uninterrupted run's bits
# (latents and frames). Needs root (mount); skipped (77) otherwise.
if [ -z "${BR_MOUNT_NS:-}" ]; then
    if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
        echo "skipped: needs root and unshare -m, to mount a small tmpfs"
        exit 77
    fi
    BR_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
python3 "$(dirname "$0")/edit_tensors.py" jobs "$LTX/case_pipeline.safetensors" 3 "$WORK/jobs.safetensors"
ARGS=(--model "$LTX" --embeddings "$WORK/jobs.safetensors" --height 128 --width 192 --frames 17
    --steps 40 --seed 5)
PAGE=4096

# disk NAME KIB: a fresh tmpfs of that size at $WORK/NAME.
disk() {
    mkdir -p "$WORK/$1" && mount -t tmpfs -o "size=$2k" tmpfs "$WORK/$1"
}
kib_used() { df -k --output=used "$1" | tail -1 | tr -d ' '; }
pages() { echo $((($(stat -c %s "$1") + PAGE - 1) / PAGE)); }

# The uninterrupted run, on a tmpfs too, for its sizes: U KiB at the end (the checkpoint removed).
disk whole 65536 || { echo "cannot mount a tmpfs"; exit 1; }
if mpi 2 run "${ARGS[@]}" --checkpoint-every 10 --out "$WORK/whole/out"; then pass "uninterrupted run"
else fail "uninterrupted run"; fi
U=$(kib_used "$WORK/whole")
L=$(pages "$WORK/whole/out/latents.h5")
JOB_KIB=$(du -k "$WORK/whole/out/job-000" | cut -f1)
# A checkpoint's size: one stays when the decode fails (a VAE folder that is not there).
mpi 2 run "${ARGS[@]}" --checkpoint-every 10 --vae "$WORK/no-vae" --out "$WORK/sizes"
K=$(pages "$WORK/sizes/checkpoint.h5")
echo "     outputs: $U KiB in all, latents.h5 $L pages, a checkpoint $K, a job's frames $JOB_KIB KiB"

# fill NAME KIB WANT CHECKPOINTED [args]: a run on a NAME tmpfs of KIB that must fail on a file
# matching WANT; then checks what is left. CHECKPOINTED: 1 when a checkpoint must be there.
fill() {
    local name=$1 kib=$2 want=$3 ckpt=$4 out=$WORK/$1/out
    shift 4
    disk "$name" "$kib"
    if mpi 2 run "${ARGS[@]}" --out "$out" "$@"; then
        fail "$name: the run on $kib KiB succeeded"
        return
    fi
    grep 'error' "$WORK/log"
    expect "$name: one error line" test "$(grep -c 'error' "$WORK/log")" -eq 1
    expect "$name: it names $want and says the disk is full" \
        grep -q "error: .*$want.*No space left on device" "$WORK/log"
    expect "$name: no rank left" test "$(pgrep -fc "brigade run .*$out" || true)" -eq 0
    expect "$name: no temporary file left" test -z "$(find "$out" -name '*.tmp*')"
    expect "$name: no run.json" test ! -e "$out/run.json"
    for j in "$out"/job-*; do # whatever frames are there are complete
        [ -e "$j" ] || continue
        expect "$name: $(basename "$j") complete" diff -r "$j" "$WORK/whole/out/$(basename "$j")"
    done
    if [ -e "$out/latents.h5" ]; then
        expect "$name: latents.h5 complete" "$TCOMPARE" --exact "$out/latents.h5:latents" \
            "$WORK/whole/out/latents.h5:latents"
    fi
    if [ "$ckpt" = 1 ]; then
        expect "$name: a checkpoint is there" test -e "$out/checkpoint.h5"
        mount -o remount,size=65536k "$WORK/$name"
        if mpi 2 run "${ARGS[@]}" --out "$out" "$@" --resume; then
            pass "$name: resumed after freeing space: $(grep -m1 resuming "$WORK/log")"
        else
            fail "$name: resume"
        fi
        expect "$name: resumed = uninterrupted: latents" "$TCOMPARE" --exact \
            "$out/latents.h5:latents" "$WORK/whole/out/latents.h5:latents"
        expect "$name: resumed = uninterrupted: frames" diff -r -x run.json -x latents.h5 -x '*.mp4' "$out" "$WORK/whole/out"
        expect "$name: the checkpoint is removed at the end" test ! -e "$out/checkpoint.h5"
    fi
    umount "$WORK/$name"
}

# The first checkpoint fits, the second does not (both exist while it is renamed over the first).
fill checkpoint $(((2 * K - 1) * PAGE / 1024)) checkpoint.h5 1 --checkpoint-every 10
# Without checkpoints, latents.h5 is the first output; nothing to resume from.
fill latents $(((L - 1) * PAGE / 1024)) latents.h5 0
# The steps and latents.h5 fit, then job 0's frames and half of job 1's.
fill frames $(((L + 2 * K) * PAGE / 1024 + JOB_KIB * 3 / 2)) job-001.tmp/frame- 1 --checkpoint-every 10
# Everything but run.json: U, plus the checkpoint that stays until run.json is written, less a page.
fill report $((U + K * PAGE / 1024 - PAGE / 1024)) run.json 1 --checkpoint-every 10
umount "$WORK/whole"
finish
