#!/usr/bin/env bash
# bench/serve.sh: what keeping the model loaded, and jobs in flight together, are worth. The same
# JOBS jobs (CLIENTS concurrent clients, bench/serve_load.py) through one `brigade serve` with
# MAX_JOBS in flight together, through one with one job at a time (--max-jobs 1), and `brigade
# run` of each job one by one (a process launch, a model load and the job's work each), on NP
# ranks; a warm-up, then REPS repetitions of the three; prints one JSON object: medians and
# spreads (min, max) of the wall time and jobs/hour, the latency percentiles, and the ratios of
# the medians. Then a short job sent while a long one (LONG_STEPS, 100) runs: its seconds to done
# with MAX_JOBS in flight (it runs beside the long one) and with one at a time (it waits).
#   bash bench/serve.sh [BUILD_DIR] [MODEL_DIR]     (defaults: build, ../shared/fixtures/ltx-tiny)
# Settings by environment: NP=2 JOBS=40 CLIENTS=8 REPS=3 MAX_JOBS=4 LONG_STEPS=100 BACKEND=cpu,
# SIZE (brigade run words).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}/brigade
MODEL=${2:-../shared/fixtures/ltx-tiny}
NP=${NP:-2} JOBS=${JOBS:-40} CLIENTS=${CLIENTS:-8} REPS=${REPS:-3} BACKEND=${BACKEND:-cpu}
MAX_JOBS=${MAX_JOBS:-4}
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

start_server() { # STATE MAX_JOBS: a server in the background (SERVER), listening on PORT
    "${MPI[@]}" "$B" serve --backend "$BACKEND" --model "$MODEL" --state "$WORK/$1" \
        --inputs "$WORK/inputs" --listen 127.0.0.1:0 --max-jobs "$2" >"$WORK/$1.log" 2>&1 &
    SERVER=$!
    PORT=
    until [ -n "$PORT" ]; do
        sleep 0.1
        PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/$1.log")
        kill -0 $SERVER || { cat "$WORK/$1.log" >&2; exit 1; }
    done
}
serve_rep() { # STATE JOBS CLIENTS MAX_JOBS -> the load JSON on stdout
    start_server "$1" "$4"
    python3 bench/serve_load.py "http://127.0.0.1:$PORT" "$3" "$(($2 / $3))" "$JOB"
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

# One short job sent while a long one (LONG_STEPS) runs: seconds until it is done.
short_during_long() { # STATE MAX_JOBS -> seconds
    start_server "$1" "$2"
    python3 - "http://127.0.0.1:$PORT" "$JOB" "$LONG_STEPS" <<'PY'
import json, sys, time, urllib.request
url, job, long_steps = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, data=body and json.dumps(body).encode(), method=method)
    return json.load(urllib.request.urlopen(req))
long = json.loads(job.replace("{job}", "0")); long["steps"] = long_steps
lid = call("POST", "/jobs", long)["id"]
while call("GET", f"/jobs/{lid}")["state"] != "running": time.sleep(0.05)
t0 = time.time()
sid = call("POST", "/jobs", json.loads(job.replace("{job}", "1")))["id"]
while call("GET", f"/jobs/{sid}")["state"] not in ("done", "failed"): time.sleep(0.05)
print(time.time() - t0)
PY
    kill -TERM $SERVER
    wait $SERVER || true
}
LONG_STEPS=${LONG_STEPS:-100}

serve_rep warm 2 1 "$MAX_JOBS" >/dev/null # warm-up: page cache, the binaries, the model's files
one_by_one warm 1 >/dev/null
for r in $(seq 1 "$REPS"); do
    serve_rep "serve$r" "$JOBS" "$CLIENTS" "$MAX_JOBS" >"$WORK/serve$r.json"
    serve_rep "single$r" "$JOBS" "$CLIENTS" 1 >"$WORK/single$r.json"
    one_by_one "run$r" "$JOBS" >"$WORK/run$r.seconds"
    short_during_long "long$r" "$MAX_JOBS" >"$WORK/short$r.seconds"
    short_during_long "longsingle$r" 1 >"$WORK/shortsingle$r.seconds"
done
python3 - "$WORK" "$REPS" "$JOBS" "$NP" "$CLIENTS" "${SIZE[*]}" "$MAX_JOBS" "$LONG_STEPS" <<'PY'
import json, statistics, sys
work, size = sys.argv[1], sys.argv[6]
reps, jobs, np, clients, max_jobs, long_steps = (int(v) for v in sys.argv[2:6] + sys.argv[7:9])
def loads(name):
    v = [json.load(open(f"{work}/{name}{r}.json")) for r in range(1, reps + 1)]
    assert all(x["state"] == "done" for s in v for x in s["results"]), "a job did not complete"
    return v
def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}
out = {"bench": "serve", "ranks": np, "jobs": jobs, "clients": clients, "job": size,
       "repetitions": reps, "max_jobs": max_jobs}
for key, name in (("serve", "serve"), ("serve_one_at_a_time", "single")):
    v = loads(name)
    out[key + "_wall_seconds"] = stats([s["wall_seconds"] for s in v])
    out[key + "_jobs_per_hour"] = jobs / out[key + "_wall_seconds"]["median"] * 3600
    out[key + "_latency_p50_seconds"] = stats([s["latency_seconds"]["p50"] for s in v])
    out[key + "_latency_p90_seconds"] = stats([s["latency_seconds"]["p90"] for s in v])
rw = out["run_one_by_one_wall_seconds"] = stats(
    [float(open(f"{work}/run{r}.seconds").read()) for r in range(1, reps + 1)])
out["run_one_by_one_jobs_per_hour"] = jobs / rw["median"] * 3600
out["speedup_of_medians"] = rw["median"] / out["serve_wall_seconds"]["median"]
out["speedup_over_one_at_a_time"] = (out["serve_one_at_a_time_wall_seconds"]["median"]
                                     / out["serve_wall_seconds"]["median"])
# A short job sent while a job of long_steps runs: until it is done, beside it and behind it.
out["long_job_steps"] = long_steps
for key, name in (("short_job_seconds_beside_a_long_one", "short"),
                  ("short_job_seconds_behind_a_long_one", "shortsingle")):
    out[key] = stats([float(open(f"{work}/{name}{r}.seconds").read()) for r in range(1, reps + 1)])
print(json.dumps(out, indent=1))
PY
