#!/usr/bin/env python3
"""Agent-act and customer-distress heads plus a general sentence vector on convqa-mini.

One command retrains the shipped model's new heads from scratch, resumably:

    python training/acts.py all --work target/training/acts [--base models/convqa-mini]

Steps (each writes into --work and is skipped when its output exists; `--force` reruns):

  base       the shipped student as a PyTorch model: its int8 weights (row8s) dequantized back
             into the 4 x 192 BERT of training/model.py, checked against onnxruntime
  pool       the texts the model trains on: the labelled turns of data/acts/train (acts and
             distress), the distinct turns of `convqa generate` and the sentiment / politeness
             train splits (texts only); for each, the base model's sentiment and politeness
             logits (what must not change) and the untuned multilingual-e5-small vector (the
             general space user example sentences need)
  train      fine-tunes every weight: BCE on the eight act labels (agent acts on agent turns,
             distress on customer turns), KL to the base model's sentiment / politeness outputs,
             and 1 - cos between a Linear(192 -> 384) of the pooled vector and the e5 vector.
             The checkpoint with the best mean average precision on data/acts/dev.jsonl is kept
  export     ONNX (outputs sentiment_logits, politeness_logits, act_logits, embedding), then the
             same per-row int8 quantization as the shipped student (row8s)
  calibrate  per act, the lowest threshold whose precision on data/acts/dev.jsonl reaches the
             target (0.90 for blame_customer, dismissive, sarcasm, rude; 0.85 for the others);
             where dev cannot reach it with recall >= 0.2, the next lower precision by 0.05
             (down to 0.80), stated in the manifest
  package    OUT (default: models/convqa-mini): model.onnx, tokenizer.json, manifest.toml with
             the acts, thresholds and SHA-256, parity fixtures

`data/acts/eval` takes part in none of these steps: `convqa eval --acts` measures on it afterwards.
"""
import argparse
import glob
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import paths  # noqa: E402

ACTS = ["acknowledge_feelings", "apology", "reassurance", "blame_customer", "dismissive",
        "sarcasm", "rude", "distress"]
AGENT_ACTS = ACTS[:7]
# precision the threshold of each act must reach on dev (issue 17's targets)
# distress at 0.90 too: it opens the empathy gate, and a false gate is a false "missing apology"
TARGET_PRECISION = {a: 0.90 for a in ("blame_customer", "dismissive", "sarcasm", "rude", "distress")}
# a threshold that finds fewer of dev's positives than this is not worth shipping at its precision
MIN_RECALL = 0.2
PREFIX = "query: "
MAX_LEN = 128
E5_DIM = 384
SEED = 17


def log(msg):
    print(time.strftime("%H:%M:%S", time.gmtime()) + " " + msg, flush=True)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def act_rows(paths):
    """Labelled turns: [{text, speaker, lang, labels, y [8], mask [8]}]."""
    rows = []
    for p in paths:
        for r in read_jsonl(p):
            y = [1.0 if a in r["labels"] else 0.0 for a in ACTS]
            agent = r["speaker"] == "agent"
            mask = [1.0 if agent else 0.0] * 7 + [0.0 if agent else 1.0]
            rows.append({"text": r["text"], "speaker": r["speaker"], "lang": r["lang"],
                         "labels": r["labels"], "y": y, "mask": mask, "id": r["id"]})
    return rows


def identifier_rows(n, seed=SEED):
    """Turns that are only an identifier or a bare fact (order and tracking numbers, phone
    fragments, e-mail addresses, amounts, dates), alone or with a few plain words: no act, no
    distress. The labelled sets have few of them, and an unseen one ("TW20261101-77821") read as
    distress opens the empathy gate."""
    rng = random.Random(f"{seed}:ids")
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

    def code():
        kind = rng.randrange(6)
        if kind == 0:
            return "".join(rng.choice(letters) for _ in range(rng.randint(1, 3))) + \
                "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 16)))
        if kind == 1:
            return f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(2024, 2026)}{rng.randint(1, 12):02d}" \
                f"{rng.randint(1, 28):02d}-{rng.randint(100, 99999)}"
        if kind == 2:
            return f"1{rng.randint(30, 99)}****{rng.randint(1000, 9999)}"
        if kind == 3:
            return f"{rng.choice(['amy', 'li.wei', 'j_chan', 'kevin88', 'tsai'])}{rng.randint(1, 999)}@" \
                f"{rng.choice(['gmail.com', 'qq.com', 'outlook.com', '163.com'])}"
        if kind == 4:
            return f"{rng.choice(['¥', '$', 'NT$', 'HK$', 'RM'])}{rng.randint(5, 5000)}.{rng.randint(0, 99):02d}"
        return f"{rng.randint(2025, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    frames = ["{}", "{}", "{}", "#{}", "{} 这个", "订单号 {}", "單號：{}", "order {}", "my order is {}",
              "tracking: {}", "{} thx", "好的，{}", "係 {}", "是 {}", "{} 呢個", "ref {}", "{}，麻烦了",
              "account {}", "就是 {}", "{} pls"]
    rows = []
    for i in range(n):
        speaker = "customer" if i % 3 else "agent"
        text = rng.choice(frames).format(code())
        y = [0.0] * len(ACTS)
        mask = [1.0] * 7 + [0.0] if speaker == "agent" else [0.0] * 7 + [1.0]
        rows.append({"text": text, "speaker": speaker, "lang": "mixed", "labels": [], "y": y,
                     "mask": mask, "id": f"identifier-{i}"})
    return rows


def train_files():
    return sorted(glob.glob(os.path.join(REPO, "data", "acts", "train", "*.jsonl")))


def dev_file():
    return os.path.join(REPO, "data", "acts", "dev.jsonl")


def eval_files():
    return sorted(glob.glob(os.path.join(REPO, "data", "acts", "eval", "*.jsonl")))


# ----------------------------------------------------------------------------------------------
# the model


def build_model(cfg):
    import torch
    from model import BertModel, mean_pool

    class ActsModel(torch.nn.Module):
        """encoder -> mean pool -> sentiment, politeness (Linear 2 each), acts (Linear 8),
        embedding (Linear 192 -> 384, L2-normalized)."""

        def __init__(self):
            super().__init__()
            self.encoder = BertModel(cfg)
            h = cfg.hidden_size
            self.heads = torch.nn.ModuleDict({t: torch.nn.Linear(h, 2)
                                              for t in ("sentiment", "politeness")})
            self.acts = torch.nn.Linear(h, len(ACTS))
            self.embed = torch.nn.Linear(h, E5_DIM)

        def pooled(self, ids, att):
            return mean_pool(self.encoder(ids, att), att)

        def forward(self, ids, att):
            p = self.pooled(ids, att)
            e = torch.nn.functional.normalize(self.embed(p), dim=-1)
            return self.heads["sentiment"](p), self.heads["politeness"](p), self.acts(p), e

    return ActsModel()


def student_config():
    from model import BertConfig
    return BertConfig(vocab_size=42426, hidden_size=192, num_hidden_layers=4,
                      num_attention_heads=6, intermediate_size=768, max_position_embeddings=128)


def dequantized_weights(onnx_path):
    """{torch parameter name: np.array} from the row8s student: each int8 MatMul weight times its
    per-column scale (transposed back to Linear's [out, in]), the int8 embedding tables through
    their DequantizeLinear, the fp32 biases and LayerNorms as they are."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(onnx_path)
    g = m.graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consts = {}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)
    val = lambda name: init[name] if name in init else consts[name]  # noqa: E731
    sd = {k: v for k, v in init.items()
          if k.startswith("encoder.") and not k.endswith(("_quantized", "_scale", "_zero_point"))
          or k.startswith("heads.")
          and k.endswith(".bias")}
    for table in ("word_embeddings", "position_embeddings"):
        p = f"encoder.embeddings.{table}.weight"
        q = init[p + "_quantized"].astype(np.float32)
        sd[p] = (q - init[p + "_zero_point"].astype(np.float32)) * init[p + "_scale"]
    order = [n.input[1] for n in g.node if n.op_type == "MatMulInteger"]
    layer_parts = ["attention.self.query", "attention.self.key", "attention.self.value",
                   "attention.output.dense", "intermediate.dense", "output.dense"]
    names = [f"encoder.encoder.layer.{layer}.{p}.weight" for layer in range(4) for p in layer_parts]
    enc = [w for w in order if not w.startswith("heads.")]
    assert len(enc) == len(names), (len(enc), len(names))
    for name, wq in zip(names, enc):
        scale = init[wq[:-len("_Wq")] + "_wscale"]
        sd[name] = (init[wq].astype(np.float32) * scale).T.copy()
    for head in ("sentiment", "politeness"):
        wq = f"heads.{head}.weight_row8_Wq"
        sd[f"heads.{head}.weight"] = (init[wq].astype(np.float32)
                                      * init[f"heads.{head}.weight_row8_wscale"]).T.copy()
    # the token-type row 0 was folded into one constant added after word + position
    adds = [k for k, v in init.items() if k.startswith("onnx::Add") and v.shape == (192,)]
    assert len(adds) == 1, adds
    tt = init[adds[0]]
    sd["encoder.embeddings.token_type_embeddings.weight"] = np.stack([tt, tt])
    return sd


def cmd_base(args):
    import torch
    out = os.path.join(args.work, "base.pt")
    if os.path.exists(out) and not args.force:
        log(f"base: {out} exists")
        return
    os.makedirs(args.work, exist_ok=True)
    sd = dequantized_weights(os.path.join(args.base, "model.onnx"))
    model = build_model(student_config())
    missing = model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32))
                                     for k, v in sd.items()}, strict=False)
    unexpected = [k for k in missing.unexpected_keys]
    new = sorted(k for k in missing.missing_keys if not k.startswith(("acts.", "embed.")))
    if unexpected or new:
        sys.exit(f"base: weights do not fit: unexpected {unexpected}, missing {new}")
    # check against onnxruntime on the parity texts
    tok = load_tokenizer(args.base)
    texts = [r["text"] for r in read_jsonl(os.path.join(args.base, "parity.jsonl"))]
    sess = ort_session(os.path.join(args.base, "model.onnx"))
    ids, att = pad([encode(tok, t) for t in texts])
    ref = sess.run(["sentiment_logits", "politeness_logits"],
                   {"input_ids": ids.numpy(), "attention_mask": att.numpy()})
    model.eval()
    with torch.no_grad():
        s, p, _, _ = model(ids, att)
    d = max(np.abs(s.numpy() - ref[0]).max(), np.abs(p.numpy() - ref[1]).max())
    agree = np.mean((s.numpy().argmax(1) == ref[0].argmax(1)) & (p.numpy().argmax(1) == ref[1].argmax(1)))
    log(f"base: dequantized student vs onnxruntime int8 on {len(texts)} texts: max |logit diff| "
        f"{d:.3f}, argmax agreement {agree:.3f}")
    if d > 0.5:
        sys.exit("base: the dequantized weights do not reproduce the shipped model; the graph "
                 "layout changed (see dequantized_weights)")
    torch.save({"model": model.state_dict()}, out)
    log(f"base: wrote {out}")


def load_tokenizer(model_dir):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN)
    return tok


def encode(tok, text):
    return tok.encode(PREFIX + text).ids


def pad(seqs, pad_id=1):
    """(input_ids, attention_mask) of token id lists, padded with `<pad>` (train.py's)."""
    from train import pad_batch
    return pad_batch(seqs, pad_id)


def ort_session(path, threads=2):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_run(sess, tok, texts, names, bs=32):
    """Outputs `names` for every text, batched by length; lists of arrays in input order."""
    enc = [encode(tok, t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(enc[i]))
    outs = [None] * len(texts)
    for b in range(0, len(order), bs):
        idx = order[b:b + bs]
        ids, att = pad([enc[i] for i in idx])
        res = sess.run(names, {"input_ids": ids.numpy(), "attention_mask": att.numpy()})
        for j, i in enumerate(idx):
            outs[i] = [r[j] for r in res]
    return outs


# ----------------------------------------------------------------------------------------------
# the training pool


def generated_turns(args):
    """Distinct customer and agent turns of `convqa generate` (synthetic, repository license)."""
    exe = args.convqa or shutil.which("convqa") or os.path.join(REPO, "target", "release", "convqa")
    if not os.path.exists(exe):
        sys.exit(f"pool: no convqa binary at {exe}; run `cargo build --release` or pass --convqa")
    out = subprocess.run([exe, "generate", "--conversations", str(args.generated), "--seed", "29",
                          "--out", "-"], check=True, capture_output=True, text=True).stdout
    seen, texts = set(), []
    for line in out.splitlines():
        for t in json.loads(line)["turns"]:
            if t["speaker"] in ("customer", "agent") and t["text"] not in seen:
                seen.add(t["text"])
                texts.append(t["text"])
    return texts


def review_texts(args, held):
    """Texts of the teacher's sentiment and politeness train splits (no labels used)."""
    import data
    texts = []
    try:
        from fetch_assets import asset_paths
        paths = asset_paths(args.assets)
        texts += [t for t, _ in data.load_zh_sentiment(paths)["train"]]
        texts += [t for t, _ in data.load_en_sentiment(paths)["train"]]
    except Exception as e:  # noqa: BLE001 - the pool works without them, and says so
        log(f"pool: sentiment train splits not available ({e}); run training/fetch_assets.py")
    try:
        texts += [t for t, _ in data.load_en_politeness(args.politeness)["train"]]
    except Exception as e:  # noqa: BLE001
        log(f"pool: politeness corpus not available ({e})")
    zh = data.load_zh_politeness()
    texts += [t for t, _ in zh["train"]] if zh else []
    rng = random.Random(SEED)
    texts = [t for t in dict.fromkeys(texts) if t not in held]
    rng.shuffle(texts)
    return texts[:args.reviews]


def pool_texts(args):
    """Every text the training step reads (train pool, then dev), held-out texts excluded."""
    held = {r["text"] for p in eval_files() for r in read_jsonl(p)}
    dev = {r["text"] for r in read_jsonl(dev_file())}
    acts = [r["text"] for r in act_rows(train_files()) + identifier_rows(args.identifiers)
            if r["text"] not in held | dev]
    gen = [t for t in generated_turns(args) if t not in held | dev]
    rev = [t for t in review_texts(args, held | dev)]
    train = list(dict.fromkeys(acts + gen + rev))
    log(f"pool: {len(acts)} labelled act turns, {len(gen)} generated turns, {len(rev)} review / "
        f"request / agent texts -> {len(train)} distinct training texts (+ dev {len(dev)})")
    return train + sorted(dev - set(train))


def cmd_pool(args):
    """Targets for every pool text; texts already in WORK/pool.npz are not recomputed, so a run
    after more labelled data arrived only embeds the new texts."""
    import torch
    torch.set_num_threads(args.threads)
    out = os.path.join(args.work, "pool.npz")
    texts = pool_texts(args)
    have = {}
    if os.path.exists(out) and not args.force:
        z = np.load(out, allow_pickle=True)
        sent, pol, vec = z["sent"], z["pol"], z["e5"]  # each z[...] reads the whole array
        have = {t: (sent[i], pol[i], vec[i]) for i, t in enumerate(z["texts"])}
    todo = [t for t in texts if t not in have]
    log(f"pool: {len(texts)} texts, {len(todo)} new")
    if todo:
        tok = load_tokenizer(args.base)
        sess = ort_session(os.path.join(args.base, "model.onnx"), args.threads)
        base = ort_run(sess, tok, todo, ["sentiment_logits", "politeness_logits"])
        log("pool: base model logits done")
        import e5
        emb = e5.E5Embedder(cache_dir=args.assets, threads=args.threads)
        vec = emb.embed(todo, progress=True)
        for t, b, v in zip(todo, base, vec):
            have[t] = (b[0], b[1], v.astype(np.float16))
        log("pool: e5 vectors done")
    keep = list(have)
    tmp = out + ".tmp.npz"
    np.savez(tmp, texts=np.array(keep, dtype=object),
             sent=np.stack([have[t][0] for t in keep]).astype(np.float32),
             pol=np.stack([have[t][1] for t in keep]).astype(np.float32),
             e5=np.stack([have[t][2] for t in keep]).astype(np.float16),
             train=np.array([t for t in texts], dtype=object))
    os.replace(tmp, out)
    log(f"pool: wrote {out}")


# ----------------------------------------------------------------------------------------------
# training


def average_precision(y, s):
    order = np.argsort(-s, kind="stable")
    y = y[order]
    if y.sum() == 0:
        return float("nan")
    hits = np.cumsum(y)
    prec = hits / np.arange(1, len(y) + 1)
    return float((prec * y).sum() / y.sum())


def predict(model, tok, texts, bs=64):
    """(sentiment logits, politeness logits, act probabilities, embeddings) for texts."""
    import torch
    enc = [encode(tok, t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(enc[i]))
    res = [None] * len(texts)
    model.eval()
    with torch.no_grad():
        for b in range(0, len(order), bs):
            idx = order[b:b + bs]
            ids, att = pad([enc[i] for i in idx])
            s, p, a, e = model(ids, att)
            a = torch.sigmoid(a)
            for j, i in enumerate(idx):
                res[i] = (s[j].numpy(), p[j].numpy(), a[j].numpy(), e[j].numpy())
    return [np.stack([r[k] for r in res]) for k in range(4)]


def dev_metrics(model, tok, dev, pool_idx, pool):
    s, p, a, e = predict(model, tok, [r["text"] for r in dev])
    y = np.array([r["y"] for r in dev])
    mask = np.array([r["mask"] for r in dev])
    aps = {}
    for k, act in enumerate(ACTS):
        m = mask[:, k] > 0
        aps[act] = average_precision(y[m, k], a[m, k])
    idx = [pool_idx[r["text"]] for r in dev]
    agree = float(np.mean(np.concatenate([s.argmax(1) == pool["sent"][idx].argmax(1),
                                          p.argmax(1) == pool["pol"][idx].argmax(1)])))
    cos = float(np.mean((e * pool["e5"][idx].astype(np.float32)).sum(1)))
    return {"map": float(np.nanmean(list(aps.values()))), "ap": aps, "base_agree": agree,
            "e5_cos": cos}


def cmd_train(args):
    import torch
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    best_path = os.path.join(args.work, "best.pt")
    last_path = os.path.join(args.work, "last.pt")
    if os.path.exists(best_path) and not os.path.exists(last_path + ".running") and not args.force:
        log(f"train: {best_path} exists")
        return
    z = np.load(os.path.join(args.work, "pool.npz"), allow_pickle=True)
    pool = {"texts": list(z["texts"]), "sent": z["sent"], "pol": z["pol"], "e5": z["e5"]}
    pool_idx = {t: i for i, t in enumerate(pool["texts"])}
    tok = load_tokenizer(args.base)
    held = {r["text"] for p in [dev_file()] + eval_files() for r in read_jsonl(p)}
    acts = [r for r in act_rows(train_files()) + identifier_rows(args.identifiers)
            if r["text"] not in held]
    dev = act_rows([dev_file()])
    unl = [pool_idx[t] for t in z["train"] if t in pool_idx and t not in held]
    enc = {}

    def ids_of(t):
        if t not in enc:
            enc[t] = encode(tok, t)
        return enc[t]

    model = build_model(student_config())
    model.load_state_dict(torch.load(os.path.join(args.work, "base.pt"))["model"])
    # the embedding map starts as least squares from the base pooled vectors to the e5 vectors
    heads = [n for n, _ in model.named_parameters() if n.startswith(("acts.", "embed.", "heads."))]
    groups = [{"params": [p for n, p in model.named_parameters() if n not in heads], "lr": args.lr},
              {"params": [p for n, p in model.named_parameters() if n in heads], "lr": args.head_lr}]
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = args.steps
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    start, history, best = 0, [], -1.0
    if os.path.exists(last_path) and not args.force:
        ck = torch.load(last_path, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        start, history, best = ck["step"], ck["history"], ck["best"]
        log(f"train: resumed at step {start}")
    open(last_path + ".running", "w").close()
    rng = random.Random(f"{SEED}:{start}")
    pos_w = torch.tensor([args.pos_weight] * len(ACTS))
    t0 = time.time()
    model.train()
    for step in range(start, steps):
        lab = rng.sample(acts, args.batch)
        un = [pool["texts"][i] for i in rng.sample(unl, args.batch)]
        texts = [r["text"] for r in lab] + un
        ids, att = pad([ids_of(t) for t in texts])
        s, p, a, e = model(ids, att)
        n = len(lab)
        y = torch.tensor([r["y"] for r in lab])
        m = torch.tensor([r["mask"] for r in lab])
        bce = torch.nn.functional.binary_cross_entropy_with_logits(a[:n], y, reduction="none",
                                                                   pos_weight=pos_w)
        l_acts = (bce * m).sum() / m.sum()
        pi = [pool_idx[t] for t in texts]
        ts, tp = torch.from_numpy(pool["sent"][pi]), torch.from_numpy(pool["pol"][pi])
        kl = lambda x, t: torch.nn.functional.kl_div(  # noqa: E731
            torch.log_softmax(x, -1), torch.softmax(t, -1), reduction="batchmean")
        l_keep = kl(s, ts) + kl(p, tp)
        te = torch.from_numpy(pool["e5"][pi].astype(np.float32))
        l_emb = (1 - (e * te).sum(-1)).mean()
        loss = l_acts + args.keep_weight * l_keep + args.embed_weight * l_emb
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if (step + 1) % 50 == 0:
            log(f"step {step + 1}/{steps} loss {loss.item():.4f} acts {l_acts.item():.4f} keep "
                f"{l_keep.item():.4f} emb {l_emb.item():.4f} ({(step + 1 - start) / (time.time() - t0):.2f} steps/s)")
        if (step + 1) % args.eval_every == 0 or step + 1 == steps:
            d = dev_metrics(model, tok, dev, pool_idx, pool)
            model.train()
            history.append({"step": step + 1, **d})
            log(f"dev step {step + 1}: mAP {d['map']:.4f} base agreement {d['base_agree']:.4f} "
                f"e5 cos {d['e5_cos']:.4f} " + " ".join(f"{k[:6]} {v:.3f}" for k, v in d["ap"].items()))
            if d["map"] > best:
                best = d["map"]
                torch.save({"model": model.state_dict(), "step": step + 1, "dev": d}, best_path)
                log(f"  best so far -> {best_path}")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step + 1, "history": history,
                        "best": best}, last_path)
    os.remove(last_path + ".running")
    with open(os.path.join(args.work, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    log(f"train: done, best dev mAP {best:.4f}")


# ----------------------------------------------------------------------------------------------
# export, calibration, packaging

OUTPUTS = ["sentiment_logits", "politeness_logits", "act_logits", "embedding"]


def cmd_export(args):
    import torch
    import export
    out = os.path.join(args.work, "model.onnx")
    if os.path.exists(out) and not args.force:
        log(f"export: {out} exists")
        return
    model = build_model(student_config())
    ck = torch.load(os.path.join(args.work, "best.pt"), weights_only=False)
    model.load_state_dict(ck["model"])
    model.eval()
    log(f"export: checkpoint of step {ck['step']} (dev mAP {ck['dev']['map']:.4f})")
    tok = load_tokenizer(args.base)
    ids, att = pad([encode(tok, t) for t in export.TEXTS])
    fp32 = os.path.join(args.work, "model.fp32.onnx")
    torch.onnx.export(model, (ids, att), fp32, dynamo=False, opset_version=export.OPSET,
                      input_names=["input_ids", "attention_mask"], output_names=OUTPUTS,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                    "attention_mask": {0: "batch", 1: "seq"},
                                    **{o: {0: "batch"} for o in OUTPUTS}})
    export.set_ir(fp32)
    quantize_row8s(fp32, out)
    # check: int8 against torch
    sess = ort_session(out)
    texts = [r["text"] for r in act_rows([dev_file()])][:256]
    got = ort_run(sess, tok, texts, OUTPUTS)
    s, p, a, e = predict(model, tok, texts)
    pa = 1 / (1 + np.exp(-np.stack([g[2] for g in got])))
    log(f"export: row8s vs torch on {len(texts)} dev turns: act probability max diff "
        f"{np.abs(pa - a).max():.3f}, embedding cos min "
        f"{(np.stack([g[3] for g in got]) * e).sum(1).min():.4f}; {os.path.getsize(out)} bytes")


def quantize_row8s(fp32, out):
    """The shipped quantization (training/distill.py `row8s`)."""
    try:
        from distill_quant import make_variant
    except ImportError:
        from distill import make_variant
    make_variant(fp32, "row8s", out)


def act_scores(sess, tok, rows):
    got = ort_run(sess, tok, [r["text"] for r in rows], ["act_logits"])
    return 1 / (1 + np.exp(-np.stack([g[0] for g in got])))


def threshold_at(y, s, precision):
    """The lowest threshold whose precision on (y, s) reaches `precision` (scanning from the
    top so a single lucky top score does not decide), with its precision and recall."""
    order = np.argsort(-s, kind="stable")
    ys, ss = y[order], s[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    prec = tp / k
    ok = np.where((prec >= precision) & (k >= 5))[0]
    if len(ok) == 0 or ys.sum() == 0:
        return 0.99, float("nan"), 0.0
    i = ok.max()
    # all scores tied with the cut count too
    t = float(ss[i])
    pred = s >= t
    p = float((y[pred] == 1).mean()) if pred.any() else float("nan")
    r = float(pred[y == 1].mean())
    return round(t, 4), p, r


def cmd_calibrate(args):
    out = os.path.join(args.work, "thresholds.json")
    if os.path.exists(out) and not args.force:
        log(f"calibrate: {out} exists")
        return
    tok = load_tokenizer(args.base)
    sess = ort_session(os.path.join(args.work, "model.onnx"))
    dev = act_rows([dev_file()])
    a = act_scores(sess, tok, dev)
    y = np.array([r["y"] for r in dev])
    mask = np.array([r["mask"] for r in dev]) > 0
    res = {}
    for k, act in enumerate(ACTS):
        # the target precision; where dev cannot reach it with a useful recall (MIN_RECALL), the
        # next lower one in steps of 0.05 down to 0.80, stated in the manifest and the card
        for stated in np.arange(TARGET_PRECISION.get(act, 0.85), 0.7999, -0.05).round(2):
            t, p, r = threshold_at(y[mask[:, k], k], a[mask[:, k], k], stated + args.margin)
            if r >= MIN_RECALL:
                break
        res[act] = {"threshold": t, "target_precision": TARGET_PRECISION.get(act, 0.85),
                    "stated_precision": float(stated), "dev_precision": p, "dev_recall": r,
                    "dev_positives": int(y[mask[:, k], k].sum())}
        log(f"calibrate {act:22s} threshold {t:.4f} at precision {stated:.2f}: dev precision "
            f"{p:.3f} recall {r:.3f}")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


def sha256(path):
    from fetch_assets import sha256 as file_sha256
    return file_sha256(path)


def cmd_package(args):
    import tomllib
    out = args.out
    with open(os.path.join(args.base, "manifest.toml"), "rb") as f:
        base_manifest = tomllib.load(f)
    with open(os.path.join(args.work, "thresholds.json")) as f:
        th = json.load(f)
    os.makedirs(out, exist_ok=True)
    if os.path.abspath(out) != os.path.abspath(args.base):
        shutil.copyfile(os.path.join(args.base, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    shutil.copyfile(os.path.join(args.work, "model.onnx"), os.path.join(out, "model.onnx"))
    manifest = manifest_text(base_manifest, th, {f: sha256(os.path.join(out, f))
                                                 for f in ("model.onnx", "tokenizer.json")})
    with open(os.path.join(out, "manifest.toml"), "w", encoding="utf-8") as f:
        f.write(manifest)
    log(f"package: wrote {out}/manifest.toml; now `python training/parity.py --model-dir {out}`")
    subprocess.run([sys.executable, os.path.join(HERE, "parity.py"), "--model-dir", out], check=True)


def manifest_text(base, th, sums):
    heads = base["heads"]
    thresholds = base["thresholds"]
    q = json.dumps
    lines = [
        f'name = "{base["name"]}"',
        f'version = "{args_version(base)}"',
        f'max_length = {base["max_length"]}',
        f'prefix = {q(base["prefix"])}',
        'inputs = ["input_ids", "attention_mask"]',
        "# Per-row int8 quantization: a turn's scores do not depend on its batch mates, so turns are",
        "# batched (see MODEL_CARD.md).",
        f'max_batch = {base["max_batch"]}',
        "",
        "# Where model scores become flags: chosen on data/dev by training/calibrate.py (MODEL_CARD.md).",
        "[thresholds]",
    ] + [f"{k} = {v}" for k, v in thresholds.items()] + [""]
    for name, h in heads.items():
        lines += [f"[heads.{name}]", f'output = "{h["output"]}"',
                  "labels = [" + ", ".join(q(x) for x in h["labels"]) + "]",
                  f'scale = {h["scale"]}', f'bias = {h["bias"]}', ""]
    lines += [
        "# Agent acts and customer distress: independent sigmoids over one logit each (multi-label).",
        "# A turn shows an act when its probability reaches the act's threshold, chosen on",
        "# data/acts/dev.jsonl at the stated precision by training/acts.py calibrate.",
        "[acts]",
        'output = "act_logits"',
        "labels = [" + ", ".join(q(a) for a in ACTS) + "]",
        "",
        "[acts.threshold]",
    ] + [f"{a} = {th[a]['threshold']}  # dev precision {th[a]['dev_precision']:.2f}, recall "
         f"{th[a]['dev_recall']:.2f} (stated precision {th[a]['stated_precision']:.2f})"
         for a in ACTS] + [
        "",
        "# The pooled sentence vector mapped towards untuned multilingual-e5-small (L2-normalized):",
        "# what rubric example sentences are matched against.",
        "[embedding]",
        'output = "embedding"',
        f"dim = {E5_DIM}",
        "",
        "[sha256]",
    ] + [f'"{k}" = "{v}"' for k, v in sums.items()]
    return "\n".join(lines) + "\n"


def args_version(base):
    major, minor, _ = (base["version"].split(".") + ["0", "0"])[:3]
    return f"{major}.{int(minor) + 1}.0" if not base.get("acts") else base["version"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("step", choices=["all", "base", "pool", "train", "export", "calibrate",
                                     "package"])
    ap.add_argument("--work", default=os.path.join(paths.work_dir(), "acts"),
                    help="this script's folder (default: WORK/acts; WORK is $CONVQA_WORK or "
                         "target/training)")
    ap.add_argument("--base", default=os.path.join(REPO, "models", "convqa-mini"),
                    help="the model folder to add the heads to (its weights are the start)")
    ap.add_argument("--out", default=os.path.join(REPO, "models", "convqa-mini"))
    ap.add_argument("--assets", default=os.environ.get("CONVQA_ASSETS") or paths.sub("assets"),
                    help="training/fetch_assets.py's folder (e5 weights and tokenizer, review "
                         "corpora); default $CONVQA_ASSETS, else WORK/convqa-assets")
    ap.add_argument("--politeness", default=paths.politeness_dir())
    ap.add_argument("--convqa", help="the convqa binary (default: target/release/convqa)")
    ap.add_argument("--generated", type=int, default=3000, help="conversations to generate")
    ap.add_argument("--reviews", type=int, default=6000, help="review / request texts to keep")
    ap.add_argument("--identifiers", type=int, default=0,
                    help="identifier-only turns added to the labelled training turns (no act); "
                         "0 for the shipped model (400 was tried: RESULTS.md, acts)")
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=24, help="labelled turns per step (+ as many pool texts)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--pos-weight", type=float, default=2.0)
    ap.add_argument("--keep-weight", type=float, default=1.0)
    ap.add_argument("--embed-weight", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--margin", type=float, default=0.0,
                    help="added to each act's target precision when calibrating")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="redo the step even if its output exists")
    args = ap.parse_args()
    steps = {"base": cmd_base, "pool": cmd_pool, "train": cmd_train, "export": cmd_export,
             "calibrate": cmd_calibrate, "package": cmd_package}
    if args.step == "all":
        for name in ["base", "pool", "train", "export", "calibrate", "package"]:
            steps[name](args)
    else:
        steps[args.step](args)


if __name__ == "__main__":
    main()
