# lib.sh: shared by the shell tests. Expects BRIGADE, TCOMPARE, TCONVERT, MPIRUN, FIXTURES, DATA
# in the environment (tests/CMakeLists.txt sets them). Every launch has a deadline: nothing hangs.
set -u
LTX=$FIXTURES/ltx-tiny
WORK=$(mktemp -d /tmp/brigade-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

# mpi NP COMMAND ARGS...: brigade on NP ranks; the output (both streams) goes to $WORK/log.
# BRIGADE_ARGS (e.g. "--backend cuda --compute fp32") is added after the command, so the same
# tests run on a GPU (tests/gpu.sh).
mpi() {
    local np=$1 cmd=$2
    shift 2
    # shellcheck disable=SC2086
    timeout -k 5 120 "$MPIRUN" --allow-run-as-root --oversubscribe -np "$np" \
        -x OPENBLAS_NUM_THREADS -x NCCL_NVLS_ENABLE -x NCCL_P2P_DISABLE -x NCCL_SHM_DISABLE \
        "$BRIGADE" "$cmd" ${BRIGADE_ARGS:-} "$@" >"$WORK/log" 2>&1
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
