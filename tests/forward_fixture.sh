# forward_fixture.sh: `brigade forward` against the reference outputs of the ltx-tiny fixture
# (diffusers, fp32): the sample within 1e-4 relative (max abs error / max |want|) for the fp32
# and the bf16 checkpoints, and every intermediate and block output with --dump-blocks; inputs
# and outputs in both file formats.
. "$(dirname "$0")/lib.sh"
CASE=$LTX/case_forward.safetensors
TOL=1e-4
# RoPE tables: angles reach 10000*pi/2 ~ 15708 rad, where fp32 values are 2^-10 ~ 1e-3 apart;
# the reference's vectorised fp32 linspace and pow differ from a scalar evaluation by an ulp, so
# a table entry may differ by ~1.5e-3 (cos of a neighbouring fp32 angle). The blocks and the
# sample, which consume the tables, are still held to 1e-4.
ROPE_TOL=2e-3

if mpi 1 forward --transformer "$LTX/transformer" --inputs "$CASE" --out "$WORK/fp32.h5" --dump-blocks
then pass "forward fp32, 1 rank"; else fail "forward fp32, 1 rank"; fi
for name in sample proj_in_out temb embedded_timestep caption_projection_out \
    block_00_out block_01_out block_02_out block_03_out; do
    expect "fp32 $name within $TOL" "$TCOMPARE" --rel $TOL "$WORK/fp32.h5:$name" "$CASE:$name"
done
for name in rope_cos rope_sin; do
    expect "fp32 $name within $ROPE_TOL" "$TCOMPARE" --rel $ROPE_TOL "$WORK/fp32.h5:$name" "$CASE:$name"
done

if mpi 2 forward --transformer "$LTX/transformer-bf16" --inputs "$CASE" --out "$WORK/bf16.safetensors"
then pass "forward bf16 weights, 2 ranks"; else fail "forward bf16 weights, 2 ranks"; fi
expect "bf16 weights: sample within $TOL" \
    "$TCOMPARE" --rel $TOL "$WORK/bf16.safetensors:sample" "$CASE:sample_from_bf16_weights"

# The same inputs from an HDF5 file (datasets + root attributes) give the same bits.
expect "inputs converted to HDF5" "$TCONVERT" "$CASE" "$WORK/inputs.h5"
if mpi 3 forward --transformer "$LTX/transformer" --inputs "$WORK/inputs.h5" --out "$WORK/from_h5.h5"
then pass "forward from HDF5 inputs, 3 ranks"; else fail "forward from HDF5 inputs, 3 ranks"; fi
expect "HDF5 inputs: same sample bits" "$TCOMPARE" --exact "$WORK/from_h5.h5:sample" "$WORK/fp32.h5:sample"

expect "no temporary file left" test -z "$(ls "$WORK" | grep '\.tmp$')"
finish
