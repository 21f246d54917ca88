# lib.sh: shared by the shell tests. Expects BRIGADE, TCOMPARE, TCONVERT, MPIRUN, FIXTURES, DATA
# in the environment (tests/CMakeLists.txt sets them). Every launch has a deadline: nothing hangs.
set -u
LTX=$FIXTURES/ltx-tiny
WORK=$(mktemp -d /tmp/brigade-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

# mpi NP ARGS...: brigade on NP ranks; the output (both streams) goes to $WORK/log.
mpi() {
    local np=$1
    shift
    timeout -k 5 120 "$MPIRUN" --allow-run-as-root --oversubscribe -np "$np" \
        -x OPENBLAS_NUM_THREADS "$BRIGADE" "$@" >"$WORK/log" 2>&1
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
