#!/usr/bin/env bash
# bench/schedule.sh: does the pipeline keep every GPU busy? `brigade run` with LTX-2B-size random
# weights, 4 jobs with guidance (8 micro-batches per step), a few steps, no decode, on the device
# machine (2 GPUs): 1 GPU; 2 GPUs sequential (the naive split) and pipelined, over NVLink and with
# NCCL_P2P_DISABLE=1 (through host memory, PCIe-like); 4 ranks on the 2 GPUs both ways. A warm-up
# run, then REPS rounds, each running every configuration once (in turn, so that a drift of the
# machine touches all alike). One JSON line per configuration: the median jobs/hour and its spread
# (min, max) over the rounds, and from the median round's run.json the bubble and busy seconds per
# rank; then the ratios of the medians against the 1-GPU and the sequential runs.
#   bash bench/schedule.sh [BUILD_DIR] [OUT_DIR]      (SIZE=2b|13b, COMPUTE=bf16|fp32, STEPS=6,
#                                                    REPS=3, BACKEND=cuda|cpu, FRAMES=97,
#                                                    COMMIT=what the JSON names as measured)
set -u
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
OUT=${2:-bench-out}
SIZE=${SIZE:-2b}
COMPUTE=${COMPUTE:-bf16}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0
FIX=${FIXTURES:-$PWD/../shared/fixtures}
REPS=${REPS:-3}
ARGS=(--share-gpus --backend "${BACKEND:-cuda}" --compute "$COMPUTE" --transformer "random:$SIZE"
      --vae none --scheduler "$FIX/ltx-tiny/scheduler" --embeddings random:4,128 --height 512
      --width 768 --frames "${FRAMES:-97}" --steps "${STEPS:-6}" --check none)
CONFIGS="gpu1 gpu2-sequential gpu2-pipelined gpu2-sequential-nop2p gpu2-pipelined-nop2p
    ranks4-sequential ranks4-pipelined"
one() { # NAME OUT_NAME: the configuration NAME, its outputs in OUT/OUT_NAME
    local name=$1 np=2 schedule=pipelined nop2p=0
    case $name in gpu1) np=1 ;; ranks4-*) np=4 ;; esac
    case $name in *sequential*) schedule=sequential ;; esac
    case $name in *nop2p) nop2p=1 ;; esac
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$np" -x NCCL_NVLS_ENABLE \
        -x NCCL_P2P_DISABLE="$nop2p" "$B/brigade" run "${ARGS[@]}" --schedule "$schedule" \
        --out "$OUT/$2" --trace "$OUT/$2.trace.json" 2>&1 | grep -E "^done|error"
}
one gpu1 warm-up >/dev/null
for r in $(seq 1 "$REPS"); do
    for c in $CONFIGS; do one "$c" "$c-$r"; done
done
python3 - "$OUT" "$SIZE" "$COMPUTE" "$REPS" <<'PY'
import json, os, statistics, subprocess, sys
out, size, compute, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# COMMIT: where the working tree is a copy whose .git is not its own (the device machine).
commit = os.environ.get("COMMIT") or subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                                    capture_output=True, text=True).stdout.strip()
runs = {}
for name in ["gpu1", "gpu2-sequential", "gpu2-pipelined", "gpu2-sequential-nop2p",
             "gpu2-pipelined-nop2p", "ranks4-sequential", "ranks4-pipelined"]:
    done = [(json.load(open(f"{out}/{name}-{k}/run.json")), k) for k in range(1, reps + 1)
            if os.path.exists(f"{out}/{name}-{k}/run.json")]
    if not done:
        print(json.dumps({"config": name, "error": "no run.json"}))
        continue
    rates = [r["pipeline"]["jobs_per_hour"] for r, _ in done]
    median = statistics.median(rates)
    # The round nearest the median speaks for the rest (bubble, busy seconds).
    r, k = min(done, key=lambda d: abs(d[0]["pipeline"]["jobs_per_hour"] - median))
    p = r["pipeline"]
    runs[name] = median
    print(json.dumps({"config": name, "commit": commit, "model": f"random:{size}", "compute": compute,
                      "device": r["ranks"][0]["device"], "ranks": r["settings"]["ranks"],
                      "schedule": p["schedule"], "jobs": r["settings"]["jobs"],
                      "micro_batches_per_step": p["micro_batches_per_step"],
                      "steps": r["settings"]["num_inference_steps"],
                      "tokens": r["settings"]["latent_grid"], "rounds": len(done),
                      "jobs_per_hour": round(median, 1),
                      "jobs_per_hour_spread": [round(min(rates), 1), round(max(rates), 1)],
                      "jobs_per_hour_all": [round(x, 1) for x in rates],
                      "bubble_fraction": round(p["bubble_fraction"], 3),
                      "baton_bytes_per_hop": p["baton_bytes_per_hop"],
                      "busy_seconds": [round(x["busy_seconds"], 3) for x in r["ranks"]],
                      "hop_seconds": [round(x["hop_seconds"], 3) for x in r["ranks"]],
                      "peak_bytes": [x["peak_bytes"] for x in r["ranks"]]}))
def ratio(a, b):
    return round(runs[a] / runs[b], 3) if a in runs and b in runs else None
print(json.dumps({"ratios_of_medians": {
    "pipelined2_vs_1gpu": ratio("gpu2-pipelined", "gpu1"),
    "pipelined2_vs_sequential2": ratio("gpu2-pipelined", "gpu2-sequential"),
    "pipelined2_vs_1gpu_nop2p": ratio("gpu2-pipelined-nop2p", "gpu1"),
    "pipelined2_vs_sequential2_nop2p": ratio("gpu2-pipelined-nop2p", "gpu2-sequential-nop2p"),
    "ranks4_pipelined_vs_sequential": ratio("ranks4-pipelined", "ranks4-sequential"),
    "goal": 1.8}}))
PY
