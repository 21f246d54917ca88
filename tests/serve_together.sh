# serve_together.sh: jobs in flight together in `brigade serve` (--max-jobs), on 2 ranks: a job
# submitted while a long one runs starts beside it at once and ends first; a job cancelled in
# flight leaves the others alone; /health lists the jobs in flight; a job that does not fit
# beside the others (--mem-limit) waits in the queue until one ends, then runs; LTX-2's
# two-stage distilled recipe runs beside a single-stage job. Every job's latents have the bits
# of `brigade run` of that job alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
mkdir -p "$WORK/inputs"
cp "$LTX/case_pipeline.safetensors" "$WORK/inputs/prompts.safetensors"
cp "$FIXTURES/ltx2-tiny/case_pipeline_distilled.safetensors" "$WORK/inputs/ltx2.safetensors"
JOB='"embeddings": "prompts.safetensors"'
LONG="$JOB, \"height\": 256, \"width\": 384, \"frames\": 17, \"steps\": 400, \"seed\": 1"
# jobs FIELD...: each job's FIELD in the queue, by id.
jobs() { call GET /jobs; python3 -c 'import json, sys
for j in json.loads(sys.argv[1])["jobs"]: print(j["id"], *[j[f] for f in sys.argv[2:]])' "$BODY" "$@"; }
# alone ID ARGS...: brigade run of the job alone; its latents against the server's (bits).
alone() {
    local id=$1
    shift
    mpi 1 run "$@" --vae none --out "$WORK/alone$id" >"$WORK/log" 2>&1 &&
        "$TCOMPARE" --exact "$STATE_DIR/jobs/$id/latents.h5:latents" "$WORK/alone$id/latents.h5:latents"
}

STATE_DIR=$WORK/state
start_server 2 "$WORK/serve.log" --model "$LTX" --state "$STATE_DIR" --inputs "$WORK/inputs" \
    --vae none --max-jobs 3 || fail "server up"
call POST /jobs -d "{$LONG}"
wait_job 1 running
call POST /jobs -d "{$JOB, \"height\": 64, \"width\": 96, \"frames\": 9, \"steps\": 3, \"seed\": 2}"
call POST /jobs -d "{$JOB, \"height\": 64, \"width\": 64, \"frames\": 9, \"steps\": 1000, \"seed\": 3}"
wait_job 3 running
call GET /health
expect "/health lists the jobs in flight" python3 -c 'import json, sys
r = json.loads(sys.argv[1])["running"]; assert 1 in r and 3 in r, r' "$BODY"
call DELETE /jobs/3
expect "DELETE a job in flight: 202 cancelling" test "$CODE" = 202
if wait_job 2 done 60; then pass "a short job submitted during a long one is done"; else fail "job 2 done ($STATE)"; fi
call GET /jobs/1
expect "... while the long one still runs (step $(field step) of 400)" test "$(field state)" = running
if wait_job 3 cancelled 60; then pass "the job cancelled in flight: cancelled at step $(field step)"
else fail "job 3 cancelled ($STATE)"; fi
if wait_job 1 done 120; then pass "the long job is done"; else fail "job 1 done ($STATE)"; fi
jobs started finished >"$WORK/times"
expect "job 2 started and ended while job 1 ran" python3 -c 'import sys
t = {int(l.split()[0]): [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
assert t[1][0] < t[2][0] < t[2][1] < t[1][1], t' "$WORK/times"
grep -q "job 2 starts beside the jobs in flight" "$WORK/serve.log" && pass "the log says job 2 started beside job 1" || fail "the log says job 2 started beside job 1"
SHARES=$(python3 -c 'import json, sys
print(*[json.load(open(f"{sys.argv[1]}/jobs/{i}/run.json"))["energy"].get("share_of_devices", 1) for i in (1, 2)])' "$STATE_DIR")
expect "each job's cost is its share of the devices (job 1, job 2 beside it: $SHARES)" python3 -c 'import sys
a, b = map(float, sys.argv[1:3]); assert 0.8 < a < 1 and 0.25 < b < 0.6' $SHARES
stop_server
expect "job 1 = brigade run of it alone (bits)" alone 1 --model "$LTX" --embeddings "$WORK/inputs/prompts.safetensors" \
    --height 256 --width 384 --frames 17 --steps 400 --seed 1
expect "job 2 = brigade run of it alone (bits)" alone 2 --model "$LTX" --embeddings "$WORK/inputs/prompts.safetensors" \
    --height 64 --width 96 --frames 9 --steps 3 --seed 2

# Memory: each job's plan is 0.6 MiB a rank, 0.4 of it its loop's buffers; under --mem-limit 0.9M
# a second job does not fit beside the first: it waits in the queue, then runs.
STATE_DIR=$WORK/state-mem
start_server 2 "$WORK/serve-mem.log" --model "$LTX" --state "$STATE_DIR" --inputs "$WORK/inputs" \
    --vae none --max-jobs 3 --mem-limit 0.9M || fail "server up (--mem-limit)"
call POST /jobs -d "{$JOB, \"height\": 256, \"width\": 384, \"frames\": 17, \"steps\": 150, \"seed\": 4}"
wait_job 1 running
call POST /jobs -d "{$JOB, \"height\": 256, \"width\": 384, \"frames\": 17, \"steps\": 3, \"seed\": 5}"
for id in 1 2; do
    if wait_job $id done 120; then pass "--mem-limit: job $id done"; else fail "--mem-limit: job $id done ($STATE)"; fi
done
jobs started finished attempts >"$WORK/times"
expect "--mem-limit: job 2 waited for job 1's end (one attempt)" python3 -c 'import sys
t = {int(l.split()[0]): [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
assert t[1][1] <= t[2][0] and t[2][2] == 1, t' "$WORK/times"
expect "--mem-limit: the log says why it waited" grep -q "job 2 waits for a job in flight to end: .*does not fit" "$WORK/serve-mem.log"
stop_server
expect "--mem-limit: job 2 = brigade run of it alone (bits)" alone 2 --model "$LTX" \
    --embeddings "$WORK/inputs/prompts.safetensors" --height 256 --width 384 --frames 17 --steps 3 --seed 5

# LTX-2: the distilled recipe's two stages (the upsampler between them) beside a long
# single-stage job (no guidance: the fixture's embeddings have no negative prompt).
DISTILLED=$WORK/ltx2
ltx2_pipeline "$DISTILLED"
rm "$DISTILLED/scheduler" && ln -s "$FIXTURES/ltx2-tiny/scheduler-distilled" "$DISTILLED/scheduler"
STATE_DIR=$WORK/state-ltx2
start_server 2 "$WORK/serve-ltx2.log" --model "$DISTILLED" --state "$STATE_DIR" --inputs "$WORK/inputs" \
    --vae none --max-jobs 3 || fail "server up (LTX-2)"
L2='"embeddings": "ltx2.safetensors", "frames": 17'
NOGUIDE='"guidance": 1, "audio-guidance": 1, "stg-scale": 0, "audio-stg-scale": 0, "modality-scale": 1, "audio-modality-scale": 1'
call POST /jobs -d "{$L2, $NOGUIDE, \"height\": 128, \"width\": 192, \"steps\": 600, \"seed\": 7}"
wait_job 1 running
call POST /jobs -d "{$L2, \"recipe\": \"distilled\", \"height\": 256, \"width\": 384, \"seed\": 6}"
call POST /jobs -d "{$L2, \"recipe\": \"distilled\", \"height\": 128, \"width\": 192, \"seed\": 8}"
for id in 1 2 3; do
    if wait_job $id done 120; then pass "LTX-2: job $id done"; else fail "LTX-2: job $id done ($STATE)"; fi
done
jobs started finished >"$WORK/times"
expect "LTX-2: the distilled jobs ran beside the long one" python3 -c 'import sys
t = {int(l.split()[0]): [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
assert all(t[1][0] < t[j][0] < t[j][1] < t[1][1] for j in (2, 3)), t' "$WORK/times"
stop_server
L2RUN=(--model "$DISTILLED" --embeddings "$WORK/inputs/ltx2.safetensors" --frames 17)
expect "LTX-2: job 1 (one stage) = brigade run of it alone (bits)" alone 1 "${L2RUN[@]}" \
    --guidance 1 --audio-guidance 1 --stg-scale 0 --audio-stg-scale 0 --modality-scale 1 \
    --audio-modality-scale 1 --height 128 --width 192 --steps 600 --seed 7
expect "LTX-2: job 2 (distilled) = brigade run of it alone (bits)" alone 2 "${L2RUN[@]}" \
    --recipe distilled --height 256 --width 384 --seed 6
expect "LTX-2: job 3 (distilled) = brigade run of it alone (bits)" alone 3 "${L2RUN[@]}" \
    --recipe distilled --height 128 --width 192 --seed 8
finish
