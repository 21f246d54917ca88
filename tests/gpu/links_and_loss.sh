# tests/gpu/links_and_loss.sh: two GPUs (device machine, after tests/gpu/run.sh's setup):
# 1. the baton over each NCCL transport: NVLink (P2P), host memory (NCCL_P2P_DISABLE=1: SHM, the
#    PCIe-class path) and NCCL's network transport (also NCCL_SHM_DISABLE=1: sockets, what NCCL
#    uses between boxes without InfiniBand): the fixture's latents bit-identical to 1 GPU on all
#    three, and each link's bandwidth as run.json measured it with an LTX-2B-size baton;
# 2. a GPU rank killed (kill -9) mid-run ends the job on every rank within 30 s, non-zero, with
#    the lost rank named, and no latents.h5; the energy and cost lines of a 2-GPU run.
#   BRIGADE=... TCOMPARE=... MPIRUN=... FIXTURES=... bash tests/gpu/links_and_loss.sh
. "$(dirname "$0")/../lib.sh"
BRIGADE_ARGS="--backend cuda --compute fp32"
RUN=(run --model "$LTX" --embeddings "$LTX/case_pipeline.safetensors" --height 128 --width 192
     --frames 17 --steps 3 --seed 7 --vae none)
BIG=(run --transformer random:2b --scheduler "$LTX/scheduler" --vae none --embeddings random:1,128
     --height 512 --width 768 --frames 97 --steps 2 --check none --compute bf16)

if mpi 1 "${RUN[@]}" --out "$WORK/one"; then pass "fixture on 1 GPU"; else fail "fixture on 1 GPU"; fi
link_gbps() { python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["ranks"][1]["link_in_gbps"], 2))' "$1"; }
for transport in nvlink shm net; do
    case $transport in
    nvlink) unset NCCL_P2P_DISABLE NCCL_SHM_DISABLE ;;
    shm) export NCCL_P2P_DISABLE=1; unset NCCL_SHM_DISABLE ;;
    net) export NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 ;;
    esac
    MPI_ENV=(-x OPENBLAS_NUM_THREADS -x NCCL_NVLS_ENABLE)
    for v in NCCL_P2P_DISABLE NCCL_SHM_DISABLE; do [ -n "${!v:-}" ] && MPI_ENV+=(-x "$v"); done
    if mpi 2 "${RUN[@]}" --out "$WORK/$transport"; then pass "fixture on 2 GPUs, $transport"
    else fail "fixture on 2 GPUs, $transport"; fi
    expect "$transport: 2 GPUs = 1 GPU (latents, bit for bit)" "$TCOMPARE" --exact "$WORK/$transport/latents.h5:latents" "$WORK/one/latents.h5:latents"
    if mpi 2 "${BIG[@]}" --out "$WORK/big-$transport"; then
        pass "$transport: 2B-size baton ($(sed -n 's/.*the baton is \([0-9]*\) bytes.*/\1/p' "$WORK/log") bytes): link $(link_gbps "$WORK/big-$transport/run.json") GB/s"
    else fail "2B-size run, $transport"; fi
done
unset NCCL_P2P_DISABLE NCCL_SHM_DISABLE
MPI_ENV=(-x OPENBLAS_NUM_THREADS -x NCCL_NVLS_ENABLE)

# The energy and cost of a 2-GPU run (more steps: long enough for the counter to move).
if mpi 2 "${BIG[@]}" --steps 6 --embeddings random:2,128 --host-watts 250 --out "$WORK/cost"; then
    pass "2-GPU run: $(grep '^energy' "$WORK/log")"
else fail "2-GPU run with its cost"; fi
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  energy:", r["energy"]); print("  per rank:", [(x["gpu_joules"], x["energy_method"]) for x in r["ranks"]])' "$WORK/cost/run.json"
expect "both GPUs metered" python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["energy"]; sys.exit(0 if e["gpus_metered"] == 2 and e["gpu_joules"] > 0 else 1)' "$WORK/cost/run.json"

# kill -9 of rank 1 once the loop runs.
LAUNCH_TIMEOUT=120 mpi 2 "${BIG[@]}" --steps 200 --out "$WORK/killed" &
launcher=$!
pid=""
for _ in $(seq 600); do grep -q "^step 1/" "$WORK/log" 2>/dev/null && break; sleep 0.1; done
for p in $(pgrep -f "brigade run .*$WORK/killed"); do
    grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && pid=$p
done
start=$(date +%s%N)
kill -9 "$pid"
wait "$launcher"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
left=$(pgrep -fc "brigade run .*$WORK/killed" || true)
if [ -n "$pid" ] && [ "$rc" -ne 0 ] && [ "$left" -eq 0 ] && [ "$ms" -lt 30000 ]; then
    pass "kill -9 of GPU rank 1 (pid $pid): job ended in $ms ms, exit $rc, no rank left"
else
    fail "kill -9 of GPU rank 1 (pid ${pid:-none}): exit $rc, $ms ms, $left ranks left"
fi
grep -E "rank 1|brigade:" "$WORK/log" | head -4 | sed 's/^/  | /'
expect "the lost rank is named" grep -q "rank 1" "$WORK/log"
expect "no latents after the kill" test ! -e "$WORK/killed/latents.h5"
finish
