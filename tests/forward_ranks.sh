# forward_ranks.sh: a pipeline of P = 1, 2, 3, 4 ranks gives bit-identical samples and block
# outputs (each block runs the same arithmetic on whichever rank owns it), whatever the threads per
# rank; ranks whose BLAS picked another kernel are named in a warning. No thread count is pinned.
. "$(dirname "$0")/lib.sh"
CASE=$LTX/case_forward.safetensors
for ckpt in transformer transformer-bf16; do
    for np in 1 2 3 4; do
        if mpi $np forward --transformer "$LTX/$ckpt" --inputs "$CASE" --out "$WORK/$ckpt-$np.h5" --dump-blocks
        then pass "$ckpt on $np ranks"; else fail "$ckpt on $np ranks"; fi
    done
    for np in 2 3 4; do
        for name in sample block_00_out block_01_out block_02_out block_03_out; do
            expect "$ckpt: $np ranks = 1 rank, $name" \
                "$TCOMPARE" --exact "$WORK/$ckpt-$np.h5:$name" "$WORK/$ckpt-1.h5:$name"
        done
    done
done

# Products of several tiles and attention of several query blocks (kernels/parallel.h): 2 x 288
# tokens of 96 channels make 3 row tiles, 2 column tiles in the feed-forward, 3 query blocks.
WIDE=$DATA/ltx-wide/transformer
INPUTS=random:2,3,8,12,20
wide() { # NAME NP: NP ranks, with the environment the caller gives
    if mpi "$2" forward --transformer "$WIDE" --inputs "$INPUTS" --out "$WORK/wide-$1.h5"
    then pass "wide: $1"; else fail "wide: $1"; fi
    grep '^rank ' "$WORK/log"
}
BRIGADE_THREADS=1 wide "1 rank, 1 thread" 1
wide "1 rank, default threads" 1
BRIGADE_THREADS=3 wide "2 ranks, 3 threads each" 2
OPENBLAS_NUM_THREADS=2 wide "3 ranks, OPENBLAS_NUM_THREADS=2" 3
wide "4 ranks, default threads" 4
for name in "1 rank, default threads" "2 ranks, 3 threads each" "3 ranks, OPENBLAS_NUM_THREADS=2" \
    "4 ranks, default threads"; do
    expect "wide: $name = 1 rank, 1 thread" \
        "$TCOMPARE" --exact "$WORK/wide-$name.h5:sample" "$WORK/wide-1 rank, 1 thread.h5:sample"
done
expect "the table gives 3 threads where BRIGADE_THREADS=3" \
    grep -q "cpu: OpenBLAS .*, 3 threads" <(BRIGADE_THREADS=3 mpi 1 forward --transformer "$WIDE" \
        --inputs "$INPUTS" --out "$WORK/t3.h5"; cat "$WORK/log")

# A rank whose BLAS runs another kernel (OPENBLAS_CORETYPE, as on a host of another CPU) is named;
# Sandybridge's kernel (AVX) runs on any x86 CPU of the last ten years and differs from newer ones.
# Only the CPU backend's results depend on the BLAS kernel (a GPU run names no such rank).
if grep -qw avx /proc/cpuinfo 2>/dev/null && [[ "$BRIGADE_ARGS" == *"--backend cpu"* ]]; then
    timeout -k 5 120 "$MPIRUN" --allow-run-as-root --oversubscribe \
        -np 1 "$BRIGADE" forward $BRIGADE_ARGS --transformer "$WIDE" --inputs "$INPUTS" --out "$WORK/mixed.h5" : \
        -np 1 env OPENBLAS_CORETYPE=Sandybridge "$BRIGADE" forward $BRIGADE_ARGS --transformer "$WIDE" \
        --inputs "$INPUTS" --out "$WORK/mixed.h5" >"$WORK/log" 2>&1
    grep '^rank \|warning' "$WORK/log"
    if grep -q "cpu: OpenBLAS .* Sandybridge" <(sed -n '/^rank 0/p' "$WORK/log"); then
        echo "     (this CPU's own kernel is Sandybridge: nothing to tell apart)"
    else
        expect "unlike BLAS kernels: a warning names rank 1 and OPENBLAS_CORETYPE" \
            grep -q "warning: .*different BLAS kernels.*rank 1 OpenBLAS [0-9.]* Sandybridge.*OPENBLAS_CORETYPE" "$WORK/log"
    fi
fi
finish
