#!/usr/bin/env python3
"""Learning while serving, under load: how long a moderation decision takes to reach the serving
model, and what learning costs the verdicts served meanwhile.

Starts `replyguard serve` (release build; REPLYGUARD_BIN for another) on a free port with a fresh
database, posts comments the shipped model holds or rejects, then approves them through the admin
API at RATE decisions/s for SECS seconds while wrk (64 connections) drives POST /api/v1/classify.
A poller reads /healthz every 20 ms; a decision's lag is the time from its 200 until the model
reports that many examples learned. Prints the lag's p50 / p99 / max, the decisions/s reached, and
classify req/s without decisions (the same wrk run first) and with them.

usage: python3 benches/learning_load.py        env: RATE=100 SECS=10 RUNS=3
needs: wrk (apt-get install -y wrk), a release build (cargo build --release)."""
import json, os, re, signal, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("REPLYGUARD_BIN", os.path.join(ROOT, "target/release/replyguard"))
RATE = float(os.environ.get("RATE", "100"))
SECS = float(os.environ.get("SECS", "10"))
RUNS = int(os.environ.get("RUNS", "3"))
TOKEN = "learning-bench-token"
ARTICLE = "alibaba-olympic-partner"


def request(base, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST" if data is not None or token else "GET")
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def start(db):
    env = dict(os.environ, REPLYGUARD_ADMIN_TOKEN=TOKEN, REPLYGUARD_FLOOD_SECONDS="0",
               REPLYGUARD_RATE_LIMIT="0", REPLYGUARD_LOG="warn",
               # wrk's 64 connections and the script's all come from 127.0.0.1.
               REPLYGUARD_MAX_CONNECTIONS_PER_IP="1024")
    proc = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--db", db,
                             "--model", os.path.join(ROOT, "models/default.rgm")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://([\d.]+:\d+)/", line)
    if not m:
        proc.kill()
        sys.exit(f"unexpected first line from serve: {line!r}")
    return proc, "http://" + m.group(1)


def wrk(base, workdir, secs):
    lua = os.path.join(workdir, "classify.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                'wrk.body = \'{"comment_content":"Thanks for the write-up, the part about the data '
                'centres was new to me.","comment_author":"Reader"}\'\n')
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{int(secs)}s", "-s", lua, base + "/api/v1/classify"],
                         capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else float("nan")


def run_once(workdir):
    db = os.path.join(workdir, f"rg-{time.time_ns()}.db")
    proc, base = start(db)
    try:
        n = int(RATE * SECS) + 50
        ids = []
        for i in range(n * 2):
            if len(ids) >= n:
                break
            c = request(base, f"/api/v1/articles/{ARTICLE}/comments",
                        {"comment_content": f"Really useful post number {i}, bookmarked your blog!",
                         "comment_author": f"reader{i}", "comment_author_email": f"r{i}@example.org"})
            if c["status"] != "published":
                ids.append(c["id"])
        baseline = wrk(base, workdir, SECS)

        learned = []            # (time, examples learned)
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                h = request(base, "/healthz")
                learned.append((time.perf_counter(), h["model"]["learned"]["examples"]))
                time.sleep(0.02)

        decided = []            # time each approval was acknowledged

        def decide():
            start_t = time.perf_counter()
            for k, cid in enumerate(ids[: int(RATE * SECS)]):
                due = start_t + k / RATE
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                request(base, f"/api/v1/admin/comments/{cid}/approve", token=TOKEN)
                decided.append(time.perf_counter())

        threads = [threading.Thread(target=poll), threading.Thread(target=decide)]
        for t in threads:
            t.start()
        during = wrk(base, workdir, SECS)
        threads[1].join()
        time.sleep(1.5)
        stop.set()
        threads[0].join()
        lags = []
        for k, t in enumerate(decided, start=1):
            # The first poll, after the decision, that saw at least k examples learned.
            seen = next((lt for lt, n in learned if n >= k and lt >= t), None)
            if seen is not None:
                lags.append(seen - t)
        span = decided[-1] - decided[0] if len(decided) > 1 else float("nan")
        return baseline, during, lags, (len(decided) - 1) / span, len(decided)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    with tempfile.TemporaryDirectory() as workdir:
        rows = [run_once(workdir) for _ in range(RUNS)]
    for base, during, lags, rate, n in rows:
        print(f"run: classify {base:,.0f} req/s alone, {during:,.0f} req/s with decisions "
              f"({during / base - 1:+.1%}); {n} decisions at {rate:.0f}/s; lag p50 {pct(lags, 50)*1000:.0f} ms "
              f"p99 {pct(lags, 99)*1000:.0f} ms max {max(lags)*1000:.0f} ms")
    med = lambda i: statistics.median(r[i] for r in rows)
    p99s = [pct(r[2], 99) for r in rows]
    print(f"median of {RUNS}: classify {med(0):,.0f} -> {med(1):,.0f} req/s "
          f"({med(1) / med(0) - 1:+.1%}); decision lag p99 {statistics.median(p99s)*1000:.0f} ms "
          f"at {med(3):.0f} decisions/s; {os.cpu_count()} cores, wrk on the same machine")


if __name__ == "__main__":
    main()
