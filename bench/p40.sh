#!/usr/bin/env bash
# bench/p40.sh: the seed's case of four 24 GB Tesla P40s, emulated on the device machine:
# LTX-2.3-size random weights (48 blocks, video 4096 and audio 2048 wide) over 4 ranks that share
# this machine's GPU, fp32 arithmetic on bf16 weights (a P40 has no bf16 and its fp16 overflows),
# at the distilled recipe's token counts for a 121-frame clip (stage 1 at 256x384: 16x8x12 video
# latents; stage 2 at 512x768: 16x16x24; 121 audio latent frames; 1024 text tokens); then on one
# rank fp32, bf16 and int8 weights at stage 2: the speed of int8 and the fp32 forward against its
# SGEMM limit (FLOPs / cuBLAS's plain-fp32 rate measured in the same run).
#   bash bench/p40.sh [BUILD_DIR] [OUT_DIR]
# Each configuration: a warm-up and 3 forwards, their median and spread, and every rank's peak.
# The 4 ranks take turns on one GPU, so their seconds are not a P40's; their peaks are what each
# card would hold.
set -u
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
OUT=${2:-bench-out}
mkdir -p "$OUT"
rm -f "$OUT"/p40-*.json # a configuration that fails must not report an earlier run's figures
export NCCL_NVLS_ENABLE=0
STAGE1=random:1,16,8,12,121,1024
STAGE2=random:1,16,16,24,121,1024
forward() { # NAME RANKS STORAGE INPUTS
    timeout 300 mpirun --allow-run-as-root -np $2 -x NCCL_NVLS_ENABLE "$B/brigade" forward \
        --backend cuda --share-gpus --compute fp32 --storage $3 --check none \
        --transformer random:ltx-2.3-22b --inputs $4 --out "$OUT/sample.h5" --repeat 3 \
        --json "$OUT/p40-$1.json" 2>&1 | grep -E "^forward|error"
}
python3 -c 'import json, sys; sys.path.insert(0, "bench"); import torch_qwen
print(json.dumps({"sgemm_tflops": torch_qwen.sgemm_tflops()}))' >"$OUT/sgemm.json"
forward 4ranks-stage1-bf16 4 bf16 $STAGE1
forward 4ranks-stage2-bf16 4 bf16 $STAGE2
forward 1rank-stage2-fp32 1 fp32 $STAGE2
forward 1rank-stage2-bf16 1 bf16 $STAGE2
forward 1rank-stage2-int8 1 int8 $STAGE2
python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
sgemm = json.load(open(f"{out}/sgemm.json"))["sgemm_tflops"]
for path in sorted(glob.glob(f"{out}/p40-*.json")):
    r = json.load(open(path))
    row = {"config": os.path.basename(path)[4:-5], "ranks": r["ranks"], "weights": r["weights"],
           "tokens": r["tokens"], "prompt_tokens": r["prompt_tokens"], "seconds": r["seconds"],
           "seconds_min": r["seconds_min"], "seconds_max": r["seconds_max"],
           "peak_gib_per_rank": [round(p / 2**30, 2) for p in r["peak_bytes_per_rank"]]}
    if r["ranks"] == 1:
        limit = r["flop"] / (sgemm * 1e12)
        row.update({"sgemm_tflops": round(sgemm, 2), "sgemm_limit_seconds": round(limit, 3),
                    "ratio_to_sgemm_limit": round(r["seconds"] / limit, 3)})
    print(json.dumps(row))
PY
