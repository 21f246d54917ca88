#!/usr/bin/env bash
# bench/gemma.sh: brigade's text encoder (LTX-2's Gemma 3 12B, random weights of the real size)
# against transformers running the same model size in the same session: one 1024-token prompt and
# 8 such prompts, fp32 arithmetic (on bf16 weights: a P40's way) and bf16, on 1 rank and on 2
# ranks (on one GPU here: --share-gpus, the 2 ranks take turns; their peaks are what each of two
# cards would hold). Each configuration: a warm-up and 3 encodings, median and spread, the load
# time and every rank's peak.
#   bash bench/gemma.sh [BUILD_DIR] [OUT_DIR] [CONFIGS...]
# CONFIGS (default all): b1-fp32 b8-fp32 b1-bf16 b8-bf16 r2-fp32 torch-fp32 torch-bf16 ...
set -u
cd "$(dirname "$0")/.."
B=${1:-build-gpu}
OUT=${2:-bench-out}
shift 2 2>/dev/null
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0
# The tokenizer of the tiny fixture: a long text cut to 1024 tokens (the warning is expected).
PIPE=$OUT/gemma-pipe
mkdir -p "$PIPE" && ln -sfn "$PWD/tests/data/gemma-tiny/tokenizer" "$PIPE/tokenizer"
LONG=$(python3 -c 'print(" ".join(["The camera slowly pans across a quiet city street after the rain."] * 120))')
PROMPTS=$OUT/prompts8.txt
for i in 1 2 3 4 5 6 7 8; do echo "$i $LONG"; done >"$PROMPTS"
encode() { # NAME RANKS COMPUTE STORAGE PROMPTS...
    local name=$1 np=$2 compute=$3 storage=$4
    shift 4
    rm -f "$OUT/gemma-$name.json"
    timeout 500 mpirun --allow-run-as-root -np "$np" -x NCCL_NVLS_ENABLE "$B/brigade" encode \
        --backend cuda --share-gpus --compute "$compute" --storage "$storage" \
        --model "$PIPE" --text-encoder random:gemma-3-12b "$@" --repeat 3 \
        --json "$OUT/gemma-$name.json" 2>&1 | grep -E "^encode|error"
}
configs=("$@")
[ ${#configs[@]} = 0 ] && configs=(b1-fp32 b8-fp32 b1-bf16 b8-bf16 r2-b8-fp32 r2-b8-bf16 torch-b1-fp32 torch-b8-fp32 torch-b1-bf16 torch-b8-bf16)
for c in "${configs[@]}"; do
    case $c in
    b1-fp32) encode $c 1 fp32 bf16 --prompt "$LONG" ;;
    b8-fp32) encode $c 1 fp32 bf16 --prompts "$PROMPTS" ;;
    b1-bf16) encode $c 1 bf16 bf16 --prompt "$LONG" ;;
    b8-bf16) encode $c 1 bf16 bf16 --prompts "$PROMPTS" ;;
    r2-b8-fp32) encode $c 2 fp32 bf16 --prompts "$PROMPTS" ;;
    r2-b8-bf16) encode $c 2 bf16 bf16 --prompts "$PROMPTS" ;;
    torch-b1-fp32) python3 bench/torch_gemma.py --dtype float32 --prompts 1 | tee "$OUT/gemma-$c.json" ;;
    torch-b8-fp32) python3 bench/torch_gemma.py --dtype float32 --prompts 8 | tee "$OUT/gemma-$c.json" ;;
    torch-b1-bf16) python3 bench/torch_gemma.py --dtype bfloat16 --prompts 1 | tee "$OUT/gemma-$c.json" ;;
    torch-b8-bf16) python3 bench/torch_gemma.py --dtype bfloat16 --prompts 8 | tee "$OUT/gemma-$c.json" ;;
    *) echo "unknown configuration $c" ;;
    esac
done
