#!/usr/bin/env python3
"""The moderator's workload on a blog stream, replyguard beside the reference peers, same stream.

`cv.py --workload` streams YouTube videos; a blog is another kind of site. This builds one from
the data no model here trains on, as `cv.py --blog` splits it: the WordPress blog spam after
2017-01 and a held-out 20% of the Wikipedia talk ham (seed 0): 600 comments, 18% spam (the size
and share of the blog in issue #23), drawn and interleaved with the run's seed. Base: every YouTube video, all
SMS, the WordPress spam up to 2017-01 and the other 80% of the ham. Comment text only, on both
sides (the peers have no metadata channel).

Then the same protocol for everyone, second half of the stream:
  * replyguard: `replyguard eval --prequential --feedback corrections STREAM --base …` (its own
    verdicts and thresholds, the site layer and rules as the server applies them);
  * peers (shared/tools/peers): verdict published p < 0.5, rejected p >= 0.95, else held; the
    moderator corrects only (labels each held comment, marks published spam, rescues rejected
    ham); learning = refit every 20 comments with the labels weighted 10x, as `cv.py --workload`.

usage: python3 benches/blog_workload.py [SEEDS]   (default 1: seed 0; N runs seeds 0..N-1 and
       prints each and the mean)    env: PEERS=dir of cv.py (default ../shared/tools/peers),
       REPLYGUARD_BIN (default target/release/replyguard), SPAM_SHARE (default 0.18),
       RG_FLAGS (more flags for `replyguard eval`)
Needs: cargo build --release; pip install scikit-learn scipy numpy.
"""
import json, os, random, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("PEERS", os.path.join(ROOT, "..", "shared", "tools", "peers"))
BIN = os.environ.get("REPLYGUARD_BIN", os.path.join(ROOT, "target", "release", "replyguard"))
STREAM = 600
# A blog's share of spam (env SPAM_SHARE; most real blogs get more spam than ham) and extra flags
# for `replyguard eval` (env RG_FLAGS, e.g. `--no-site-prior`).
SPAM_SHARE = float(os.environ.get("SPAM_SHARE", "0.18"))
RG_FLAGS = os.environ.get("RG_FLAGS", "").split()
sys.path.insert(0, PEERS)
import numpy as np  # noqa: E402
import cv, datasets, peers  # noqa: E402


def split(seed):
    wp = datasets.wordpress(); ham = datasets.wikipedia_ham(); random.Random(0).shuffle(ham)
    cut = int(len(ham) * 0.8)
    youtube = []
    for rows in cv.yt_files().values():
        youtube += rows
    base = youtube + datasets.sms() + [(t, l) for t, l, d in wp if d <= ("2017", "01")] + ham[:cut]
    spam = [(t, l) for t, l, d in wp if d > ("2017", "01")]
    rng = random.Random(seed)
    n_spam = round(STREAM * SPAM_SHARE)
    stream = rng.sample(spam, n_spam) + rng.sample(ham[cut:], STREAM - n_spam)
    rng.shuffle(stream)
    return base, stream


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for text, label in rows:
            f.write(json.dumps({"label": "spam" if label else "ham", "comment_content": text}) + "\n")


def replyguard(base, stream, tmp):
    write_jsonl(os.path.join(tmp, "base.jsonl"), base)
    write_jsonl(os.path.join(tmp, "blog.jsonl"), stream)
    out = subprocess.run([BIN, "eval", "--prequential", "--feedback", "corrections", "--json",
                          os.path.join(tmp, "blog.jsonl"), "--base", os.path.join(tmp, "base.jsonl"), *RG_FLAGS],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def peer_workload(mk, base, stream, every=20, weight=10.0):
    corpus = base + stream
    texts = [t for t, _ in corpus]; labels = np.array([l for _, l in corpus])
    rows = np.arange(len(base), len(corpus)); base_rows = np.arange(len(base))
    r = peers.Refit(mk, texts)
    model = r.fit(base_rows, labels[base_rows], np.ones(len(base_rows)))
    p_static = model.proba(rows)
    p = np.empty(len(rows)); labeled = []; n_fit = 0
    for i in range(0, len(rows), every):
        if len(labeled) > n_fit:
            fit = np.r_[base_rows, labeled]; w = np.r_[np.ones(len(base_rows)), np.full(len(labeled), weight)]
            model = r.fit(fit, labels[fit], w, warm=model); n_fit = len(labeled)
        block = rows[i:i + every]; p[i:i + every] = model.proba(block)
        labeled += list(block[cv.moderate(p[i:i + every], labels[block])[1]])
    h = len(rows) // 2
    return {mode: cv.workload_stats(pp[h:], labels[rows[h:]]) for mode, pp in (("static", p_static), ("learning", p))}


def line(name, stats):
    s, l = stats["static"], stats["learning"]
    ratio = l["actions"] / s["actions"] if s["actions"] else float("nan")
    print(f"{name:28s} actions/100 {s['actions']:5.1f} -> {l['actions']:5.1f} ({ratio:.2f}x)  "
          f"ham held {s['ham_held']:4.1f} -> {l['ham_held']:4.1f}%  ham rejected {s['ham_rejected']:4.1f} -> "
          f"{l['ham_rejected']:4.1f}%  spam published {s['spam_published']:5.1f} -> {l['spam_published']:5.1f}%  "
          f"AUC {s['auc']:.3f} -> {l['auc']:.3f}", flush=True)


def ours(report):
    """replyguard's JSON report as the peers' figures (percentages, second half)."""
    out = {}
    for mode in ("static", "learning"):
        m = report["mean_second_half"][mode]
        out[mode] = dict(actions=m["actions_per_100"], ham_held=m["ham_held_pct"],
                         ham_rejected=m["ham_rejected_pct"], spam_published=m["spam_published_pct"], auc=m["auc"])
    return out


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    results = {}
    for seed in range(seeds):
        base, stream = split(seed)
        spam = sum(l for _, l in stream)
        print(f"== blog stream, seed {seed}: {len(stream)} comments, {spam} spam ({100 * spam / len(stream):.0f}%); "
              f"base {len(base)}; second half of the stream, static -> learning ==", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter(); stats = ours(replyguard(base, stream, tmp))
            results.setdefault("replyguard", []).append(stats)
            line(f"replyguard ({time.perf_counter() - t0:.0f} s)", stats)
        for name, mk in peers.sk_models().items():
            t0 = time.perf_counter(); stats = peer_workload(mk, base, stream)
            results.setdefault(name, []).append(stats)
            line(f"{name} ({time.perf_counter() - t0:.0f} s)", stats)
    if seeds > 1:
        print(f"== mean of {seeds} seeds ==")
        for name, runs in results.items():
            line(name, {mode: {k: float(np.mean([r[mode][k] for r in runs])) for k in runs[0][mode]}
                        for mode in ("static", "learning")})


if __name__ == "__main__":
    main()
