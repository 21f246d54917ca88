# bad_input.sh: broken checkpoints, configs, inputs and rank counts. Each must give a one-line
# error naming the file/tensor/rank, a non-zero exit on every rank, no hang (every launch has a
# deadline) and no output file left behind.
. "$(dirname "$0")/lib.sh"
BAD=$WORK/bad
python3 "$(dirname "$0")/make_bad_inputs.py" "$LTX" "$BAD" || { echo "cannot make the cases"; exit 1; }
CASE=$LTX/case_forward.safetensors

# bad NAME NP EXPECTED_TEXT ARGS...: runs brigade forward on NP ranks, each rank recording its exit
# code. The wrapper itself exits 0: Open MPI kills the other ranks as soon as one process exits
# non-zero, which would hide whether they, too, stopped with an error.
bad() {
    local name=$1 np=$2 want=$3
    shift 3
    rm -f "$WORK/exits" "$WORK/out.h5" "$WORK/out.h5.tmp"
    # shellcheck disable=SC2086
    timeout -k 5 60 "$MPIRUN" --allow-run-as-root --oversubscribe -np "$np" "${MPI_ENV[@]}" \
        sh -c '"$0" "$@"; echo "exit $?" >>'"$WORK/exits" "$BRIGADE" forward $BRIGADE_ARGS \
        --out "$WORK/out.h5" "$@" \
        >"$WORK/log" 2>&1
    local rc=$? errors nonzero
    errors=$(grep -c 'brigade: error:' "$WORK/log")
    nonzero=$(grep -vc '^exit 0$' "$WORK/exits" 2>/dev/null)
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then fail "$name: hung (killed by the deadline)"
    elif [ "$errors" != 1 ]; then fail "$name: $errors error lines instead of 1"
    elif ! grep 'brigade: error:' "$WORK/log" | grep -qF -- "$want"; then fail "$name: message lacks '$want'"
    elif [ "$nonzero" != "$np" ]; then fail "$name: $nonzero of $np ranks exited non-zero"
    elif [ -e "$WORK/out.h5" ] || [ -e "$WORK/out.h5.tmp" ]; then fail "$name: output left behind"
    else pass "$name: $(grep 'brigade: error:' "$WORK/log")"
    fi
}

bad "truncated safetensors" 2 "truncated/diffusion_pytorch_model.safetensors" \
    --transformer "$BAD/truncated" --inputs "$CASE"
bad "header length past the end" 2 "header_past_end/diffusion_pytorch_model.safetensors" \
    --transformer "$BAD/header_past_end" --inputs "$CASE"
bad "overlapping offsets" 3 "proj_in" --transformer "$BAD/overlap" --inputs "$CASE"
bad "offsets out of range" 2 "proj_out.bias" --transformer "$BAD/out_of_range" --inputs "$CASE"
bad "missing tensor (owned by rank 2 of 3)" 3 'rank 2' \
    --transformer "$BAD/missing_tensor" --inputs "$CASE"
bad "missing tensor is named" 3 'transformer_blocks.3.attn1.to_q.weight' \
    --transformer "$BAD/missing_tensor" --inputs "$CASE"
bad "tensor of the wrong shape" 2 'transformer_blocks.1.ff.net.2.weight' \
    --transformer "$BAD/wrong_shape" --inputs "$CASE"
bad "config dims disagree with the weights" 2 'proj_in.weight' \
    --transformer "$BAD/config_dims" --inputs "$CASE"
# Config values the fuzzer (tests/fuzz/fuzz_config) found undefined behaviour or a zero eps with.
config_case() { # NAME CONFIG-JSON: a folder with the fixture's weights and this config.json
    mkdir -p "$WORK/$1"
    ln -sf "$LTX/transformer/diffusion_pytorch_model.safetensors" "$WORK/$1/"
    echo "$2" >"$WORK/$1/config.json"
}
CLASS='"_class_name": "LTXVideoTransformer3DModel"'
config_case int_overflow "{$CLASS, \"num_attention_heads\": 65536, \"attention_head_dim\": 65536}"
bad "config: heads x head_dim past int" 1 'attention_head_dim = 4294967296 exceeds 65536' \
    --transformer "$WORK/int_overflow" --inputs "$CASE"
config_case cast_overflow "{$CLASS, \"in_channels\": 1e30}"
bad "config: 1e30 channels" 1 '"in_channels" must be an integer in 1..65536' \
    --transformer "$WORK/cast_overflow" --inputs "$CASE"
config_case eps_underflow "{$CLASS, \"norm_eps\": 1e-60}"
bad "config: norm_eps 0 in fp32" 1 '"norm_eps" must be a number in (0, 1) that fp32 holds' \
    --transformer "$WORK/eps_underflow" --inputs "$CASE"
# The family comes from _class_name: an unknown or missing one names the classes brigade runs.
config_case unknown_class '{"_class_name": "FluxTransformer2DModel"}'
bad "config: unknown class" 2 'FluxTransformer2DModel" is not a model brigade runs (known: LTXVideoTransformer3DModel' \
    --transformer "$WORK/unknown_class" --inputs "$CASE"
config_case no_class '{"num_layers": 4}'
bad "config: no class" 1 'no "_class_name" to tell the model by' \
    --transformer "$WORK/no_class" --inputs "$CASE"
mkdir -p "$WORK/pipeline"
echo '{"_class_name": "QwenImageEditPlusPipeline"}' >"$WORK/pipeline/model_index.json"
ln -s "$LTX/transformer" "$WORK/pipeline/transformer"
bad "pipeline of another family" 2 'a transformer of LTX-Video in a Qwen-Image pipeline' \
    --transformer "$WORK/pipeline" --inputs "$CASE"
bad "unknown random size" 1 'random:huge: known sizes are LTX-Video: 2b, 13b, tiny' \
    --transformer random:huge --inputs "$CASE"
bad "more ranks than blocks" 5 '5 ranks but the model has 4 transformer blocks' \
    --transformer "$LTX/transformer" --inputs "$CASE"
bad "inputs without timestep" 3 'no_timestep.safetensors: tensor "timestep" missing' \
    --transformer "$LTX/transformer" --inputs "$BAD/no_timestep.safetensors"
bad "inputs file missing" 2 "$WORK/nowhere.h5" --transformer "$LTX/transformer" --inputs "$WORK/nowhere.h5"
bad "unwritable output" 2 "$WORK/no/such/dir" --transformer "$LTX/transformer" --inputs "$CASE" \
    --out "$WORK/no/such/dir/out.h5"
bad "NaN/Inf caught at the block where it starts" 3 'rank 2 (' \
    --transformer "$BAD/overflow" --inputs "$CASE"
bad "the guard names the block" 3 'block 2 (micro-batch 0, step 0) output has' \
    --transformer "$BAD/overflow" --inputs "$CASE"
bad "bad --check" 1 '--check must be none, first or all' --check sometimes \
    --transformer "$LTX/transformer" --inputs "$CASE"

# Without the wrapper, mpirun's own exit status reports the failure.
# shellcheck disable=SC2086
timeout -k 5 60 "$MPIRUN" --allow-run-as-root --oversubscribe -np 3 "${MPI_ENV[@]}" \
    "$BRIGADE" forward $BRIGADE_ARGS --transformer "$BAD/missing_tensor" --inputs "$CASE" --out "$WORK/out.h5" \
    >"$WORK/log" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ]; then pass "mpirun exits $rc"; else fail "mpirun exits $rc"; fi
finish
