# slurm_job.sh: launch/brigade.sbatch on a private 3-node Slurm cluster (network namespaces, one
# slurmd each), one task per node: the job completes with exit code 0, its result is bit-identical
# to a 1-rank job's and its rank table names each rank's node; a job whose ranks fail ends FAILED
# with a non-zero exit code, not merely ended. No thread count is pinned, and a BLAS kernel chosen
# where the job is submitted (OPENBLAS_CORETYPE) reaches every node's rank.
. "$(dirname "$0")/multihost/lib.sh"
. "$(dirname "$0")/multihost/slurm.sh"
slurm_need
hosts_up 3
slurm_up

# submit NAME SBATCH-OPTIONS... -- BRIGADE-ARGS...: sbatch of launch/brigade.sbatch from h1, then
# waits for the job's end (JOB_STATE, JOB_EXIT). Its output goes to $WORK/NAME.out and $WORK/log.
submit() {
    local name=$1 opts=() id
    shift
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    id=$(on -t 30 h1 env ${CORETYPE:+OPENBLAS_CORETYPE=$CORETYPE} sbatch --parsable --gpus-per-node=0 --time=5 --job-name="$name" \
        --chdir="$WORK" --output="$WORK/$name.out" "${opts[@]}" "$REPO/launch/brigade.sbatch" "$@" \
        2>"$WORK/log")
    JOB_STATE="not submitted" JOB_EXIT=
    [ -n "$id" ] || return 1
    job_wait "$id" "$LAUNCH_TIMEOUT" ||
        JOB_STATE="still $JOB_STATE after $LAUNCH_TIMEOUT s"
    cat "$WORK/$name.out" >>"$WORK/log" 2>/dev/null
    [ "$JOB_STATE" = COMPLETED ] && [ "$JOB_EXIT" = 0 ]
}

for c in $(job --cases); do
    job "$c" "$WORK/$c-1" || mh_die "job $c"
    if submit "$c-1" --nodes=1 --ntasks-per-node=1 -- "${JOB[@]}"
    then pass "$c: 1-rank job COMPLETED, exit 0"; else fail "$c: 1-rank job $JOB_STATE, exit code $JOB_EXIT"; fi
    job "$c" "$WORK/$c-3"
    if submit "$c-3" --nodes=3 --ntasks-per-node=1 -- "${JOB[@]}"
    then pass "$c: 3-node job COMPLETED, exit 0"; else fail "$c: 3-node job $JOB_STATE, exit code $JOB_EXIT"; fi
    grep '^rank ' "$WORK/$c-3.out"
    for r in 0 1 2; do
        expect "$c: rank table: rank $r on node h$((r + 1))" \
            rank_table_has "$WORK/$c-3.out" $r h$((r + 1))
    done
    expect "$c: 3 nodes = 1 rank, bit for bit" same_results "$WORK/$c-1" "$WORK/$c-3"
    expect "$c: job log: srun exited with 0" \
        grep -qx 'brigade.sbatch: srun exited with 0' "$WORK/$c-3.out"
done

# A kernel other than this CPU's own (Sandybridge's runs on any x86 CPU with AVX), set where the
# job is submitted: every node runs it, and 3 nodes still give 1 rank's bits.
if grep -qw avx /proc/cpuinfo; then
    CORETYPE=Sandybridge
    job forward "$WORK/coretype-1"
    submit coretype-1 --nodes=1 --ntasks-per-node=1 -- "${JOB[@]}" || fail "OPENBLAS_CORETYPE: 1-rank job $JOB_STATE"
    job forward "$WORK/coretype-3"
    submit coretype-3 --nodes=3 --ntasks-per-node=1 -- "${JOB[@]}" || fail "OPENBLAS_CORETYPE: 3-node job $JOB_STATE"
    CORETYPE=
    grep '^rank ' "$WORK/coretype-3.out"
    expect "OPENBLAS_CORETYPE reached the rank on every node" \
        test "$(grep -c '^rank .*cpu: OpenBLAS [0-9.]* Sandybridge' "$WORK/coretype-3.out")" -eq 3
    expect "OPENBLAS_CORETYPE: 3 nodes = 1 rank, bit for bit" \
        same_results "$WORK/coretype-1" "$WORK/coretype-3"
fi

# A job whose every rank fails (no such checkpoint) must not look like a success.
submit bad --nodes=3 --ntasks-per-node=1 -- forward $BRIGADE_ARGS --transformer "$WORK/missing" \
    --inputs "$LTX/case_forward.safetensors" --out "$WORK/bad/sample.h5"
if [ "$JOB_STATE" = FAILED ] && [ "${JOB_EXIT:-0}" != 0 ]
then pass "failing job: FAILED, exit code $JOB_EXIT"; else fail "failing job: $JOB_STATE, exit code ${JOB_EXIT:-none}"; fi
expect "failing job: job log: srun exited non-zero" \
    grep -q '^brigade.sbatch: srun exited with [1-9]' "$WORK/bad.out"
expect "failing job: no output" test ! -e "$WORK/bad/sample.h5"
finish
