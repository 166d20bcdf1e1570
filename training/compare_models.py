#!/usr/bin/env python3
"""Two packaged model folders side by side, as convqa uses them: calibrated scores, the
manifests' flag thresholds, and the flags a QA reviewer sees.

    python training/compare_models.py A_DIR B_DIR [--bin target/release/convqa] [--json OUT]

`training/paired.py` compares two ONNX files on the held-out test sets by argmax. That is not
enough to decide whether a student can replace the teacher: a model can stay within a point
there and still find far fewer of the turns that matter (a customer leaving angry, a curt
agent), because the sets are reviews and requests, and because its calibration and thresholds
are its own. This script runs `convqa eval` with each folder on the hand-labelled chat data of
`data/eval/` (evaluation only, never used to train or tune) and prints, A against B:

- chat turns (`turns.jsonl`): binary accuracy per task and language, and the precision / recall
  of the flag threshold (`negative_below`, `impolite_below`) for finding negative / impolite turns;
- labelled conversations (`conversations.jsonl` + `conversation_labels.jsonl`): pass/fail
  accuracy, and precision / recall of the findings that come from the model
  (`customer_ends_negative`, `impolite_turn`, `sentiment_dropped`) and of all findings.

Each folder must hold model.onnx, tokenizer.json and a calibrated manifest.toml
(`training/package.py`, then `training/calibrate.py --model-dir DIR --write`).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = os.path.join(REPO, "data", "eval")
MODEL_FINDINGS = ("customer_ends_negative", "impolite_turn", "sentiment_dropped")


def run_eval(binary, model_dir, out):
    cmd = [binary, "eval", "--model", model_dir,
           "--turns", os.path.join(EVAL, "turns.jsonl"),
           "--conversations", os.path.join(EVAL, "conversations.jsonl"),
           "--labels", os.path.join(EVAL, "conversation_labels.jsonl"),
           "--out", out]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {done.returncode}\n{done.stderr}")
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def ratio(num, den):
    return num / den if den else None


def figures(report):
    """{row name: value or None}, in print order."""
    rows = {}
    for g in report["turns"][0]["groups"]:
        key = f"turns {g['task']} {g['lang']}"
        rows[f"{key}: binary accuracy (n={g['binary_n']})"] = g["binary_accuracy"]
        if g["lang"] == "all":
            rows[f"{key}: flag precision"] = g["flag_precision"]
            rows[f"{key}: flag recall"] = g["flag_recall"]
    conv = report["conversations"][0]
    rows[f"conversations: pass/fail accuracy (n={conv['conversations']})"] = conv["pass_fail_accuracy"]
    by_name = {f["finding"]: f for f in conv["findings"]}
    for name in MODEL_FINDINGS:
        f = by_name.get(name, {"true_positives": 0, "false_positives": 0, "false_negatives": 0})
        tp, fp, fn = f["true_positives"], f["false_positives"], f["false_negatives"]
        rows[f"finding {name}: precision"] = ratio(tp, tp + fp)
        rows[f"finding {name}: recall (labelled {tp + fn})"] = ratio(tp, tp + fn)
    o = conv["overall"]
    tp, fp, fn = o["true_positives"], o["false_positives"], o["false_negatives"]
    rows["all findings: precision"] = ratio(tp, tp + fp)
    rows[f"all findings: recall (labelled {tp + fn})"] = ratio(tp, tp + fn)
    return rows


def fmt(x):
    return "  n/a" if x is None else f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "convqa"),
                    help="the convqa binary (cargo build --release)")
    ap.add_argument("--json", default="", help="also write both reports' figures here")
    args = ap.parse_args()
    if not os.path.isfile(args.bin):
        sys.exit(f"{args.bin}: no convqa binary; build it with `cargo build --release` or pass --bin")
    with tempfile.TemporaryDirectory() as tmp:
        ra = run_eval(args.bin, args.a, os.path.join(tmp, "a.json"))
        rb = run_eval(args.bin, args.b, os.path.join(tmp, "b.json"))
    fa, fb = figures(ra), figures(rb)
    print(f"A = {args.a} ({ra['model']})")
    print(f"B = {args.b} ({rb['model']})")
    width = max(len(k) for k in fa)
    print(f"{'':{width}}      A      B    B-A")
    for key, va in fa.items():
        vb = fb.get(key)
        diff = "" if va is None or vb is None else f"{vb - va:+.3f}"
        print(f"{key:{width}}  {fmt(va)}  {fmt(vb)}  {diff}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"a": args.a, "b": args.b, "figures_a": fa, "figures_b": fb}, f, indent=1)


if __name__ == "__main__":
    main()
