# serve_restart.sh: nothing accepted is lost. `brigade serve` on 2 ranks runs a long job (1000
# steps, a checkpoint every 100) and beside it (jobs in flight together) one of 400 steps and a
# short one; kill -9 of rank 1 mid-run, then (started again on the same --state, both long jobs
# resume from their checkpoints) kill -9 of rank 0 mid-run; started a third time, the long job
# resumes again and every job ends with the bits of `brigade run` of that job alone, the finished
# ones still downloadable. A job that keeps ending the server fails after
# --max-attempts instead of starting again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
mkdir -p "$WORK/inputs"
cp "$LTX/case_pipeline.safetensors" "$WORK/inputs/prompts.safetensors"
SERVER=(--model "$LTX" --state "$WORK/state" --inputs "$WORK/inputs" --checkpoint-every 100)
LONG='{"embeddings": "prompts.safetensors", "height": 128, "width": 192, "frames": 41, "steps": 1000, "seed": 5}'
short() { echo "{\"embeddings\": \"prompts.safetensors\", \"height\": 128, \"width\": 192, \"frames\": 17, \"steps\": 4, \"seed\": $1}"; }

# kill_rank R: kill -9 of the server's rank R (found by its Open MPI rank), then the launch ends.
kill_rank() {
    local pid
    for pid in $(pgrep -f "brigade serve .*$WORK/state"); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
            kill -9 "$pid"
        fi
    done
    wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=
}
# step_of ID: the job's steps done.
step_of() { call GET "/jobs/$1"; field step; }
# wait_step ID K: until the job has done K steps.
wait_step() {
    local end=$((SECONDS + 120))
    until [ "$(step_of "$1")" -ge "$2" ] 2>/dev/null || [ $SECONDS -ge $end ]; do sleep 0.1; done
}

start_server 2 "$WORK/serve1.log" "${SERVER[@]}" || fail "server up"
call POST /jobs -d "$(short 1)"
call POST /jobs -d "$LONG"
call POST /jobs -d "{\"embeddings\": \"prompts.safetensors\", \"height\": 128, \"width\": 192, \"frames\": 17, \"steps\": 400, \"seed\": 2}"
call POST /jobs -d "$(short 3)"
wait_job 1 done
wait_step 2 250
at=$(step_of 2)
kill_rank 1
expect "kill -9 of rank 1 at step $at of the long job: the server ended" gone "brigade serve .*$WORK/state"

start_server 2 "$WORK/serve2.log" "${SERVER[@]}" || fail "server up again"
expect "started again: the two jobs in flight are queued again" grep -q "2 job(s) a stopped server was running are queued again" "$WORK/serve2.log"
# (the second starts after the first: its line may come a moment later)
in_log() { local end=$((SECONDS + 30)); until grep -q "$1" "$2" || [ $SECONDS -ge $end ]; do sleep 0.1; done; grep -q "$1" "$2"; }
expect "the long job resumes from its checkpoint" in_log "job 2 resumes from its checkpoint" "$WORK/serve2.log"
expect "the 400-step job resumes from its checkpoint" in_log "job 3 resumes from its checkpoint" "$WORK/serve2.log"
call GET /jobs/1/files/latents.h5
expect "a finished job's files are still there" test "$CODE" = 200
wait_step 2 650
at=$(step_of 2)
kill_rank 0
expect "kill -9 of rank 0 at step $at: the server ended" gone "brigade serve .*$WORK/state"

start_server 2 "$WORK/serve3.log" "${SERVER[@]}" || fail "server up a third time"
for id in 2 3 4; do
    if wait_job $id done 180; then pass "job $id done"; else fail "job $id done ($STATE)"; fi
done
call GET /jobs/2
expect "the long job took 3 starts" test "$(field attempts)" = 3
call GET /jobs
expect "4 jobs, none lost or duplicated" python3 -c '
import json, sys; j = json.loads(sys.argv[1])["jobs"]
assert [x["id"] for x in j] == [1, 2, 3, 4] and all(x["state"] == "done" for x in j), j' "$BODY"
stop_server

mpi 1 run --model "$LTX" --embeddings "$WORK/inputs/prompts.safetensors" --height 128 --width 192 \
    --frames 41 --steps 1000 --seed 5 --out "$WORK/alone-long" || fail "the long job alone"
expect "the long job, killed twice = brigade run alone (bits)" "$TCOMPARE" --exact "$WORK/state/jobs/2/latents.h5:latents" "$WORK/alone-long/latents.h5:latents"
for seed in 1 2 3; do
    steps=4 && [ $seed = 2 ] && steps=400
    mpi 1 run --model "$LTX" --embeddings "$WORK/inputs/prompts.safetensors" --height 128 \
        --width 192 --frames 17 --steps $steps --seed $seed --out "$WORK/alone$seed" || fail "seed $seed alone"
done
expect "job 1 = brigade run alone" "$TCOMPARE" --exact "$WORK/state/jobs/1/latents.h5:latents" "$WORK/alone1/latents.h5:latents"
expect "job 3 = brigade run alone" "$TCOMPARE" --exact "$WORK/state/jobs/3/latents.h5:latents" "$WORK/alone2/latents.h5:latents"
expect "job 4 = brigade run alone" "$TCOMPARE" --exact "$WORK/state/jobs/4/latents.h5:latents" "$WORK/alone3/latents.h5:latents"

# A job that ends the server every time: after --max-attempts starts it fails; the queue goes on.
start_server 2 "$WORK/serve4.log" "${SERVER[@]}" --max-attempts 1 || fail "server up a fourth time"
call POST /jobs -d "$LONG"
call POST /jobs -d "$(short 1)"
wait_step 5 150
kill_rank 1
start_server 2 "$WORK/serve5.log" "${SERVER[@]}" --max-attempts 1 || fail "server up a fifth time"
wait_job 5 "failed|done" 60
expect "a job that ended the server --max-attempts times fails: $(field error | cut -c1-60)" test "$STATE" = failed -a -n "$(field error | grep 'ended the server')"
wait_job 6 done 60
expect "the job behind it runs" test "$STATE" = done
stop_server
finish
