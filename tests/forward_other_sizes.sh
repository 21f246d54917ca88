# forward_other_sizes.sh: 3 ranks on checkpoints of other sizes than the fixture (tests/data,
# made by diffusers): an inner dim that is not a multiple of 6, sharded fp32 and bf16 checkpoints,
# a wider model with 5 blocks. Sample, intermediates and every block within 1e-4 relative.
. "$(dirname "$0")/lib.sh"
TOL=1e-4
ROPE_TOL=2e-3 # see forward_fixture.sh
for model in ltx-odd ltx-wide; do
    CASE=$DATA/$model/case_forward.safetensors
    if mpi 3 forward --transformer "$DATA/$model/transformer" --inputs "$CASE" --out "$WORK/$model.h5" --dump-blocks
    then pass "$model fp32 on 3 ranks"; else fail "$model fp32 on 3 ranks"; fi
    names="sample proj_in_out temb embedded_timestep caption_projection_out"
    blocks=$(grep -a -o 'block_[0-9]*_out' "$CASE" | sort -u)
    for name in $names $blocks; do
        expect "$model $name within $TOL" "$TCOMPARE" --rel $TOL "$WORK/$model.h5:$name" "$CASE:$name"
    done
    for name in rope_cos rope_sin; do
        expect "$model $name within $ROPE_TOL" "$TCOMPARE" --rel $ROPE_TOL "$WORK/$model.h5:$name" "$CASE:$name"
    done
    if mpi 3 forward --transformer "$DATA/$model/transformer-bf16" --inputs "$CASE" --out "$WORK/$model-bf16.h5"
    then pass "$model bf16 on 3 ranks"; else fail "$model bf16 on 3 ranks"; fi
    expect "$model bf16 weights: sample within $TOL" \
        "$TCOMPARE" --rel $TOL "$WORK/$model-bf16.h5:sample" "$CASE:sample_from_bf16_weights"
done
finish
