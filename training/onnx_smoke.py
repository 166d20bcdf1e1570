#!/usr/bin/env python3
"""Smoke test, NOT the real export: can model.py (with the trimmed vocabulary) go to ONNX and
give the same pooled vectors under onnxruntime? Encoder + mean pooling only, no heads, fp32.

    python training/onnx_smoke.py [--work DIR] [--vocab DIR] [--out FILE]
      --vocab: output dir of vocab_trim.py (default WORK/convqa-vocab)
      --out:   where to write the .onnx (default WORK/onnx/e5_trim_smoke.onnx)

Uses torch's TorchScript exporter (dynamo=False, opset 17): it needs no extra package; torch
2.15 warns that it is deprecated, which the real export step will have to decide about.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import e5  # noqa: E402
import paths as work_paths  # noqa: E402
from fetch_assets import asset_paths  # noqa: E402

TEXTS = ["您好，请问有什么可以帮您？", "not my problem, you should have read the terms",
         "退款已經處理，請放心 👍", "OK 我帮你 check 一下"]


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    ap.add_argument("--cache", default=work_paths.sub("assets", work))
    ap.add_argument("--vocab", default=work_paths.sub("vocab", work))
    ap.add_argument("--out", default=os.path.join(work_paths.sub("onnx", work), "e5_trim_smoke.onnx"))
    args = ap.parse_args()
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer

    from model import mean_pool
    torch.set_num_threads(2)
    with open(os.path.join(args.vocab, "id_map.json")) as f:
        n2o = torch.tensor(json.load(f)["new_to_old"])
    m = e5.load_model(asset_paths(args.cache)["e5_q4_bin"])
    m.embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(
        m.embeddings.word_embeddings.weight.data[n2o])

    class Pooled(torch.nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.enc = enc

        def forward(self, input_ids, attention_mask):
            return mean_pool(self.enc(input_ids, attention_mask), attention_mask)

    w = Pooled(m).eval()
    tok = Tokenizer.from_file(os.path.join(args.vocab, "tokenizer.json"))
    enc = [e.ids for e in tok.encode_batch([e5.QUERY_PREFIX + t for t in TEXTS])]
    T = max(map(len, enc))
    ids = torch.tensor([x + [1] * (T - len(x)) for x in enc])
    att = torch.tensor([[1] * len(x) + [0] * (T - len(x)) for x in enc])
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    t0 = time.time()
    torch.onnx.export(
        w, (ids, att), args.out, dynamo=False, opset_version=17,
        input_names=["input_ids", "attention_mask"], output_names=["pooled"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                      "pooled": {0: "batch"}})
    print(f"exported {args.out} ({os.path.getsize(args.out) / 2**20:.1f} MiB) in {time.time() - t0:.1f}s")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(args.out, so, providers=["CPUExecutionProvider"])
    for name, (a, b) in {"export shape": (ids, att), "other shape": (ids[:2, :5], att[:2, :5])}.items():
        with torch.inference_mode():
            ref = w(a, b).numpy()
        out = sess.run(None, {"input_ids": a.numpy(), "attention_mask": b.numpy()})[0]
        print(f"onnxruntime {ort.__version__} vs torch, {name} {tuple(a.shape)}: "
              f"max |diff| {np.abs(out - ref).max():.2e}")


if __name__ == "__main__":
    main()
