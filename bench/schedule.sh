#!/usr/bin/env bash
# bench/schedule.sh: does the pipeline keep every GPU busy? `brigade run` with LTX-2B-size random
# weights, 4 jobs with guidance (8 micro-batches per step), a few steps, no decode, on the device
# machine (2 GPUs): 1 GPU; 2 GPUs sequential (the naive split) and pipelined, over NVLink and with
# NCCL_P2P_DISABLE=1 (through host memory, PCIe-like); 4 ranks on the 2 GPUs both ways. One JSON
# line per configuration (from its run.json: jobs/hour, bubble, busy seconds per rank), then the
# ratios against the 1-GPU and the sequential runs of the same run.
#   bash bench/schedule.sh [BUILD_DIR] [OUT_DIR]      (SIZE=2b|13b, COMPUTE=bf16|fp32, STEPS=6,
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
ARGS=(--share-gpus --backend cuda --compute "$COMPUTE" --transformer "random:$SIZE" --vae none
      --scheduler "$FIX/ltx-tiny/scheduler" --embeddings random:4,128 --height 512 --width 768
      --frames 97 --steps "${STEPS:-6}" --check none)
one() { # NAME NP SCHEDULE P2P_DISABLE
    local name=$1 np=$2 schedule=$3 nop2p=$4
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$np" -x NCCL_NVLS_ENABLE \
        -x NCCL_P2P_DISABLE="$nop2p" "$B/brigade" run "${ARGS[@]}" --schedule "$schedule" \
        --out "$OUT/$name" --trace "$OUT/$name.trace.json" 2>&1 | grep -E "^done|^energy|error"
}
one gpu1 1 pipelined 0
one gpu2-sequential 2 sequential 0
one gpu2-pipelined 2 pipelined 0
one gpu2-sequential-nop2p 2 sequential 1
one gpu2-pipelined-nop2p 2 pipelined 1
one ranks4-sequential 4 sequential 0
one ranks4-pipelined 4 pipelined 0
python3 - "$OUT" "$SIZE" "$COMPUTE" <<'PY'
import json, os, subprocess, sys
out, size, compute = sys.argv[1:4]
# COMMIT: where the working tree is a copy whose .git is not its own (the device machine).
commit = os.environ.get("COMMIT") or subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                                    capture_output=True, text=True).stdout.strip()
runs = {}
for name in ["gpu1", "gpu2-sequential", "gpu2-pipelined", "gpu2-sequential-nop2p",
             "gpu2-pipelined-nop2p", "ranks4-sequential", "ranks4-pipelined"]:
    path = f"{out}/{name}/run.json"
    if not os.path.exists(path):
        print(json.dumps({"config": name, "error": "no run.json"}))
        continue
    r = json.load(open(path))
    p = r["pipeline"]
    runs[name] = p["jobs_per_hour"]
    print(json.dumps({"config": name, "commit": commit, "model": f"random:{size}", "compute": compute,
                      "device": r["ranks"][0]["device"], "ranks": r["settings"]["ranks"],
                      "schedule": p["schedule"], "jobs": r["settings"]["jobs"],
                      "micro_batches_per_step": p["micro_batches_per_step"],
                      "steps": r["settings"]["num_inference_steps"],
                      "tokens": r["settings"]["latent_grid"], "jobs_per_hour": round(p["jobs_per_hour"], 1),
                      "bubble_fraction": round(p["bubble_fraction"], 3),
                      "baton_bytes_per_hop": p["baton_bytes_per_hop"],
                      "busy_seconds": [round(x["busy_seconds"], 3) for x in r["ranks"]],
                      "hop_seconds": [round(x["hop_seconds"], 3) for x in r["ranks"]],
                      "peak_bytes": [x["peak_bytes"] for x in r["ranks"]]}))
def ratio(a, b):
    return round(runs[a] / runs[b], 3) if a in runs and b in runs else None
print(json.dumps({"ratios": {
    "pipelined2_vs_1gpu": ratio("gpu2-pipelined", "gpu1"),
    "pipelined2_vs_sequential2": ratio("gpu2-pipelined", "gpu2-sequential"),
    "pipelined2_vs_1gpu_nop2p": ratio("gpu2-pipelined-nop2p", "gpu1"),
    "pipelined2_vs_sequential2_nop2p": ratio("gpu2-pipelined-nop2p", "gpu2-sequential-nop2p"),
    "ranks4_pipelined_vs_sequential": ratio("ranks4-pipelined", "ranks4-sequential"),
    "goal": 1.8}}))
PY
