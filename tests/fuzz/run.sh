#!/usr/bin/env bash
# run.sh SECONDS: builds the parser fuzzers (clang, libFuzzer, ASan+UBSan) into build-fuzz/ and
# runs each for SECONDS (default 60) on a copy of its seed corpus (tests/fuzz/corpus/<target>),
# one after the other. Prints executions and findings per target; exits non-zero when any target
# reports a crash, a leak, undefined behaviour, a broken expectation or an allocation over the
# limit. Reproduce a finding with: build-fuzz/tests/fuzz/<target> <the input file it names>.
# The copies, findings and logs are in build-fuzz/fuzz-run/ (replaced on each run).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECONDS_EACH=${1:-60}
TARGETS=(fuzz_safetensors fuzz_config fuzz_index fuzz_h5_inputs fuzz_png)
OUT=build-fuzz/fuzz-run

command -v clang >/dev/null || { echo "run.sh: needs clang (apt-get install -y clang libclang-rt-dev)"; exit 2; }
CC=clang cmake -S . -B build-fuzz -DBRIGADE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    exit 2
cmake --build build-fuzz -j "$(nproc)" --target "${TARGETS[@]}" >/dev/null || {
    echo "run.sh: build failed (cmake --build build-fuzz --target ${TARGETS[*]} says why)"
    exit 2
}

rm -rf "$OUT"
mkdir -p "$OUT"
# The index and HDF5 targets write their files in a private folder under FUZZ_TMPDIR; a target
# that crashes skips its own clean-up, so the whole folder goes at the end.
export FUZZ_TMPDIR
FUZZ_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/brigade-fuzz.XXXXXX")
trap 'rm -rf "$FUZZ_TMPDIR"' EXIT
# UB stops the run (the code is also built with -fno-sanitize-recover); stacks for every report.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0

failed=0
printf '%-18s %12s %10s %8s  %s\n' target executions exec/s corpus findings
for t in "${TARGETS[@]}"; do
    corpus=$OUT/$t.corpus
    cp -r "tests/fuzz/corpus/$t" "$corpus"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="$ROOT/tests/fuzz/$t.dict")
    # -rss_limit_mb / -malloc_limit_mb: a file of a few KB must not make a parser allocate GiB;
    # -timeout: a single input taking 10 s is a hang. Findings land in $OUT/<target>-*.
    (cd "$OUT" && "$ROOT/build-fuzz/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$t-" "${dict[@]}" "$t.corpus") >"$OUT/$t.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/$t.log")
    found=$(ls "$OUT" | grep -c "^$t-") || true
    files=$(ls "$corpus" | wc -l)
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        what=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|broken expectation' "$OUT/$t.log")
        printf '%-18s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$files" \
            "FAILED (exit $rc): ${what:-see $OUT/$t.log}"
        ls "$OUT" | grep "^$t-" | sed "s|^|    input: $OUT/|"
    else
        printf '%-18s %12s %10s %8s  %s\n' "$t" "$execs" "$rate" "$files" none
    fi
done
exit $failed
