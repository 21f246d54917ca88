# run_signals.sh: Ctrl-C during `brigade run` under launch/mpirun.sh. Sent to mpirun alone (it
# passes SIGTERM on) or to the terminal's whole process group (every rank gets SIGINT too): every
# rank ends within 10 s; with --checkpoint-every, rank 0 saves the last completed step and says
# how to resume, and the resumed run gives the uninterrupted run's bits; without it, it says that
# nothing was saved. A forward ends within 10 s as well.
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/.." && pwd)
echo "localhost slots=3" >"$WORK/hostfile"
python3 "$(dirname "$0")/edit_tensors.py" jobs "$LTX/case_pipeline.safetensors" 3 "$WORK/jobs.safetensors"
# About 10 s on 3 ranks of two cores; the signal comes after the first checkpoint (step 300).
JOB=(--model "$LTX" --embeddings "$WORK/jobs.safetensors" --height 128 --width 192 --frames 41
    --steps 1000 --seed 5)
# shellcheck disable=SC2206 # BRIGADE_ARGS is a list of words
ARGS=(run $BRIGADE_ARGS "${JOB[@]}")

# launch OUT [args]: launch/mpirun.sh in the background, in a process group of its own (as a
# terminal's foreground job); PGID is its group, the output goes to $WORK/log.
launch() {
    local out=$1
    shift
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MPIRUN_OPTS=--oversubscribe \
        BRIGADE="$BRIGADE" setsid "$REPO/launch/mpirun.sh" "$WORK/hostfile" "$@" --out "$out" \
        >"$WORK/log" 2>&1 &
    PGID=$!
}
# interrupt OUT STEP TARGET: once the log shows STEP, SIGINT to TARGET (mpirun, or group: every
# process of the job); MS: the milliseconds until no rank of OUT is left.
interrupt() {
    local out=$1 step=$2 target=$3 end=$((SECONDS + 60))
    until grep -q "^step $step/" "$WORK/log" || [ $SECONDS -ge $end ]; do sleep 0.05; done
    local t0=$(date +%s%N)
    if [ "$target" = group ]; then kill -INT -- "-$PGID"; else kill -INT "$PGID"; fi
    while pgrep -f "brigade run .*$out" >/dev/null && [ $(($(date +%s%N) - t0)) -lt 30000000000 ]; do
        sleep 0.05
    done
    MS=$((($(date +%s%N) - t0) / 1000000))
    wait "$PGID"
    RC=$?
}

if mpi 1 run "${JOB[@]}" --out "$WORK/whole"; then pass "uninterrupted run"; else fail "uninterrupted run"; fi
for target in mpirun group; do
    out=$WORK/stopped-$target
    launch "$out" "${ARGS[@]}" --checkpoint-every 300
    interrupt "$out" 320 "$target"
    grep 'brigade:' "$WORK/log"
    expect "SIGINT to $target: every rank ended in $MS ms (< 10 s), exit $RC" test "$MS" -lt 10000 -a "$RC" -ne 0
    saved=$(sed -n 's/.*stopped by SIG[A-Z]*; \([0-9]*\) of 1000 steps are saved.*--resume.*/\1/p' "$WORK/log")
    expect "SIGINT to $target: ${saved:-no} steps saved (after the checkpoint of 300), and how to resume" \
        test "${saved:-0}" -gt 300
    expect "SIGINT to $target: no final output" test ! -e "$out/latents.h5"
    if mpi 3 run "${JOB[@]}" --checkpoint-every 300 --out "$out" --resume
    then pass "SIGINT to $target: resumed: $(grep -m1 resuming "$WORK/log")"; else fail "SIGINT to $target: resumed"; fi
    expect "SIGINT to $target: resumed = uninterrupted" \
        "$TCOMPARE" --exact "$out/latents.h5:latents" "$WORK/whole/latents.h5:latents"
done

launch "$WORK/unsaved" "${ARGS[@]}"
interrupt "$WORK/unsaved" 100 mpirun
grep 'brigade:' "$WORK/log"
expect "without checkpoints: every rank ended in $MS ms (< 10 s)" test "$MS" -lt 10000
expect "without checkpoints: it says nothing was saved and how to save" \
    grep -q "stopped by SIGTERM after [0-9]* of 1000 steps; nothing saved (--checkpoint-every" "$WORK/log"

OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MPIRUN_OPTS=--oversubscribe \
    BRIGADE="$BRIGADE" setsid "$REPO/launch/mpirun.sh" "$WORK/hostfile" forward $BRIGADE_ARGS \
    --transformer "$LTX/transformer" --inputs random:1,8,12,12,8 --out "$WORK/forward.h5" \
    --repeat 1000 >"$WORK/log" 2>&1 &
PGID=$!
sleep 3
t0=$(date +%s%N)
kill -INT -- "-$PGID"
while pgrep -f "brigade forward .*$WORK/forward.h5" >/dev/null && [ $(($(date +%s%N) - t0)) -lt 30000000000 ]; do
    sleep 0.05
done
MS=$((($(date +%s%N) - t0) / 1000000))
wait "$PGID"
expect "a forward: every rank ended in $MS ms (< 10 s), no output" test "$MS" -lt 10000 -a ! -e "$WORK/forward.h5"
finish
