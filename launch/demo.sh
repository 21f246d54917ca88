#!/usr/bin/env bash
# demo.sh: brigade end to end on tiny models with random weights, on two ranks: writes each model
# once (brigade init-model), then runs its pipeline on the model's random "prompts":
#   LTX-2.3 (the audio-video model): two prompts as text through its text encoder (a tiny Gemma 3
#   and its tokenizer, tests/data/gemma-tiny), two clips with their sound, frames + job-NNN.wav +
#   job-NNN.mp4
#   LTX-Video 0.9: two short videos
# and prints where the outputs are. The same `brigade run` lines take real models: see README.md.
#   usage: bash launch/demo.sh [FOLDER] (default demo/)
set -euo pipefail
cd "$(dirname "$0")/.."
BRIGADE=${BRIGADE:-$PWD/build/brigade}
DEMO=${1:-demo}
NP=${NP:-2}
ROOT_FLAGS=()
[ "$(id -u)" -ne 0 ] || ROOT_FLAGS=(--allow-run-as-root)
mkdir -p "$DEMO"
[ -d "$DEMO/ltx2" ] || "$BRIGADE" init-model "$DEMO/ltx2" --family ltx-2.3
[ -d "$DEMO/ltx2/text_encoder" ] || cp -r tests/data/gemma-tiny/text_encoder tests/data/gemma-tiny/tokenizer "$DEMO/ltx2/"
mpirun "${ROOT_FLAGS[@]}" --oversubscribe -np "$NP" \
    "$BRIGADE" run --model "$DEMO/ltx2" --prompt "A red fox running through fresh snow at dawn" \
    --prompt "Waves crash on a rocky shore at dusk" --negative-prompt "blurry, distorted" \
    --height 128 --width 192 --frames 17 --steps 8 --stg-blocks 1 --out "$DEMO/out-ltx2"
[ -d "$DEMO/model" ] || "$BRIGADE" init-model "$DEMO/model"
mpirun "${ROOT_FLAGS[@]}" --oversubscribe -np "$NP" \
    "$BRIGADE" run --model "$DEMO/model" --embeddings "$DEMO/model/embeddings.h5" \
    --height 256 --width 384 --frames 25 --steps 10 --out "$DEMO/out"
echo "LTX-2.3: $DEMO/out-ltx2/job-000.mp4 (video and sound), job-000.wav, job-000/frame-*.png"
echo "LTX-Video: $DEMO/out/job-000/frame-0000.png ... and $DEMO/out/job-001/; reports: run.json"
