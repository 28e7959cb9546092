#!/usr/bin/env python3
"""Peer comparison, measured in one run on the same comments (issue: benchmarks side by side).

For N comments drawn from training-data/ (cycled), it times:
  * replyguard: the whole process `replyguard classify --jsonl` (JSON in, verdict + clues out);
  * replyguard batch scoring in-process is in `cargo bench --bench classify` (batch group);
  * scikit-learn CountVectorizer + MultinomialNB (the textbook baseline): vectorize + predict_proba;
  * bogofilter bulk mode (-b), one file per comment, when installed.
Each is run REPEATS times and the median is printed, with ratios against replyguard.

usage: python3 benches/peers.py [N] [REPEATS]      (defaults 280000 and 3)
Needs: cargo build --release; pip install scikit-learn; apt-get install bogofilter (optional).
"""
import csv, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "replyguard")


def load():
    rows = []
    yt = os.path.join(ROOT, "training-data", "youtube-spam-collection")
    for name in sorted(os.listdir(yt)):
        if name.endswith(".csv"):
            with open(os.path.join(yt, name), newline="", encoding="utf-8") as f:
                rows += [(r["CONTENT"], int(r["CLASS"])) for r in csv.DictReader(f)]
    with open(os.path.join(ROOT, "training-data", "sms-spam-collection", "SMSSpamCollection"), encoding="utf-8") as f:
        for line in f:
            lab, _, text = line.rstrip("\n").partition("\t")
            rows.append((text, 1 if lab == "spam" else 0))
    return rows


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 280_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    train = load()
    texts = [t for t, _ in train]
    pool = (texts * (n // len(texts) + 1))[:n]
    tmp = tempfile.mkdtemp(prefix="rg-peers-")
    jsonl = os.path.join(tmp, "comments.jsonl")
    with open(jsonl, "w") as f:
        for t in pool:
            f.write(json.dumps({"comment_content": t}) + "\n")

    def replyguard():
        with open(jsonl, "rb") as inp, open(os.devnull, "wb") as out:
            subprocess.run([BIN, "classify", "--model", os.path.join(ROOT, "models", "default.rgm"), "--jsonl"],
                           stdin=inp, stdout=out, check=True)
    results = {"replyguard classify --jsonl (whole process, with clues)": median_time(replyguard, repeats)}

    try:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline
        model = make_pipeline(CountVectorizer(), MultinomialNB()).fit(texts, [l for _, l in train])
        results["sklearn CountVectorizer+MultinomialNB (vectorize+score)"] = median_time(lambda: model.predict_proba(pool), repeats)
    except ImportError:
        print("scikit-learn missing: pip install scikit-learn", file=sys.stderr)

    if subprocess.run(["which", "bogofilter"], capture_output=True).returncode == 0:
        db = os.path.join(tmp, "bogo"); os.mkdir(db)
        for lab, flag in ((1, "-s"), (0, "-n")):
            mbox = os.path.join(tmp, f"train{lab}.mbox")
            with open(mbox, "w") as f:
                for t, l in train:
                    if l == lab:
                        f.write("From x Thu Jan  1 00:00:00 2015\nFrom: c@example.org\nSubject: comment\n\n"
                                + t.replace("\nFrom ", "\n>From ") + "\n\n")
            subprocess.run(["bogofilter", "-C", "-d", db, flag, "-M", "-I", mbox], check=True)
        m = min(n, 50_000)  # one file per comment: keep the file count sane
        d = os.path.join(tmp, "mails"); os.mkdir(d); paths = []
        for i, t in enumerate(pool[:m]):
            p = os.path.join(d, f"{i:07d}"); paths.append(p)
            with open(p, "w") as f:
                f.write("From: c@example.org\nSubject: comment\n\n" + t + "\n")
        listing = "\n".join(paths) + "\n"
        dt = median_time(lambda: subprocess.run(["bogofilter", "-C", "-d", db, "-T", "-b"], input=listing,
                                                capture_output=True, text=True), repeats)
        results[f"bogofilter bulk mode (-b), scaled from {m}"] = dt * n / m

    base = results["replyguard classify --jsonl (whole process, with clues)"]
    print(f"{n} comments, median of {repeats} runs, {os.cpu_count()} cores")
    for name, dt in results.items():
        print(f"{name:62s} {dt:8.3f} s {n / dt:12,.0f} comments/s   replyguard is {dt / base:5.1f}x faster")


if __name__ == "__main__":
    main()
