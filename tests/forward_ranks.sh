# forward_ranks.sh: a pipeline of P = 1, 2, 3, 4 ranks gives bit-identical samples and block
# outputs (each block runs the same arithmetic on whichever rank owns it).
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
finish
