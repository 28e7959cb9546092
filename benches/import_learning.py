#!/usr/bin/env python3
"""Do a site's imported labels help the filter on that site's next comments?

Each YouTube video of training-data/ plays a site moving to replyguard. The base model is trained
without it (the other videos + SMS, as `eval --prequential` does). The older half of the video's
comments (by date) is the site's history: written as a `wp comment list --format=json` dump
(spam as spam, ham as approved) and brought in with `replyguard import`. Then two servers with
the same base model score the newer half through `POST /api/v1/classify`: one on the database
with the imported history (which it learned from the learning log), one on an empty database.
Printed per video: AUC, share of ham rejected and of spam held or rejected, without → with the
import. Everything goes through the real binary, database and HTTP.

    cargo build --release && python3 benches/import_learning.py
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "replyguard")
VIDEOS = os.path.join(ROOT, "training-data", "youtube-spam-collection")
SMS = os.path.join(ROOT, "training-data", "sms-spam-collection")


def auc(scores, labels):
    """Probability that a random spam scores above a random ham (ties count half)."""
    pairs = sorted(zip(scores, labels))
    rank_sum, i, n = 0.0, 0, len(pairs)
    while i < n:
        j = i
        while j < n and pairs[j][0] == pairs[i][0]:
            j += 1
        avg = (i + j + 1) / 2  # 1-based average rank of the tie group
        rank_sum += avg * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    pos = sum(labels)
    neg = n - pos
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def serve(db, model):
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--db", db, "--model", model, "--admin-token", "import-learning-bench-token"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = proc.stdout.readline().split()[-1].rstrip("/")
    return proc, base


def score(base, rows):
    out = []
    for r in rows:
        body = json.dumps({"comment_content": r["CONTENT"], "comment_author": r["AUTHOR"]}).encode()
        req = urllib.request.Request(base + "/api/v1/classify", data=body,
                                     headers={"Content-Type": "application/json"})
        answer = json.load(urllib.request.urlopen(req))
        out.append((answer["spam_probability"], answer["verdict"]))
    return out


def summary(results, labels):
    probs = [p for p, _ in results]
    ham = [v for (_, v), l in zip(results, labels) if not l]
    spam = [v for (_, v), l in zip(results, labels) if l]
    return (auc(probs, labels),
            sum(v == "rejected" for v in ham) / max(1, len(ham)),
            sum(v != "published" for v in spam) / max(1, len(spam)))


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    files = sorted(f for f in os.listdir(VIDEOS) if f.endswith(".csv"))
    print("video | history imported (spam/ham) | scored | AUC without → with | ham rejected | spam held or rejected")
    with tempfile.TemporaryDirectory() as tmp:
        for video in files:
            others = [os.path.join(VIDEOS, f) for f in files if f != video]
            model = os.path.join(tmp, "base.rgm")
            subprocess.run([BIN, "train", *others, SMS, "--out", model], check=True,
                           capture_output=True)
            with open(os.path.join(VIDEOS, video), newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            # Date order, or file order when some comments have no date (as `eval --prequential`).
            if all(r["DATE"] for r in rows):
                rows.sort(key=lambda r: r["DATE"])
            half = len(rows) // 2
            history, later = rows[:half], rows[half:]
            dump = [{
                "comment_ID": str(i + 1), "comment_post_ID": "1",
                "comment_author": r["AUTHOR"], "comment_author_email": "",
                "comment_date_gmt": (r["DATE"][:19].replace("T", " ") or "2015-01-01 00:00:00"),
                "comment_content": r["CONTENT"],
                "comment_approved": "spam" if r["CLASS"] == "1" else "1",
                "comment_type": "", "comment_parent": "0",
            } for i, r in enumerate(history)]
            dump_path = os.path.join(tmp, "history.json")
            with open(dump_path, "w", encoding="utf-8") as f:
                json.dump(dump, f)
            site_db = os.path.join(tmp, f"{video}.db")
            imported = subprocess.run([BIN, "import", "--db", site_db, "--model", model, dump_path],
                                      capture_output=True, text=True)
            if imported.returncode not in (0, 3):
                sys.exit(imported.stderr)
            learned = [l for l in imported.stdout.splitlines() if l.startswith("learning:")]
            labels = [r["CLASS"] == "1" for r in later]
            figures = []
            for db in (os.path.join(tmp, f"{video}-empty.db"), site_db):
                proc, base = serve(db, model)
                try:
                    figures.append(summary(score(base, later), labels))
                finally:
                    proc.kill()
                    proc.wait()
            (a0, h0, s0), (a1, h1, s1) = figures
            spam_ham = learned[0].split(":")[1].split(" examples")[0].strip() if learned else "?"
            print(f"{video[:-4]} | {spam_ham} | {len(later)} | {a0:.3f} → {a1:.3f} | "
                  f"{h0:.1%} → {h1:.1%} | {s0:.1%} → {s1:.1%}")


if __name__ == "__main__":
    main()
