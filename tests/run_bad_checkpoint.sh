# run_bad_checkpoint.sh: --resume from a damaged checkpoint.h5. Truncated anywhere, or with a byte
# flipped anywhere, the checkpoint is refused with one error line naming it and a non-zero exit on
# every rank within the launch timeout (never a crash or a hang), or, where the byte was one no
# reader looks at (the padding of the seal's header), accepted with the uninterrupted run's bits;
# never resumed from other latents: a flipped bit in the latents is caught by the file's seal.
. "$(dirname "$0")/lib.sh"
python3 "$(dirname "$0")/edit_tensors.py" jobs "$LTX/case_pipeline.safetensors" 2 "$WORK/jobs.safetensors"
ARGS=(--model "$LTX" --embeddings "$WORK/jobs.safetensors" --height 128 --width 192 --frames 9
    --steps 6 --seed 5 --checkpoint-every 3)

if mpi 2 run "${ARGS[@]}" --out "$WORK/whole"; then pass "uninterrupted run"; else fail "uninterrupted run"; fi
# A checkpoint that stays: latents.h5 cannot be written (a folder holds its temporary name), so
# the run stops after its last step, whose checkpoint is kept for --resume.
mkdir -p "$WORK/kept/latents.h5.tmp/x"
if mpi 2 run "${ARGS[@]}" --out "$WORK/kept"; then fail "a run that cannot write latents.h5 succeeded"
else pass "a run that cannot write latents.h5 fails: $(grep -m1 error "$WORK/log" | cut -c1-110)"; fi
rm -rf "$WORK/kept/latents.h5.tmp"
CKPT=$WORK/kept/checkpoint.h5
SIZE=$(stat -c %s "$CKPT")
expect "the checkpoint is there ($SIZE bytes)" test "$SIZE" -gt 0
cp "$CKPT" "$WORK/good.h5"

# resume_from WHAT: --resume with $CKPT as it now is; the outcome: refused with one line naming
# the checkpoint, or resumed with the uninterrupted run's latents.
resume_from() {
    local what=$1 rc
    rm -rf "$WORK/kept/job-"* "$WORK/kept/latents.h5" "$WORK/kept/run.json"
    mpi 2 run "${ARGS[@]}" --out "$WORK/kept" --resume
    rc=$?
    if [ "$rc" -eq 0 ]; then
        expect "$what: accepted, with the uninterrupted latents" "$TCOMPARE" --exact \
            "$WORK/kept/latents.h5:latents" "$WORK/whole/latents.h5:latents"
    elif [ "$rc" -eq 1 ] && [ "$(grep -c 'error' "$WORK/log")" -eq 1 ] &&
        grep -q "error: .*checkpoint.h5" "$WORK/log"; then
        pass "$what: refused: $(grep error "$WORK/log" | sed 's/.*checkpoint.h5//' | cut -c1-80)"
    else
        fail "$what: exit $rc (124: hung; >128: crashed)"
    fi
    cp "$WORK/good.h5" "$CKPT"
}

for cut in 0 8 100 $((SIZE / 4)) $((SIZE / 2)) $((SIZE - 100)) $((SIZE - 1)); do
    truncate -s "$cut" "$CKPT"
    resume_from "truncated to $cut bytes"
done
for i in $(seq 0 15); do # a byte flipped at 16 places spread over the file
    python3 -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 0xff; open(p, "wb").write(b)' \
        "$CKPT" $((i * (SIZE - 1) / 15))
    resume_from "byte $((i * (SIZE - 1) / 15)) flipped"
done

# One flipped bit in the middle of the latents' data (found by its bytes): the checksum says so.
"$TCONVERT" "$WORK/good.h5" "$WORK/good.safetensors"
OFFSET=$(python3 - "$WORK/good.safetensors" "$CKPT" <<'PY'
import json, struct, sys
st = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", st[:8])[0]
begin, end = json.loads(st[8:8 + n])["latents"]["data_offsets"]
data = st[8 + n + begin:8 + n + end]
print(open(sys.argv[2], "rb").read().find(data) + len(data) // 2)
PY
)
expect "the latents' data found in the checkpoint" test "$OFFSET" -gt 0
python3 -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 0x01; open(p, "wb").write(b)' "$CKPT" "$OFFSET"
mpi 2 run "${ARGS[@]}" --out "$WORK/kept" --resume
expect "a flipped bit in the latents: refused by the seal" \
    grep -q "error: .*checkpoint.h5 is damaged: its checksum does not match" "$WORK/log"
cp "$WORK/good.h5" "$CKPT"
if mpi 2 run "${ARGS[@]}" --out "$WORK/kept" --resume; then pass "the intact checkpoint resumes"
else fail "the intact checkpoint resumes"; fi
expect "resumed = uninterrupted" "$TCOMPARE" --exact "$WORK/kept/latents.h5:latents" "$WORK/whole/latents.h5:latents"
finish
