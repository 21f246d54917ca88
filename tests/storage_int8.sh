# storage_int8.sh: --storage int8 on the CPU backend (the reference of the GPU's, which widens
# the same int8 rows the same way). Each matrix is quantised per output channel, symmetric:
# a weight's error is at most half a step of its row's scale, so each matrix's max relative error
# (max |w - q·scale| over max |w|) is at most 1/254, and run.json's table must show it. The
# forward of each fixture stays within 3e-2 relative of the fp32 reference (measured: LTX-Video
# 1.1e-2, Qwen-Image 8.5e-3, LTX-2.3 video 1.8e-2 and audio 9.1e-3: the rounding of every
# matrix, through a few blocks of random weights); 2 ranks give the bits of 1; the memory plan
# counts int8 weights (a quarter of fp32's and a scale per row; vectors stay fp32) within 10%
# of the peak.
. "$(dirname "$0")/lib.sh"
TOL=3e-2
for fixture in ltx-tiny qwenimage-tiny ltx2-tiny; do
    dir=$FIXTURES/$fixture
    for np in 1 2; do
        if mpi $np forward --storage int8 --transformer "$dir/transformer" \
            --inputs "$dir/case_forward.safetensors" --out "$WORK/$fixture-$np.h5"
        then pass "$fixture: int8 forward on $np rank(s)"; else fail "$fixture: int8 forward on $np rank(s)"; fi
    done
    expect "$fixture: within $TOL of the fp32 reference" "$TCOMPARE" --rel $TOL \
        "$WORK/$fixture-1.h5:sample" "$dir/case_forward.safetensors:sample"
    expect "$fixture: 2 ranks = 1 rank" "$TCOMPARE" --exact "$WORK/$fixture-2.h5:sample" "$WORK/$fixture-1.h5:sample"
done

RUN=(--model "$LTX" --embeddings "$LTX/case_pipeline.safetensors" --height 128 --width 192 --frames 17 --steps 3)
if mpi 2 run "${RUN[@]}" --storage int8 --out "$WORK/int8"; then pass "brigade run --storage int8 on 2 ranks"
else fail "brigade run --storage int8 on 2 ranks"; fi
expect "the log: each rank's matrices and their worst error" grep -q "^int8 weights: rank 1: [0-9]* matrices, max relative error: worst" "$WORK/log"
mpi 2 run "${RUN[@]}" --out "$WORK/fp32" || fail "the fp32 run"
expect "run.json: every matrix's error, each at most 1/254; int8 weights under half of fp32's; plan within 10% of the peak" python3 - "$WORK/int8/run.json" "$WORK/fp32/run.json" <<'PY'
import json, sys
q, f = (json.load(open(p))["ranks"] for p in sys.argv[1:3])
for rq, rf in zip(q, f):
    table = rq["int8"]["max_relative_error"]
    assert table and all(0 <= e <= 1 / 254 + 1e-7 for _, e in table), table
    m = rq["memory"]
    wq, wf = m["plan_denoise"]["weights"], rf["memory"]["plan_denoise"]["weights"]
    assert wq < 0.5 * wf, (wq, wf)  # (fp32 vectors are a large share of a tiny model)
    assert 0.9 <= m["peak_denoise"] / m["plan_denoise"]["total"] <= 1.1, m
    print("rank %d: %d matrices, worst %.5f; weights %d B int8 vs %d B fp32"
          % (rq["rank"], len(table), max(e for _, e in table), wq, wf))
PY
finish
