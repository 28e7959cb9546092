#!/usr/bin/env python3
"""Comment pages at depth: N published comments (default 1,000,000) on one article, in a SQLite
file and in a private PostgreSQL cluster (initdb into a temporary directory, as the tests do).
For each backend: `serve` start-up to the first answered request, random comment pages reached
by their keyset links (`?cpage=K&after=ID`, cache misses: every cursor is new) and by page number
alone (`?cpage=K`, which skips rows from the nearer end), p50/p99 over REQUESTS sequential
requests on one keep-alive connection once the start-up work in the background has finished
(how long that took is printed), and the server's resident memory after the page views and
again after a reader's post has made it read every stored comment's keys into memory (the
duplicate and reputation checks' index).

usage: python3 benches/deep_pages.py [N] [REQUESTS]      (release build; needs Debian's postgresql)
       REPLYGUARD_BIN=path/to/replyguard python3 benches/deep_pages.py   (another build, for A/B runs)
"""

import glob
import http.client
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 500
SLUG = "alibaba-olympic-partner"
PER_PAGE = 100
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("REPLYGUARD_BIN", os.path.join(ROOT, "target", "release", "replyguard"))
PGBIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
ROW = ("'{slug}', 'Reader ' || i, 'r' || i || '@example.org', "
       "'Comment number ' || i || ' about the cloud contract with the IOC.', "
       "'published', 'published', 0.01, '[]', 'bench', 'api', '2026-12-01T00:00:00Z'")
COLUMNS = ("article, author, author_email, content, status, verdict, spam_probability, clues, "
           "model_version, source, created_at")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(db):
    """Starts `serve`; returns (process, base URL, seconds from start to the first answer)."""
    started = time.perf_counter()
    proc = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--db", db,
                             "--flood-seconds", "0", "--rate-limit", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    base = line.strip().removeprefix("replyguard listening on ").rstrip("/")
    host, port = base.removeprefix("http://").split(":")
    while True:
        try:
            conn = http.client.HTTPConnection(host, int(port))
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.001)
    return proc, (host, int(port)), time.perf_counter() - started


def rss_mib(proc):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(addr, paths):
    conn = http.client.HTTPConnection(*addr)
    times = []
    for path in paths:
        t = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status == 200 and b"Comment number" in body, (path, resp.status)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99) - 1]


def post(addr):
    conn = http.client.HTTPConnection(*addr)
    body = ('{"comment_content": "A new reader\'s question %d about the contract?", '
            '"comment_author": "New Reader", "comment_author_email": "new%d@reader.example"}'
            % (time.time_ns(), time.time_ns()))
    conn.request("POST", f"/api/v1/articles/{SLUG}/comments", body,
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status < 500, resp.status


def cpu_seconds(proc):
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(proc, limit=120.0):
    """Waits until the server's start-up work in the background (the integrity check, the
    key index's fill after a post, a first start's implicit-ham backlog) is done: under 5% of a core
    for half a second. Returns how long that took."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = cpu_seconds(proc)
        time.sleep(0.5)
        if cpu_seconds(proc) - before < 0.025:
            break
    return time.perf_counter() - started


def measure(name, db, max_id):
    proc, addr, startup = serve(db)
    background = settle(proc)
    rng = random.Random(7)
    pages = max(1, N // PER_PAGE)
    by_cursor = [f"/articles/{SLUG}?cpage={rng.randrange(2, pages)}&after={rng.randrange(1, max_id - PER_PAGE)}"
                 for _ in range(REQUESTS)]
    by_number = [f"/articles/{SLUG}?cpage={rng.randrange(2, pages)}" for _ in range(REQUESTS)]
    c50, c99 = timed(addr, by_cursor)
    # Numbered pages repeat rarely, but a repeat would be a cache hit: shuffle distinct ones.
    n50, n99 = timed(addr, by_number)
    rss = rss_mib(proc)
    # A reader's post makes the server read every stored comment's keys into memory (the
    # duplicate and reputation checks' index): memory with it, once that read has ended.
    post(addr)
    settle(proc)
    post(addr)
    rss_posting = rss_mib(proc)
    proc.terminate()
    proc.wait()
    print(f"{name:10} {N:>9,} comments | start-up to first answer {startup * 1000:7.1f} ms, "
          f"background start-up work {background:5.1f} s | "
          f"page by cursor p50 {c50:6.2f} ms p99 {c99:6.2f} ms | by number alone p50 {n50:7.2f} ms "
          f"p99 {n99:7.2f} ms | RSS {rss:6.1f} MiB, after a post {rss_posting:6.1f} MiB", flush=True)


def main():
    if "REPLYGUARD_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="replyguard-deep-")
    os.chmod(work, 0o755)
    print(f"machine: {os.cpu_count()} cores; {REQUESTS} requests per figure, sequential")
    try:
        # SQLite: the server creates the schema; the rows go in with one transaction.
        db = os.path.join(work, "rg.db")
        proc, _, _ = serve(db)
        proc.terminate()
        proc.wait()
        con = sqlite3.connect(db)
        con.execute(f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {N}) "
                    f"INSERT INTO comments ({COLUMNS}) SELECT {ROW.format(slug=SLUG)} FROM s")
        # Rows inserted behind the server's back queue a notification event each; a real site's
        # were delivered as its comments came. Without this, the server spends two minutes
        # draining a million events while the pages are measured.
        con.execute("DELETE FROM outbox")
        con.commit()
        max_id = con.execute("SELECT MAX(id) FROM comments").fetchone()[0]
        con.close()
        measure("sqlite", db, max_id)

        # PostgreSQL: a private cluster, the server creates the schema.
        pgdir = os.path.join(work, "pg")
        os.mkdir(pgdir)
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(pgdir, "postgres", "postgres")
        subprocess.run(as_pg + [f"{PGBIN}/initdb", "-D", f"{pgdir}/data", "--auth=trust",
                                "--username=postgres", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        pg = subprocess.Popen(as_pg + [f"{PGBIN}/postgres", "-D", f"{pgdir}/data", "-p", str(port),
                                       "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={pgdir}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while subprocess.run([f"{PGBIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode:
                time.sleep(0.1)
            subprocess.run([f"{PGBIN}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "rg"], check=True)
            url = f"postgres://postgres@127.0.0.1:{port}/rg"
            proc, _, _ = serve(url)
            proc.terminate()
            proc.wait()
            psql = [f"{PGBIN}/psql", "-X", "-q", "-A", "-t", url, "-c"]
            subprocess.run(psql + [f"INSERT INTO comments ({COLUMNS}) SELECT {ROW.format(slug=SLUG)} "
                                   f"FROM generate_series(1, {N}) AS i"], check=True)
            subprocess.run(psql + ["DELETE FROM outbox"], check=True)  # as for SQLite
            subprocess.run(psql + ["VACUUM ANALYZE comments"], check=True)
            max_id = int(subprocess.run(psql + ["SELECT MAX(id) FROM comments"], check=True,
                                        capture_output=True, text=True).stdout.strip())
            measure("postgresql", url, max_id)
        finally:
            pg.terminate()
            pg.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
