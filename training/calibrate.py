#!/usr/bin/env python3
"""Calibrate the model's two heads and choose its flag thresholds on held-out chat turns.

    python training/calibrate.py [--model-dir models/convqa-mini] [--dev data/dev/turns.jsonl]
                                 [--eval data/eval/turns.jsonl] [--write] [--json OUT.json]

Tuning data is `data/dev/turns.jsonl` (hand-written chat turns kept for tuning). `data/eval/`
is only *reported* here, never used to choose anything.

1. Platt scaling per head. Each turn's logit difference d = logit1 - logit0 (run alone, batch 1,
   exactly as convqa runs the shipped model) gets p = sigmoid(scale * d + bias). scale and bias
   minimise the cross-entropy against soft targets: negative / impolite = 0, neutral = 0.5,
   positive / polite = 1. The review-trained heads are over-confident on chat (a neutral
   "ok, received" reads as 0.99 or 0.01); scaling makes 0.5 mean "neither".
2. Calibration error: expected calibration error (10 equal-width bins of p, |mean p - mean
   target| weighted by bin size) before and after, on dev and on eval.
3. Thresholds: `impolite_below` is the P(polite) cut that maximises F-beta for finding
   `impolite` agent turns on dev; `negative_below` the sentiment (2p - 1) cut that maximises
   F-beta for `negative` customer turns on dev. beta = 0.5 (--beta) weighs precision twice as
   much as recall: a flag sends a person to read a turn, so false flags cost review time and
   trust. Ties go to the stricter (lower) cut.
   Precision and recall at the chosen cuts are printed for dev and eval.

--write puts scale / bias into the manifest's [heads.*] tables and the two cuts into
[thresholds] (other lines are kept). Run parity.py afterwards: parity fixtures hold calibrated
probabilities.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from evaluate import OUTPUT, PREFIX, load_tokenizer, session  # noqa: E402

TARGET = {"negative": 0.0, "impolite": 0.0, "neutral": 0.5, "positive": 1.0, "polite": 1.0}
FLAGGED = {"sentiment": "negative", "politeness": "impolite"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def logit_diffs(sess, tok, rows, task):
    """Logit1 - logit0 of the task's head, one text per call (the shipped model's max_batch = 1)."""
    out = np.zeros(len(rows), np.float64)
    for i, r in enumerate(rows):
        ids = np.array([tok.encode(PREFIX + r["text"]).ids], dtype=np.int64)
        res = sess.run([OUTPUT[task]], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        out[i] = float(res[1]) - float(res[0])
    return out


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def fit_platt(d, y, l2=1e-3, iters=100):
    """(scale, bias) minimising mean soft-target cross-entropy, by Newton's method."""
    w = np.array([1.0, 0.0])
    X = np.stack([d, np.ones_like(d)], 1)
    for _ in range(iters):
        p = sigmoid(X @ w)
        grad = X.T @ (p - y) / len(y) + l2 * np.array([w[0] - 1.0, 0.0])
        h = (X * (p * (1 - p))[:, None]).T @ X / len(y) + l2 * np.diag([1.0, 0.0]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def ece(p, y, bins=10):
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return total / len(p)


def best_cut(score, positive, beta):
    """The cut c maximising F-beta of `score < c` for finding `positive`; ties -> lowest c."""
    cands = np.unique(np.round(score, 3))
    best = (-1.0, None)
    for c in np.concatenate([cands + 1e-3, [cands.min()]]):
        prec, rec, _ = f1(score < c, positive)
        f = 0.0 if prec + rec == 0 else (1 + beta**2) * prec * rec / (beta**2 * prec + rec)
        if f > best[0] + 1e-12:
            best = (f, float(np.round(c, 3)))
    return best[1]


def f1(flagged, positive):
    tp = int((flagged & positive).sum())
    prec = tp / max(1, int(flagged.sum()))
    rec = tp / max(1, int(positive.sum()))
    return prec, rec, 0.0 if tp == 0 else 2 * prec * rec / (prec + rec)


def binary_acc(p, labels):
    m = labels != "neutral"
    return float(((p[m] >= 0.5) == (np.array([TARGET[x] for x in labels[m]]) == 1.0)).mean()), int(m.sum())


def update_manifest(path, cal, cuts):
    text = open(path, encoding="utf-8").read()
    for head, (scale, bias) in cal.items():
        sect = re.search(r"(?ms)^\[heads\.%s\]\n(.*?)(?=^\[|\Z)" % head, text)
        if not sect:
            sys.exit(f"{path}: no [heads.{head}] table")
        body = re.sub(r"(?m)^(scale|bias) = .*\n", "", sect.group(1)).rstrip("\n") + "\n"
        body += f"scale = {scale:.4f}\nbias = {bias:.4f}\n\n"
        text = text[:sect.start(1)] + body + text[sect.end(1):]
    for key, val in cuts.items():
        text, n = re.subn(r"(?m)^%s = .*$" % key, f"{key} = {val}", text)
        if n != 1:
            sys.exit(f"{path}: expected one `{key} = ` line in [thresholds], found {n}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(REPO, "models", "convqa-mini"))
    ap.add_argument("--dev", default=os.path.join(REPO, "data", "dev", "turns.jsonl"))
    ap.add_argument("--eval", default=os.path.join(REPO, "data", "eval", "turns.jsonl"))
    ap.add_argument("--write", action="store_true", help="write scale/bias/thresholds into the manifest")
    ap.add_argument("--beta", type=float, default=0.5, help="F-beta of the threshold choice")
    ap.add_argument("--json", default="", help="also write the report as JSON here")
    args = ap.parse_args()
    tok = load_tokenizer(os.path.join(args.model_dir, "tokenizer.json"))
    sess = session(os.path.join(args.model_dir, "model.onnx"))
    sets = {"dev": load(args.dev), "eval": load(args.eval)}
    report, cal, cuts = {}, {}, {}
    for task in ("sentiment", "politeness"):
        data = {}
        for name, rows in sets.items():
            rows = [r for r in rows if r["task"] == task]
            labels = np.array([r["label"] for r in rows])
            data[name] = (logit_diffs(sess, tok, rows, task), labels)
        d, labels = data["dev"]
        y = np.array([TARGET[x] for x in labels])
        scale, bias = fit_platt(d, y)
        cal[task] = (scale, bias)
        p_dev = sigmoid(scale * d + bias)
        score_dev = 2 * p_dev - 1 if task == "sentiment" else p_dev
        cut = best_cut(score_dev, labels == FLAGGED[task], args.beta)
        key = "negative_below" if task == "sentiment" else "impolite_below"
        cuts[key] = cut
        rep = report[task] = {"scale": scale, "bias": bias, key: cut}
        print(f"{task}: scale {scale:.4f} bias {bias:.4f}; {key} = {cut}")
        for name, (d, labels) in data.items():
            y = np.array([TARGET[x] for x in labels])
            raw, calp = sigmoid(d), sigmoid(scale * d + bias)
            score = 2 * calp - 1 if task == "sentiment" else calp
            prec, rec, f = f1(score < cut, labels == FLAGGED[task])
            acc_raw, n_bin = binary_acc(raw, labels)
            acc_cal, _ = binary_acc(calp, labels)
            neutral = calp[labels == "neutral"]
            rep[name] = {"n": len(labels), "ece_raw": ece(raw, y), "ece_calibrated": ece(calp, y),
                         "binary_acc_raw": acc_raw, "binary_acc_calibrated": acc_cal, "binary_n": n_bin,
                         "neutral_mean_p": float(neutral.mean()) if len(neutral) else None,
                         f"{FLAGGED[task]}_flag_precision": prec, f"{FLAGGED[task]}_flag_recall": rec,
                         f"{FLAGGED[task]}_flag_f1": f}
            print(f"  {name:4s} n={len(labels):3d}  ECE {rep[name]['ece_raw']:.3f} -> "
                  f"{rep[name]['ece_calibrated']:.3f}  binary acc {acc_raw:.3f} -> {acc_cal:.3f} "
                  f"(n={n_bin})  neutral mean p {rep[name]['neutral_mean_p']:.2f}  "
                  f"{FLAGGED[task]} flag P {prec:.2f} R {rec:.2f} F1 {f:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    if args.write:
        update_manifest(os.path.join(args.model_dir, "manifest.toml"), cal, cuts)
        print(f"wrote calibration and thresholds into {args.model_dir}/manifest.toml; run parity.py next")


if __name__ == "__main__":
    main()
