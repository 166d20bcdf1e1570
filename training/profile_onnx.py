#!/usr/bin/env python3
"""Where an exported model spends its time, per ONNX op type (onnxruntime's node profiler).

    python training/profile_onnx.py MODEL.onnx BATCH

Runs the 767 chat turns of data/eval/turns.jsonl twice, sorted by length, in batches of BATCH,
one intra-op thread, all graph optimizations (as convqa), and prints each op type's share of the
summed node time. Node time leaves out per-call overhead outside the kernels.
"""
import collections
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
model = sys.argv[1]
tok = Tokenizer.from_file(os.path.join(REPO, "models", "convqa-mini", "tokenizer.json")); tok.enable_truncation(max_length=128); tok.no_padding()
texts = [json.loads(l)["text"] for l in open(os.path.join(REPO, "data", "eval", "turns.jsonl")) if l.strip()]
enc = sorted([e.ids for e in tok.encode_batch(["query: " + t for t in texts])], key=len)
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.enable_profiling = True
o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
bs = int(sys.argv[2])
for rep in range(2):
    for i in range(0, len(enc), bs):
        b = enc[i:i+bs]; w = max(map(len, b))
        ids = np.ones((len(b), w), np.int64); m = np.zeros((len(b), w), np.int64)
        for r, e in enumerate(b): ids[r, :len(e)] = e; m[r, :len(e)] = 1
        s.run(None, {"input_ids": ids, "attention_mask": m})
p = s.end_profiling()
ev = json.load(open(p))
by = collections.Counter(); cnt = collections.Counter()
for e in ev:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        by[e["args"]["op_name"]] += e["dur"]; cnt[e["args"]["op_name"]] += 1
tot = sum(by.values())
os.remove(p)
print(f"total node time {tot/1e6:.2f} s; nodes per run ~{sum(cnt.values())/ (2*((len(enc)+bs-1)//bs)):.0f}")
for k, v in by.most_common(18): print(f"{k:28s} {100*v/tot:5.1f} %  calls {cnt[k]}")
