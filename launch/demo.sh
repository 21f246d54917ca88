#!/usr/bin/env bash
# demo.sh: brigade end to end on a tiny LTX-Video model with random weights, on two ranks:
# writes the model once (brigade init-model), then generates two short videos from its random
# "prompts" and prints where the frames are. The same `brigade run` line takes a real model:
# see README.md.   usage: bash launch/demo.sh [FOLDER] (default demo/)
set -euo pipefail
cd "$(dirname "$0")/.."
BRIGADE=${BRIGADE:-$PWD/build/brigade}
DEMO=${1:-demo}
NP=${NP:-2}
ROOT_FLAGS=()
[ "$(id -u)" -ne 0 ] || ROOT_FLAGS=(--allow-run-as-root)
[ -d "$DEMO/model" ] || { mkdir -p "$DEMO" && "$BRIGADE" init-model "$DEMO/model"; }
mpirun "${ROOT_FLAGS[@]}" --oversubscribe -np "$NP" \
    "$BRIGADE" run --model "$DEMO/model" --embeddings "$DEMO/model/embeddings.h5" \
    --height 256 --width 384 --frames 25 --steps 10 --out "$DEMO/out"
echo "frames: $DEMO/out/job-000/frame-0000.png ... and $DEMO/out/job-001/; report: $DEMO/out/run.json"
