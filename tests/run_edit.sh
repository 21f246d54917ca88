# run_edit.sh: `brigade run` of Qwen-Image-Edit (QwenImageEditPlusPipeline, FireRed-Image-Edit's)
# against diffusers on the fixture (../shared/fixtures/qwenimage-tiny, case_edit_pipeline: one
# reference image resized by PIL's Lanczos and encoded by the VAE, 3 steps of true CFG): the
# timesteps and the final latents within 1e-4 relative, the PNG within 2 levels of the
# reference's; 1, 2 and 3 ranks bit-identical; bad requests refused in one line before any work.
. "$(dirname "$0")/lib.sh"
QWEN=$FIXTURES/qwenimage-tiny
CASE=$QWEN/case_edit_pipeline.safetensors
EDIT="python3 $(dirname "$0")/edit_tensors.py"
$EDIT rename "$CASE" latents_in latents "$WORK/start.safetensors"
ARGS=(--transformer "$QWEN/transformer-edit" --vae "$QWEN/vae" --scheduler "$QWEN/scheduler"
      --embeddings "$CASE" --image "$QWEN/reference.png" --image-area 12288 --height 64 --width 96
      --steps 3 --true-cfg-scale 4)

for np in 1 2 3; do
    if mpi $np run "${ARGS[@]}" --latents "$WORK/start.safetensors" --out "$WORK/out$np"
    then pass "edit on $np ranks"; else fail "edit on $np ranks"; fi
done
expect "timesteps within 1e-4" "$TCOMPARE" --rel 1e-4 "$WORK/out1/latents.h5:timesteps" "$CASE:timesteps"
expect "latents within 1e-4" "$TCOMPARE" --rel 1e-4 "$WORK/out1/latents.h5:latents" "$CASE:latents_out"
expect "image within 2 levels of the reference" "$TFRAMES" "$WORK/out1/job-000.png" "$CASE:image" 2
for np in 2 3; do
    expect "$np ranks = 1 rank: latents" "$TCOMPARE" --exact "$WORK/out$np/latents.h5:latents" "$WORK/out1/latents.h5:latents"
    expect "$np ranks = 1 rank: image" cmp "$WORK/out$np/job-000.png" "$WORK/out1/job-000.png"
done
expect "run.json written" grep -q '"step_seconds"' "$WORK/out3/run.json"

# Several jobs in one run (the prompt of job i scaled by 1 + i/4): job 0 is the one-job run's,
# bit for bit (each pass is a micro-batch of its own), job 1 differs.
$EDIT jobs "$CASE" 2 "$WORK/two.safetensors"
$EDIT rename "$WORK/two.safetensors" latents_in latents "$WORK/two_start.safetensors"
if mpi 2 run "${ARGS[@]/$CASE/$WORK/two_start.safetensors}" --latents "$WORK/start.safetensors" --out "$WORK/two"
then pass "two jobs on 2 ranks"; else fail "two jobs on 2 ranks"; fi
expect "two jobs: job 0 = the one-job run" cmp "$WORK/two/job-000.png" "$WORK/out1/job-000.png"
expect "two jobs: job 1 is another image" bash -c "! cmp -s '$WORK/two/job-001.png' '$WORK/two/job-000.png'"

# A decode budget too small for the whole image: diffusers' tiles (256 pixels every 192, blended
# above then left), spread over the ranks; rank 0 blends them in order, so any number of ranks
# gives the same image. (The blend was checked once against a literal numpy transcription of
# AutoencoderKLQwenImage.tiled_decode fed the same tiles: 0 difference.)
for np in 1 2; do
    if mpi $np run "${ARGS[@]}" --height 320 --width 448 --steps 2 \
        --decode-tile 0.001 --out "$WORK/tiled$np" && grep -q "decode: 6 tile(s) per job over $np" "$WORK/log"
    then pass "tiled decode on $np ranks: 6 tiles"; else fail "tiled decode on $np ranks"; fi
done
expect "tiles on 2 ranks = on 1 rank" cmp "$WORK/tiled2/job-000.png" "$WORK/tiled1/job-000.png"
expect "no temporary file left" test -z "$(find "$WORK"/out* -name '*.tmp*')"

# Bad requests: one clear line, non-zero exit, before any step.
bad() { # WHAT EXPECTED-TEXT ARGS...
    local what=$1 text=$2
    shift 2
    if mpi 2 run --out "$WORK/bad" "$@"; then fail "$what: accepted"
    elif ! grep -q "brigade: error: .*$text" "$WORK/log" || grep -q "^step " "$WORK/log"; then
        fail "$what: message or timing"
    else pass "$what: $(grep -m1 'error' "$WORK/log" | cut -c1-120)"; fi
}
bad "no --image for an edit model" "give one with --image" \
    --transformer "$QWEN/transformer-edit" --vae "$QWEN/vae" --scheduler "$QWEN/scheduler" \
    --embeddings "$CASE" --steps 3
printf 'not a png' >"$WORK/text.png"
bad "an unreadable image" "text.png" "${ARGS[@]}" --image "$WORK/text.png"
$EDIT widen "$CASE" prompt_embeds "$WORK/wide.safetensors"
bad "embeddings of the wrong width" "prompt_embeds" "${ARGS[@]/$CASE/$WORK/wide.safetensors}"
bad "an image for a text-to-video model" "takes no image" --model "$LTX" --embeddings "$LTX/case_pipeline.safetensors" \
    --image "$QWEN/reference.png" --height 128 --width 192 --frames 9 --steps 2
bad "frames for an image model" "makes one image" "${ARGS[@]}" --frames 9
bad "a size the VAE cannot take" "must be in 16..16384" "${ARGS[@]}" --height 8
finish
