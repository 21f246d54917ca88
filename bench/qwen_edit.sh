#!/usr/bin/env bash
# bench/qwen_edit.sh: the seed's FireRed-Image-Edit job on Qwen-Image-size random weights, as
# `brigade run` does it: one 1024 x 1024 reference (resized, VAE-encoded), a 1024 x 1024 output
# (8192 image tokens: target + reference), 256 text tokens, true CFG (2 passes a step), the real
# VAE's shape (random:qwen-image); fp32 and bf16, on the GPUs this machine has (RANKS="1 2").
# Prints per configuration one JSON line: seconds per step (median of the steps after the first),
# the VAE's encode and decode seconds, and the peak memory of each rank. On the device machine:
#   bash bench/qwen_edit.sh [BUILD_DIR] [OUT_DIR]   (FIXTURES: the shared fixtures, for the
#   scheduler_config.json Qwen-Image ships, ../shared/fixtures by default)
set -u
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
OUT=${2:-bench-edit}
FIXTURES=${FIXTURES:-../shared/fixtures}
RANKS=${RANKS:-1 2}
COMPUTES=${COMPUTES:-bf16 fp32}
STEPS=${STEPS:-3}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0
# A 1024 x 1024 8-bit RGB PNG of noise, written with the standard library only.
python3 - "$OUT/reference.png" <<'PY'
import random, struct, sys, zlib
W = H = 1024
random.seed(7)
rows = b"".join(b"\0" + bytes(random.getrandbits(8) for _ in range(3 * W)) for _ in range(H))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
for compute in $COMPUTES; do
    for np in $RANKS; do
        dir="$OUT/run-$compute-$np"
        rm -rf "$dir"
        timeout 560 mpirun --allow-run-as-root -np $np -x NCCL_NVLS_ENABLE "$B/brigade" run \
            --backend cuda --compute $compute --check none --transformer random:qwen-image-20b \
            --vae random:qwen-image --scheduler "$FIXTURES/qwenimage-tiny/scheduler" \
            --embeddings random:1,256 --image "$OUT/reference.png" --steps $STEPS \
            --out "$dir" >"$dir.log" 2>&1 || { echo "{\"compute\": \"$compute\", \"ranks\": $np, \"failed\": true}"; tail -3 "$dir.log"; continue; }
        python3 - "$dir" "$compute" "$np" <<'PY'
import json, re, statistics, sys
d, compute, np = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(d + "/run.json"))
log = open(d + ".log").read()
enc = re.search(r"encode: .* ([0-9.]+) s", log)
steps = r["step_seconds"]
print(json.dumps({"model": "random:qwen-image-20b", "job": "FireRed edit 1024^2, true CFG",
                  "compute": compute, "ranks": np, "steps": len(steps),
                  "seconds_per_step": round(statistics.median(steps[1:] or steps), 4),
                  "step_seconds": [round(s, 4) for s in steps],
                  "encode_seconds": float(enc.group(1)) if enc else None,
                  "decode_seconds": round(r["seconds"]["decode"], 3),
                  "peak_bytes_per_rank": [x.get("peak_bytes") for x in r["ranks"]]}))
PY
    done
done
