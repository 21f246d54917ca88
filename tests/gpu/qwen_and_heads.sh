# qwen_and_heads.sh: (run by tests/gpu/run.sh) Qwen-Image's transformer on the GPU in bf16
# against the fp32 reference, 1 GPU against 2 (fp32 and bf16: the same bits), and attention of any
# head dim: an LTX checkpoint read with 10-wide heads (ltx-odd's weights, 4 heads x 10 instead of
# 5 x 8: the same shapes) on the CUDA backend against the CPU backend, and a head wider than any
# kernel refused before loading, naming the config key.
. "$(dirname "$0")/../lib.sh"
QWEN=$FIXTURES/qwenimage-tiny
CASE=$QWEN/case_forward.safetensors
# As LTX's (bf16_and_gpus.sh): bf16 operands round each product's inputs to 8 bits of mantissa;
# over a few blocks with fp32 accumulation the sample moves by about 1e-2 of its scale.
BF16_TOL=3e-2
gpu() { BRIGADE_ARGS="--share-gpus --backend cuda $1" mpi "${@:2}"; }
for model in "$QWEN" "$DATA/qwen-odd" "$DATA/qwen-wide"; do
    name=$(basename "$model")
    if gpu "--compute bf16" 2 forward --transformer "$model/transformer" \
        --inputs "$model/case_forward.safetensors" --out "$WORK/$name-bf16.h5"
    then pass "$name bf16 on 2 GPUs"; else fail "$name bf16 on 2 GPUs"; fi
    expect "$name bf16 sample within $BF16_TOL" \
        "$TCOMPARE" --rel $BF16_TOL "$WORK/$name-bf16.h5:sample" "$model/case_forward.safetensors:sample"
    grep -h "relative" "$WORK/cmp.log" | tail -1
done
for compute in fp32 bf16; do
    for np in 1 2; do
        if gpu "--compute $compute" $np forward --transformer "$QWEN/transformer" --inputs "$CASE" \
            --out "$WORK/q-$compute-$np.h5" --dump-blocks
        then pass "Qwen-Image $compute on $np GPUs"; else fail "Qwen-Image $compute on $np GPUs"; fi
    done
    for t in sample block_03_img_out block_03_txt_out; do
        expect "Qwen-Image $compute: 2 GPUs = 1 GPU, $t" \
            "$TCOMPARE" --exact "$WORK/q-$compute-2.h5:$t" "$WORK/q-$compute-1.h5:$t"
    done
done

# The edit pipeline in bf16 (transformer and VAE): 3 steps of true CFG at scale 4 amplify the
# bf16 rounding; measured on an H200 (2026-12-04): latents 5.7e-3 of their scale, the PNG 7 levels
# at most. Bounds 3e-2 and 16 levels.
ECASE=$QWEN/case_edit_pipeline.safetensors
python3 "$(dirname "$0")/../edit_tensors.py" rename "$ECASE" latents_in latents "$WORK/start.safetensors"
if gpu "--compute bf16" 2 run --transformer "$QWEN/transformer-edit" --vae "$QWEN/vae" \
    --scheduler "$QWEN/scheduler" --embeddings "$ECASE" --image "$QWEN/reference.png" \
    --image-area 12288 --height 64 --width 96 --steps 3 --true-cfg-scale 4 \
    --latents "$WORK/start.safetensors" --out "$WORK/edit-bf16"
then pass "edit in bf16 on 2 GPUs"; else fail "edit in bf16 on 2 GPUs"; fi
expect "edit bf16: latents within 3e-2" \
    "$TCOMPARE" --rel 3e-2 "$WORK/edit-bf16/latents.h5:latents" "$ECASE:latents_out"
expect "edit bf16: image within 16 levels" "$TFRAMES" "$WORK/edit-bf16/job-000.png" "$ECASE:image" 16

# Ten-wide heads: the general attention path, in fp32 (as the CPU: 1e-5) and bf16.
mkdir -p "$WORK/heads10"
ln -s "$DATA"/ltx-odd/transformer/*.safetensors* "$WORK/heads10/"
sed 's/"num_attention_heads": 5/"num_attention_heads": 4/; s/"attention_head_dim": 8/"attention_head_dim": 10/' \
    "$DATA/ltx-odd/transformer/config.json" >"$WORK/heads10/config.json"
LCASE=$DATA/ltx-odd/case_forward.safetensors
BRIGADE_ARGS="--backend cpu" mpi 1 forward --transformer "$WORK/heads10" --inputs "$LCASE" --out "$WORK/h10-cpu.h5"
for compute in fp32 bf16; do
    tol=$([ $compute = fp32 ] && echo 1e-5 || echo $BF16_TOL)
    if gpu "--compute $compute" 2 forward --transformer "$WORK/heads10" --inputs "$LCASE" --out "$WORK/h10-$compute.h5"
    then pass "LTX with 10-wide heads, $compute on 2 GPUs"; else fail "LTX with 10-wide heads, $compute"; fi
    expect "10-wide heads, $compute: GPU within $tol of the CPU" \
        "$TCOMPARE" --rel "$tol" "$WORK/h10-$compute.h5:sample" "$WORK/h10-cpu.h5:sample"
    grep -h "relative" "$WORK/cmp.log" | tail -1
done
mkdir -p "$WORK/wide_heads"
ln -s "$DATA"/ltx-odd/transformer/*.safetensors* "$WORK/wide_heads/"
sed 's/"num_attention_heads": 5/"num_attention_heads": 1/; s/"attention_head_dim": 8/"attention_head_dim": 520/; s/"cross_attention_dim": 40/"cross_attention_dim": 520/' \
    "$DATA/ltx-odd/transformer/config.json" >"$WORK/wide_heads/config.json"
if gpu "--compute fp32" 2 forward --transformer "$WORK/wide_heads" --inputs "$LCASE" --out "$WORK/wide.h5"
then fail "a 520-wide head: accepted"
elif grep -q "attention_head_dim 520 is wider than .* attention takes (512)" "$WORK/log" &&
     ! grep -q "proj_in" "$WORK/log"
then pass "a 520-wide head refused before loading: $(grep -m1 'error' "$WORK/log" | cut -c1-140)"
else fail "a 520-wide head: message"; fi
finish
