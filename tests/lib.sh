# lib.sh: shared by the shell tests. Expects BRIGADE, TCOMPARE, TCONVERT, MPIRUN, FIXTURES, DATA
# in the environment (tests/CMakeLists.txt sets them). Every launch has a deadline: nothing hangs.
set -u
LTX=$FIXTURES/ltx-tiny
WORK=$(mktemp -d /tmp/brigade-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

# BRIGADE_ARGS is added after the command: the CPU backend by default, so that these tests check
# the same path on every machine; tests/gpu/run.sh sets "--backend cuda --compute fp32" etc.
BRIGADE_ARGS=${BRIGADE_ARGS:---backend cpu}
# The environment every rank needs, where it is set: the CPU threads and BLAS kernel, NCCL's settings.
MPI_ENV=()
for v in BRIGADE_THREADS OPENBLAS_NUM_THREADS OPENBLAS_CORETYPE NCCL_NVLS_ENABLE NCCL_P2P_DISABLE NCCL_SHM_DISABLE LD_LIBRARY_PATH; do
    [ -n "${!v:-}" ] && MPI_ENV+=(-x "$v")
done

# mpi NP COMMAND ARGS...: brigade on NP ranks; the output (both streams) goes to $WORK/log.
mpi() {
    local np=$1 cmd=$2
    shift 2
    # shellcheck disable=SC2086
    timeout -k 5 "${LAUNCH_TIMEOUT:-120}" "$MPIRUN" --allow-run-as-root --oversubscribe -np "$np" "${MPI_ENV[@]}" \
        "$BRIGADE" "$cmd" $BRIGADE_ARGS "$@" >"$WORK/log" 2>&1
}

# ltx2_pipeline DIR: the ltx2-tiny fixture as a pipeline folder, as users download one:
# model_index.json beside its components (links).
ltx2_pipeline() {
    mkdir "$1"
    local part
    for part in transformer connectors scheduler vae audio_vae vocoder latent_upsampler; do
        ln -s "$FIXTURES/ltx2-tiny/$part" "$1/$part"
    done
    echo '{"_class_name": "LTX2Pipeline"}' >"$1/model_index.json"
}

pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; sed 's/^/    | /' "$WORK/log" 2>/dev/null | tail -20; }

# expect WHAT COMMAND...: the command must succeed.
expect() {
    local what=$1
    shift
    if "$@" >>"$WORK/cmp.log" 2>&1; then pass "$what"; else fail "$what"; tail -3 "$WORK/cmp.log"; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
