#!/usr/bin/env bash
# bench/serve.sh: what keeping the model loaded is worth. The same JOBS jobs (CLIENTS concurrent
# clients, bench/serve_load.py) through one `brigade serve`, against `brigade run` of each job
# one by one (a process launch, a model load and the job's work each), on NP ranks; a warm-up,
# then REPS repetitions of both; prints one JSON object: medians and spreads (min, max) of the
# wall time and jobs/hour, the latency percentiles, and the ratio of the medians.
#   bash bench/serve.sh [BUILD_DIR] [MODEL_DIR]     (defaults: build, ../shared/fixtures/ltx-tiny)
# Settings by environment: NP=2 JOBS=40 CLIENTS=8 REPS=3 BACKEND=cpu, SIZE (brigade run words).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}/brigade
MODEL=${2:-../shared/fixtures/ltx-tiny}
NP=${NP:-2} JOBS=${JOBS:-40} CLIENTS=${CLIENTS:-8} REPS=${REPS:-3} BACKEND=${BACKEND:-cpu}
read -r -a SIZE <<<"${SIZE:---height 64 --width 96 --frames 9 --steps 3}"
WORK=$(mktemp -d /tmp/brigade-bench-serve.XXXXXX)
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
SERVER=
MPI=(mpirun --allow-run-as-root --oversubscribe -np "$NP")
mkdir -p "$WORK/inputs"
cp "$MODEL/case_pipeline.safetensors" "$WORK/inputs/prompts.safetensors" 2>/dev/null ||
    cp "$MODEL/embeddings.h5" "$WORK/inputs/prompts.safetensors"
# The job as JSON: SIZE's words as settings, and the job's number as its seed.
JOB=$(python3 -c '
import json, sys
w = sys.argv[1:]; s = {w[i][2:]: w[i + 1] for i in range(0, len(w), 2)}
s["embeddings"] = "prompts.safetensors"; s["seed"] = 12345
print(json.dumps(s).replace("12345", "{job}"))' "${SIZE[@]}")

serve_rep() { # STATE JOBS CLIENTS -> the load JSON on stdout
    "${MPI[@]}" "$B" serve --backend "$BACKEND" --model "$MODEL" --state "$WORK/$1" \
        --inputs "$WORK/inputs" --listen 127.0.0.1:0 >"$WORK/$1.log" 2>&1 &
    SERVER=$!
    local port=
    until [ -n "$port" ]; do
        sleep 0.1
        port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/$1.log")
        kill -0 $SERVER || { cat "$WORK/$1.log" >&2; exit 1; }
    done
    python3 bench/serve_load.py "http://127.0.0.1:$port" "$3" "$(($2 / $3))" "$JOB"
    kill -TERM $SERVER
    wait $SERVER || true
}
one_by_one() { # OUT JOBS -> seconds
    local t0=$(date +%s.%N)
    for n in $(seq 0 $(($2 - 1))); do
        "${MPI[@]}" "$B" run --backend "$BACKEND" --model "$MODEL" \
            --embeddings "$WORK/inputs/prompts.safetensors" "${SIZE[@]}" --seed "$n" \
            --out "$WORK/$1-$n" >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; exit 1; }
    done
    python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(date +%s.%N)"
}

serve_rep warm 2 1 >/dev/null # warm-up: page cache, the binaries, the model's files
one_by_one warm 1 >/dev/null
for r in $(seq 1 "$REPS"); do
    serve_rep "serve$r" "$JOBS" "$CLIENTS" >"$WORK/serve$r.json"
    one_by_one "run$r" "$JOBS" >"$WORK/run$r.seconds"
done
python3 - "$WORK" "$REPS" "$JOBS" "$NP" "$CLIENTS" "${SIZE[*]}" <<'PY'
import json, statistics, sys
work, reps, jobs, np, clients, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
serve = [json.load(open(f"{work}/serve{r}.json")) for r in range(1, reps + 1)]
assert all(x["state"] == "done" for s in serve for x in s["results"]), "a job did not complete"
runs = [float(open(f"{work}/run{r}.seconds").read()) for r in range(1, reps + 1)]
def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}
sw = stats([s["wall_seconds"] for s in serve])
rw = stats(runs)
print(json.dumps({
    "bench": "serve", "ranks": np, "jobs": jobs, "clients": clients, "job": size, "repetitions": reps,
    "serve_wall_seconds": sw, "serve_jobs_per_hour": jobs / sw["median"] * 3600,
    "serve_latency_p50_seconds": stats([s["latency_seconds"]["p50"] for s in serve]),
    "serve_latency_p90_seconds": stats([s["latency_seconds"]["p90"] for s in serve]),
    "run_one_by_one_wall_seconds": rw, "run_one_by_one_jobs_per_hour": jobs / rw["median"] * 3600,
    "speedup_of_medians": rw["median"] / sw["median"]}, indent=1))
PY
