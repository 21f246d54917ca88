# srun_kill.sh: a rank killed (kill -9) in the middle of a 3-node job of launch/brigade.sbatch
# ends the job within seconds (srun --kill-on-bad-exit=1), not at its time limit: the job FAILED
# with a non-zero exit code, no rank is left running and no output was written.
. "$(dirname "$0")/multihost/lib.sh"
. "$(dirname "$0")/multihost/slurm.sh"
slurm_need
hosts_up 3
slurm_up
# Seconds from the kill to the job's end. Unkilled, the job runs 2-3 minutes (jobs.sh), and its
# time limit is 5: without --kill-on-bad-exit it would hang that long.
limit=30

job long "$WORK/long" || mh_die "job long"
id=$(on -t 30 h1 sbatch --parsable --gpus-per-node=0 --time=5 --nodes=3 --ntasks-per-node=1 \
    --job-name=long --chdir="$WORK" --output="$WORK/long.out" "$REPO/launch/brigade.sbatch" \
    "${JOB[@]}" 2>"$WORK/log")
[ -n "$id" ] || mh_die "sbatch: $(cat "$WORK/log")"

# Running: the rank table lists 3 ranks (rank 0 prints it once all have started); one second later
# they are in the forwards.
end=$((SECONDS + LAUNCH_TIMEOUT))
until [ "$(grep -c '^rank ' "$WORK/long.out" 2>/dev/null)" = 3 ] || [ $SECONDS -ge $end ]; do
    sleep 0.1
done
sleep 1
job_state "$id"
job_ranks "$id" | sort >"$WORK/ranks"
cp "$WORK/long.out" "$WORK/log" 2>/dev/null
if [ "$JOB_STATE" = RUNNING ] && [ "$(wc -l <"$WORK/ranks")" = 3 ]; then pass "job $id running: 3 ranks"
else fail "job $id $JOB_STATE with $(wc -l <"$WORK/ranks") of 3 ranks"; fi
victim=$(awk '$1 == 1 { print $2 }' "$WORK/ranks")
[ -n "$victim" ] || mh_die "no rank 1 to kill"

t0=$(date +%s%N)
kill -9 "$victim"
job_wait "$id" $((2 * limit))
while [ -n "$(job_ranks "$id")" ] && [ $(($(date +%s%N) - t0)) -lt $((2 * limit))000000000 ]; do
    sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
took=$((ms / 1000)).$(printf %03d $((ms % 1000))) # seconds
cp "$WORK/long.out" "$WORK/log" 2>/dev/null
if [ $ms -lt $((limit * 1000)) ]
then pass "kill -9 of rank 1 (pid $victim): the job ended in $took s (< $limit s)"; else fail "kill -9 of rank 1 (pid $victim): after $took s the job is $JOB_STATE"; fi
if [ "$JOB_STATE" = FAILED ] && [ "${JOB_EXIT:-0}" != 0 ]; then pass "job FAILED, exit code $JOB_EXIT"; else fail "job $JOB_STATE, exit code ${JOB_EXIT:-none}"; fi
expect "no rank left running" test -z "$(job_ranks "$id")"
expect "job log: srun exited non-zero" \
    grep -q '^brigade.sbatch: srun exited with [1-9]' "$WORK/long.out"
expect "no output" test ! -e "$WORK/long/sample.h5"
finish
