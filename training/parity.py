#!/usr/bin/env python3
"""Write Rust parity fixtures: token ids + onnxruntime softmax probabilities for 24 turns.

    python training/parity.py [--model-dir models/convqa-mini]

Reads MODEL_DIR/model.onnx and MODEL_DIR/tokenizer.json and writes MODEL_DIR/parity.jsonl, one
JSON object per line:
  {"id", "lang", "role", "text", "input_ids", "sentiment": [p_negative, p_positive],
   "politeness": [p_impolite, p_polite], "acts": {act: P(act)} (models with an acts head)}
input_ids are for "query: " + text (the manifest's prefix), <s> ... </s>, truncated to 128.
Probabilities come from running each text ALONE (batch 1, no padding), so the Rust side can
compare without reproducing batching. Each head's probability is calibrated as convqa does it
(manifest [heads.*] scale and bias: p = sigmoid(scale * (logit1 - logit0) + bias)), rounded
to 6 decimals.
The 24 texts were written for this file (not taken from any corpus or from data/eval).
"""
import argparse
import json
import os
import sys

import tomllib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from evaluate import PREFIX, load_tokenizer, session  # noqa: E402

TEXTS = [
    # (lang, role, text)
    ("zh-Hans", "customer", "我的订单已经三天没动静了，到底什么时候发货？"),
    ("zh-Hans", "customer", "收到了，包装很好，谢谢你们！"),
    ("zh-Hans", "customer", "退款申请提交了一周还没处理，太让人失望了"),
    ("zh-Hans", "agent", "您好，很抱歉给您带来不便，我马上为您查询物流信息。"),
    ("zh-Hans", "agent", "这个问题我说过很多次了，你自己看说明书。"),
    ("zh-Hans", "agent", "订单号是 20261126001，请核对。"),
    ("zh-Hant", "customer", "客服回覆超慢，等了兩個小時都沒人理"),
    ("zh-Hant", "customer", "問題解決了，非常感謝您的耐心協助！"),
    ("zh-Hant", "agent", "不好意思讓您久等了，請問還有什麼可以幫您的嗎？"),
    ("zh-Hant", "agent", "規定就是這樣，你不滿意也沒辦法。"),
    ("zh-Hant", "customer", "這個耳機音質很好，戴起來也舒服 👍"),
    ("zh-Hant", "agent", "請提供您的訂單編號，我們會盡快為您處理。"),
    ("en", "customer", "This is the third time I've asked and still no refund. Ridiculous."),
    ("en", "customer", "Thanks a lot, the replacement arrived today and works perfectly!"),
    ("en", "agent", "I'm so sorry for the trouble. Could you please share your order number?"),
    ("en", "agent", "Read the FAQ before wasting my time."),
    ("en", "customer", "ok"),
    ("en", "agent", "Your ticket has been escalated to our billing team; they will email you within 24 hours."),
    ("mixed", "customer", "我的 package 到现在还没 deliver，tracking 一直不更新"),
    ("mixed", "customer", "refund 收到了，thanks 客服小姐姐 😊"),
    ("mixed", "agent", "您好，我帮您 check 一下 order status，请稍等"),
    ("mixed", "agent", "这个 bug 不是我们的 problem，你自己 reinstall 吧"),
    ("mixed", "customer", "app 又 crash 了，真的很 annoying!!!"),
    ("mixed", "agent", "Sorry 讓您久等了，您的 case 已經 escalate 給主管"),
]


def calibrated(logits, head):
    """[p0, p1] of a head from its two logits, with the manifest's Platt scaling."""
    z = head.get("scale", 1.0) * (float(logits[1]) - float(logits[0])) + head.get("bias", 0.0)
    p = 1.0 / (1.0 + np.exp(-z))
    return [round(1.0 - p, 6), round(p, 6)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(REPO, "models", "convqa-mini"))
    args = ap.parse_args()
    with open(os.path.join(args.model_dir, "manifest.toml"), "rb") as f:
        manifest = tomllib.load(f)
    heads = manifest["heads"]
    acts = manifest.get("acts")
    tok = load_tokenizer(os.path.join(args.model_dir, "tokenizer.json"))
    sess = session(os.path.join(args.model_dir, "model.onnx"))
    out_path = os.path.join(args.model_dir, "parity.jsonl")
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        for i, (lang, role, text) in enumerate(TEXTS, 1):
            ids = tok.encode(PREFIX + text).ids
            a = np.array([ids], dtype=np.int64)
            feeds = {"input_ids": a, "attention_mask": np.ones_like(a)}
            s, p = sess.run(["sentiment_logits", "politeness_logits"], feeds)
            row = {"id": f"parity-{i:02d}", "lang": lang, "role": role, "text": text,
                   "input_ids": ids,
                   "sentiment": calibrated(s[0], heads["sentiment"]),
                   "politeness": calibrated(p[0], heads["politeness"])}
            if acts:  # P(act) = sigmoid(logit), in the manifest's label order
                (z,) = sess.run([acts["output"]], feeds)
                row["acts"] = {k: round(float(1 / (1 + np.exp(-v))), 6) for k, v in zip(acts["labels"], z[0])}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"{row['id']} {lang:7s} {role:8s} sent {row['sentiment'][1]:.3f} "
                  f"pol {row['politeness'][1]:.3f} ({len(ids)} ids) {text}")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
