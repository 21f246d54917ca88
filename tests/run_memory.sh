# run_memory.sh: the memory plan. Every rank counts each phase before loading (the loaders and
# the buffer planning on a counting backend); run.json has the plan beside the measured peaks.
# For the three families (LTX-Video, Qwen-Image-Edit, LTX-2.3 with its connectors; LTX-2.3's
# distilled recipe with two stages) on 2 ranks: each rank's denoising plan within 10% of its
# measured peak, and the decode's measured peak within its plan (an upper bound: one tile of at
# most --decode-tile). A plan over --mem-limit is refused before anything is loaded: the table,
# one error line with what would fit, every rank non-zero, no step run, no output. Without
# --split, blocks move off a rank the balanced split does not fit (the same bits).
. "$(dirname "$0")/lib.sh"
LTX2=$FIXTURES/ltx2-tiny
QWEN=$FIXTURES/qwenimage-tiny
MODEL2=$WORK/ltx2
ltx2_pipeline "$MODEL2"
LTXV=(--model "$LTX" --embeddings "$LTX/case_pipeline.safetensors" --height 128 --width 192 --frames 17 --steps 3)
QWEN_EDIT=(--transformer "$QWEN/transformer-edit" --vae "$QWEN/vae" --scheduler "$QWEN/scheduler"
    --embeddings "$QWEN/case_edit_pipeline.safetensors" --image "$QWEN/reference.png"
    --image-area 12288 --height 64 --width 96 --steps 3)
LTX23=(--model "$MODEL2" --embeddings "$LTX2/case_pipeline.safetensors" --height 128 --width 192
    --frames 17 --steps 3 --stg-blocks 1)
DISTILLED=(--model "$MODEL2" --scheduler "$LTX2/scheduler-distilled"
    --embeddings "$LTX2/case_pipeline_distilled.safetensors" --height 128 --width 192 --frames 17
    --recipe distilled --vae none)

# plan_vs_peak RUN_JSON: each rank's denoising plan within 10% of its peak, the decode's peak
# within its plan; prints the figures.
plan_vs_peak() {
    python3 - "$1" <<'PY'
import json, sys
bad = 0
for r in json.load(open(sys.argv[1]))["ranks"]:
    m = r["memory"]
    plan, peak = m["plan_denoise"]["total"], m["peak_denoise"]
    dplan, dpeak = m["plan_decode"]["total"], m["peak_decode"]
    ratio = peak / plan
    print("rank %d: denoise plan %.0f B, peak %.0f B (x%.3f); decode plan %.0f B, peak %.0f B"
          % (r["rank"], plan, peak, ratio, dplan, dpeak))
    bad += not (0.9 <= ratio <= 1.1)
    bad += dplan > 0 and dpeak > dplan  # (no decode, --vae none: nothing planned)
sys.exit(1 if bad else 0)
PY
}

for name in LTXV QWEN_EDIT LTX23 DISTILLED; do
    declare -n args=$name
    if mpi 2 run "${args[@]}" --out "$WORK/$name"; then pass "$name on 2 ranks"; else fail "$name on 2 ranks"; fi
    expect "$name: the table printed before loading" grep -q "^rank  phase      weights" "$WORK/log"
    if plan_vs_peak "$WORK/$name/run.json" >"$WORK/plan.txt"; then pass "$name: plan vs peak: $(tr '\n' ';' <"$WORK/plan.txt")"
    else fail "$name: plan vs peak"; cat "$WORK/plan.txt"; fi
done

# refused NAME TEXT ARGS...: the run is refused before loading with the table and TEXT.
refused() {
    local what=$1 text=$2
    shift 2
    if mpi 2 run --out "$WORK/refused" "$@"; then fail "$what: accepted"
    elif [ "$(grep -c 'brigade: error' "$WORK/log")" != 1 ] || ! grep -q "brigade: error: .*$text" "$WORK/log" ||
        ! grep -q "^rank  phase" "$WORK/log" || grep -q "^step " "$WORK/log" ||
        [ -e "$WORK/refused/latents.h5" ]; then
        fail "$what: one line, the table, nothing run"
    else pass "$what: $(grep -m1 'error' "$WORK/log" | cut -c1-150)"; fi
}
refused "--mem-limit 100K" "rank 0's plan does not fit: the denoising needs" "${LTXV[@]}" --mem-limit 100K
expect "... with what would fit" grep -q "would fit: .*--mem-limit of at least" "$WORK/log"
refused "a decode over the limit" "the decode needs up to .*would fit: --decode-tile" "${LTXV[@]}" --mem-limit 512M --decode-tile 1
# Without --split, a balanced split over a rank's limit moves blocks to ranks with room: a limit
# that 1,3 fits (rank 0 also holds the input side) and 2,2 does not.
mpi 2 run "${LTXV[@]}" --vae none --split 1,3 --out "$WORK/split13" || fail "--split 1,3"
mpi 2 run "${LTXV[@]}" --vae none --out "$WORK/split22" || fail "the balanced split"
read -r LIMIT BALANCED_FITS < <(python3 - "$WORK/split13/run.json" "$WORK/split22/run.json" <<'PY'
import json, sys
t = [r["memory"]["plan_denoise"]["total"] for r in json.load(open(sys.argv[1]))["ranks"]]
b = [r["memory"]["plan_denoise"]["total"] for r in json.load(open(sys.argv[2]))["ranks"]]
print(int(max(t)), int(max(b) <= max(t)))
PY
)
expect "the balanced split 2,2 needs more than 1,3's $LIMIT bytes" test "$BALANCED_FITS" = 0
if mpi 2 run "${LTXV[@]}" --vae none --mem-limit "$LIMIT" --out "$WORK/auto"; then pass "--mem-limit $LIMIT without --split"
else fail "--mem-limit $LIMIT without --split"; fi
expect "the automatic split: 1,3" grep -q "split (automatic: .*): blocks per rank 1,3" "$WORK/log"
expect "run.json: rank 0 holds block 0 only" python3 -c '
import json, sys; assert json.load(open(sys.argv[1]))["ranks"][0]["blocks"] == [0, 0]' "$WORK/auto/run.json"
expect "another split, the same bits" "$TCOMPARE" --exact "$WORK/auto/latents.h5:latents" "$WORK/split22/latents.h5:latents"
refused "--split 2,2 by hand over the limit" "rank 0's plan does not fit" "${LTXV[@]}" --vae none --mem-limit "$LIMIT" --split 2,2
mpi 2 run "${LTXV[@]}" --out "$WORK/bad" --mem-limit lots
expect "--mem-limit lots: one line" grep -q "brigade: error: .*--mem-limit lots: a size" "$WORK/log"
finish
