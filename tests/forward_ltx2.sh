# forward_ltx2.sh: `brigade forward` of LTX-2's audio-video transformer against diffusers (fp32):
# the LTX-2.3 fixture's sample and audio_sample, its input side (proj_in, the time modulations,
# the texts and their key biases) and every block's video and audio streams within 1e-4 relative
# (max abs error / max |want|); its bf16 checkpoint within 1e-4 of the reference computed from the
# same rounded weights; the LTX-2.0 layout (caption projections, 6 modulation parameters); the
# other calls of the LTX-2.3 pipelines (--mode i2v: per-token timesteps; stg: a block's
# self-attentions perturbed; isolated: no audio-video attention); 1 to 4 ranks bit-identical in
# every mode; a tiny LTX-2.3 of init-model on 1 and 3 ranks; and the inputs it refuses, each in one line.
. "$(dirname "$0")/lib.sh"
LTX2=$FIXTURES/ltx2-tiny
CASE=$LTX2/case_forward.safetensors
MODES=$LTX2/case_forward_modes.safetensors
TOL=1e-4

if mpi 1 forward --transformer "$LTX2/transformer" --inputs "$CASE" --out "$WORK/fixture.h5" --dump-blocks
then pass "LTX-2.3 fixture, fp32"; else fail "LTX-2.3 fixture, fp32"; fi
blocks=$(grep -a -o 'block_[0-9]*_\(video\|audio\)_out' "$CASE" | sort -u)
for t in sample audio_sample proj_in_out audio_proj_in_out temb audio_temb embedded_timestep \
    audio_embedded_timestep block_encoder_hidden_states block_audio_encoder_hidden_states \
    block_encoder_attention_bias block_audio_encoder_attention_bias $blocks; do
    expect "LTX-2.3 $t within $TOL" "$TCOMPARE" --rel $TOL "$WORK/fixture.h5:$t" "$CASE:$t"
done
if mpi 2 forward --transformer "$LTX2/transformer-bf16" --inputs "$CASE" --out "$WORK/bf16.h5"
then pass "LTX-2.3 bf16 weights"; else fail "LTX-2.3 bf16 weights"; fi
for t in sample audio_sample; do
    expect "LTX-2.3 bf16 weights: $t within $TOL" \
        "$TCOMPARE" --rel $TOL "$WORK/bf16.h5:$t" "$CASE:${t}_from_bf16_weights"
done

CASE20=$LTX2/case_forward_2.0.safetensors
if mpi 3 forward --transformer "$LTX2/transformer-2.0" --inputs "$CASE20" --out "$WORK/v20.h5" --dump-blocks
then pass "LTX-2.0 fixture on 3 ranks"; else fail "LTX-2.0 fixture on 3 ranks"; fi
for t in sample audio_sample temb audio_temb block_encoder_hidden_states block_audio_encoder_hidden_states; do
    expect "LTX-2.0 $t within $TOL" "$TCOMPARE" --rel $TOL "$WORK/v20.h5:$t" "$CASE20:$t"
done

# The modes: their inputs are the case's plus the modes file's, read as one.
for mode in i2v stg isolated; do
    if mpi 1 forward --transformer "$LTX2/transformer" --inputs "$CASE" --inputs "$MODES" \
        --mode $mode --out "$WORK/$mode-1.h5" --dump-blocks
    then pass "--mode $mode"; else fail "--mode $mode"; fi
    for t in sample audio_sample; do
        expect "--mode $mode: $t within $TOL" "$TCOMPARE" --rel $TOL "$WORK/$mode-1.h5:$t" "$MODES:${mode}_$t"
    done
done
expect "--mode i2v: per-token temb within $TOL" "$TCOMPARE" --rel $TOL "$WORK/i2v-1.h5:temb" "$MODES:i2v_temb"
expect "--mode i2v: per-token embedded timestep within $TOL" \
    "$TCOMPARE" --rel $TOL "$WORK/i2v-1.h5:embedded_timestep" "$MODES:i2v_embedded_timestep"

# Any number of ranks gives the bits of one, in every mode.
for np in 2 3 4; do
    if mpi $np forward --transformer "$LTX2/transformer" --inputs "$CASE" --out "$WORK/np$np.h5" --dump-blocks
    then pass "LTX-2.3 on $np ranks"; else fail "LTX-2.3 on $np ranks"; fi
    for t in sample audio_sample block_01_video_out block_02_audio_out; do
        expect "$np ranks = 1 rank: $t" "$TCOMPARE" --exact "$WORK/np$np.h5:$t" "$WORK/fixture.h5:$t"
    done
    for mode in i2v stg isolated; do
        mpi $np forward --transformer "$LTX2/transformer" --inputs "$CASE" --inputs "$MODES" \
            --mode $mode --out "$WORK/$mode-$np.h5"
        for t in sample audio_sample; do
            expect "--mode $mode: $np ranks = 1 rank: $t" \
                "$TCOMPARE" --exact "$WORK/$mode-$np.h5:$t" "$WORK/$mode-1.h5:$t"
        done
    done
done
expect "the placement table gives the baton of both streams" grep -q "the baton is [0-9]* bytes" "$WORK/log"

# A tiny LTX-2.3 written by init-model runs as it is, 3 ranks giving the bits of 1.
if "$BRIGADE" init-model "$WORK/tiny" --family ltx-2.3 >"$WORK/log" 2>&1 &&
    mpi 1 forward --transformer "$WORK/tiny/transformer" --inputs "$WORK/tiny/inputs.safetensors" \
        --out "$WORK/tiny1.h5" &&
    mpi 3 forward --transformer "$WORK/tiny/transformer" --inputs "$WORK/tiny/inputs.safetensors" \
        --out "$WORK/tiny3.h5"
then pass "init-model --family ltx-2.3, then forward on 1 and 3 ranks"
else fail "init-model --family ltx-2.3, then forward on 1 and 3 ranks"; fi
for t in sample audio_sample; do
    expect "init-model's LTX-2.3: 3 ranks = 1 rank: $t" \
        "$TCOMPARE" --exact "$WORK/tiny3.h5:$t" "$WORK/tiny1.h5:$t"
done

# Refused, each with one line naming the file and what is wrong, before any weight is loaded.
refuse() { # WHAT TEXT ARGS...
    local what=$1 text=$2
    shift 2
    if mpi 2 forward --out "$WORK/bad.h5" "$@"; then fail "$what: accepted"
    elif ! grep -q "brigade: error: .*$text" "$WORK/log" || [ -e "$WORK/bad.h5" ]; then fail "$what: message"
    else pass "$what: $(grep -m1 'brigade: error' "$WORK/log" | cut -c1-120)"; fi
}
EDIT="python3 $(dirname "$0")/edit_tensors.py"
refuse "a mode without its inputs" 'tensor "i2v_timestep" missing' \
    --transformer "$LTX2/transformer" --inputs "$CASE" --mode i2v
refuse "an unknown mode" '--mode sideways: LTX-2 takes i2v, stg or isolated' \
    --transformer "$LTX2/transformer" --inputs "$CASE" --mode sideways
refuse "a mode of another family" '--mode stg: LTX-Video has no other calls' \
    --transformer "$LTX/transformer" --inputs "$LTX/case_forward.safetensors" --mode stg
refuse "the modes file alone" 'tensor "hidden_states"' \
    --transformer "$LTX2/transformer" --inputs "$MODES" --mode stg
refuse "a case read twice" 'is also in an earlier file' \
    --transformer "$LTX2/transformer" --inputs "$CASE" --inputs "$CASE"
$EDIT meta "$CASE" audio_num_frames 17 "$WORK/bad_audio.safetensors"
refuse "audio frames not matching the audio tokens" 'audio_num_frames 17 differs from the 18 tokens' \
    --transformer "$LTX2/transformer" --inputs "$WORK/bad_audio.safetensors"
$EDIT meta "$CASE" num_frames 2 "$WORK/bad_grid.safetensors"
refuse "a grid not covering the video tokens" 'does not equal the 72 tokens of hidden_states' \
    --transformer "$LTX2/transformer" --inputs "$WORK/bad_grid.safetensors"
$EDIT drop "$CASE" sigma "$WORK/no_sigma.safetensors"
refuse "LTX-2.3 without sigma" 'tensor "sigma" missing' \
    --transformer "$LTX2/transformer" --inputs "$WORK/no_sigma.safetensors"
refuse "LTX-2.0 inputs to LTX-2.3" 'tensor "encoder_hidden_states" has shape' \
    --transformer "$LTX2/transformer" --inputs "$CASE20"
expect "no temporary file left" test -z "$(ls "$WORK" | grep '\.tmp$')"
finish
