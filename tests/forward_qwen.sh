# forward_qwen.sh: `brigade forward` of Qwen-Image's transformer (FireRed-Image-Edit's) against
# diffusers (fp32): the fixture's sample, input side and every block's image and text streams
# within 1e-4 relative (max abs error / max |want|), its bf16 checkpoint within 1e-4 of the
# reference computed from the same rounded weights; checkpoints of other sizes (tests/data, made
# by tools/qwen_reference.py: a head dim of 24, three samples with different masks, two
# reference images, sharded weights); 1 to 4 ranks bit-identical; HDF5 inputs; the inputs and
# configs it refuses, each in one line.
. "$(dirname "$0")/lib.sh"
QWEN=$FIXTURES/qwenimage-tiny
TOL=1e-4

check_case() { # NAME DIR CASE NP: fp32 with every dump, the bf16 checkpoint, on NP ranks
    local name=$1 dir=$2 case=$3 np=$4
    if mpi "$np" forward --transformer "$dir/transformer" --inputs "$case" --out "$WORK/$name.h5" --dump-blocks
    then pass "$name fp32 on $np ranks"; else fail "$name fp32 on $np ranks"; fi
    blocks=$(grep -a -o 'block_[0-9]*_\(img\|txt\)_out' "$case" | sort -u)
    for t in sample img_in_out txt_in_out temb $blocks; do
        expect "$name $t within $TOL" "$TCOMPARE" --rel $TOL "$WORK/$name.h5:$t" "$case:$t"
    done
    if mpi "$np" forward --transformer "$dir/transformer-bf16" --inputs "$case" --out "$WORK/$name-bf16.h5"
    then pass "$name bf16 weights on $np ranks"; else fail "$name bf16 weights on $np ranks"; fi
    expect "$name bf16 weights: sample within $TOL" \
        "$TCOMPARE" --rel $TOL "$WORK/$name-bf16.h5:sample" "$case:sample_from_bf16_weights"
}

check_case fixture "$QWEN" "$QWEN/case_forward.safetensors" 1
check_case qwen-odd "$DATA/qwen-odd" "$DATA/qwen-odd/case_forward.safetensors" 3
check_case qwen-wide "$DATA/qwen-wide" "$DATA/qwen-wide/case_forward.safetensors" 2

# Any number of ranks gives the bits of one (each block runs the same arithmetic wherever it is).
CASE=$QWEN/case_forward.safetensors
for np in 2 3 4; do
    if mpi $np forward --transformer "$QWEN/transformer" --inputs "$CASE" --out "$WORK/np$np.h5" --dump-blocks
    then pass "fixture on $np ranks"; else fail "fixture on $np ranks"; fi
    for t in sample block_01_img_out block_02_txt_out; do
        expect "$np ranks = 1 rank: $t" "$TCOMPARE" --exact "$WORK/np$np.h5:$t" "$WORK/fixture.h5:$t"
    done
done
# The same inputs from an HDF5 file (img_shapes a root attribute) give the same bits.
expect "inputs converted to HDF5" "$TCONVERT" "$CASE" "$WORK/inputs.h5"
if mpi 2 forward --transformer "$QWEN/transformer" --inputs "$WORK/inputs.h5" --out "$WORK/from_h5.h5"
then pass "forward from HDF5 inputs"; else fail "forward from HDF5 inputs"; fi
expect "HDF5 inputs: same sample bits" "$TCOMPARE" --exact "$WORK/from_h5.h5:sample" "$WORK/fixture.h5:sample"
# Without a mask every text key is kept: as a mask of ones (the pipeline passes none then).
EDIT="python3 $(dirname "$0")/edit_tensors.py"
$EDIT drop "$CASE" encoder_hidden_states_mask "$WORK/no_mask.safetensors"
if mpi 2 forward --transformer "$QWEN/transformer" --inputs "$WORK/no_mask.safetensors" --out "$WORK/no_mask.h5"
then pass "inputs without a mask"; else fail "inputs without a mask"; fi
$EDIT fill "$CASE" encoder_hidden_states_mask 1 "$WORK/ones.safetensors"
mpi 2 forward --transformer "$QWEN/transformer" --inputs "$WORK/ones.safetensors" --out "$WORK/ones.h5"
expect "no mask = a mask of ones, bit for bit" \
    "$TCOMPARE" --exact "$WORK/no_mask.h5:sample" "$WORK/ones.h5:sample"

# A tiny model written by init-model runs as it is.
if "$BRIGADE" init-model "$WORK/tiny" --family qwen-image >"$WORK/log" 2>&1 &&
   mpi 2 forward --transformer "$WORK/tiny/transformer" --inputs "$WORK/tiny/inputs.safetensors" --out "$WORK/tiny.h5"
then pass "init-model --family qwen-image, then forward on 2 ranks"
else fail "init-model --family qwen-image, then forward on 2 ranks"; fi

# Refused, each with one line naming the file and what is wrong, before any weight is loaded.
refuse() { # WHAT TEXT ARGS...
    local what=$1 text=$2
    shift 2
    if mpi 2 forward --out "$WORK/bad.h5" "$@"; then fail "$what: accepted"
    elif ! grep -q "brigade: error: .*$text" "$WORK/log" || [ -e "$WORK/bad.h5" ]; then fail "$what: message"
    else pass "$what: $(grep -m1 'brigade: error' "$WORK/log" | cut -c1-120)"; fi
}
$EDIT meta "$CASE" img_shapes - "$WORK/no_shapes.safetensors"
refuse "img_shapes missing" 'setting "img_shapes" missing' \
    --transformer "$QWEN/transformer" --inputs "$WORK/no_shapes.safetensors"
$EDIT meta "$CASE" img_shapes '[[[1, 4, 6], [1, 5, 5]]]' "$WORK/bad_shapes.safetensors"
refuse "img_shapes not covering the tokens" 'tokens add up to the 44 of hidden_states' \
    --transformer "$QWEN/transformer" --inputs "$WORK/bad_shapes.safetensors"
$EDIT meta "$CASE" img_shapes '[[[1, 4, 6], [1, 5, 4]], [[1, 4, 6], [1, 4, 5]]]' "$WORK/mixed.safetensors"
refuse "img_shapes differing by sample" 'img_shapes differ between samples' \
    --transformer "$QWEN/transformer" --inputs "$WORK/mixed.safetensors"
refuse "LTX inputs to a Qwen-Image model" 'tensor "hidden_states" has shape' \
    --transformer "$QWEN/transformer" --inputs "$LTX/case_forward.safetensors"
mkdir -p "$WORK/zero_cond"
ln -s "$QWEN/transformer/diffusion_pytorch_model.safetensors" "$WORK/zero_cond/"
sed 's/"zero_cond_t": false/"zero_cond_t": true/' "$QWEN/transformer/config.json" >"$WORK/zero_cond/config.json"
refuse "zero_cond_t (another variant)" '"zero_cond_t" true is not implemented' \
    --transformer "$WORK/zero_cond" --inputs "$CASE"
expect "no temporary file left" test -z "$(ls "$WORK" | grep '\.tmp$')"
finish
