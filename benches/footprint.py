#!/usr/bin/env python3
"""Server footprint: start-up time to the first answered request, and resident memory with the
default model after 10,000 stored comments (posted through the JSON API) and 200 page views.
Starts `replyguard serve` (release build) with a fresh database in a temporary directory and stops it.

usage: cargo build --release && python3 benches/footprint.py [comments=10000]
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "replyguard")
SLUG = "alibaba-olympic-partner"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db, port):
    t0 = time.perf_counter()
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--db", db,
                             "--model", os.path.join(ROOT, "models", "default.rgm"),
                             "--flood-seconds", "0", "--rate-limit", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read()
            return proc, (time.perf_counter() - t0) * 1000
        except OSError:
            time.sleep(0.001)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    work = tempfile.mkdtemp(prefix="rg-footprint-")
    db, port = os.path.join(work, "rg.db"), free_port()
    proc, ms = start(db, port)
    print(f"start-up to first answered request (empty database): {ms:.1f} ms")
    base = f"http://127.0.0.1:{port}"
    for i in range(n):
        body = json.dumps({"comment_content": f"Comment {i} on the sponsorship and the cloud deal.",
                           "comment_author": f"Reader {i}", "comment_author_email": f"r{i}@example.org"}).encode()
        req = urllib.request.Request(f"{base}/api/v1/articles/{SLUG}/comments", data=body,
                                     headers={"content-type": "application/json"})
        urllib.request.urlopen(req).read()
    for _ in range(200):
        urllib.request.urlopen(f"{base}/articles/{SLUG}").read()
    rss = next(l for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmRSS")).split()[1]
    print(f"resident memory after {n} comments and 200 page views: {int(rss) / 1024:.1f} MiB")
    proc.terminate(); proc.wait()
    proc, ms = start(db, port)
    print(f"restart with {n} comments, to first answered request: {ms:.1f} ms")
    proc.terminate(); proc.wait()


if __name__ == "__main__":
    main()
