#!/usr/bin/env python3
"""Peer comparison, measured in one run on the same comments (issue: benchmarks side by side).

For N comments drawn from training-data/ (cycled), it times:
  * replyguard: the whole process `replyguard classify --jsonl` (JSON in, verdict + clues out);
  * replyguard batch scoring in-process is in `cargo bench --bench classify` (batch group);
  * scikit-learn CountVectorizer + MultinomialNB (the textbook baseline): vectorize + predict_proba;
  * bogofilter bulk mode (-b), one file per comment, when installed.
Each runs once per round, REPEATS rounds, and the median is printed with ratios against replyguard.
replyguard also runs pinned to one core (taskset), next to the single-threaded peers.

usage: python3 benches/peers.py [N] [REPEATS]      (defaults 280000 and 5)
       REPLYGUARD_BIN=path/to/replyguard picks another build than target/release.
Needs: cargo build --release; pip install scikit-learn; apt-get install bogofilter (optional).
"""
import csv, json, os, statistics, subprocess, sys, tempfile, time

# numpy's BLAS and OpenMP thread pools keep spinning for a while after each call, stealing a core
# from whatever runs next (it slowed replyguard's next round by 20%). scikit-learn's vectorize and
# score path is single-threaded anyway; one thread each keeps the rounds independent.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("REPLYGUARD_BIN") or os.path.join(ROOT, "target", "release", "replyguard")
BASE = "replyguard classify --jsonl (whole process, with clues)"


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


def time_once(fn):
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 280_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    train = load()
    texts = [t for t, _ in train]
    pool = (texts * (n // len(texts) + 1))[:n]
    with tempfile.TemporaryDirectory(prefix="rg-peers-") as tmp:
        measure(n, repeats, train, texts, pool, tmp)


def measure(n, repeats, train, texts, pool, tmp):
    jsonl = os.path.join(tmp, "comments.jsonl")
    with open(jsonl, "w") as f:
        for t in pool:
            f.write(json.dumps({"comment_content": t}) + "\n")

    model_path = os.path.join(ROOT, "models", "default.rgm")

    def replyguard(prefix=()):
        def run():
            with open(jsonl, "rb") as inp, open(os.devnull, "wb") as out:
                subprocess.run([*prefix, BIN, "classify", "--model", model_path, "--jsonl"],
                               stdin=inp, stdout=out, check=True)
        return run

    # Every contender runs once per round and rounds repeat, so a slow phase of a shared machine
    # hits them all alike; each figure is the median over the rounds.
    contenders = {BASE: replyguard()}
    if subprocess.run(["which", "taskset"], capture_output=True).returncode == 0:
        contenders["replyguard classify --jsonl, pinned to one core (taskset -c 0)"] = replyguard(("taskset", "-c", "0"))

    try:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline
        model = make_pipeline(CountVectorizer(), MultinomialNB()).fit(texts, [l for _, l in train])
        contenders["sklearn CountVectorizer+MultinomialNB (vectorize+score)"] = lambda: model.predict_proba(pool)
    except ImportError:
        print("scikit-learn missing: pip install scikit-learn", file=sys.stderr)

    scale = {}
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
        name = f"bogofilter bulk mode (-b), scaled from {m}"
        contenders[name] = lambda: subprocess.run(["bogofilter", "-C", "-d", db, "-T", "-b"], input=listing,
                                                  capture_output=True, text=True)
        scale[name] = n / m
    else:
        print("bogofilter missing: apt-get install bogofilter", file=sys.stderr)

    times = {name: [] for name in contenders}
    names = list(contenders)
    for round_no in range(repeats):
        # Rotate the order each round, so no contender always runs right after the same one.
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            fn = contenders[name]
            times[name].append(time_once(fn) * scale.get(name, 1.0))
            # bogofilter leaves dirty pages behind (its database environment); flushing them
            # here keeps the kernel's writeback out of the next contender's timing.
            os.sync()
            time.sleep(0.2)
    results = {name: statistics.median(ts) for name, ts in times.items()}

    print(f"{n} comments, median of {repeats} rounds, {os.cpu_count()} cores")
    sk = next((dt for name, dt in results.items() if name.startswith("sklearn")), None)
    for name, dt in results.items():
        ratio = f"   {sk / dt:5.1f}x sklearn's speed" if sk else ""
        print(f"{name:66s} {dt:8.3f} s {n / dt:12,.0f} comments/s{ratio}")

if __name__ == "__main__":
    main()
