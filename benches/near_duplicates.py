#!/usr/bin/env python3
"""How much a campaign (near-duplicate) signal could catch on a new site: each YouTube video's
comments in date order; for every comment of the stream's second half, whether its word
3-shingles have Jaccard >= TAU with some earlier spam of the same stream (the spam a site's
moderators would have marked by then). Comments with fewer than MIN shingles are never counted.
Prints, per video and per (MIN, TAU), the share of second-half spam and of ham with such a match.

usage: python3 benches/near_duplicates.py   (no dependencies beyond Python 3)
       K=2 python3 benches/near_duplicates.py   word pairs, as `rule:copy-of-marked-spam` uses"""
import csv, glob, html, os, re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


K = int(os.environ.get("K", "3"))


def shingles(text, k=K):
    words = re.findall(r"\w+", html.unescape(re.sub(r"<[^>]+>", " ", text)).lower())
    return {tuple(words[i:i + k]) for i in range(len(words) - k + 1)}


def jaccard(a, b):
    return len(a & b) / len(a | b) if a and b else 0.0


for path in sorted(glob.glob(os.path.join(ROOT, "training-data/youtube-spam-collection/*.csv"))):
    with open(path, encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["DATE"] or "")
    half = len(rows) // 2
    for least in (3, 5):
        for tau in (0.3, 0.5):
            earlier_spam, hits, n = [], {0: 0, 1: 0}, {0: 0, 1: 0}
            for i, row in enumerate(rows):
                s, y = shingles(row["CONTENT"]), int(row["CLASS"])
                if i >= half:
                    n[y] += 1
                    if len(s) >= least and any(jaccard(s, p) >= tau for p in earlier_spam):
                        hits[y] += 1
                if y == 1 and len(s) >= least:
                    earlier_spam.append(s)
            print(f"{os.path.basename(path):<26} min {least} shingles, J >= {tau}: "
                  f"spam {100 * hits[1] / max(n[1], 1):5.1f}%  ham {100 * hits[0] / max(n[0], 1):5.1f}%  "
                  f"({n[1]} spam, {n[0]} ham)")
