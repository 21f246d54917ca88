# serve_page.sh: `brigade serve`'s web page in headless Chromium, driven over the DevTools
# Protocol by serve_page.py: a job submitted through the form, its progress bar, "done", its frames
# shown; then that job's latents equal to `brigade run` alone (bits). Twice: an embeddings file
# uploaded (LTX-Video 0.9), and a prompt typed as text (LTX-2.3 with its text encoder). Needs the packages chromium
# and python3-websocket; skipped (77) without them.
# The python3 that has websocket-client: Debian's, also where another python3 comes first in PATH.
PY=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import websocket' 2>/dev/null; then PY=$p; break; fi
done
if ! command -v chromium >/dev/null; then echo "skipped: no chromium (apt-get install chromium)"; exit 77; fi
if [ -z "$PY" ]; then echo "skipped: no python3 websocket module (apt-get install python3-websocket)"; exit 77; fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

CHROME_PID=
# stop_chrome: ends Chromium and its helpers (its own process group, made by setsid).
stop_chrome() {
    [ -n "$CHROME_PID" ] || return 0
    kill -TERM -- -"$CHROME_PID" 2>/dev/null
    wait "$CHROME_PID" 2>/dev/null
    CHROME_PID=
}
# serve_lib.sh's trap, with Chromium ended first (it writes under $WORK/chrome).
trap 'stop_chrome; stop_server; rm -rf "$WORK"' EXIT

if start_server 1 "$WORK/serve.log" --model "$LTX" --state "$WORK/state"; then pass "server up on port $PORT"
else fail "server up"; cat "$WORK/serve.log"; finish; exit; fi

# Port 0: Chromium picks a free port and writes it on DevToolsActivePort's first line (no race
# with another test for a port chosen beforehand).
setsid chromium --headless=new --no-sandbox --disable-gpu --remote-debugging-port=0 \
    --user-data-dir="$WORK/chrome" about:blank >"$WORK/chrome.log" 2>&1 &
CHROME_PID=$!
CDP_PORT=
end=$((SECONDS + 60))
until [ $SECONDS -ge $end ] || ! kill -0 "$CHROME_PID" 2>/dev/null; do
    CDP_PORT=$(head -1 "$WORK/chrome/DevToolsActivePort" 2>/dev/null)
    [ -n "$CDP_PORT" ] && curl -sf -m 5 -o /dev/null "http://127.0.0.1:$CDP_PORT/json/version" && break
    CDP_PORT=
    sleep 0.2
done
if [ -n "$CDP_PORT" ]; then pass "chromium up, DevTools on port $CDP_PORT"
else fail "chromium up"; tail -20 "$WORK/chrome.log"; finish; exit; fi

# drive KIND VALUE SETTINGS...: serve_page.py on the server at $PORT. The driver prints its own
# ok/FAIL lines; they count here. A crash without one is a failure too.
drive() {
    timeout -k 5 180 "$PY" "$(dirname "$0")/serve_page.py" "$CDP_PORT" "$PORT" "$@" >"$WORK/page.out" 2>&1
    local rc=$?
    cat "$WORK/page.out"
    PASSED=$((PASSED + $(grep -c '^ok ' "$WORK/page.out")))
    FAILED=$((FAILED + $(grep -c '^FAIL' "$WORK/page.out")))
    if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$WORK/page.out"; then
        FAILED=$((FAILED + 1)); echo "FAIL serve_page.py exited $rc"; tail -20 "$WORK/serve.log"
    fi
}
drive embeddings "$LTX/case_pipeline.safetensors" steps=4 height=128 width=192 frames=17
stop_server

# The job from the page (seed 0, the field's default) against brigade run alone.
mpi 1 run --model "$LTX" --embeddings "$LTX/case_pipeline.safetensors" --height 128 --width 192 \
    --frames 17 --steps 4 --seed 0 --out "$WORK/alone" || fail "brigade run alone"
expect "the page's job 1 = brigade run alone (bits)" "$TCOMPARE" --exact \
    "$WORK/state/jobs/1/latents.h5:latents" "$WORK/alone/latents.h5:latents"

# A prompt typed as text, on the tiny LTX-2.3 pipeline with the tiny Gemma 3 (tests/data): the
# server's text encoder makes the embeddings; the job = brigade run --prompt alone. (The tiny
# transformer has 2 blocks: STG on block 1, a setting the page has no field for.)
PIPE=$WORK/ltx2
ltx2_pipeline "$PIPE"
ln -s "$DATA/gemma-tiny/text_encoder" "$PIPE/text_encoder"
ln -s "$DATA/gemma-tiny/tokenizer" "$PIPE/tokenizer"
TEXT="A red fox running through fresh snow at dawn"
if start_server 1 "$WORK/serve.log" --model "$PIPE" --state "$WORK/state2"; then
    drive prompt "$TEXT" negative_prompt=blurry steps=2 height=128 width=192 frames=17 stg_blocks=1
    stop_server
    mpi 1 run --model "$PIPE" --prompt "$TEXT" --negative-prompt blurry --height 128 --width 192 \
        --frames 17 --steps 2 --seed 0 --stg-blocks 1 --out "$WORK/alone2" || fail "brigade run --prompt alone"
    expect "the page's prompt job = brigade run --prompt alone (bits)" "$TCOMPARE" --exact \
        "$WORK/state2/jobs/1/latents.h5:latents" "$WORK/alone2/latents.h5:latents"
else fail "server up on the LTX-2.3 pipeline"; tail -20 "$WORK/serve.log"; fi
stop_chrome
finish
