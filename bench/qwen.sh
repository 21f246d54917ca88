#!/usr/bin/env bash
# bench/qwen.sh: one transformer forward of Qwen-Image-size random weights (qwen-image-20b: 60
# blocks, 24 heads x 128), FireRed-Image-Edit's edit size: batch 1, a 1024 x 1024 target and a
# 1024 x 1024 reference (2 x 64 x 64 = 8192 packed image tokens), 256 text tokens; bf16 and fp32,
# on 1 GPU and split over 2; then the PyTorch baseline of the same shapes (bench/torch_qwen.py)
# and cuBLAS's plain-fp32 SGEMM rate, in the same run. On the device machine (2 GPUs):
#   bash bench/qwen.sh [BUILD_DIR] [OUT_DIR]
# COMPUTES="bf16", RANKS="1" or BASELINE=0 in the environment run a part (the summary reads
# whatever results OUT_DIR holds, the newest baseline lines of torch.jsonl).
# Prints one JSON line per brigade configuration: its time against the baseline's, and for fp32
# against FLOPs / SGEMM rate. Goals: bf16 <= 0.9x the baseline; fp32 <= 1.1x the SGEMM limit.
set -u
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
OUT=${2:-bench-out}
COMPUTES=${COMPUTES:-bf16 fp32}
RANKS=${RANKS:-1 2}
PRESET=qwen-image-20b
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0
INPUTS=random:1,64,64,256,2 # B, H, W, L, IMAGES: the target, then one reference
for compute in $COMPUTES; do
    for np in $RANKS; do
        json="$OUT/brigade-qwen-$compute-$np.json"
        rm -f "$json" # a failed run must not leave an older result to be reported
        timeout 500 mpirun --allow-run-as-root -np $np -x NCCL_NVLS_ENABLE "$B/brigade" forward \
            --backend cuda --compute $compute --check none --transformer random:$PRESET \
            --inputs $INPUTS --out "$OUT/sample.h5" --repeat 3 --json "$json" 2>&1 |
            grep -E "^forward|error"
    done
done
if [ "${BASELINE:-1}" = 1 ]; then
    SHAPE="--preset $PRESET --batch 1 --image-tokens 8192 --images 2 --text-tokens 256 --repeat 3"
    # As diffusers' pipelines run it (no key mask when every text token is kept), with the SGEMM
    # rate; then bf16 again with the boolean key mask passed anyway.
    python3 bench/torch_qwen.py $SHAPE --dtypes bf16,fp32 >>"$OUT/torch.jsonl" ||
        echo "bench/qwen.sh: torch_qwen.py failed (exit $?)" >&2
    python3 bench/torch_qwen.py $SHAPE --dtypes bf16 --mask always --no-sgemm >>"$OUT/torch.jsonl" ||
        echo "bench/qwen.sh: torch_qwen.py --mask always failed (exit $?)" >&2
fi
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$OUT" "$PRESET" "$COMMIT" <<'PY'
import glob, json, sys
out, preset, commit = sys.argv[1:4]
base, masked, sgemm = {}, {}, None
try:
    lines = open(f"{out}/torch.jsonl").read().splitlines()
except OSError:
    lines = []
for line in lines:  # later lines win: the newest run of each kind
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if "sgemm_tflops" in r:
        sgemm = r["sgemm_tflops"]
    elif r.get("baseline") == "pytorch" and r.get("model") == preset:
        (masked if r.get("mask") == "always" else base)[r["dtype"]] = r
goal = {"bf16": ("ratio_to_baseline", 0.9), "fp32": ("ratio_to_sgemm_limit", 1.1)}
for path in sorted(glob.glob(f"{out}/brigade-qwen-*.json")):
    r = json.load(open(path))
    c = r["compute"]
    row = {"model": r["model"], "commit": commit, "device": r["device"], "compute": c,
           "weights": r["weights"], "ranks": r["ranks"], "seconds": r["seconds"],
           "tflops": r["tflops"], "flop": r["flop"],
           "peak_bytes_per_rank": r["peak_bytes_per_rank"]}
    b = base.get(c)
    if b:
        # With --blocks below 60 the baseline's time is extrapolated from two depths.
        bs = b.get("seconds_extrapolated", b["seconds"])
        row.update({"baseline_seconds": bs, "baseline_blocks": b["blocks"],
                    "baseline_extrapolated": "seconds_extrapolated" in b,
                    "baseline_key_mask": b["key_mask"],
                    "baseline_peak_bytes": b["peak_bytes"],
                    "ratio_to_baseline": round(r["seconds"] / bs, 3),
                    "baseline_flop": b["flop_full"],
                    "flop_ratio": round(r["flop"] / b["flop_full"], 5),
                    "flop_mismatch": abs(r["flop"] / b["flop_full"] - 1) > 0.01})
    m = masked.get(c)
    if m:
        ms = m.get("seconds_extrapolated", m["seconds"])
        row.update({"baseline_masked_seconds": ms,
                    "ratio_to_masked_baseline": round(r["seconds"] / ms, 3)})
    if c == "fp32" and sgemm:
        limit = r["flop"] / (sgemm * 1e12)
        row.update({"sgemm_tflops": sgemm, "sgemm_limit_seconds": round(limit, 4),
                    "ratio_to_sgemm_limit": round(r["seconds"] / limit, 3)})
        if b:
            row["baseline_ratio_to_sgemm_limit"] = round(row["baseline_seconds"] / limit, 3)
    key, bound = goal[c]
    row["goal"] = f"{key} <= {bound}"
    row["goal_met"] = row[key] <= bound if key in row else None
    print(json.dumps(row))
    if row.get("flop_mismatch"):
        print(f"bench/qwen.sh: {path}: brigade counts {r['flop']:.6g} FLOPs, the baseline "
              f"{b['flop_full']:.6g}: more than 1% apart", file=sys.stderr)
PY
