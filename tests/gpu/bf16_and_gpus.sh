# bf16_and_gpus.sh: (run by tests/gpu/run.sh) the bf16 path and fp32 compute on 16-bit weights
# against the fp32 reference, and the same forward on 1 and 2 GPUs over NCCL (NVLink, then
# NCCL_P2P_DISABLE=1: through host memory).
. "$(dirname "$0")/../lib.sh"
CASE=$LTX/case_forward.safetensors
# bf16 operands round each product's inputs to 8 bits of mantissa: over 4 blocks with fp32
# accumulation the sample moves by about 1e-2 of its scale; 3e-2 is the bound we hold.
BF16_TOL=3e-2
for model in "$LTX" "$DATA/ltx-odd" "$DATA/ltx-wide"; do
    case_file=$model/case_forward.safetensors
    name=$(basename "$model")
    if BRIGADE_ARGS="--share-gpus --backend cuda --compute bf16" mpi 2 forward --transformer "$model/transformer" \
        --inputs "$case_file" --out "$WORK/$name-bf16.h5"
    then pass "$name bf16 on 2 GPUs"; else fail "$name bf16 on 2 GPUs"; fi
    expect "$name bf16 sample within $BF16_TOL" \
        "$TCOMPARE" --rel $BF16_TOL "$WORK/$name-bf16.h5:sample" "$case_file:sample"
    grep -h "relative" "$WORK/cmp.log" | tail -1
done
# fp32 arithmetic on 16-bit weights (--storage, the P40 path for models that fit no card): the
# weights carry one rounding each (fp16 2^-11, bf16 2^-8 relative), the activations none; bounds
# 3e-3 (fp16) and 2e-2 (bf16) of the sample's scale.
for storage in fp16 bf16; do
    tol=$([ $storage = fp16 ] && echo 3e-3 || echo 2e-2)
    if BRIGADE_ARGS="--share-gpus --backend cuda --compute fp32 --storage $storage" mpi 2 forward \
        --transformer "$LTX/transformer" --inputs "$CASE" --out "$WORK/store-$storage.h5"
    then pass "fp32 compute, $storage weights, 2 GPUs: $(grep -m1 '^rank 0' "$WORK/log" | cut -c56-80)"
    else fail "fp32 compute, $storage weights"; fi
    expect "$storage weights: sample within $tol" "$TCOMPARE" --rel "$tol" "$WORK/store-$storage.h5:sample" "$CASE:sample"
    grep -h "relative" "$WORK/cmp.log" | tail -1
done
for compute in fp32 bf16; do
    for np in 1 2; do
        if BRIGADE_ARGS="--share-gpus --backend cuda --compute $compute" mpi $np forward --transformer "$LTX/transformer" \
            --inputs "$CASE" --out "$WORK/$compute-$np.h5" --dump-blocks
        then pass "$compute on $np GPUs"; else fail "$compute on $np GPUs"; fi
    done
    grep transport "$WORK/log" | head -2
    expect "$compute: 2 ranks = 1 rank (transport as printed above)" "$TCOMPARE" --exact "$WORK/$compute-2.h5:sample" "$WORK/$compute-1.h5:sample"
    if NCCL_P2P_DISABLE=1 BRIGADE_ARGS="--share-gpus --backend cuda --compute $compute" mpi 2 forward \
        --transformer "$LTX/transformer" --inputs "$CASE" --out "$WORK/$compute-2shm.h5"
    then pass "$compute on 2 GPUs, NCCL_P2P_DISABLE=1"; else fail "$compute on 2 GPUs, NCCL_P2P_DISABLE=1"; fi
    expect "$compute: through host memory = 1 GPU" "$TCOMPARE" --exact "$WORK/$compute-2shm.h5:sample" "$WORK/$compute-1.h5:sample"
done
finish
