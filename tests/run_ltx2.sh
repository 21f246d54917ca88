# run_ltx2.sh: `brigade run` of LTX2Pipeline's denoising loop (LTX-2.3, video and audio) against
# diffusers on the fixture (../shared/fixtures/ltx2-tiny, case_pipeline: the Gemma hidden states
# through the text connectors, 3 steps of classifier-free, spatio-temporal and modality guidance
# with their rescales, each stream with its own scales): the timesteps and the final latents
# (the video's and the audio's tokens) within 1e-4 relative; 1, 2 and 3 ranks bit-identical, with
# each pass a micro-batch and with the passes of a mode sharing one; one pass without guidance;
# the tiny pipeline of init-model; bad requests refused in one line before any step. The decoders are not in brigade yet: --vae none.
. "$(dirname "$0")/lib.sh"
LTX2=$FIXTURES/ltx2-tiny
CASE=$LTX2/case_pipeline.safetensors
LATENTS="python3 $(dirname "$0")/ltx2_latents.py"
# A pipeline folder as users download it: model_index.json beside the components.
MODEL=$WORK/ltx2
mkdir "$MODEL"
for part in transformer connectors scheduler vae audio_vae; do ln -s "$LTX2/$part" "$MODEL/$part"; done
echo '{"_class_name": "LTX2Pipeline"}' >"$MODEL/model_index.json"
$LATENTS start "$CASE" "$WORK/start.safetensors"
$LATENTS final "$CASE" "$LTX2/audio_vae/diffusion_pytorch_model.safetensors" "$WORK/want.safetensors"
ARGS=(--model "$MODEL" --embeddings "$CASE" --latents "$WORK/start.safetensors" --vae none
      --height 128 --width 192 --frames 17 --steps 3 --stg-blocks 1)

for np in 1 2 3; do
    if mpi $np run "${ARGS[@]}" --out "$WORK/out$np"
    then pass "LTX-2.3 pipeline on $np ranks"; else fail "LTX-2.3 pipeline on $np ranks"; fi
done
expect "timesteps = the reference's" "$TCOMPARE" --rel 1e-6 "$WORK/out1/latents.h5:timesteps" "$CASE:timesteps"
expect "latents (video and audio) within 1e-4" \
    "$TCOMPARE" --rel 1e-4 "$WORK/out1/latents.h5:latents" "$WORK/want.safetensors:latents"
for np in 2 3; do
    expect "$np ranks = 1 rank" "$TCOMPARE" --exact "$WORK/out$np/latents.h5:latents" "$WORK/out1/latents.h5:latents"
done
expect "run.json names the guidance" grep -q '"audio_modality_scale":[[:space:]]*3' "$WORK/out1/run.json"

# The cond and uncond passes in one micro-batch, the perturbed and isolated ones alone (a
# micro-batch is one way of calling the model): 3 micro-batches a step.
for np in 1 3; do
    if mpi $np run "${ARGS[@]}" --microbatch 4 --out "$WORK/mb$np"
    then pass "--microbatch 4 on $np ranks"; else fail "--microbatch 4 on $np ranks"; fi
done
expect "--microbatch 4: latents within 1e-4" \
    "$TCOMPARE" --rel 1e-4 "$WORK/mb1/latents.h5:latents" "$WORK/want.safetensors:latents"
expect "--microbatch 4: 3 ranks = 1 rank" "$TCOMPARE" --exact "$WORK/mb3/latents.h5:latents" "$WORK/mb1/latents.h5:latents"

# Guidance off: one pass, no negative prompt needed.
python3 "$(dirname "$0")/edit_tensors.py" drop "$CASE" negative_prompt_embeds "$WORK/positive.safetensors"
NOGUIDE=(--guidance 1 --audio-guidance 1 --stg-scale 0 --audio-stg-scale 0 --modality-scale 1
         --audio-modality-scale 1)
for np in 1 2; do
    if mpi $np run "${ARGS[@]/$CASE/$WORK/positive.safetensors}" "${NOGUIDE[@]}" --out "$WORK/plain$np"
    then pass "no guidance on $np ranks"; else fail "no guidance on $np ranks"; fi
done
expect "no guidance: 2 ranks = 1 rank" "$TCOMPARE" --exact "$WORK/plain2/latents.h5:latents" "$WORK/plain1/latents.h5:latents"
expect "no guidance: other latents" bash -c "! '$TCOMPARE' --rel 1e-3 '$WORK/plain1/latents.h5:latents' '$WORK/out1/latents.h5:latents' >/dev/null"

# The tiny LTX-2.3 pipeline of init-model runs as it is: two jobs, 1 and 2 ranks alike.
if "$BRIGADE" init-model "$WORK/tiny" --family ltx-2.3 >"$WORK/log" 2>&1
then pass "init-model --family ltx-2.3"; else fail "init-model --family ltx-2.3"; fi
for np in 1 2; do
    if mpi $np run --model "$WORK/tiny" --embeddings "$WORK/tiny/embeddings.h5" --vae none --height 128 \
        --width 192 --frames 17 --steps 4 --stg-blocks 1 --out "$WORK/tiny$np"
    then pass "init-model's pipeline on $np ranks"; else fail "init-model's pipeline on $np ranks"; fi
done
expect "init-model's pipeline: 2 ranks = 1 rank" \
    "$TCOMPARE" --exact "$WORK/tiny2/latents.h5:latents" "$WORK/tiny1/latents.h5:latents"

# Bad requests: one clear line, non-zero exit, before any step.
bad() { # WHAT EXPECTED-TEXT ARGS...
    local what=$1 text=$2
    shift 2
    if mpi 2 run --out "$WORK/bad" "$@"; then fail "$what: accepted"
    elif ! grep -q "brigade: error: .*$text" "$WORK/log" || grep -q "^step " "$WORK/log"; then
        fail "$what: message or timing"
    else pass "$what: $(grep -m1 'error' "$WORK/log" | cut -c1-120)"; fi
}
bad "frames not 8k+1" "must be 8k+1" "${ARGS[@]}" --frames 16
bad "a height not a multiple of 32" "multiple of 32" "${ARGS[@]}" --height 100
bad "the connectors' outputs as embeddings" "prompt_embeds" "${ARGS[@]/$CASE/$LTX2/case_forward.safetensors}"
bad "a decode asked for" "no decoders for LTX-2 yet" "${ARGS[@]/none/$LTX2/vae}"
bad "the default STG block beyond the model" "default block 28 is beyond" "${ARGS[@]/--stg-blocks/--seed}"
bad "an STG block beyond the model" "the model has blocks 0..3" "${ARGS[@]}" --stg-blocks 1,5
bad "a guidance scale out of range" "--audio-stg-scale -1" "${ARGS[@]}" --audio-stg-scale -1
python3 "$(dirname "$0")/edit_tensors.py" drop "$CASE" negative_prompt_embeds "$WORK/no_negative.safetensors"
bad "guidance without a negative prompt" "negative_prompt_embeds" "${ARGS[@]/$CASE/$WORK/no_negative.safetensors}"
BARE=$WORK/bare
mkdir "$BARE"
for part in transformer scheduler; do ln -s "$LTX2/$part" "$BARE/$part"; done
cp "$MODEL/model_index.json" "$BARE/"
bad "a pipeline folder without connectors" "connectors/config.json" "${ARGS[@]/$MODEL/$BARE}"
if mpi 1 forward --transformer "$MODEL" --inputs "$LTX2/case_forward.safetensors" --out "$WORK/f.h5"; then
    fail "forward of a pipeline folder: accepted"
elif grep -q "brigade: error: .*give the transformer folder" "$WORK/log"; then
    pass "forward of a pipeline folder: $(grep -m1 'error' "$WORK/log" | cut -c1-120)"
else fail "forward of a pipeline folder: message"; fi
expect "no temporary file left" test -z "$(find "$WORK"/out* -name '*.tmp*')"
finish
