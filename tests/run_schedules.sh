# run_schedules.sh: the two schedules of `brigade run` compute the same bits. Three jobs with
# guidance (six micro-batches per step) on 3 ranks, sequential and pipelined, and on 1 rank:
# latents and frames bit-identical. The pipelined trace has one row per rank. A NaN in one job's
# prompt is caught at the block where it starts, by rank and micro-batch, on every schedule, and
# no output is left. A hand-set --split gives the same bits; run.json prices the run.
. "$(dirname "$0")/lib.sh"
CASE=$LTX/case_pipeline.safetensors
python3 "$(dirname "$0")/edit_tensors.py" jobs "$CASE" 3 "$WORK/jobs.safetensors"
python3 "$(dirname "$0")/edit_tensors.py" nan "$WORK/jobs.safetensors" prompt_embeds "$WORK/nan.safetensors"
ARGS=(--model "$LTX" --height 128 --width 192 --frames 17 --steps 3 --seed 7)

for sched in sequential pipelined; do
    if mpi 3 run "${ARGS[@]}" --embeddings "$WORK/jobs.safetensors" --schedule "$sched" \
        --out "$WORK/$sched" --trace "$WORK/$sched.trace.json"; then
        pass "$sched on 3 ranks: $(grep '^done' "$WORK/log" | cut -d';' -f2)"
    else
        fail "$sched on 3 ranks"
    fi
done
if mpi 1 run "${ARGS[@]}" --embeddings "$WORK/jobs.safetensors" --out "$WORK/one"; then
    pass "1 rank"; else fail "1 rank"; fi
# A hand-set split moves blocks between ranks, not arithmetic: the same bits. A bad one is
# refused in one line before anything loads.
if mpi 3 run "${ARGS[@]}" --embeddings "$WORK/jobs.safetensors" --vae none --split 2,1,1 \
    --host-watts 100 --price-kwh 0.3 --out "$WORK/split"; then pass "--split 2,1,1"; else fail "--split 2,1,1"; fi
expect "--split 2,1,1: rank 0 owns blocks 0-1" grep -q "^rank 0 .* blocks 0-1 " "$WORK/log"
expect "--split 2,1,1 = 1 rank: latents" "$TCOMPARE" --exact "$WORK/split/latents.h5:latents" "$WORK/one/latents.h5:latents"
# The cost: the GPUs' measured energy (on the CPU: null, and why) plus the hosts' estimate,
# W x hosts x seconds, priced at --price-kwh; per job, the run's third.
cost_ok() {
    python3 - "$1" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["energy"]
if e["gpus"] == 0:
    gpu = 0
    ok = e["gpu_joules"] is None and "CPU backend" in e["not_measured"]
else:
    gpu = e["gpu_joules"] or 0
    ok = e["gpus_metered"] == e["gpus"] and gpu > 0
kwh = (gpu + 100 * e["hosts"] * e["seconds"]) / 3.6e6
ok = (ok and abs(e["kwh"] - kwh) <= 1e-9 * kwh and abs(e["cost"] - 0.3 * kwh) <= 1e-9 * kwh
      and abs(e["per_job"]["cost"] * 3 - e["cost"]) <= 1e-9 * e["cost"])
print(e)
sys.exit(0 if ok else 1)
PY
}
expect "run.json energy: GPUs measured or why not, hosts at 100 W, priced at 0.3" cost_ok "$WORK/split/run.json"
expect "summary line: energy" grep -q "^energy: .* kWh (.*100 W estimated" "$WORK/log"
if mpi 3 run "${ARGS[@]}" --embeddings "$WORK/jobs.safetensors" --split 4,4 --out "$WORK/split2"; then
    fail "--split 4,4 on 3 ranks accepted"
else
    expect "--split 4,4 on 3 ranks: one line" grep -q "has 2 entries but 3 ranks run" "$WORK/log"
fi
for other in sequential one; do
    expect "pipelined = $other: latents" "$TCOMPARE" --exact "$WORK/pipelined/latents.h5:latents" "$WORK/$other/latents.h5:latents"
    expect "pipelined = $other: frames" diff -r -x run.json -x latents.h5 -x '*.mp4' "$WORK/pipelined" "$WORK/$other"
done
trace_rows() {
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["traceEvents"]; sys.exit(0 if sorted({x["tid"] for x in e if x["ph"]=="X" and x["cat"]=="compute"}) == [0, 1, 2] else 1)' "$1"
}
expect "trace: compute spans on ranks 0, 1, 2" trace_rows "$WORK/pipelined.trace.json"
expect "run.json: bubble fraction" grep -q '"bubble_fraction"' "$WORK/pipelined/run.json"

for sched in sequential pipelined; do
    if mpi 3 run "${ARGS[@]}" --embeddings "$WORK/nan.safetensors" --schedule "$sched" --out "$WORK/nan-$sched"; then
        fail "$sched: NaN prompt accepted"
    elif grep -q "rank 0 .*block 0 (micro-batch 5, step 0)" "$WORK/log" && [ ! -e "$WORK/nan-$sched/latents.h5" ]; then
        pass "$sched: NaN caught: $(grep -m1 error "$WORK/log" | cut -c1-90)"
    else
        fail "$sched: NaN message or output"
    fi
done
finish
