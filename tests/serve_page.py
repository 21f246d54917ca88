# serve_page.py CDP_PORT SERVE_PORT (embeddings FILE | prompt TEXT) [NAME=VALUE...]: drives brigade
# serve's page in a running headless Chromium over the DevTools Protocol: submits a job through the
# form (an embeddings file uploaded, or a prompt typed as text; the settings NAME=VALUE in their
# fields), watches its row reach "done" with its frames shown. Prints ok/FAIL lines; exits 1 on
# any failure.
import json
import os
import re
import sys
import time
import urllib.request

import websocket  # Debian's python3-websocket (websocket-client)

cdp_port, serve_port, kind, given = sys.argv[1:5]
settings = [a.split("=", 1) for a in sys.argv[5:]]
failed = False


def ok(what):
    print("ok   " + what, flush=True)


def fail(what):
    global failed
    failed = True
    print("FAIL " + what, flush=True)


class Page:
    """One tab: a command at a time, the reply matched by id; events (none enabled) skipped."""

    def __init__(self):
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{cdp_port}/json/list", timeout=10))
        url = next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
        # No Origin header: Chromium refuses DevTools websockets from origins it was not told of.
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.last = 0

    def call(self, method, **params):
        self.last += 1
        self.ws.send(json.dumps({"id": self.last, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.last:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def poll(self, expr, done, seconds):
        """Evaluates expr every 0.2 s until done(value) or the deadline; the last value."""
        end = time.monotonic() + seconds
        while True:
            v = self.js(expr)
            if done(v) or time.monotonic() > end:
                return v
            time.sleep(0.2)


page = Page()
url = f"http://127.0.0.1:{serve_port}/"
page.call("Page.navigate", url=url)
# Page.navigate returns before the load: wait for the new document, not about:blank's.
page.poll(f"location.href === {json.dumps(url)} && document.readyState", lambda v: v == "complete", 30)
title = page.js("document.title")
(ok if title == "brigade serve" else fail)(f'page loaded: title "{title}"')

if kind == "embeddings":
    # A file input can only be set through DOM.setFileInputFiles (a script may not name a file).
    root = page.call("DOM.getDocument")["root"]["nodeId"]
    node = page.call("DOM.querySelector", nodeId=root, selector="#embeddings")["nodeId"]
    page.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(given)])
else:
    page.js(f"document.getElementById('prompt').value = {json.dumps(given)}")
for name, value in settings:
    # A setting the page has no field for goes in as a hidden one, as a form of the user's would.
    page.js(f"""(() => {{
  const form = document.getElementById('submit');
  let field = form.querySelector('[name={name}]');
  if (!field) {{ field = document.createElement('input'); field.type = 'hidden'; field.name = {json.dumps(name)}; form.append(field); }}
  field.value = {json.dumps(value)};
}})()""")
page.js("document.querySelector('#submit button[type=submit]').click()")
said = page.poll("document.getElementById('submitted').textContent", bool, 30)
m = re.fullmatch(r"job (\d+) queued", said or "")
if not m:
    fail(f'job submitted through the form: said "{said}"')
    sys.exit(1)
job = m.group(1)
ok(f'job submitted through the form: "{said}"')

# The job's row (id job-N; columns job, state, progress, ETA, outputs). The page rebuilds a row
# when its state or step changes, so each poll looks the row up afresh.
ROW = """(() => {
  const row = document.getElementById("job-%s");
  if (!row) return null;
  const imgs = [...row.querySelectorAll("img.frame")];
  const bar = row.querySelector("progress");
  return {state: row.cells[1].textContent, bar: bar ? bar.value + "/" + bar.max : null,
          imgs: imgs.length, shown: imgs.filter(i => i.complete && i.naturalWidth > 0).length};
})()""" % job
bars = {}  # the bar values seen, in order (a dict keeps it)


def finished(r):
    if r and r["bar"]:
        bars[r["bar"]] = None
    # Done with every frame decoded, or ended otherwise: nothing more to wait for.
    return r is not None and (r["state"] != "done" and not re.match(r"queued|running", r["state"])
                              or r["state"] == "done" and r["imgs"] > 0 and r["shown"] == r["imgs"])


row = page.poll(ROW, finished, 120)
if bars:
    ok(f"progress bar seen ({', '.join(list(bars)[:6])})")
else:
    fail("progress bar seen: none in the row")
state = row["state"] if row else "no row"
(ok if state == "done" else fail)(f"job {job} done: state \"{state}\"")
shown = row["shown"] if row else 0
(ok if shown > 0 else fail)(f"frames shown: {shown} of {row['imgs'] if row else 0} images decoded")
sys.exit(1 if failed else 0)
