# srun_kill.sh: a rank killed (kill -9) in the middle of a 3-node job of launch/brigade.sbatch
# ends the job within seconds (srun --kill-on-bad-exit=1), not at its time limit: the job FAILED
# with a non-zero exit code, no rank is left running and no output was written. And scancel of a
# `brigade run --checkpoint-every` job (SIGTERM to every rank): every rank ends within 10 s, the
# last completed step is saved and the log says how to resume; resumed, the job gives the bits of
# an uninterrupted one.
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

# scancel mid-run. The uninterrupted run: 1 rank, on h1.
job longrun "$WORK/whole" || mh_die "job longrun"
if on -t "$LAUNCH_TIMEOUT" h1 env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    "$MPIRUN" -np 1 "$BRIGADE" "${JOB[@]}" >"$WORK/log" 2>&1
then pass "uninterrupted longrun on 1 rank"; else fail "uninterrupted longrun on 1 rank"; fi
job longrun "$WORK/cancelled"
id=$(on -t 30 h1 sbatch --parsable --gpus-per-node=0 --time=5 --nodes=3 --ntasks-per-node=1 \
    --job-name=longrun --chdir="$WORK" --output="$WORK/cancelled.out" "$REPO/launch/brigade.sbatch" \
    "${JOB[@]}" 2>"$WORK/log")
[ -n "$id" ] || mh_die "sbatch: $(cat "$WORK/log")"
end=$((SECONDS + LAUNCH_TIMEOUT)) # until the first checkpoint (step 400) is written and passed
until grep -q '^step 4[1-9][0-9]/1000' "$WORK/cancelled.out" 2>/dev/null || [ $SECONDS -ge $end ]; do
    sleep 0.1
done
t0=$(date +%s%N)
on h1 scancel "$id"
job_wait "$id" 30
while [ -n "$(job_ranks "$id")" ] && [ $(($(date +%s%N) - t0)) -lt 30000000000 ]; do sleep 0.05; done
ms=$((($(date +%s%N) - t0) / 1000000))
cp "$WORK/cancelled.out" "$WORK/log" 2>/dev/null
grep 'brigade:' "$WORK/cancelled.out"
if [ $ms -lt 10000 ] && [ -z "$(job_ranks "$id")" ]
then pass "scancel: every rank ended in $((ms / 1000)).$((ms % 1000 / 100)) s (< 10 s), job $JOB_STATE"
else fail "scancel: after $ms ms the job is $JOB_STATE, ranks: $(job_ranks "$id" | wc -l)"; fi
expect "scancel: the job is CANCELLED" test "$JOB_STATE" = CANCELLED
saved=$(sed -n 's/.*stopped by SIGTERM; \([0-9]*\) of 1000 steps are saved.*--resume.*/\1/p' "$WORK/cancelled.out")
expect "scancel: rank 0 saved ${saved:-no} steps (more than the 400 of the last checkpoint) and says how to resume" \
    test "${saved:-0}" -gt 400
expect "scancel: no final output" test ! -e "$WORK/cancelled/latents.h5"
id=$(on -t 30 h1 sbatch --parsable --gpus-per-node=0 --time=5 --nodes=3 --ntasks-per-node=1 \
    --job-name=resumed --chdir="$WORK" --output="$WORK/resumed.out" "$REPO/launch/brigade.sbatch" \
    "${JOB[@]}" --resume 2>"$WORK/log")
job_wait "$id" "$LAUNCH_TIMEOUT"
cp "$WORK/resumed.out" "$WORK/log" 2>/dev/null
if [ "$JOB_STATE" = COMPLETED ]; then pass "resumed job: $(grep -m1 resuming "$WORK/resumed.out")"
else fail "resumed job: $JOB_STATE"; fi
expect "resumed on 3 nodes = uninterrupted on 1 rank" same_results "$WORK/cancelled" "$WORK/whole"
finish
