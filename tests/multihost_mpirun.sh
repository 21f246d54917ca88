# multihost_mpirun.sh: launch/mpirun.sh over 3 hosts (network namespaces with an sshd each, one
# slot per host) runs `brigade forward` and `brigade run`: the results are bit-identical to 1
# rank's, the rank table names each rank's host, and the activations crossed hosts: eth0 of h2
# and h3 received at least one baton each (for run, every step's batons), and 10 batons more
# than the launch itself moves over 10 forwards. No thread count is pinned; a BLAS kernel chosen in
# the launching shell (OPENBLAS_CORETYPE) reaches the ranks on other hosts, whose sshd does not
# pass the launching shell's environment on.
. "$(dirname "$0")/multihost/lib.sh"
mh_need sshd ssh ssh-keygen "$MPIRUN"
hosts_up 3
sshd_up
printf 'h1 slots=1\n' >"$WORK/hostfile-1"
printf 'h1 slots=1\nh2 slots=1\nh3 slots=1\n' >"$WORK/hostfile-3"

# hosts_mpirun HOSTFILE ARGS...: launch/mpirun.sh started on h1; its ssh and traffic stay on the
# test's net, Open MPI's session folders in $WORK. Output in $WORK/log; RX2, RX3: the bytes h2's and
# h3's eth0 received meanwhile; BATON: the bytes per hop that rank 0 printed.
hosts_mpirun() {
    local hostfile=$1 rc
    shift
    RX2=$(rx_bytes h2) RX3=$(rx_bytes h3)
    on -t "$LAUNCH_TIMEOUT" h1 env OMPI_MCA_plm_rsh_agent="ssh -F $SSH_CONFIG" \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ${CORETYPE:+OPENBLAS_CORETYPE=$CORETYPE} \
        MPIRUN_OPTS="--mca btl_tcp_if_include $MH_NET.0/24 --mca oob_tcp_if_include $MH_NET.0/24
            --mca orte_tmpdir_base $WORK/ompi" \
        "$REPO/launch/mpirun.sh" "$hostfile" "$@" >"$WORK/log" 2>&1
    rc=$?
    RX2=$(($(rx_bytes h2) - RX2)) RX3=$(($(rx_bytes h3) - RX3))
    # One hop's activations, B x S x D x 4 bytes: 2 x 72 x 32 x 4 = 18432 for the fixture.
    BATON=$(sed -n 's/.*the baton is \([0-9]*\) bytes per hop.*/\1/p' "$WORK/log" | head -1)
    STEP_BYTES=$(sed -n 's/.*, \([0-9]*\) per hop per step.*/\1/p' "$WORK/log" | head -1)
    return $rc
}

for c in $(job --cases); do
    job "$c" "$WORK/$c-1" || mh_die "job $c"
    if hosts_mpirun "$WORK/hostfile-1" "${JOB[@]}"; then pass "$c: 1 rank on h1"
    else fail "$c: 1 rank on h1"; fi
    job "$c" "$WORK/$c-3"
    if hosts_mpirun "$WORK/hostfile-3" "${JOB[@]}"; then pass "$c: 3 ranks on h1, h2, h3"
    else fail "$c: 3 ranks on h1, h2, h3"; fi
    grep '^rank ' "$WORK/log"
    for r in 0 1 2; do
        expect "$c: rank table: rank $r on h$((r + 1))" rank_table_has "$WORK/log" $r h$((r + 1))
    done
    expect "$c: 3 hosts = 1 rank, bit for bit" same_results "$WORK/$c-1" "$WORK/$c-3"
    expect "$c: baton of $BATON bytes" test "${BATON:-0}" -gt 0
    expect "$c: h2 eth0 received $RX2 bytes >= one baton" test "$RX2" -ge "${BATON:-1}"
    expect "$c: h3 eth0 received $RX3 bytes >= one baton" test "$RX3" -ge "${BATON:-1}"
    if [ "$JOB_STEPS" -gt 0 ]; then # every step's batons crossed each host boundary
        expect "$c: h2 eth0 received $RX2 bytes >= $JOB_STEPS steps x $STEP_BYTES" \
            test "$RX2" -ge $((JOB_STEPS * ${STEP_BYTES:-1}))
        expect "$c: h3 eth0 received $RX3 bytes >= $JOB_STEPS steps x $STEP_BYTES" \
            test "$RX3" -ge $((JOB_STEPS * ${STEP_BYTES:-1}))
    fi
done

# A kernel other than this CPU's own, set where the job is launched: every rank runs it (the
# table says so), and 3 hosts still give 1 rank's bits. Sandybridge's (AVX) runs on any x86 CPU
# of the last ten years.
if grep -qw avx /proc/cpuinfo; then
    CORETYPE=Sandybridge
    job forward "$WORK/coretype-1"
    if hosts_mpirun "$WORK/hostfile-1" "${JOB[@]}"; then pass "OPENBLAS_CORETYPE=$CORETYPE: 1 rank"
    else fail "OPENBLAS_CORETYPE=$CORETYPE: 1 rank"; fi
    job forward "$WORK/coretype-3"
    if hosts_mpirun "$WORK/hostfile-3" "${JOB[@]}"; then pass "OPENBLAS_CORETYPE=$CORETYPE: 3 ranks"
    else fail "OPENBLAS_CORETYPE=$CORETYPE: 3 ranks"; fi
    CORETYPE=
    grep '^rank \|warning' "$WORK/log"
    expect "OPENBLAS_CORETYPE reached the ranks on h2 and h3" \
        test "$(grep -c '^rank .*cpu: OpenBLAS [0-9.]* Sandybridge' "$WORK/log")" -eq 3
    expect "OPENBLAS_CORETYPE: 3 hosts = 1 rank, bit for bit" \
        same_results "$WORK/coretype-1" "$WORK/coretype-3"
fi

# The launch alone moves about 17 KB to each host (ssh, Open MPI's wire-up), about one baton of
# the fixture: 10 forwards must bring 10 batons more than that.
job forward "$WORK/forward-x10"
if hosts_mpirun "$WORK/hostfile-3" "${JOB[@]}" --repeat 9; then pass "forward x10: 3 ranks"
else fail "forward x10: 3 ranks"; fi
expect "forward x10: h2 eth0 received $RX2 bytes >= 10 batons" test "$RX2" -ge $((10 * ${BATON:-1}))
expect "forward x10: h3 eth0 received $RX3 bytes >= 10 batons" test "$RX3" -ge $((10 * ${BATON:-1}))
finish
