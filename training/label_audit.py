#!/usr/bin/env python3
"""Re-annotate a sample of a held-out sentiment set, blind, and measure how noisy its gold labels
are and how accurate a model is against careful labels.

    python training/label_audit.py sample zh_sentiment --per-stratum 80 --dir $CONVQA_WORK/audit
    # annotate DIR/zh_sentiment.sheet.tsv blind: one line `audit_id <TAB> label`,
    # label = positive | negative | unclear, into a file of your own (e.g. training/audit/...)
    python training/label_audit.py keys zh_sentiment --dir $CONVQA_WORK/audit \\
        --answers MY_ANSWERS.tsv --out training/audit/zh_sentiment.tsv
    python training/label_audit.py score zh_sentiment --labels training/audit/zh_sentiment.tsv \\
        --model target/models/convqa-e5-small/model.onnx:1 --model models/convqa-mini/model.onnx:32

Why: issue 5 sets absolute floors (zh sentiment >= 0.92, en sentiment >= 0.85) that the teacher
misses too. If a set's gold labels are wrong on a few per cent of its texts, no model can score
above that ceiling against them, and its accuracy understates how often the model is right.

Design. The test split is divided by whether the reference model (the first `--model`, the
teacher) agrees with the gold label: the *agree* stratum and the *disagree* stratum. The sample
takes the same number of texts from each (the disagree stratum is small and is where label errors
show), shuffled together so that the annotator cannot tell them apart. The sheet shows the text
only: no gold label, no model output. Estimates weight each stratum by its size in the whole
split (stratified estimator), so they hold for the whole test split, for any model, and for the
gold labels themselves; the 95 % interval is the stratified normal one. `unclear` texts (mixed,
neutral, not a judgement) are reported and left out of the accuracy estimates.

Only sha1 keys of the texts and the annotator's labels are committed (`--out`), never the texts:
the Pang & Lee sentences are for research use only and are not redistributed.
"""
import argparse
import hashlib
import json
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402
import paired  # noqa: E402

LABELS = ("negative", "positive", "unclear")


def key(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def test_rows(name):
    for set_name, task, rows in evaluate.test_sets():
        if set_name == name:
            if task != "sentiment":
                raise SystemExit(f"{name}: only the sentiment sets can be audited (task {task})")
            return paired.binary_rows(rows, task)
    raise SystemExit(f"{name}: no such test set; try zh_sentiment or en_sentiment")


def predict(spec, rows, tok):
    """`path.onnx[:batch]` -> predicted label per row."""
    path, _, bs = spec.partition(":")
    sess = evaluate.session(path)
    logits = evaluate.run(sess, tok, [t for t, _ in rows], bs=int(bs or 1))["sentiment_logits"]
    return [evaluate.LABELS["sentiment"][i] for i in logits.argmax(-1)]


def sample(args):
    rows = test_rows(args.set)
    tok = evaluate.load_tokenizer(args.tokenizer)
    pred = predict(args.model, rows, tok)
    strata = {"agree": [], "disagree": []}
    for (text, gold), p in zip(rows, pred):
        strata["agree" if p == gold else "disagree"].append((text, gold, p))
    rng = random.Random(args.seed)
    picked = []
    for name in ("agree", "disagree"):
        members = sorted(strata[name])
        picked += [(name, *m) for m in rng.sample(members, min(args.per_stratum, len(members)))]
    rng.shuffle(picked)
    os.makedirs(args.dir, exist_ok=True)
    sheet = os.path.join(args.dir, f"{args.set}.sheet.tsv")
    with open(sheet, "w", encoding="utf-8") as f:
        for i, (_, text, _, _) in enumerate(picked):
            f.write(f"{i:03d}\t{' '.join(text.split())}\n")
    with open(os.path.join(args.dir, f"{args.set}.key.json"), "w", encoding="utf-8") as f:
        json.dump({"set": args.set, "model": os.path.relpath(args.model, evaluate.REPO), "seed": args.seed,
                   "strata_sizes": {k: len(v) for k, v in strata.items()},
                   "items": [{"audit_id": f"{i:03d}", "key": key(t), "stratum": s}
                             for i, (s, t, _, _) in enumerate(picked)]}, f, indent=1)
    print(f"{sheet}: {len(picked)} texts to label blind "
          f"(strata: agree {len(strata['agree'])}, disagree {len(strata['disagree'])} in the split)")


def keys(args):
    """Turn the annotator's `audit_id label` lines into the committed `key stratum label` file."""
    meta = json.load(open(os.path.join(args.dir, f"{args.set}.key.json"), encoding="utf-8"))
    by_id = {it["audit_id"]: it for it in meta["items"]}
    answers = {}
    for n, line in enumerate(open(args.answers, encoding="utf-8"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        audit_id, label = line.split()[:2]
        if audit_id not in by_id or label not in LABELS:
            raise SystemExit(f"{args.answers}:{n}: unknown id {audit_id!r} or label {label!r} "
                             f"(labels: {', '.join(LABELS)})")
        answers[audit_id] = label
    missing = sorted(set(by_id) - set(answers))
    if missing:
        raise SystemExit(f"{args.answers}: {len(missing)} ids not labelled, first {missing[0]}")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(f"# {args.set} test split, blind re-annotation; strata by agreement of {meta['model']}"
                f" with gold, sizes {json.dumps(meta['strata_sizes'])}, seed {meta['seed']}\n")
        f.write("# key = sha1(text)[:16]\tstratum\tlabel\n")
        for it in sorted(meta["items"], key=lambda it: it["key"]):
            f.write(f"{it['key']}\t{it['stratum']}\t{answers[it['audit_id']]}\n")
    print(f"{args.out}: {len(answers)} labels")


def estimate(strata, known_total, n, reps=4000, seed=1):
    """Accuracy against the re-annotation on the clear texts of the whole split.

    `strata`: {stratum: (size in the split, [(e, u)] per audited text)} where e = (model right by
    the re-annotation on a clear text) - (model right by gold) and u = 1 for an unclear text.
    `known_total`: texts the model gets right by gold in the whole split (known exactly).
    Difference estimator: right by re-annotation = known_total + sum of e over the split, divided
    by the clear texts of the split; both sums are stratified expansions. Only the texts where
    gold and re-annotation differ (or that are unclear) move the figure, so its interval is much
    narrower than a plain sample mean's. 95 % interval: bootstrap within strata."""
    def point(samples):
        right, unclear = float(known_total), 0.0
        for (size, _), xs in zip(strata.values(), samples):
            if xs:
                right += size * sum(e for e, _ in xs) / len(xs)
                unclear += size * sum(u for _, u in xs) / len(xs)
        return right / (n - unclear)
    rng = random.Random(seed)
    base = [xs for _, xs in strata.values()]
    boot = sorted(point([[rng.choice(xs) for _ in xs] if xs else xs for xs in base]) for _ in range(reps))
    return point(base), boot[int(0.025 * reps)], boot[int(0.975 * reps) - 1]


def score(args):
    rows = test_rows(args.set)
    tok = evaluate.load_tokenizer(args.tokenizer)
    labels = {}
    for line in open(args.labels, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        k, stratum, label = line.split()
        labels[k] = (stratum, label)
    index = {key(t): i for i, (t, _) in enumerate(rows)}
    missing = [k for k in labels if k not in index]
    if missing:
        raise SystemExit(f"{args.labels}: {len(missing)} keys are not in the {args.set} test split "
                         f"(data or split changed?), first {missing[0]}")
    gold = [y for _, y in rows]
    preds = {"gold labels": gold}
    preds.update((spec, predict(spec, rows, tok)) for spec in args.model)
    ref = preds[args.model[0]]
    stratum_of = ["agree" if p == g else "disagree" for p, g in zip(ref, gold)]
    for k, (stratum, _) in labels.items():
        if stratum != stratum_of[index[k]]:
            raise SystemExit(f"{args.labels}: key {k} was sampled as {stratum}, but the first --model "
                             f"now falls in the other stratum: pass the model the sample was drawn with")
    n = len(rows)
    sizes = {s: stratum_of.count(s) for s in ("agree", "disagree")}
    audited = {s: [(index[k], lab) for k, (st, lab) in labels.items() if st == s] for s in sizes}
    print(f"{args.set}: {n} test texts; {len(labels)} re-annotated blind "
          f"({', '.join(f'{s} {len(xs)} of {sizes[s]}' for s, xs in audited.items())})")
    share_unclear = sum(sizes[s] * sum(lab == "unclear" for _, lab in xs) / len(xs)
                        for s, xs in audited.items() if xs) / n
    print(f"unclear (mixed, neutral, no judgement): {100 * share_unclear:.1f} % of the split")
    out = {"set": args.set, "n": n, "audited": len(labels), "strata": sizes,
           "unclear_share": share_unclear, "models": {}}
    print(f"{'':48s} {'vs gold':>8s}   {'vs re-annotation, clear texts (95 % CI)':s}")
    for name, p in preds.items():
        strata = {s: (sizes[s], [((lab != "unclear" and p[i] == lab) - (p[i] == gold[i]), lab == "unclear")
                                 for i, lab in xs]) for s, xs in audited.items()}
        known = sum(x == g for x, g in zip(p, gold))
        est, lo, hi = estimate(strata, known, n)
        out["models"][name] = {"acc_gold": known / n, "acc_reannotated": est, "ci95": [lo, hi]}
        print(f"{name:48s} {known / n:8.3f}   {est:.3f} ({lo:.3f} to {hi:.3f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("set", help="zh_sentiment or en_sentiment")
    common.add_argument("--tokenizer", default=evaluate.DEFAULT_TOKENIZER)
    s = sub.add_parser("sample", parents=[common])
    s.add_argument("--model", default=os.path.join(evaluate.REPO, "target", "models", "convqa-e5-small",
                                                   "model.onnx:1"), help="path.onnx[:batch], defines the strata")
    s.add_argument("--per-stratum", type=int, default=80)
    s.add_argument("--seed", type=int, default=20261127)
    s.add_argument("--dir", required=True, help="where the sheet and its key go (outside the repo)")
    k = sub.add_parser("keys", parents=[common])
    k.add_argument("--dir", required=True)
    k.add_argument("--answers", required=True)
    k.add_argument("--out", required=True)
    c = sub.add_parser("score", parents=[common])
    c.add_argument("--labels", required=True)
    c.add_argument("--model", action="append", required=True,
                   help="path.onnx[:batch]; the first one must be the model the sample was drawn with")
    c.add_argument("--json")
    args = ap.parse_args()
    {"sample": sample, "keys": keys, "score": score}[args.cmd](args)


if __name__ == "__main__":
    main()
