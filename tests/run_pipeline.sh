# run_pipeline.sh: `brigade run` against diffusers' LTXPipeline on the tiny fixture (4 steps,
# guidance 3): timesteps and final latents within 1e-4 relative, PNG frames within 2 of
# round(video * 255); 1, 2 and 3 ranks bit-identical (latents and frames); a tiled decode spread
# over 2 ranks equal to the same tiles on 1 rank; bad settings stopped before any work. (How close
# tiles come to the untiled decode is test_vae's: within 1e-6 beyond the decoder's receptive
# radius of 9 latent cells from a cut; the fixture's 3 x 4 x 6 latents have no such cells.)
. "$(dirname "$0")/lib.sh"
CASE=$LTX/case_pipeline.safetensors
SIZE=(--height 128 --width 192 --frames 17 --frame-rate 25 --steps 4 --guidance 3)
# The fixture's start latents, under the name --latents reads.
python3 "$(dirname "$0")/edit_tensors.py" rename "$CASE" latents_in latents "$WORK/start.safetensors"

run_case() { # NP OUT [extra args]
    local np=$1 out=$2
    shift 2
    mpi "$np" run --model "$LTX" --embeddings "$CASE" --latents "$WORK/start.safetensors" \
        "${SIZE[@]}" --out "$out" "$@"
}

for np in 1 2 3; do
    if run_case $np "$WORK/out$np"; then pass "run on $np ranks"; else fail "run on $np ranks"; fi
done
cp "$WORK/log" "$WORK/log3"
expect "timesteps within 1e-4" "$TCOMPARE" --rel 1e-4 "$WORK/out1/latents.h5:timesteps" "$CASE:timesteps"
expect "latents within 1e-4" "$TCOMPARE" --rel 1e-4 "$WORK/out1/latents.h5:latents" "$CASE:latents_out"
expect "frames within 2 of the reference" "$TFRAMES" "$WORK/out1/job-000" "$CASE:video" 2
for np in 2 3; do
    expect "$np ranks = 1 rank: latents" "$TCOMPARE" --exact "$WORK/out$np/latents.h5:latents" "$WORK/out1/latents.h5:latents"
    expect "$np ranks = 1 rank: frames" diff -r "$WORK/out$np/job-000" "$WORK/out1/job-000"
done
expect "progress printed" grep -q "^step 4/4 " "$WORK/log3"
expect "run.json written" grep -q '"step_seconds"' "$WORK/out3/run.json"
expect "run.json has every rank" grep -q '"rank":	2' "$WORK/out3/run.json"

# Tiled decode: a budget small enough that the fixture's 3 x 4 x 6 latents need several tiles.
for np in 1 2; do
    if run_case $np "$WORK/tiled$np" --decode-tile 0.005 && grep -Eq "decode: ([2-9]|[1-9][0-9]+) tile" "$WORK/log"
    then pass "tiled decode on $np ranks: $(grep -o 'decode: [0-9]* tile(s) per job over [0-9] rank' "$WORK/log")"
    else fail "tiled decode on $np ranks"; fi
done
expect "tiles decoded on 2 ranks = on 1 rank" diff -r "$WORK/tiled2/job-000" "$WORK/tiled1/job-000"

# Bad settings: one clear line, non-zero exit, before any step.
bad() { # WHAT EXPECTED-TEXT ARGS...
    local what=$1 text=$2
    shift 2
    if mpi 2 run --model "$LTX" --embeddings "$CASE" "${SIZE[@]}" --out "$WORK/bad" "$@"; then
        fail "$what: accepted"
    elif ! grep -q "$text" "$WORK/log" || grep -q "^step " "$WORK/log"; then
        fail "$what: message or timing"
    else
        pass "$what: $(grep -m1 'error' "$WORK/log" | cut -c1-110)"
    fi
}
python3 "$(dirname "$0")/edit_tensors.py" widen "$CASE" prompt_embeds "$WORK/wide.safetensors"
bad "frames not 8k+1" "must be 8k+1" --frames 20
bad "height not a multiple of 32" "multiple of 32" --height 100
bad "width not a multiple of 32" "multiple of 32" --width 200
bad "embeddings of the wrong width" "caption_channels" --embeddings "$WORK/wide.safetensors"
bad "unwritable --out" "cannot" --out /proc/brigade-out
bad "latents of the wrong shape" "needs tensor \"latents\"" --latents "$WORK/start.safetensors" --frames 9
finish
