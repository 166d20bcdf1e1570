#!/usr/bin/env python3
"""Fill models/convqa-mini/ (or --model-dir, e.g. target/models/convqa-e5-small for the teacher): model.onnx, tokenizer.json and manifest.toml (with sha256).

    python training/package.py ONNX [--tokenizer WORK/convqa-vocab/tokenizer.json] [--work DIR]
                               [--model-dir models/convqa-mini]
                               [--name NAME --version V --max-batch N]   # only for a new manifest

Copies ONNX to MODEL_DIR/model.onnx and the trimmed tokenizer (the ids the model was trained
with) to MODEL_DIR/tokenizer.json, then writes manifest.toml with the sha256 of both files. If manifest.toml already
exists, only its two sha256 values are replaced (max_batch, [thresholds] etc. are kept).
Run parity.py afterwards (parity.jsonl depends on model.onnx).
"""
import argparse
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import paths as work_paths  # noqa: E402
from fetch_assets import sha256  # noqa: E402

MANIFEST = '''name = "{name}"
version = "{version}"
max_length = 128
prefix = "query: "
inputs = ["input_ids", "attention_mask"]
{batch_note}max_batch = {max_batch}

# Where model scores become flags: run training/calibrate.py --write to choose them on data/dev.
[thresholds]
impolite_below = 0.3
negative_below = -0.3
sentiment_drop = 1.0

[heads.sentiment]
output = "sentiment_logits"
labels = ["negative", "positive"]

[heads.politeness]
output = "politeness_logits"
labels = ["impolite", "polite"]

[sha256]
"model.onnx" = "{model}"
"tokenizer.json" = "{tokenizer}"
'''
BATCH_NOTES = {
    1: "# Dynamic int8 quantization computes activation scales per call: run each turn on its own so its\n"
       "# score does not depend on the other turns of the batch (see MODEL_CARD.md).\n",
    0: "# Weight-only or per-row quantization: a turn's scores do not depend on its batch mates, so\n"
       "# turns are batched (see MODEL_CARD.md).\n",
}


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx")
    work_paths.add_work_argument(ap)
    ap.add_argument("--tokenizer", default=os.path.join(work_paths.sub("vocab", work), "tokenizer.json"))
    ap.add_argument("--model-dir", default=os.path.join(REPO, "models", "convqa-mini"))
    ap.add_argument("--name", default="", help="for a new manifest (default: the folder's name)")
    ap.add_argument("--version", default="1.0.0", help="for a new manifest")
    ap.add_argument("--max-batch", type=int, default=1, help="for a new manifest: 1 for dynamically "
                    "quantized models (batch-dependent outputs), more for batch-invariant ones")
    args = ap.parse_args()
    os.makedirs(args.model_dir, exist_ok=True)
    dst_model = os.path.join(args.model_dir, "model.onnx")
    dst_tok = os.path.join(args.model_dir, "tokenizer.json")
    shutil.copyfile(args.onnx, dst_model)
    if os.path.abspath(args.tokenizer) != os.path.abspath(dst_tok):
        shutil.copyfile(args.tokenizer, dst_tok)
    sums = {"model": sha256(dst_model), "tokenizer": sha256(dst_tok)}
    man = os.path.join(args.model_dir, "manifest.toml")
    if os.path.exists(man):
        # keep everything else in an existing manifest (max_batch, [thresholds], ...): only the
        # two sha256 values are replaced
        with open(man, encoding="utf-8") as f:
            text = f.read()
        for key, val in (("model.onnx", sums["model"]), ("tokenizer.json", sums["tokenizer"])):
            text, n = re.subn(r'(?m)^"%s" = "[0-9a-f]*"$' % re.escape(key), f'"{key}" = "{val}"', text)
            if n != 1:
                sys.exit(f"{man}: expected one sha256 line for {key}, found {n}")
    else:
        text = MANIFEST.format(**sums, name=args.name or os.path.basename(os.path.abspath(args.model_dir)),
                               version=args.version, max_batch=args.max_batch,
                               batch_note=BATCH_NOTES[1 if args.max_batch == 1 else 0])
    with open(man, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    for name, p in (("model.onnx", dst_model), ("tokenizer.json", dst_tok)):
        print(f"{name}: {os.path.getsize(p):,} bytes sha256 {sha256(p)}")


if __name__ == "__main__":
    main()
