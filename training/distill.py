#!/usr/bin/env python3
"""Distil the fine-tuned teacher (convqa-e5-small, 12 x 384) into a small, batchable student.

    python training/distill.py speed   [--shapes 4x384,4x256] [--quant row8s,dyn8] ...   # untrained shapes
    python training/distill.py corpus  [--chat WORK/chat.jsonl] [--chat-dev WORK/chat_dev_src.jsonl]
    python training/distill.py teacher                          # teacher logits, cached, resumable
    python training/distill.py train   --layers 4 --hidden 384 --budget-minutes 45 --out DIR [--resume]
    python training/distill.py export  --ckpt DIR/best.pt --out-dir DIR [--quant row8s]
    python training/distill.py average DIR/step9000.pt DIR/step10000.pt ... --out DIR/avg.pt   # scored on dev
    python training/distill.py compare TEACHER_EVAL.json STUDENT_EVAL.json   # evaluate.py --json files
(training/RESULTS.md, section "Distilled student", has the exact commands of a run;
training/recipe.py runs the shipped model's whole recipe.)

Default paths derive from the work root (paths.py): --work-root DIR, else $CONVQA_WORK, else
<repo>/target/training: --work ROOT/distill, --teacher ROOT/convqa-train/best.pt, --cache
ROOT/convqa-assets, --vocab ROOT/convqa-vocab (--work keeps its meaning: the distill folder).

The code lives in modules by job; this file is the command line and re-exports their names:
  distill_student.py  defaults, student shape, initialisation from the teacher
  distill_quant.py    ONNX export, quantized variants (row8s, ...), speed, `speed`, `export`
  distill_data.py     labelled rows, unlabelled corpus (`corpus`), teacher-output caches
  distill_teacher.py  the teacher's ONNX graphs, `teacher`
  distill_train.py    the training loop (`train`), `average`

Why a student, and what kind: convqa scores millions of turns a night on 2 cores. The teacher
runs one turn per call (its dynamic int8 MatMuls compute activation scales over the whole batch,
so a turn's scores would depend on its batch mates). The student's int8 quantization `row8s`
(quantize_rows) computes an activation scale per row (token), so nothing mixes the texts of a
batch and convqa may batch it (manifest max_batch > 1). `speed` measures shapes and variants.

Student: model.BertModel with fewer layers (and optionally a narrower hidden size), the same
trimmed 42,426-piece tokenizer, mean pooling and the two heads of train.Classifier, so
export.py, evaluate.py, calibrate.py and parity.py work on it unchanged.
  - init, hidden = 384: embeddings, heads and a subset of the teacher's layers (--init-layers,
    default spread evenly: 0,4,7,11 for 4 layers) are copied;
  - init, hidden < 384: the teacher's embedding table stays frozen and a learned projection
    (384 -> hidden, started from the PCA of the teacher's hidden states) maps it; each layer
    keeps the teacher's most important attention heads (head dim 32) and FFN neurons, with
    their weights projected the same way. At save time the projection is folded into a plain
    [vocab, hidden] table, so best.pt holds an ordinary BertModel (+ "config");
  - word embeddings are frozen by default (as in train.py), position embeddings cut to
    --max-len rows.

Data (never data/eval, never data/dev: data/dev is for calibration only):
  - the labelled training splits of train.py / data.py (zh + en sentiment, en + zh
    politeness), with their gold soft targets on their own head;
  - unlabelled text (`corpus`): distinct chat turns of convqa's synthetic generator
    (`convqa generate --conversations 20000 --seed 11`), sentences of the train split of the
    Pang & Lee full reviews (in no sentiment split), the middle half of the Stanford Politeness
    requests (dropped by the binary protocol); any dev / test / data/eval / data/dev text is
    excluded;
  - every text gets the teacher's fp32 logits for both heads (`teacher`, cached on disk).
  - `corpus --augment K`: teacher-labelled variants of the English train texts, the politeness
    middle half and the chat turns (words deleted, swapped, replaced; spans kept), as TinyBERT
    augments: a small student needs far more of the teacher's function than the labels show.
  - `corpus --vader`: the VADER paper's rated English sentences (tweets, Amazon, movie and NYT
    snippets), without any near copy of a Pang & Lee or held-out text (near_duplicates).
Loss per text: alpha * T^2 * (KL_sentiment + KL_politeness) at temperature T (--temperature 2,
--alpha 0.5) + (1 - alpha) * CE(gold) on the labelled head, if any; with --embed-weight W also
W * |P(student pooled vector) - teacher pooled vector|^2 / total variance (`teacher --pooled`
caches the teacher's vectors; P: a training-only Linear(hidden -> 384), not exported); with
--hidden-weight W also W * each student layer's token states, through its own training-only
Linear, against the teacher layer it was taken from (TinyBERT; the teacher runs per batch), and
--logit-weight 0 drops the logit terms (a first stage on the teacher's states alone).
Batches mix all sources, bucketed by length (shuffle, chunks of 50 batches sorted by length),
a pure function of (seed, epoch) as in train.py.

Checkpoints as train.py: OUT/last.pt (model, optimizer, scheduler, RNG, step, epoch, position,
args, history; atomic) every --ckpt-minutes, at the end, at --deadline HH:MM (UTC), on SIGTERM
and at --stop-after; `--resume` continues exactly. Every --eval-every steps the dev rows of
train.py are scored and the best mean goes to OUT/best.pt ({"model", "config", ...}; export.py
reads "config"); with --select agreement, the best agreement with the teacher over all dev
texts and the chat dev turns instead (--keep-evals keeps every evaluated checkpoint, for
`average`). Agreement with the teacher on held-out synthetic chat turns (generator seed
12, not trained on) is logged too. --budget-minutes fits --steps to a time budget at step 30.

All steps use at most 2 threads (--threads); run them with `nice` when the machine is shared.
torch with 2 threads slows down badly when another process holds a core: train with 1 thread then.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import data  # noqa: E402
import paths as work_paths  # noqa: E402
# every name of the modules, so that `import distill; distill.quantize_rows(...)` keeps working
from distill_data import *  # noqa: E402,F401,F403
from distill_data import _is_cjk, _pang_lee_style, _tokens, _words  # noqa: E402,F401
from distill_quant import *  # noqa: E402,F401,F403
from distill_student import *  # noqa: E402,F401,F403
from distill_student import TEACHER_ONNX  # noqa: E402
from distill_teacher import *  # noqa: E402,F401,F403
from distill_train import *  # noqa: E402,F401,F403
from distill_data import cmd_corpus  # noqa: E402
from distill_quant import QUANTS, cmd_export, cmd_speed  # noqa: E402
from distill_teacher import cmd_teacher  # noqa: E402
from distill_train import cmd_average, cmd_train  # noqa: E402
from fetch_assets import DEFAULT_CACHE, asset_paths  # noqa: E402,F401
from train import LABELS, TASKS, log  # noqa: E402,F401


FLOORS = {"zh_sentiment": 0.92, "en_sentiment": 0.85, "en_politeness/wikipedia": 0.83,
          "zh_politeness": 0.80, "sentiment/all": 0.85, "politeness/all": 0.85}


def cmd_compare(args):
    """Table of a student's evaluate.py JSON against the teacher's: accuracy, difference in
    points, the issue's limit (-1.5 points) and floors."""
    def load(p):
        with open(p) as f:
            r = json.load(f)
        return next(iter(r.values())) if len(r) == 1 else r[args.key]
    t, s = load(args.teacher_json), load(args.student_json)
    print(f"{'set':32s} {'n':>5s} {'teacher':>8s} {'student':>8s} {'diff':>7s}  limit  floor")
    for part in ("test", "chat_eval"):
        for k in t[part]:
            if k not in s[part]:
                continue
            a, b = t[part][k]["acc"], s[part][k]["acc"]
            d = (b - a) * 100
            fl = FLOORS.get(k)
            print(f"{part[:4] + ' ' + k:32s} {s[part][k]['n']:5d} {a:8.4f} {b:8.4f} {d:+7.2f}  "
                  f"{'ok  ' if d >= -1.5 else 'MISS'}  " + ("" if fl is None else f"{'ok' if b >= fl else 'MISS'} ({fl})"))


# ----------------------------------------------------------------------------------------------
# CLI


def add_work_root(p):
    p.add_argument("--work-root", metavar="DIR", default=None,
                   help=f"work root the default paths derive from (default: ${work_paths.ENV_WORK}, else "
                        f"{work_paths.DEFAULT_WORK}); --work is the distill folder inside it")


def add_data_args(p, root=None):
    """The data options of corpus / teacher / train; defaults under work root `root` (paths.py)."""
    add_work_root(p)
    p.add_argument("--cache", default=work_paths.sub("assets", root))
    p.add_argument("--politeness", default=data.DEFAULT_POLITENESS_DIR)
    p.add_argument("--zh-politeness", default=data.DEFAULT_ZH_POLITENESS)
    p.add_argument("--vocab", default=work_paths.sub("vocab", root))
    p.add_argument("--work", default=work_paths.sub("distill", root),
                   help="corpus.jsonl, chat_dev.jsonl, teacher_logits.npz")
    p.add_argument("--teacher", default=os.path.join(work_paths.sub("train", root), "best.pt"))
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--zh-pol-repeat", type=int, default=2)
    p.add_argument("--dev-zh-sent", type=int, default=600)
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-per-source", type=int, default=0,
                   help="smoke tests only: at most N train and dev rows of each labelled set")


def main():
    root = work_paths.work_from_argv(flag="--work-root")
    work = work_paths.sub("distill", root)
    teacher_ckpt = os.path.join(work_paths.sub("train", root), "best.pt")
    vocab = work_paths.sub("vocab", root)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speed", help="measure untrained students of given shapes vs the teacher")
    sp.add_argument("--shapes", default="4x384,4x256")
    sp.add_argument("--quant", default="row8s,dyn8", help="comma list of: " + ", ".join(QUANTS))
    sp.add_argument("--modes", default="1:2:1,1:1:2,32:2:1,32:1:2",
                    help="comma list of batch:sessions:threads")
    sp.add_argument("--reps", type=int, default=3)
    sp.add_argument("--batch-effect", action="store_true")
    add_work_root(sp)
    sp.add_argument("--teacher", default=teacher_ckpt)
    sp.add_argument("--teacher-onnx", default=TEACHER_ONNX)
    sp.add_argument("--vocab", default=vocab)
    sp.add_argument("--work", default=os.path.join(work, "speed"))
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--json", default="")

    cp = sub.add_parser("corpus", help="unlabelled distillation texts + held-out chat dev turns")
    add_data_args(cp, root)
    cp.add_argument("--chat", default=os.path.join(work, "chat.jsonl"),
                    help="`convqa generate --conversations 20000 --seed 11` output")
    cp.add_argument("--chat-dev", default=os.path.join(work, "chat_dev_src.jsonl"),
                    help="`convqa generate --conversations 2000 --seed 12` output")
    cp.add_argument("--chat-max", type=int, default=20000)
    cp.add_argument("--reviews-max", type=int, default=15000)
    cp.add_argument("--politeness-max", type=int, default=0, help="0: all")
    cp.add_argument("--chat-dev-max", type=int, default=1000)
    cp.add_argument("--augment", type=int, default=0,
                    help="variants per English train text (half as many per chat turn); 0: none")
    cp.add_argument("--augment-en-sentiment", type=int, default=0,
                    help="variants per English sentiment train text, if more than --augment")
    cp.add_argument("--augment-reviews", type=int, default=0, help="variants per review sentence")
    cp.add_argument("--augment-en-politeness", type=int, default=0,
                    help="variants in all per English politeness text (train split and middle half), "
                         "when more than --augment")
    cp.add_argument("--vader", action="store_true",
                    help="add the VADER paper's rated English sentences (tweets, Amazon, movie, NYT snippets) "
                         "as unlabelled text, near copies of held-out texts removed")
    cp.add_argument("--augment-vader", type=int, default=0,
                    help="variants per VADER sentence (needs --augment > 0 to apply)")

    tp = sub.add_parser("teacher", help="teacher logits for every text (cached, resumable)")
    add_data_args(tp, root)
    tp.add_argument("--bs", type=int, default=64)
    tp.add_argument("--limit", type=int, default=0, help="compute at most N texts (smoke test)")
    tp.add_argument("--deadline", default="")
    tp.add_argument("--pooled", action="store_true",
                    help="also cache the teacher's pooled sentence vectors (for train --embed-weight)")
    tp.add_argument("--ckpt-minutes", type=float, default=2.0)

    rp = sub.add_parser("train", help="distil (resumable)")
    add_data_args(rp, root)
    rp.add_argument("--out", default=os.path.join(work, "run"))
    rp.add_argument("--layers", type=int, default=4)
    rp.add_argument("--hidden", type=int, default=384)
    rp.add_argument("--ff", type=int, default=0, help="intermediate size (0: 4 x hidden)")
    rp.add_argument("--init-layers", default="", help="teacher layers to start from (default: spread)")
    rp.add_argument("--steps", type=int, default=3000, help="total steps (sets the warmup length; "
                    "with --budget-minutes only a first guess)")
    rp.add_argument("--budget-minutes", type=float, default=0.0,
                    help="fit --steps at step 30 so that training (and its dev evaluations) ends about "
                    "this many minutes after start")
    rp.add_argument("--bs", type=int, default=32)
    rp.add_argument("--lr", type=float, default=1e-4)
    rp.add_argument("--head-lr", type=float, default=3e-4)
    rp.add_argument("--warmup", type=float, default=0.06)
    rp.add_argument("--temperature", type=float, default=2.0)
    rp.add_argument("--alpha", type=float, default=0.5, help="weight of the KD term (1 - alpha: gold CE)")
    rp.add_argument("--train-embeddings", action="store_true")
    rp.add_argument("--embed-weight", type=float, default=0.0,
                    help="weight of the pooled-vector loss (needs `teacher --pooled`); 0: logits only")
    rp.add_argument("--hidden-weight", type=float, default=0.0,
                    help="weight of a hidden-state loss: each student layer's token states, through a "
                         "training-only Linear(hidden -> 384), against the teacher layer it was taken from "
                         "(the teacher runs on every batch: slower steps)")
    rp.add_argument("--logit-weight", type=float, default=1.0,
                    help="weight of the logit loss (KD + gold CE); 0 with --hidden-weight/--embed-weight "
                         "trains on the teacher's states alone (TinyBERT's first stage)")
    rp.add_argument("--hidden-teacher", choices=("fp32", "shipped"), default="fp32",
                    help="the teacher graph that gives the hidden states")
    rp.add_argument("--teacher-onnx", default=TEACHER_ONNX,
                    help="the shipped (int8) teacher model.onnx that --hidden-teacher shipped reads")
    rp.add_argument("--vader-labels", type=float, default=0.0, metavar="MIN_RATING",
                    help="also train the sentiment head on the gold sign of the VADER sentences of the "
                         "corpus whose mean human rating (-4 to 4) is at least this far from 0 (0: off)")
    rp.add_argument("--vader-repeat", type=int, default=1, help="copies of each --vader-labels row")
    rp.add_argument("--eval-every", type=int, default=250)
    rp.add_argument("--ckpt-minutes", type=float, default=4.0)
    rp.add_argument("--deadline", default="", help="HH:MM UTC: checkpoint and stop at this time")
    rp.add_argument("--select", choices=("dev-mean", "agreement"), default="dev-mean",
                    help="best.pt is the checkpoint with the best mean of the dev accuracies, or the best "
                         "agreement with the teacher over all dev texts and chat dev turns")
    rp.add_argument("--keep-evals", action="store_true", help="also keep OUT/stepN.pt at every evaluation")
    rp.add_argument("--stop-after", type=int, default=0)
    rp.add_argument("--resume", action="store_true")
    rp.add_argument("--init-from", default="",
                    help="start from this checkpoint's weights (last.pt or best.pt of an earlier run), "
                         "fresh optimizer and schedule; use another --seed for another data order")

    ep = sub.add_parser("export", help="best.pt -> ONNX fp32 + quantized variants, checked")
    add_work_root(ep)
    ep.add_argument("--ckpt", default=os.path.join(work, "run", "best.pt"))
    ep.add_argument("--out-dir", default=os.path.join(work, "export"))
    ep.add_argument("--quant", default="row8s", help="comma list of: " + ", ".join(QUANTS))
    ep.add_argument("--vocab", default=vocab)
    ep.add_argument("--threads", type=int, default=2)

    ap_ = sub.add_parser("average", help="weight average of checkpoints of one run, scored on dev")
    ap_.add_argument("ckpts", nargs="+")
    ap_.add_argument("--out", required=True)
    ap_.add_argument("--threads", type=int, default=2)

    mp = sub.add_parser("compare", help="student vs teacher table from two evaluate.py --json files")
    mp.add_argument("teacher_json")
    mp.add_argument("student_json")
    mp.add_argument("--key", default="model.onnx")

    args = ap.parse_args()
    {"speed": cmd_speed, "corpus": cmd_corpus, "teacher": cmd_teacher, "train": cmd_train,
     "export": cmd_export, "average": cmd_average, "compare": cmd_compare}[args.cmd](args)


if __name__ == "__main__":
    main()
