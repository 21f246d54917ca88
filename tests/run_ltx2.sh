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
MODEL=$WORK/ltx2
ltx2_pipeline "$MODEL"
$LATENTS join "$CASE" "$WORK/start.safetensors" latents_start audio_latents_start latents
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

# The decoders: the video's tiles over the ranks, the sound on rank 0 (17 frames of 192 x 128; 18
# latent audio frames are 69 mel frames, 160 samples each at 16 kHz, x3 at 48 kHz), the mp4 with
# both when ffmpeg is there; 2 ranks = 1 rank.
DECODE=("${ARGS[@]/--vae/--seed}")
DECODE=("${DECODE[@]/none/1}")
for np in 1 2; do
    if mpi $np run "${DECODE[@]}" --decode-tile 0.008 --out "$WORK/dec$np"
    then pass "decoded on $np ranks: $(grep -m1 '^decode:' "$WORK/log")"; else fail "decoded on $np ranks"; fi
done
expect "17 frames" test "$(ls "$WORK/dec1/job-000" | grep -c '^frame-.*png$')" -eq 17
expect "the sound: 33120 samples x 2 at 48 kHz" grep -q "33120 samples x 2 channels at 48000 Hz" "$WORK/log"
expect "2 ranks = 1 rank: frames" diff -r "$WORK/dec2/job-000" "$WORK/dec1/job-000"
expect "2 ranks = 1 rank: sound" cmp "$WORK/dec2/job-000.wav" "$WORK/dec1/job-000.wav"
if command -v ffprobe >/dev/null; then
    expect "the mp4 has the video and the sound" bash -c "ffprobe -v error -show_entries \
        stream=codec_type -of csv=p=0 '$WORK/dec1/job-000.mp4' | sort | tr '\n' ' ' | grep -q 'audio video'"
fi

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

# The distilled recipe (case_pipeline_distilled): stage 1 at 128 x 192 with its 8 sigmas, the
# latent upsampler, stage 2 at 256 x 384 from the fixture's noise at 0.909375, its 3 sigmas; no
# guidance; the transformer loaded once.
DIST=$LTX2/case_pipeline_distilled.safetensors
DISTILLED=$WORK/ltx2-2stage
cp -r "$MODEL" "$DISTILLED" && rm "$DISTILLED/scheduler" && ln -s "$LTX2/scheduler-distilled" "$DISTILLED/scheduler"
$LATENTS join "$DIST" "$WORK/dstart.safetensors" stage1_latents_start stage1_audio_latents_start latents \
    stage2_noise_00 stage2_noise_01 renoise stage1_timesteps stage2_timesteps timesteps
$LATENTS final "$DIST" "$LTX2/audio_vae/diffusion_pytorch_model.safetensors" "$WORK/dwant.safetensors" stage2_
DARGS=(--model "$DISTILLED" --embeddings "$DIST" --latents "$WORK/dstart.safetensors" --vae none
       --height 256 --width 384 --frames 17)
for np in 1 3; do
    if mpi $np run "${DARGS[@]}" --recipe distilled --out "$WORK/dist$np"
    then pass "distilled on $np ranks: $(grep -m1 '^stage 2/2' "$WORK/log")"; else fail "distilled on $np ranks"; fi
done
expect "distilled: the 11 timesteps of both stages" \
    "$TCOMPARE" --rel 1e-6 "$WORK/dist1/latents.h5:timesteps" "$WORK/dstart.safetensors:timesteps"
expect "distilled: latents (video and audio) within 1e-4" \
    "$TCOMPARE" --rel 1e-4 "$WORK/dist1/latents.h5:latents" "$WORK/dwant.safetensors:latents"
expect "distilled: 3 ranks = 1 rank" \
    "$TCOMPARE" --exact "$WORK/dist3/latents.h5:latents" "$WORK/dist1/latents.h5:latents"
expect "distilled: run.json gives both stages" python3 -c "import json, sys
j = json.load(open('$WORK/dist1/run.json'))
sys.exit([s['steps'] for s in j['stages']] != [8, 3] or j['stages'][1]['latent_grid'] != [3, 8, 12])"

# A failure between the stages (the upsampler's weights cut short) loses no step: the checkpoint
# after stage 1 stays, and --resume goes on from it (the upsampling, stage 2) to the same bits.
BROKEN=$WORK/ltx2-broken
cp -r "$DISTILLED" "$BROKEN" && rm "$BROKEN/latent_upsampler" && mkdir "$BROKEN/latent_upsampler"
cp "$LTX2/latent_upsampler/config.json" "$BROKEN/latent_upsampler/"
head -c 1000 "$LTX2/latent_upsampler/diffusion_pytorch_model.safetensors" \
    >"$BROKEN/latent_upsampler/diffusion_pytorch_model.safetensors"
RESUME=("${DARGS[@]/$DISTILLED/$BROKEN}" --recipe distilled --checkpoint-every 4 --out "$WORK/dres")
if mpi 2 run "${RESUME[@]}"; then fail "a broken upsampler: accepted"
else expect "a broken upsampler: one error line, the checkpoint of stage 1 kept" \
    bash -c "[ \$(grep -c error '$WORK/log') -eq 1 ] && [ -e '$WORK/dres/checkpoint.h5' ]"; fi
rm -r "$BROKEN/latent_upsampler" && ln -s "$LTX2/latent_upsampler" "$BROKEN/latent_upsampler"
if mpi 2 run "${RESUME[@]}" --resume && grep -q "resuming .* at step 9/11" "$WORK/log"
then pass "resumed between the stages: $(grep -m1 resuming "$WORK/log" | cut -c1-100)"
else fail "resumed between the stages"; fi
expect "resumed between the stages = uninterrupted" \
    "$TCOMPARE" --exact "$WORK/dres/latents.h5:latents" "$WORK/dist1/latents.h5:latents"

# Image to video (case_i2v, LTX2ImageToVideoPipeline): the first frame's PNG through the VAE's
# encoder into latent frame 0, held there (timestep 0 on its tokens, no Euler step), the other
# frames denoised with the three guidances; 1 and 2 ranks.
I2V=$LTX2/case_i2v.safetensors
$LATENTS png "$I2V" image_uint8 "$WORK/first.png"
$LATENTS join "$I2V" "$WORK/i2v_start.safetensors" latents_start audio_latents_start latents
$LATENTS final "$I2V" "$LTX2/audio_vae/diffusion_pytorch_model.safetensors" "$WORK/i2v_want.safetensors"
IARGS=(--model "$MODEL" --embeddings "$I2V" --image "$WORK/first.png" --vae none --height 64
       --width 96 --frames 17 --steps 3 --stg-blocks 1)
for np in 1 2; do
    if mpi $np run "${IARGS[@]}" --latents "$WORK/i2v_start.safetensors" --out "$WORK/i2v$np"
    then pass "image to video on $np ranks: $(grep -m1 '^encode:' "$WORK/log")"; else fail "image to video on $np ranks"; fi
done
expect "image to video: timesteps" "$TCOMPARE" --rel 1e-6 "$WORK/i2v1/latents.h5:timesteps" "$I2V:timesteps"
expect "image to video: latents (video and audio) within 1e-4" \
    "$TCOMPARE" --rel 1e-4 "$WORK/i2v1/latents.h5:latents" "$WORK/i2v_want.safetensors:latents"
expect "image to video: 2 ranks = 1 rank" \
    "$TCOMPARE" --exact "$WORK/i2v2/latents.h5:latents" "$WORK/i2v1/latents.h5:latents"

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
bad "distilled sizes not multiples of 64" "multiples of 64" "${DARGS[@]}" --recipe distilled --height 224
bad "an unknown recipe" "full (LTX2Pipeline) or distilled" "${DARGS[@]}" --recipe fast
DNOUP=$WORK/no-upsampler
cp -r "$DISTILLED" "$DNOUP" && rm "$DNOUP/latent_upsampler"
bad "distilled without the upsampler" "latent_upsampler" "${DARGS[@]/$DISTILLED/$DNOUP}" --recipe distilled
bad "an image of another size than the clip" "the clip 192x128" "${IARGS[@]}" --height 128 --width 192
bad "image to video with the distilled recipe" "not implemented yet" "${IARGS[@]}" --recipe distilled
expect "no temporary file left" test -z "$(find "$WORK"/out* -name '*.tmp*')"
finish
