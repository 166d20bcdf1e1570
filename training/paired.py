#!/usr/bin/env python3
"""Paired comparison of two models on the held-out sets: how far apart are they, and can the
sets tell?

    python training/paired.py A.onnx B.onnx [--batch-a 1] [--batch-b 32] [--json OUT]

Both models score the same texts (the test splits of data.py and the binary turns of
data/eval/turns.jsonl, as evaluate.py). Per set it prints the accuracies, the difference B − A in
points, the discordant texts (A right and B wrong, B right and A wrong), an exact McNemar p-value
(two-sided binomial test on the discordant texts) and a 95 % confidence interval of the paired
difference (Wald, on the per-text differences). A difference is only told apart from zero when
the interval excludes zero; with a few dozen discordant texts in a few hundred, that takes
several points.

Batch: a dynamically quantized model (the teacher, `max_batch = 1`) must run with batch 1.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402


def binary_rows(rows, task):
    return [(t, y) for t, y in rows if y in evaluate.LABELS[task]]


def correct(sess, tok, rows, task, bs):
    pred = evaluate.run(sess, tok, [t for t, _ in rows], bs=bs)[evaluate.OUTPUT[task]].argmax(-1)
    return np.array([evaluate.LABELS[task][p] == y for p, (_, y) in zip(pred, rows)])


def equal_model_chance(discordant, sizes, margin, reps=100_000, seed=1):
    """P(at least one set shows B more than `margin` points below A) if A and B were equally
    accurate: every discordant text goes either way with probability 1/2, once per text (a text
    in two sets, e.g. en politeness and its Wikipedia part, counts the same in both).
    `discordant`: {set: [text key]}, `sizes`: {set: n}."""
    keys = sorted({k for ks in discordant.values() for k in ks})
    pos = {k: i for i, k in enumerate(keys)}
    rng = np.random.default_rng(seed)
    worse = np.zeros(reps, bool)
    for lo in range(0, reps, 10_000):
        coin = rng.integers(0, 2, (min(10_000, reps - lo), len(keys))) * 2 - 1  # +1: B right
        for name, ks in discordant.items():
            diff = 100 * coin[:, [pos[k] for k in ks]].sum(1) / sizes[name]
            worse[lo:lo + len(coin)] |= diff < -margin
    return float(worse.mean())


def mcnemar_p(b, c):
    """Exact two-sided p of b vs c discordant pairs under 'equally likely'."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def compare(a, b):
    """Figures for one set from two boolean 'correct' vectors over the same texts."""
    n = len(a)
    d = b.astype(float) - a.astype(float)
    diff = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    return {"n": n, "acc_a": float(a.mean()), "acc_b": float(b.mean()), "diff_points": 100 * diff,
            "only_a_right": only_a, "only_b_right": only_b, "mcnemar_p": mcnemar_p(only_a, only_b),
            "ci95_points": [100 * (diff - 1.96 * se), 100 * (diff + 1.96 * se)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--batch-a", type=int, default=1)
    ap.add_argument("--batch-b", type=int, default=32)
    ap.add_argument("--tokenizer", default=evaluate.DEFAULT_TOKENIZER)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--margin", type=float, default=1.5,
                    help="for the closing line: the loss in points an equally good model would show by chance")
    args = ap.parse_args()
    tok = evaluate.load_tokenizer(args.tokenizer)
    sa, sb = evaluate.session(args.a, args.threads), evaluate.session(args.b, args.threads)
    sets = [(f"test {name}", task, rows) for name, task, rows in evaluate.test_sets()]
    sets += [(f"chat {task}/{lang}", task, rows) for (task, lang), rows in sorted(evaluate.eval_turns().items())]
    out = {}
    print(f"A = {args.a} (batch {args.batch_a})\nB = {args.b} (batch {args.batch_b})")
    print(f"{'set':36s} {'n':>5s} {'A':>6s} {'B':>6s} {'B-A':>6s} {'A only':>6s} {'B only':>6s} "
          f"{'p':>6s}  95 % CI of B-A (points)")
    discordant, sizes = {}, {}
    for name, task, rows in sets:
        rows = binary_rows(rows, task)
        a, b = correct(sa, tok, rows, task, args.batch_a), correct(sb, tok, rows, task, args.batch_b)
        r = compare(a, b)
        out[name] = r
        if not name.startswith("chat") or name.endswith("/all"):  # the sets the target names
            discordant[name] = [(task, t) for (t, _), x, y in zip(rows, a, b) if x != y]
            sizes[name] = len(rows)
        lo, hi = r["ci95_points"]
        print(f"{name:36s} {r['n']:5d} {r['acc_a']:6.3f} {r['acc_b']:6.3f} {r['diff_points']:+6.1f} "
              f"{r['only_a_right']:6d} {r['only_b_right']:6d} {r['mcnemar_p']:6.3f}  [{lo:+.1f}, {hi:+.1f}]")
    chance = equal_model_chance(discordant, sizes, args.margin)
    print(f"If B were exactly as accurate as A (the same discordant texts, each going either way at "
          f"random), at least one of the {len(sizes)} test and chat/all sets would show B more than "
          f"{args.margin} points below A with probability {chance:.2f} (simulated).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"a": args.a, "b": args.b, "sets": out, "margin": args.margin,
                       "equal_model_chance": chance}, f, indent=1)


if __name__ == "__main__":
    main()
