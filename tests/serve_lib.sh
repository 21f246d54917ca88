# serve_lib.sh: shared by the tests of `brigade serve` (after lib.sh): a server in the background
# on a free loopback port, curl calls that keep the status code, a job's wait.
SERVE_PID=
PORT=
# start_server NP LOG ARGS...: brigade serve on NP ranks; PORT is where it listens.
start_server() {
    local np=$1 log=$2
    shift 2
    # shellcheck disable=SC2086
    setsid timeout -k 5 "${SERVE_TIMEOUT:-240}" "$MPIRUN" --allow-run-as-root --oversubscribe \
        -np "$np" "${MPI_ENV[@]}" "$BRIGADE" serve $BRIGADE_ARGS --listen 127.0.0.1:0 "$@" \
        >"$log" 2>&1 &
    SERVE_PID=$!
    local end=$((SECONDS + 60))
    PORT=
    until [ -n "$PORT" ] || [ $SECONDS -ge $end ] || ! kill -0 "$SERVE_PID" 2>/dev/null; do
        sleep 0.1
        PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
    done
    [ -n "$PORT" ]
}
# stop_server: SIGTERM to the launch (timeout passes it to mpirun, mpirun to the ranks; one
# signal: mpirun ends the ranks at once on a second); waits for it.
stop_server() {
    [ -n "$SERVE_PID" ] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# call METHOD PATH [curl args...]: CODE and BODY of the reply.
call() {
    local method=$1 path=$2
    shift 2
    BODY=$(curl -s -m 30 -o - -w '\n%{http_code}' -X "$method" "$@" "http://127.0.0.1:$PORT$path")
    CODE=${BODY##*$'\n'}
    BODY=${BODY%$'\n'*}
}
# field NAME: a top-level field of BODY's JSON.
field() {
    python3 -c '
import json, sys
try: v = json.loads(sys.argv[1]).get(sys.argv[2])
except (ValueError, AttributeError): v = None
print("" if v is None else v)' "$BODY" "$1"
}
# wait_job ID STATES [SECONDS]: polls until the job's state is one of STATES (a|b); STATE is it.
wait_job() {
    local id=$1 want=$2 end=$((SECONDS + ${3:-120}))
    STATE=
    while [ $SECONDS -lt $end ]; do
        call GET "/jobs/$id" "${AUTH[@]}"
        STATE=$(field state)
        [[ "$STATE" =~ ^($want)$ ]] && return 0
        sleep 0.1
    done
    return 1
}
AUTH=()
# gone PATTERN [SECONDS]: no process matches PATTERN within SECONDS (10): a launcher may return
# while its ranks still exit (a sanitizer's leak check, a rank lingering after a signal).
gone() {
    local end=$((SECONDS + ${2:-10}))
    while pgrep -f "$1" >/dev/null; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}
