#!/usr/bin/env python3
"""A WordPress blog's month through the Akismet API: what its readers lose and what spam gets by.

benches/blog_workload.py's blog stream (later WordPress blog spam, held-out Wikipedia talk-page
ham; SPAM_SHARE of it spam, default 0.5: most real blogs get more spam than ham) goes to a fresh
`replyguard serve` as a WordPress plugin sends it: one `comment-check` per comment, each from a
new sender, in order. The blog's owner corrects every wrong answer at once, quoting the check's
guid (`submit-spam` for spam answered `false`, `submit-ham` for ham answered `true`), as the
plugin does from the spam folder and the comment list; a check the blog leaves alone is learned
as the key's ham after `--learn-published-after` (3 s here, standing in for the day).

Prints, for the second half of the stream: the share of ham answered `true` (sent to the spam
folder, which few owners read) and of spam answered `false` (published), per seed and the mean.

usage: python3 benches/akismet_stream.py [SEEDS]      (default 2: seeds 0 and 1)
env:   REPLYGUARD_BIN (default target/release/replyguard), SPAM_SHARE (default 0.5),
       RG_FLAGS (more flags for `replyguard serve`, e.g. `--no-site-prior`),
       PEERS (dir of cv.py, for the data loaders; default ../shared/tools/peers)
"""
import os, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("SPAM_SHARE", "0.5")
sys.path.insert(0, os.path.join(ROOT, "benches"))
import blog_workload  # noqa: E402

BIN = os.environ.get("REPLYGUARD_BIN", os.path.join(ROOT, "target", "release", "replyguard"))
FLAGS = os.environ.get("RG_FLAGS", "").split()
BLOG = "https://blog.example.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(seed):
    _, stream = blog_workload.split(seed)
    with tempfile.TemporaryDirectory(prefix="rg-akismet-stream-") as tmp:
        db = os.path.join(tmp, "rg.db")
        key = subprocess.run([BIN, "keys", "--db", db, "add", "--blog", BLOG],
                             check=True, capture_output=True, text=True).stdout.strip()
        port = free_port()
        server = subprocess.Popen(
            [BIN, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--flood-seconds", "0",
             "--rate-limit", "0", "--model", os.path.join(ROOT, "models", "default.rgm"),
             "--learn-published-after", "3s", *FLAGS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, REPLYGUARD_ADMIN_TOKEN="bench-" + "x" * 26))
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
                    break
                except OSError:
                    time.sleep(0.1)

            def call(path, form):
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                                urllib.parse.urlencode(form).encode())
                return answer.read().decode(), answer.headers.get("x-akismet-guid")

            half = len(stream) // 2
            seen = {"ham": 0, "spam": 0}
            wrong = {"ham": 0, "spam": 0}
            for i, (text, label) in enumerate(stream):
                form = {"api_key": key, "blog": BLOG, "user_ip": f"198.51.{(i // 250) % 250}.{i % 250 + 1}",
                        "user_agent": "Mozilla/5.0", "comment_type": "comment",
                        "comment_author": f"Person {i}", "comment_author_email": f"p{i}@mail{i}.example",
                        "comment_content": text}
                body, guid = call("/1.1/comment-check", form)
                is_wrong = (body == "true") != bool(label)
                kind = "spam" if label else "ham"
                if i >= half:
                    seen[kind] += 1
                    wrong[kind] += is_wrong
                if is_wrong:
                    call("/1.1/submit-spam" if label else "/1.1/submit-ham", {**form, "guid": guid})
                # A blog's comments arrive apart; the learner's rounds and the implicit ham run between.
                time.sleep(0.02)
        finally:
            server.terminate()
            server.wait()
    return 100 * wrong["ham"] / seen["ham"], 100 * wrong["spam"] / seen["spam"], seen


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    print(f"blog stream through comment-check, {os.environ['SPAM_SHARE']} spam, flags {FLAGS or 'none'}; second half")
    results = []
    for seed in range(seeds):
        ham_lost, spam_shown, seen = run(seed)
        results.append((ham_lost, spam_shown))
        print(f"seed {seed}: ham to the spam folder {ham_lost:4.1f}%   spam published {spam_shown:4.1f}%   "
              f"({seen['ham']} ham, {seen['spam']} spam)", flush=True)
    print(f"mean of {seeds}: ham to the spam folder {sum(r[0] for r in results) / seeds:4.1f}%   "
          f"spam published {sum(r[1] for r in results) / seeds:4.1f}%")


if __name__ == "__main__":
    main()
