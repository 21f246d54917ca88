# run_resume.sh: losing a rank loses no work. A rank killed (kill -9) mid-run ends the job on
# every rank within 30 s, non-zero, naming the lost rank, with no final output; `--resume` then
# goes on from the last checkpoint and gives the latents of an uninterrupted run, bit for bit. A
# checkpoint of other settings is refused. A stalled rank (SIGSTOP) is caught by the watchdog.
. "$(dirname "$0")/lib.sh"
CASE=$LTX/case_pipeline.safetensors
python3 "$(dirname "$0")/edit_tensors.py" jobs "$CASE" 3 "$WORK/jobs.safetensors"
# Enough steps to be killed in the middle (the tiny model does one in about 10 ms per rank).
ARGS=(--model "$LTX" --embeddings "$WORK/jobs.safetensors" --height 128 --width 192 --frames 17 --steps 400 --seed 5)

if mpi 3 run "${ARGS[@]}" --out "$WORK/whole"; then pass "uninterrupted run"; else fail "uninterrupted run"; fi

# Starts a 3-rank run in the background, waits for its first checkpoint, then signals rank 1.
run_and_signal() { # OUT SIGNAL [extra args]
    local out=$1 sig=$2
    shift 2
    LAUNCH_TIMEOUT=90 mpi 3 run "${ARGS[@]}" --checkpoint-every 20 --out "$out" "$@" &
    local launcher=$! pid=""
    for _ in $(seq 300); do [ -e "$out/checkpoint.h5" ] && break; sleep 0.1; done
    for _ in $(seq 50); do # the rank whose OMPI_COMM_WORLD_RANK is 1
        for p in $(pgrep -f "brigade run .*$out"); do
            grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && pid=$p
        done
        [ -n "$pid" ] && break
        sleep 0.1
    done
    local start=$(date +%s%N)
    kill "-$sig" "$pid"
    wait "$launcher"
    RC=$?
    ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
    ELAPSED=$((ELAPSED_MS / 1000)).$((ELAPSED_MS % 1000 / 100))
}

run_and_signal "$WORK/killed" KILL
left=$(pgrep -fc "brigade run .*$WORK/killed" || true)
if [ "$RC" -ne 0 ] && [ "$left" -eq 0 ] && [ "$ELAPSED_MS" -lt 30000 ]; then
    pass "kill -9 rank 1: job ended in $ELAPSED s, exit $RC, no rank left"
else
    fail "kill -9 rank 1: exit $RC, ${ELAPSED} s, $left ranks left"
fi
expect "the lost rank is named" grep -q "rank 1" "$WORK/log"
expect "no final latents after the kill" test ! -e "$WORK/killed/latents.h5"
expect "a checkpoint is there" test -e "$WORK/killed/checkpoint.h5"

if mpi 3 run "${ARGS[@]}" --steps 300 --checkpoint-every 20 --out "$WORK/killed" --resume; then
    fail "resume with other --steps accepted"
elif grep -q "steps 400; this run has 300" "$WORK/log"; then pass "other settings refused"
else fail "other settings: message"; fi
if mpi 3 run "${ARGS[@]}" --checkpoint-every 20 --out "$WORK/killed" --resume; then
    pass "resumed: $(grep -m1 resuming "$WORK/log")"
else
    fail "resume"
fi
expect "resumed = uninterrupted (latents, bit for bit)" "$TCOMPARE" --exact "$WORK/killed/latents.h5:latents" "$WORK/whole/latents.h5:latents"

run_and_signal "$WORK/stalled" STOP --timeout 3
pkill -KILL -f "brigade run .*$WORK/stalled" 2>/dev/null
if [ "$RC" -ne 0 ] && grep -q "no progress for .*(limit 3 s" "$WORK/log"; then
    pass "SIGSTOP rank 1: watchdog ended the job in $ELAPSED s: $(grep -m1 'no progress' "$WORK/log" | cut -c1-100)"
else
    fail "SIGSTOP rank 1: exit $RC"
fi
finish
