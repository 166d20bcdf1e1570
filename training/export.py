#!/usr/bin/env python3
"""Export a train.py checkpoint (best.pt) to ONNX, then dynamic int8 quantization.

    python training/export.py [--ckpt WORK/convqa-train/best.pt] [--out-dir DIR] [--work DIR]

Writes to --out-dir (default WORK/convqa-export):
  model.fp32.onnx  encoder + mean pooling + both heads, fp32
  model.int8.onnx  the same after onnxruntime.quantization.quantize_dynamic (int8 weights)
and checks both against torch on a few texts.

Graph: inputs input_ids, attention_mask (int64 [batch, seq], dynamic); outputs
sentiment_logits [batch, 2] (negative, positive) and politeness_logits [batch, 2]
(impolite, polite). Exported with torch's TorchScript exporter (dynamo=False), opset 17, then
saved with ir_version 8, because onnxruntime 1.31.1 refuses onnx 1.23's default IR version 14.
Which file ships is decided by evaluate.py's test-split comparison (see MODEL_CARD.md).
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import paths as work_paths  # noqa: E402
import train  # noqa: E402

TEXTS = ["您好，请问有什么可以帮您？", "not my problem, you should have read the terms",
         "退款已經處理，請放心 👍", "OK 我帮你 check 一下", "这个产品太差了，再也不买了",
         "Thanks so much, that fixed it!"]
IR_VERSION = 8
OPSET = 17


def load_classifier(ckpt_path):
    """(model, checkpoint). A checkpoint with a "config" dict (distill.py's students: fewer or
    narrower layers) is rebuilt with that BertConfig; train.py's checkpoints have none and get
    the e5-small shape."""
    import torch
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    sd = ck["model"]
    if ck.get("config"):
        from model import BertConfig, BertModel
        m = train.Classifier(BertModel(BertConfig(**ck["config"])))
        m.load_state_dict(sd, strict=True)
    else:
        m = train.classifier_from_state_dict(sd)
    return m.eval(), ck


def export_fp32(model, ids, att, path):
    """torch -> ONNX (TorchScript exporter, opset 17, dynamic batch and seq), saved with IR 8."""
    import torch
    torch.onnx.export(
        model, (ids, att), path, dynamo=False, opset_version=OPSET,
        input_names=["input_ids", "attention_mask"],
        output_names=["sentiment_logits", "politeness_logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                      "sentiment_logits": {0: "batch"}, "politeness_logits": {0: "batch"}})
    set_ir(path)


def set_ir(path, ir=IR_VERSION):
    import onnx
    m = onnx.load(path)
    m.ir_version = ir
    onnx.checker.check_model(m)
    onnx.save(m, path)


def ort_session(path, threads=2):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    ap.add_argument("--ckpt", default=os.path.join(work_paths.sub("train", work), "best.pt"))
    ap.add_argument("--vocab", default=work_paths.sub("vocab", work))
    ap.add_argument("--out-dir", default=work_paths.sub("export", work))
    ap.add_argument("--per-channel", action="store_true", help="int8 weights per output channel")
    ap.add_argument("--op-types", default="", help="comma list of op types to quantize "
                    "(default: quantize_dynamic's default set)")
    ap.add_argument("--int8-name", default="model.int8.onnx")
    ap.add_argument("--skip-fp32", action="store_true", help="reuse OUT_DIR/model.fp32.onnx")
    args = ap.parse_args()
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    torch.set_num_threads(2)
    os.makedirs(args.out_dir, exist_ok=True)
    model, ck = load_classifier(args.ckpt)
    print(f"checkpoint {args.ckpt}: step {ck.get('step')} dev {ck.get('dev')}")
    tok = train.load_tokenizer(args.vocab, 128)
    ids, att = train.pad_batch(train.encode(tok, TEXTS))
    fp32 = os.path.join(args.out_dir, "model.fp32.onnx")
    t0 = time.time()
    if not args.skip_fp32:
        export_fp32(model, ids, att, fp32)
    print(f"exported {fp32} ({os.path.getsize(fp32) / 2**20:.1f} MiB) in {time.time() - t0:.1f}s")
    int8 = os.path.join(args.out_dir, args.int8_name)
    t0 = time.time()
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=args.per_channel,
                     op_types_to_quantize=args.op_types.split(",") if args.op_types else None)
    set_ir(int8)
    print(f"quantized {int8} ({os.path.getsize(int8) / 2**20:.1f} MiB) in {time.time() - t0:.1f}s")
    for path in (fp32, int8):
        m = onnx.load(path)
        print(f"{os.path.basename(path)}: ir_version {m.ir_version}, opsets "
              f"{[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, "
              f"inputs {[i.name for i in m.graph.input]}, outputs {[o.name for o in m.graph.output]}")
    with torch.inference_mode():
        ref = [t.numpy() for t in model(ids, att)]
    for path in (fp32, int8):
        sess = ort_session(path)
        for shape_name, (a, b) in {"export shape": (ids, att), "other shape": (ids[:3, :7], att[:3, :7])}.items():
            out = sess.run(["sentiment_logits", "politeness_logits"],
                           {"input_ids": a.numpy(), "attention_mask": b.numpy()})
            with torch.inference_mode():
                r = [t.numpy() for t in model(a, b)]
            d = max(np.abs(o - x).max() for o, x in zip(out, r))
            print(f"{os.path.basename(path)} vs torch, {shape_name} {tuple(a.shape)}: max |logit diff| {d:.2e}")
    del ref


if __name__ == "__main__":
    main()
