# serve_load.sh: 40 jobs from 8 concurrent clients (bench/serve_load.py) to `brigade serve` on 2
# ranks: every job is accepted once and completes, none lost or duplicated (40 distinct ids, 40
# jobs in the queue), and each job's latents have the bits of `brigade run` of that job alone
# (job n draws seed n). The latency percentiles are printed, not asserted (bench/serve.sh
# measures them against brigade run one by one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK/inputs"
cp "$LTX/case_pipeline.safetensors" "$WORK/inputs/prompts.safetensors"
start_server 2 "$WORK/serve.log" --model "$LTX" --state "$WORK/state" --inputs "$WORK/inputs" \
    --vae none || fail "server up"
JOB='{"embeddings": "prompts.safetensors", "height": 64, "width": 96, "frames": 9, "steps": 3, "seed": {job}}'
python3 "$REPO/bench/serve_load.py" "http://127.0.0.1:$PORT" 8 5 "$JOB" >"$WORK/load.json"
expect "40 jobs from 8 clients: every one accepted and done" python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); r = d["results"]
assert len(r) == 40 and all(x["state"] == "done" for x in r), [x for x in r if x["state"] != "done"]
assert len({x["id"] for x in r}) == 40, "duplicate ids"' "$WORK/load.json"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); l = d["latency_seconds"]
print("     latency p50 %.2f s, p90 %.2f s, max %.2f s; %.0f jobs/hour (not asserted)" % (
      l["p50"], l["p90"], l["max"], d["jobs_per_hour"]))' "$WORK/load.json"
call GET /jobs
expect "the queue holds exactly those 40 jobs" python3 -c '
import json, sys; q = json.loads(sys.argv[1])["jobs"]; d = json.load(open(sys.argv[2]))
assert sorted(x["id"] for x in q) == sorted(x["id"] for x in d["results"]), "lost or extra jobs"' "$BODY" "$WORK/load.json"
stop_server
# Each job against brigade run alone with its seed.
bad=0
for n in $(seq 0 39); do
    id=$(python3 -c 'import json,sys; print([x["id"] for x in json.load(open(sys.argv[1]))["results"] if x["job"] == int(sys.argv[2])][0])' "$WORK/load.json" "$n")
    mpi 1 run --model "$LTX" --embeddings "$WORK/inputs/prompts.safetensors" --vae none \
        --height 64 --width 96 --frames 9 --steps 3 --seed $n --out "$WORK/alone$n" || bad=$((bad + 1))
    "$TCOMPARE" --exact "$WORK/state/jobs/$id/latents.h5:latents" "$WORK/alone$n/latents.h5:latents" >>"$WORK/cmp.log" 2>&1 || bad=$((bad + 1))
done
expect "every job = brigade run of it alone (40 of 40, bits)" test $bad -eq 0
finish
