#!/usr/bin/env python3
"""The moderator's week on a real server: a fresh replyguard (SQLite, the shipped model) gets a
site's comments one by one over its JSON API, from readers with ordinary names and e-mail
addresses, and a simulated moderator corrects it through the admin API after each comment:
held comments decided, published spam marked spam, rejected ham approved. Prints, per half of
the stream, the moderator's actions per 100 comments, ham held / rejected % and spam published
%, for the server learning from those corrections and for the same server not learning
(`--site-weight 0 --implicit-weight 0`), side by side. The server's model has never seen the
site: for each file it is trained on the shipped mix less that file (`cv.py --mix-lovo`).

    cargo build --release
    python3 benches/moderator_stream.py training-data/youtube-spam-collection/*.csv

Only the standard library; the binary is target/release/replyguard unless REPLYGUARD_BIN says.
"""

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOKEN = "bench-admin-secret-0123456789"
ARTICLE = "alibaba-olympic-partner"
PACE = float(os.environ.get("PACE", "0.15"))
PROVIDERS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "icloud.com"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, body=None, token=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def email_of(author):
    """A reader's address as people have them: their name at a common provider."""
    local = "".join(c for c in author.lower() if c.isalnum() or c in "._") or "reader"
    provider = PROVIDERS[int(hashlib.sha256(author.encode()).hexdigest(), 16) % len(PROVIDERS)]
    return f"{local[:30]}@{provider}"


def rows_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: (r.get("DATE") or "", r.get("COMMENT_ID") or ""))
    return [(r["CONTENT"], r["AUTHOR"] or "Reader", r["CLASS"] == "1") for r in rows]


def train_without(binary, path, out):
    """A model that has never seen the site: the shipped mix less the site's own file (the
    full-mix leave-one-out of `cv.py --mix-lovo`)."""
    folder = os.path.dirname(path)
    others = [os.path.join(folder, f) for f in sorted(os.listdir(folder))
              if f.endswith(".csv") and os.path.join(folder, f) != path]
    mix = others + ["training-data/sms-spam-collection/SMSSpamCollection",
                    "training-data/wordpress-blog-spam/", "training-data/wikipedia-talk-ham/"]
    subprocess.run([binary, "train", *mix, "--out", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(binary, rows, learning, model):
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        args = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", f"{tmp}/rg.db",
                "--model", model,
                "--admin-token", TOKEN, "--flood-seconds", "0", "--rate-limit", "0"]
        if not learning:
            args += ["--site-weight", "0", "--implicit-weight", "0"]
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if call(base + "/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            outcomes = []
            for content, author, spam in rows:
                status, body = call(f"{base}/api/v1/articles/{ARTICLE}/comments",
                                    {"comment_content": content, "comment_author": author,
                                     "comment_author_email": email_of(author)})
                if status != 201:
                    outcomes.append((spam, "refused", False))
                    continue
                shown, cid = body["status"], body["id"]
                action = None
                if shown == "held":
                    action = "spam" if spam else "approve"
                elif shown == "published" and spam:
                    action = "spam"
                elif shown == "spam" and not spam:
                    action = "approve"
                if action:
                    call(f"{base}/api/v1/admin/comments/{cid}/{action}", {}, TOKEN)
                    # A moderator's decision reaches the next verdict within the learner's
                    # round (about 100 ms); real comments are minutes apart, so let it land.
                    time.sleep(PACE)
                outcomes.append((spam, shown, action is not None))
            return outcomes
        finally:
            server.terminate()
            server.wait()


def figures(outcomes):
    ham = [o for o in outcomes if not o[0]]
    spam = [o for o in outcomes if o[0]]
    pct = lambda part, whole: 100.0 * len(part) / max(1, len(whole))
    return {
        "actions/100": pct([o for o in outcomes if o[2]], outcomes),
        "ham held %": pct([o for o in ham if o[1] == "held"], ham),
        "ham rej %": pct([o for o in ham if o[1] == "spam"], ham),
        "spam publ %": pct([o for o in spam if o[1] == "published"], spam),
    }


def main():
    binary = os.environ.get("REPLYGUARD_BIN", "target/release/replyguard")
    files = sys.argv[1:]
    if not files:
        sys.exit(__doc__)
    cols = ["actions/100", "ham held %", "ham rej %", "spam publ %"]
    print(f"{'site':28} {'half':4} {'server':8} " + " ".join(f"{c:>12}" for c in cols))
    ratios = []
    for path in files:
        rows = rows_of(path)
        half = len(rows) // 2
        with tempfile.TemporaryDirectory() as tmp:
            model = f"{tmp}/without.rgm"
            train_without(binary, path, model)
            by_mode = {mode: run(binary, rows, mode == "learning", model)
                       for mode in ("static", "learning")}
        for h, part in (("1st", slice(0, half)), ("2nd", slice(half, None))):
            for mode, outcomes in by_mode.items():
                f = figures(outcomes[part])
                print(f"{os.path.basename(path):28} {h:4} {mode:8} "
                      + " ".join(f"{f[c]:12.1f}" for c in cols))
        second = {m: figures(o[half:])["actions/100"] for m, o in by_mode.items()}
        ratios.append(second["learning"] / max(second["static"], 1e-9))
    print(f"learning/static actions (mean, second half): {sum(ratios) / len(ratios):.2f}")


if __name__ == "__main__":
    main()
