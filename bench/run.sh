#!/usr/bin/env bash
# bench/run.sh: one transformer forward of LTX-Video-size random weights (2B and 13B), batch 2
# (a CFG pair), 6144 video tokens (16 x 16 x 24 latents: 121 frames at 512 x 768), 128 prompt
# tokens, fp32 and bf16, on 1 GPU and split over 2, and the PyTorch baseline of the same shapes
# in the same run. On the device machine (2 GPUs):
#   bash bench/run.sh [BUILD_DIR] [OUT_DIR] [SIZES]
# Each side: a warm-up, then the median of 3 and its spread (seconds_min, seconds_max). Prints
# one JSON line per configuration, with the ratio of brigade's median to the baseline's,
# and the cost of the numeric guard (--check all against none, bf16 on 1 GPU).
set -u
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
OUT=${2:-bench-out}
SIZES=${3:-2b 13b}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0
INPUTS=random:2,16,16,24,128
for size in $SIZES; do
    for compute in bf16 fp32; do
        for np in 1 2; do
            timeout 400 mpirun --allow-run-as-root -np $np -x NCCL_NVLS_ENABLE "$B/brigade" forward \
                --backend cuda --compute $compute --check none --transformer random:$size \
                --inputs $INPUTS --out "$OUT/sample.h5" --repeat 3 \
                --json "$OUT/brigade-$size-$compute-$np.json" 2>&1 | grep -E "^forward|error"
        done
    done
    # fp32 arithmetic on bf16 weights (the P40 path for a model that fits no card): memory and time.
    timeout 400 mpirun --allow-run-as-root -np 1 "$B/brigade" forward --backend cuda --compute fp32 \
        --storage bf16 --check none --transformer random:$size --inputs $INPUTS --out "$OUT/sample.h5" \
        --repeat 3 --json "$OUT/brigade-$size-fp32-w16-1.json" 2>&1 | grep -E "^forward|error"
    # The numeric guard's cost: --check all tests every block's output for NaN/Inf.
    timeout 400 mpirun --allow-run-as-root -np 1 "$B/brigade" forward --backend cuda --compute bf16 \
        --check all --transformer random:$size --inputs $INPUTS --out "$OUT/sample.h5" --repeat 3 \
        --json "$OUT/check-all-$size.json" 2>&1 | grep -E "^forward|error"
    python3 bench/torch_ltx.py --sizes $size --dtypes bf16,fp32 --repeat 3 >>"$OUT/torch.jsonl" || true
done
python3 - "$OUT" <<'PY'
import glob, json, sys
out = sys.argv[1]
base = {}
for line in open(f"{out}/torch.jsonl"):
    r = json.loads(line)
    base[(r["model"], r["dtype"])] = r
# Dense peak rates of an H100/H200 SXM (datasheet; no sparsity): what MFU is measured against.
peak = {"bf16": 989e12, "fp32": 67e12}
for path in sorted(glob.glob(f"{out}/brigade-*.json")):
    r = json.load(open(path))
    size = r["model"].split(":")[1]
    b = base.get((size, r["compute"]))
    r["mfu"] = round(r["flop"] / r["seconds"] / peak[r["compute"]], 4)
    if b:
        r["baseline_seconds"] = b["seconds"]
        r["baseline_peak_bytes"] = b["peak_bytes"]
        r["baseline_seconds_spread"] = [b.get("seconds_min"), b.get("seconds_max")]
        r["ratio_to_baseline"] = round(r["seconds"] / b["seconds"], 3)  # of the medians
    r.pop("seconds_all", None)
    print(json.dumps(r))
for path in sorted(glob.glob(f"{out}/check-all-*.json")):
    r = json.load(open(path))
    size = r["model"].split(":")[1]
    plain = json.load(open(f"{out}/brigade-{size}-bf16-1.json"))
    print(json.dumps({"model": r["model"], "compute": "bf16", "check": "all",
                      "seconds": r["seconds"], "seconds_check_none": plain["seconds"],
                      "guard_cost": round(r["seconds"] / plain["seconds"] - 1, 4)}))
PY
