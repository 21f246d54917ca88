#!/bin/sh
# gemma_tokenizer.sh OUT_DIR: trains the tiny SentencePiece model of tests/data/gemma-tiny with
# Debian's spm_train (package sentencepiece), in Gemma's settings: BPE, byte fallback, digits
# split, no dummy prefix, whitespace kept as it is, no normalisation, and Gemma's special pieces
# and ids (<pad> 0, <eos> 1, <bos> 2, <unk> 3, then <start_of_turn> and <end_of_turn>).
# The corpus is a few sentences in several scripts, enough for a few dozen merges.
set -e
out=${1:?usage: gemma_tokenizer.sh OUT_DIR}
mkdir -p "$out"
corpus=$(mktemp)
trap 'rm -f "$corpus"' EXIT
for i in $(seq 20); do cat <<'TEXT'
A red fox running through fresh snow at dawn, its breath visible in the cold air.
Waves crash on a rocky shore at dusk while gulls circle overhead.
A chef slices vegetables quickly on a wooden board in a busy kitchen.
The camera slowly pans across a quiet city street after the rain.
Two children laugh as they chase bubbles in a sunny park.
An old man plays the violin under a streetlight, music drifting into the night.
Un renard roux court dans la neige fraîche à l'aube.
Ein Zug fährt durch die grünen Hügel, während die Sonne untergeht.
El gato duerme junto a la ventana mientras llueve afuera.
夕暮れの海辺を歩く二人の影が長く伸びる。
The numbers 1234567890 and 2026 appear on the scoreboard.
Close-up: a drop of water falls into a glass, ripples spreading outward.
TEXT
done >"$corpus"
spm_train --input="$corpus" --model_prefix="$out/tokenizer" --model_type=bpe --vocab_size=420 \
    --byte_fallback=true --split_digits=true --add_dummy_prefix=false \
    --remove_extra_whitespaces=false --normalization_rule_name=identity \
    --allow_whitespace_only_pieces=true --character_coverage=1.0 --num_threads=1 \
    --pad_id=0 --eos_id=1 --bos_id=2 --unk_id=3 \
    --pad_piece='<pad>' --eos_piece='<eos>' --bos_piece='<bos>' --unk_piece='<unk>' \
    --user_defined_symbols='<start_of_turn>,<end_of_turn>' 2>/dev/null
rm -f "$out/tokenizer.vocab"
