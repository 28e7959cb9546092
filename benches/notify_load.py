#!/usr/bin/env python3
"""Posting while notifications cannot be delivered: does a dead webhook receiver or an
unreachable SMTP host slow down or fail the readers' posts?

Starts `replyguard serve` (release build; REPLYGUARD_BIN for another) twice per run on fresh
databases: once with no notifications, once with every event going to a webhook that accepts
connections and never answers (each delivery waits for the 5 s timeout) and to moderators'
e-mail through an SMTP port where nothing listens. Each posts N comments (half of them held, so
every kind of event is written) from C threads over the JSON API, and reports posts/s and the
latency p50 / p99 per post, side by side, medians of RUNS runs. After the loaded run it reads the
delivery log (its newest 100 events): each is still there, waiting for a retry or marked failed
(none lost, none "sent").

usage: python3 benches/notify_load.py        env: N=600 C=8 RUNS=3
needs: a release build (cargo build --release)."""
import json, os, re, signal, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("REPLYGUARD_BIN", os.path.join(ROOT, "target/release/replyguard"))
N = int(os.environ.get("N", "600"))
C = int(os.environ.get("C", "8"))
RUNS = int(os.environ.get("RUNS", "3"))
TOKEN = "notify-bench-token-0123456789"
ARTICLE = "alibaba-olympic-partner"
HELD = "nice post, visit my site for more, number {}"
PUBLISHED = "Which regions does the deal cover, and for how long? Question {} from a reader."


def request(base, path, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("content-type", "application/json")
    req.add_header("Authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def blackhole():
    """A webhook receiver that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(512)
    held = []

    def accept():
        while True:
            conn, _ = server.accept()
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/hook"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(db, extra):
    env = dict(os.environ, REPLYGUARD_ADMIN_TOKEN=TOKEN, REPLYGUARD_FLOOD_SECONDS="0",
               REPLYGUARD_RATE_LIMIT="0", REPLYGUARD_LOG="error")
    proc = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--db", db,
                             "--model", os.path.join(ROOT, "models/default.rgm"), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://([\d.]+:\d+)/", line)
    if not m:
        proc.kill()
        sys.exit(f"unexpected first line from serve: {line!r}")
    return proc, "http://" + m.group(1)


def post_all(base, tag):
    latencies, lock = [], threading.Lock()
    todo = list(range(N))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            text = (HELD if i % 2 else PUBLISHED).format(f"{tag}-{i}")
            started = time.perf_counter()
            request(base, f"/api/v1/articles/{ARTICLE}/comments",
                    {"comment_content": text, "comment_author": f"Reader {i}",
                     "comment_author_email": f"reader{i}@example.org"})
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(C)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return N / (time.perf_counter() - started), latencies


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run_once(workdir, k):
    rows = {}
    for mode in ("none", "dead"):
        db = os.path.join(workdir, f"{mode}-{k}.db")
        extra = []
        if mode == "dead":
            extra = ["--smtp-url", f"smtp://127.0.0.1:{closed_port()}", "--smtp-from", "rg@example.org"]
        proc, base = start(db, extra)
        try:
            if mode == "dead":
                request(base, "/api/v1/admin/notifications",
                        {"webhook_url": blackhole(), "webhook_secret": "a-long-bench-secret-123",
                         "email_to": ["moderator@example.org"],
                         "events": ["comment.held", "comment.published", "comment.rejected",
                                    "comment.moderated"]}, method="PUT")
            rate, lat = post_all(base, f"{mode}{k}")
            undelivered = None
            if mode == "dead":
                log = request(base, "/api/v1/admin/notifications/log")
                states = [d["state"] for d in log["deliveries"]]
                undelivered = (len(states), states.count("sent"))
            rows[mode] = (rate, pct(lat, 50), pct(lat, 99), undelivered)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
    return rows


def main():
    with tempfile.TemporaryDirectory() as workdir:
        runs = [run_once(workdir, k) for k in range(RUNS)]
    for r in runs:
        (ra, a50, a99, _), (rb, b50, b99, (events, sent)) = r["none"], r["dead"]
        print(f"run: no notifications {ra:,.0f} posts/s p50 {a50*1000:.1f} ms p99 {a99*1000:.1f} ms | "
              f"dead receiver + SMTP {rb:,.0f} posts/s p50 {b50*1000:.1f} ms p99 {b99*1000:.1f} ms; "
              f"newest {events} events kept for retry, {sent} of them marked sent")
    med = lambda mode, i: statistics.median(r[mode][i] for r in runs)
    print(f"median of {RUNS} ({N} posts, {C} threads, {os.cpu_count()} cores): "
          f"posts/s {med('none', 0):,.0f} -> {med('dead', 0):,.0f} "
          f"({med('dead', 0) / med('none', 0):.2f}x), p99 {med('none', 2)*1000:.1f} -> "
          f"{med('dead', 2)*1000:.1f} ms")


if __name__ == "__main__":
    main()
