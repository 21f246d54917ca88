# serve_api.sh: `brigade serve` on 2 ranks, every route of the API with curl, on loopback: jobs
# as JSON naming a file under --inputs and as a form with uploads; each job's latents equal to
# `brigade run` of that job alone (bits); progress, files, cancel (queued and running), settings
# the model cannot take refused at once, a job that fails while the server goes on, /health, /metrics, the page; and every refusal: malformed
# JSON, unknown or bad settings, '../' in a name, an oversize upload, unknown jobs and routes,
# the bearer token (missing, wrong), listening beyond loopback without a token.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
mkdir -p "$WORK/inputs"
cp "$LTX/case_pipeline.safetensors" "$WORK/inputs/prompts.safetensors"
echo "not a tensor file" >"$WORK/inputs/junk.h5"
SIZE=(--height 128 --width 192 --frames 17 --steps 4)
JOB='"width": 192, "frames": 17'

# One job in flight at a time here, so that a job waits in the queue (and can be cancelled there);
# jobs in flight together: serve_together.sh, serve_load.sh.
if start_server 2 "$WORK/serve.log" --model "$LTX" --state "$WORK/state" --inputs "$WORK/inputs" \
    --max-upload 4M --max-jobs 1; then pass "server up on port $PORT"; else fail "server up"; cat "$WORK/serve.log"; finish; exit; fi
call GET /health
expect "GET /health: 200, 2 ranks" test "$CODE" = 200 -a "$(field ranks)" = 2

# A job by name, one by upload; each against brigade run alone.
call POST /jobs -d "{\"embeddings\": \"prompts.safetensors\", $JOB, \"height\": 128, \"steps\": 4, \"seed\": 3}"
expect "POST /jobs (JSON): 201 and an id" test "$CODE" = 201 -a "$(field id)" = 1
call POST /jobs -F "embeddings=@$WORK/inputs/prompts.safetensors" -F steps=4 -F height=128 \
    -F width=192 -F frames=17 -F seed=4
expect "POST /jobs (form upload): 201" test "$CODE" = 201 -a "$(field id)" = 2
for id in 1 2; do
    if wait_job $id done; then pass "job $id done"; else fail "job $id done (state $STATE: $BODY)"; fi
done
for seed in 3 4; do
    mpi 1 run --model "$LTX" --embeddings "$WORK/inputs/prompts.safetensors" "${SIZE[@]}" \
        --seed $seed --out "$WORK/alone$seed" || fail "brigade run alone, seed $seed"
done
expect "job 1 = brigade run alone (bits)" "$TCOMPARE" --exact "$WORK/state/jobs/1/latents.h5:latents" "$WORK/alone3/latents.h5:latents"
expect "job 2 = brigade run alone (bits)" "$TCOMPARE" --exact "$WORK/state/jobs/2/latents.h5:latents" "$WORK/alone4/latents.h5:latents"
expect "job 2's frames = brigade run alone" diff -r "$WORK/state/jobs/2/job-000" "$WORK/alone4/job-000"
expect "job 2's upload is removed once it ended" test -z "$(ls "$WORK/state/uploads")"
call GET /jobs/1
expect "GET /jobs/1: step 4 of 4, seconds per step, cost" python3 -c '
import json, sys; j = json.loads(sys.argv[1])
assert j["step"] == 4 and j["steps"] == 4 and j["seconds_per_step"] > 0 and j["cost"]["seconds"] > 0, j
assert "run.json" in j["files"] and "job-000/frame-0000.png" in j["files"], j["files"]' "$BODY"
call GET /jobs
expect "GET /jobs: both jobs, done" python3 -c '
import json, sys; j = json.loads(sys.argv[1])["jobs"]
assert [x["id"] for x in j] == [1, 2] and all(x["state"] == "done" for x in j), j' "$BODY"
call GET /jobs/1/files
expect "GET /jobs/1/files lists the outputs" python3 -c '
import json, sys; assert "latents.h5" in json.loads(sys.argv[1])["files"]' "$BODY"
curl -s -o "$WORK/frame.png" "http://127.0.0.1:$PORT/jobs/1/files/job-000/frame-0000.png"
expect "GET a frame: the PNG itself" cmp "$WORK/frame.png" "$WORK/state/jobs/1/job-000/frame-0000.png"
call GET /jobs/1/files/run.json
expect "GET run.json: JSON" test "$CODE" = 200 -a -n "$(field settings)"

# What brigade run checks against the model before any work is refused at once (400, its line);
# what only the run finds (the embeddings file's contents) fails the job; the next job runs.
call POST /jobs -d "{\"embeddings\": \"prompts.safetensors\", $JOB, \"height\": 100, \"steps\": 4}"
expect "a size the VAE cannot take: 400 at once, naming --height" test "$CODE" = 400 -a -n "$(field error | grep -- '--height 100')"
call POST /jobs -d "{\"embeddings\": \"junk.h5\", \"steps\": 2}"
wait_job 3 "done|failed"
expect "a junk embeddings file: job failed naming the file" test "$STATE" = failed -a -n "$(field error | grep junk.h5)"

# Cancel: a long job (1000 steps) once running, and a job queued behind it.
call POST /jobs -d "{\"embeddings\": \"prompts.safetensors\", $JOB, \"height\": 128, \"steps\": 1000}"
call POST /jobs -d "{\"embeddings\": \"prompts.safetensors\", $JOB, \"height\": 128, \"steps\": 4}"
wait_job 4 running
call DELETE /jobs/5
expect "DELETE a queued job: 200 cancelled" test "$CODE" = 200 -a "$(field state)" = cancelled
sleep 0.5
call DELETE /jobs/4
expect "DELETE the running job: 202 cancelling" test "$CODE" = 202 -a "$(field state)" = cancelling
wait_job 4 "cancelled|done|failed" 60
call GET /jobs/4
expect "the running job stopped early: cancelled at step $(field step) of 1000" test "$STATE" = cancelled -a "$(field step)" -lt 1000
call DELETE /jobs/4
expect "DELETE a cancelled job: 409" test "$CODE" = 409
call POST /jobs -d "{\"embeddings\": \"prompts.safetensors\", $JOB, \"height\": 128, \"steps\": 4, \"seed\": 3}"
wait_job 6 done
expect "after cancels the server goes on: job 6 = job 1" "$TCOMPARE" --exact "$WORK/state/jobs/6/latents.h5:latents" "$WORK/state/jobs/1/latents.h5:latents"

# Refusals: each a 4xx with one line of JSON, nothing queued.
refuse() { # CODE WHAT METHOD PATH [curl args]
    local want=$1 what=$2
    shift 2
    call "$@"
    if [ "$CODE" = "$want" ] && python3 -c 'import json,sys; e=json.loads(sys.argv[1])["error"]; assert e and "\n" not in e' "$BODY"; then
        pass "$what: $CODE $(field error | cut -c1-90)"
    else fail "$what: want $want, got $CODE $BODY"; fi
}
refuse 400 "a setting given twice" POST /jobs -d '{"embeddings": "prompts.safetensors", "steps": 2, "steps": 3}'
refuse 400 "malformed JSON" POST /jobs -d '{"embeddings": "prompts.safetensors",'
refuse 400 "empty body" POST /jobs
refuse 400 "not an object" POST /jobs -d '[1, 2]'
refuse 400 "unknown setting" POST /jobs -d '{"embeddings": "prompts.safetensors", "out": "/tmp/x"}'
refuse 400 "bad number" POST /jobs -d '{"embeddings": "prompts.safetensors", "steps": "many"}'
refuse 400 "steps 0" POST /jobs -d '{"embeddings": "prompts.safetensors", "steps": 0}'
refuse 400 "guidance out of range" POST /jobs -d '{"embeddings": "prompts.safetensors", "guidance": 500}'
refuse 400 "frames the VAE cannot take" POST /jobs -d '{"embeddings": "prompts.safetensors", "frames": 10}'
refuse 400 "a setting as an option word" POST /jobs -d '{"embeddings": "prompts.safetensors", "recipe": "--resume"}'
refuse 400 "no embeddings" POST /jobs -d '{"steps": 2}'
refuse 400 "../ in a file name" POST /jobs -d '{"embeddings": "../inputs/prompts.safetensors"}'
refuse 400 "an absolute path" POST /jobs -d '{"embeddings": "/etc/passwd"}'
refuse 400 "a missing input" POST /jobs -d '{"embeddings": "nothing.h5"}'
refuse 400 "an upload under another name" POST /jobs -F "weights=@$WORK/inputs/junk.h5"
head -c 5000000 /dev/zero >"$WORK/big.bin"
refuse 413 "an oversize upload (5 MB, --max-upload 4M)" POST /jobs -F "embeddings=@$WORK/big.bin"
expect "the refused upload left no file" test -z "$(ls "$WORK/state/uploads")"
refuse 404 "unknown job" GET /jobs/99
refuse 404 "a job id that is no number" GET /jobs/abc
refuse 404 "DELETE an unknown job" DELETE /jobs/99
refuse 404 "../ in a file's name" GET /jobs/1/files/../../queue.db
refuse 404 "%2e%2e in a file's name" GET /jobs/1/files/%2e%2e/2/run.json
refuse 404 "a missing file" GET /jobs/1/files/nothing.png
refuse 404 "an unknown route" GET /nothing
refuse 405 "PUT /jobs" PUT /jobs
call GET /jobs
expect "nothing refused was queued (6 jobs)" python3 -c 'import json,sys; assert len(json.loads(sys.argv[1])["jobs"]) == 6' "$BODY"

call GET /metrics
expect "GET /metrics: Prometheus text" grep -q '^brigade_jobs{state="done"} 3$' <<<"$BODY"
expect "GET /metrics: busy fraction per rank" grep -q '^brigade_rank_busy_fraction{rank="1"} 0\.[0-9]' <<<"$BODY"
call GET /
expect "GET /: the page" grep -q "<title>brigade serve</title>" <<<"$BODY"
# (Its line "serve: stopped by SIGTERM" may be lost: mpirun stops forwarding output as it ends.)
t0=$SECONDS
stop_server
expect "SIGTERM: every rank ended within 10 s" gone "brigade serve .*$WORK/state "
echo "     (in $((SECONDS - t0)) s)"

# The token: required beyond loopback; then on every route but /health.
mpi 1 serve --model "$LTX" --state "$WORK/state2" --listen 0.0.0.0:0
expect "listening beyond loopback without a token: refused, one line" grep -q "needs --token-file" "$WORK/log"
printf 'short\n' >"$WORK/short.token"
mpi 1 serve --model "$LTX" --state "$WORK/state2" --token-file "$WORK/short.token"
expect "a token under 16 characters: refused" grep -q "at least 16 characters" "$WORK/log"
printf 'a-token-of-32-characters-0123456\n' >"$WORK/token"
start_server 1 "$WORK/serve2.log" --model "$LTX" --state "$WORK/state2" --token-file "$WORK/token"
refuse 401 "no token" GET /jobs
refuse 401 "a wrong token" GET /jobs -H "Authorization: Bearer a-token-of-32-characters-0123457"
call GET /health
expect "/health needs no token" test "$CODE" = 200
call GET /jobs -H "Authorization: Bearer a-token-of-32-characters-0123456"
expect "the right token: 200" test "$CODE" = 200
stop_server
finish
