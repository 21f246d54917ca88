#!/usr/bin/env python3
"""serve_load.py: C concurrent clients each submit J jobs to a `brigade serve`, one after another,
and wait for each to end (polling GET /jobs/ID). Prints one JSON object: every job's id, state
and latency (submit to end), the latency percentiles, the wall time and the jobs per hour.

  usage: serve_load.py URL CLIENTS JOBS_PER_CLIENT 'JOB_JSON' [TOKEN]
JOB_JSON may hold {client} and {job}, e.g. '{"embeddings": "p.h5", "seed": {job}}' (job counts
over all clients: client * JOBS_PER_CLIENT + j).
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request


def request(url, method="GET", body=None, token=None):
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def client(base, c, jobs, template, token, results):
    for j in range(jobs):
        n = c * jobs + j
        body = template.replace("{client}", str(c)).replace("{job}", str(n)).encode()
        t0 = time.monotonic()
        code, reply = request(base + "/jobs", "POST", body, token)
        if code != 201:
            results.append({"job": n, "id": None, "state": "refused %d: %s" % (code, reply), "latency": None})
            continue
        while True:
            _, job = request("%s/jobs/%d" % (base, reply["id"]), token=token)
            if job.get("state") in ("done", "failed", "cancelled"):
                break
            time.sleep(0.05)
        results.append({"job": n, "id": reply["id"], "state": job["state"],
                        "latency": time.monotonic() - t0, "error": job.get("error")})


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else None


def main():
    base, clients, jobs, template = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    token = sys.argv[5] if len(sys.argv) > 5 else None
    results = []
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(base, c, jobs, template, token, results))
               for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    lat = [r["latency"] for r in results if r["latency"] is not None]
    print(json.dumps({
        "clients": clients, "jobs": len(results), "wall_seconds": wall,
        "jobs_per_hour": len(lat) / wall * 3600 if wall > 0 else None,
        "latency_seconds": {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
                            "p99": percentile(lat, 99), "max": max(lat) if lat else None,
                            "mean": statistics.mean(lat) if lat else None},
        "results": sorted(results, key=lambda r: r["job"])}))


if __name__ == "__main__":
    main()
