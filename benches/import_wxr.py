#!/usr/bin/env python3
"""Import benchmark: a generated WordPress WXR export with N comments (default 100,000) imported
by the release binary into a fresh SQLite database; wall time and peak resident memory over
repeated runs (median), then a re-import of the same file (which must change nothing).

    cargo build --release && python3 benches/import_wxr.py [--comments 100000] [--runs 3]

The file is generated with a fixed seed: 1 post per 100 comments, statuses in the mix of a
real blog's queue (approved 70%, pending 5%, spam 20%, trash 5%), a third of the comments
replies (some listed before their parent), HTML, entities and non-ASCII text.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("REPLYGUARD_BIN", os.path.join(ROOT, "target", "release", "replyguard"))

HAM = [
    "Thanks, the part about {w} answered my question.",
    "I tried this with {w} and it worked on the second attempt &mdash; merci!",
    "Could you say more about <em>{w}</em>? My results differ.",
    "Zoë here: {w} is exactly what our team needed.",
]
SPAM = [
    "I like the valuable info you provide in your articles. Visit <a href=\"http://{w}-deals.example.biz\">{w}</a>",
    "Great post! cheap {w} at http://{w}.example.biz/buy",
    "Nice blog, check my {w} services for more traffic.",
]
WORDS = ["sourdough", "altitude", "hydration", "rye", "levain", "crumb", "oven", "watches", "loans", "pills"]
STATUS = [("1", 70), ("0", 5), ("spam", 20), ("trash", 5)]


def generate(path, comments, seed=0):
    rng = random.Random(seed)
    statuses = [s for s, w in STATUS for _ in range(w)]
    posts = max(1, comments // 100)
    cid = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel><title>Bench</title>\n')
        for p in range(1, posts + 1):
            f.write(f"<item><title>Post {p} &#8211; notes</title>"
                    f"<link>https://bench.example.org/2020/01/01/post-{p}/</link>"
                    f"<dc:creator><![CDATA[admin]]></dc:creator>"
                    f"<content:encoded><![CDATA[Body of post {p}.\n\n<p>Second <b>paragraph</b>.</p>]]></content:encoded>"
                    f"<wp:post_id>{p}</wp:post_id><wp:post_date_gmt>2020-01-01 00:00:00</wp:post_date_gmt>"
                    f"<wp:post_name>post-{p}</wp:post_name><wp:status>publish</wp:status>"
                    f"<wp:post_type>post</wp:post_type><wp:post_password></wp:post_password>\n")
            n = comments // posts + (1 if p <= comments % posts else 0)
            first = cid + 1
            for _ in range(n):
                cid += 1
                status = rng.choice(statuses)
                word = rng.choice(WORDS)
                text = rng.choice(SPAM if status == "spam" else HAM).format(w=word)
                # A third are replies; some to a comment listed later in the file.
                parent = 0
                if rng.random() < 0.33 and n > 1:
                    parent = rng.randint(first, first + n - 1)
                    if parent == cid:
                        parent = 0
                f.write(f"<wp:comment><wp:comment_id>{cid}</wp:comment_id>"
                        f"<wp:comment_author><![CDATA[Reader {cid}]]></wp:comment_author>"
                        f"<wp:comment_author_email>reader{cid}@example.org</wp:comment_author_email>"
                        f"<wp:comment_author_url></wp:comment_author_url>"
                        f"<wp:comment_author_IP>198.51.100.{cid % 250}</wp:comment_author_IP>"
                        f"<wp:comment_date_gmt>2020-01-{1 + cid % 28:02d} 12:00:00</wp:comment_date_gmt>"
                        f"<wp:comment_content><![CDATA[{text}]]></wp:comment_content>"
                        f"<wp:comment_approved>{status}</wp:comment_approved>"
                        f"<wp:comment_type></wp:comment_type><wp:comment_parent>{parent}</wp:comment_parent>"
                        f"</wp:comment>\n")
            f.write("</item>\n")
        f.write("</channel></rss>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--comments", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        wxr = os.path.join(tmp, "bench.wxr")
        generate(wxr, args.comments)
        size = os.path.getsize(wxr) / 2**20
        print(f"generated {args.comments} comments, {size:.1f} MiB WXR")
        times, rss, reimport = [], [], []
        for run in range(args.runs):
            db = os.path.join(tmp, f"run{run}.db")
            # /usr/bin/time is not on every machine; a tiny wrapper child reports its child's RSS.
            probe = subprocess.run(
                [sys.executable, "-c",
                 "import resource,subprocess,sys,time;t=time.perf_counter();"
                 "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
                 "e=time.perf_counter()-t;"
                 "print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode);"
                 "print(p.stdout)",
                 BIN, "import", "--db", db, "--model", os.path.join(ROOT, "models/default.rgm"), wxr],
                capture_output=True, text=True, check=True)
            first, report = probe.stdout.split("\n", 1)
            elapsed, maxrss, code = first.split()
            if code != "0":
                sys.exit(f"import failed: {probe.stdout}")
            times.append(float(elapsed))
            rss.append(int(maxrss) / 1024)
            start = time.perf_counter()
            again = subprocess.run([BIN, "import", "--db", db, "--model", os.path.join(ROOT, "models/default.rgm"), wxr],
                                   capture_output=True, text=True, check=True)
            reimport.append(time.perf_counter() - start)
            if "comments: imported 0 (none)" not in again.stdout:
                sys.exit(f"re-import changed something:\n{again.stdout}")
            print(f"run {run + 1}: {float(elapsed):.2f} s, peak RSS {int(maxrss) / 1024:.1f} MiB; "
                  f"re-import {reimport[-1]:.2f} s (nothing changed)")
        print(report.strip())
        print(f"median of {args.runs}: {statistics.median(times):.2f} s "
              f"({args.comments / statistics.median(times):,.0f} comments/s), "
              f"peak RSS {statistics.median(rss):.1f} MiB, re-import {statistics.median(reimport):.2f} s")


if __name__ == "__main__":
    main()
