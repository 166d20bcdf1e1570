#!/usr/bin/env python3
"""How well do user example sentences work on a model's sentence vector? (issue 17, measurement)

    python training/probe_examples.py [--draws 200] [--shots 4]

Five agent classes (acknowledge_feelings, apology, reassurance, dismissive, and no act): the
agent turns of data/acts/eval with exactly one of the four acts, or none. Exemplars: `--shots`
turns per class and language group, drawn at random from data/acts/train (a fresh draw each
time); each eval turn goes to the class of its nearest exemplar (1-NN, cosine). Reported: the
accuracy over `--draws` draws (mean and 5-95 % range) for
- untuned multilingual-e5-small (12 x 384; the space the embedding is distilled towards),
- the shipped model before the act heads (convqa-mini 1.0.0, its mean-pooled vector),
- the shipped model's `embedding` output.
Also the balanced accuracy (mean recall of the five classes; chance 0.2), as the classes are not
balanced (most eval agent turns carry no act: see the counts printed).
"""
import argparse
import glob
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import acts  # noqa: E402
import paths  # noqa: E402

CLASSES = ["acknowledge_feelings", "apology", "reassurance", "dismissive", "none"]
GROUP = {"zh-Hans": "zh", "zh-Hant": "zh", "yue": "zh", "en": "en", "mixed": "mixed"}


def labelled(files):
    out = []
    for r in acts.act_rows(files):
        if r["speaker"] != "agent":
            continue
        ls = [l for l in r["labels"] if l in CLASSES]
        if len(r["labels"]) == 0:
            out.append((r["text"], "none", GROUP[r["lang"]]))
        elif len(ls) == 1 and len(r["labels"]) == 1:
            out.append((r["text"], ls[0], GROUP[r["lang"]]))
    return out


def unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def model_vectors(model_dir, output, texts):
    tok = acts.load_tokenizer(model_dir)
    sess = acts.ort_session(os.path.join(model_dir, "model.onnx"))
    return unit(np.stack([o[0] for o in acts.ort_run(sess, tok, texts, [output])]))


def pooled_copy(model_dir, tmp):
    """The model with its mean-pooled vector (the tensor feeding the heads) as an output."""
    import onnx
    m = onnx.load(os.path.join(model_dir, "model.onnx"))
    head_input = next(n.input[0] for n in m.graph.node
                      if n.op_type in ("MatMul", "MatMulInteger") and "heads.sentiment" in n.input[1])
    # row8s quantizes the heads' input first: walk back to the float tensor (the Div of pooling)
    producers = {o: n for n in m.graph.node for o in n.output}
    t = head_input
    while producers[t].op_type != "Div":
        t = producers[t].input[0]
    m.graph.node.append(onnx.helper.make_node("Identity", [t], ["pooled"]))
    m.graph.output.append(onnx.helper.make_tensor_value_info("pooled", onnx.TensorProto.FLOAT, None))
    os.makedirs(tmp, exist_ok=True)
    for f in ("tokenizer.json",):
        os.symlink(os.path.join(os.path.abspath(model_dir), f), os.path.join(tmp, f))
    onnx.save(m, os.path.join(tmp, "model.onnx"))
    return tmp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--model", default=os.path.join(REPO, "models", "convqa-mini"))
    ap.add_argument("--before", default=os.path.join(REPO, "target", "models", "convqa-mini-1.0.0"),
                    help="convqa-mini 1.0.0 (git show 0c70c94:models/convqa-mini/...)")
    ap.add_argument("--assets", default=os.environ.get("CONVQA_ASSETS") or paths.sub("assets"))
    args = ap.parse_args()
    test = labelled(acts.eval_files())
    pool = labelled(acts.train_files())
    print("eval turns per class:", {c: sum(1 for t in test if t[1] == c) for c in CLASSES})
    texts = [t[0] for t in test] + [t[0] for t in pool]
    spaces = {}
    import e5
    spaces["multilingual-e5-small, untuned"] = e5.E5Embedder(cache_dir=args.assets, threads=2).embed(texts)
    if os.path.isdir(args.before):
        with tempfile.TemporaryDirectory() as tmp:
            d = pooled_copy(args.before, os.path.join(tmp, "m"))
            spaces["convqa-mini 1.0.0, pooled"] = model_vectors(d, "pooled", texts)
    spaces["convqa-mini, embedding"] = model_vectors(args.model, "embedding", texts)
    n = len(test)
    gold = np.array([CLASSES.index(t[1]) for t in test])
    for name, v in spaces.items():
        v = unit(np.asarray(v, dtype=np.float32))
        tv, pv = v[:n], v[n:]
        accs = []
        for d in range(args.draws):
            rng = random.Random(d)
            idx, lab = [], []
            for c in CLASSES:
                for g in ("zh", "en", "mixed"):
                    cand = [i for i, t in enumerate(pool) if t[1] == c and t[2] == g]
                    for i in rng.sample(cand, min(args.shots, len(cand))):
                        idx.append(i)
                        lab.append(CLASSES.index(c))
            sims = tv @ pv[idx].T
            pred = np.array(lab)[sims.argmax(1)]
            accs.append((float((pred == gold).mean()),
                         float(np.mean([(pred[gold == c] == c).mean() for c in range(len(CLASSES))]))))
        a, b = np.array(accs).T
        print(f"{name:34s} 1-NN accuracy {a.mean():.3f} (5-95 %: {np.quantile(a, 0.05):.3f}-"
              f"{np.quantile(a, 0.95):.3f}), balanced (mean recall of the 5 classes) {b.mean():.3f} "
              f"({np.quantile(b, 0.05):.3f}-{np.quantile(b, 0.95):.3f})")


if __name__ == "__main__":
    main()
