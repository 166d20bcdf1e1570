"""distill.py, part 5: the student's training loop (`train` subcommand: losses, optimizer,
evaluation, checkpoints, resume) and `average` (weight average of checkpoints).

Moved out of distill.py unchanged (see distill.py for the whole method).
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
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import train  # noqa: E402
from distill_data import labelled_rows, load_vectors, read_jsonl, text_key, vader_labelled  # noqa: E402
from distill_quant import ort_session  # noqa: E402
from distill_student import (  # noqa: E402
    ProjectedEmbedding, init_student, load_teacher, spread, student_config, teacher_hidden_pca)
from distill_teacher import teacher_hidden_onnx  # noqa: E402
from train import LABELS, TASKS, log  # noqa: E402


# ----------------------------------------------------------------------------------------------
# training


def build_student(args, teacher, tok=None):
    """The student to train (with a ProjectedEmbedding when hidden < 384) and its config."""
    layers = [int(x) for x in args.init_layers.split(",")] if args.init_layers else spread(12, args.layers)
    if len(layers) != args.layers:
        sys.exit(f"--init-layers: {len(layers)} indexes for {args.layers} layers")
    cfg = student_config(args.layers, args.hidden, args.ff, args.max_len)
    proj = None
    if args.hidden != teacher.encoder.config.hidden_size:
        rows, _ = labelled_rows(args)
        rng = random.Random(f"{args.seed}:pca")
        sample = [r[0] for r in rng.sample(rows, min(256, len(rows)))]
        chat = read_jsonl(os.path.join(args.work, "corpus.jsonl"))
        sample += [r["text"] for r in rng.sample(chat, min(256, len(chat)))]
        proj, kept = teacher_hidden_pca(teacher, tok or train.load_tokenizer(args.vocab, args.max_len),
                                        sample, args.hidden)
        log(f"PCA projection 384 -> {args.hidden}: {kept:.3f} of the teacher's hidden-state energy kept")
    model = init_student(teacher, cfg, layers, proj)
    if getattr(args, "embed_weight", 0.0):
        # maps the student's pooled vector back to the teacher's 384 dimensions for the embedding
        # loss; starts as the transpose of the PCA projection (identity at hidden 384)
        lin = torch.nn.Linear(args.hidden, teacher.encoder.config.hidden_size)
        with torch.no_grad():
            lin.weight.copy_(proj if proj is not None else torch.eye(args.hidden))
            lin.bias.zero_()
        model.embed_proj = lin
    if getattr(args, "hidden_weight", 0.0):
        # one map per student layer from its hidden states to the teacher layer it learns from
        # (TinyBERT's hidden-state loss, Jiao et al. 2020), started like embed_proj
        hp = torch.nn.ModuleList(torch.nn.Linear(args.hidden, teacher.encoder.config.hidden_size)
                                 for _ in layers)
        with torch.no_grad():
            for lin in hp:
                lin.weight.copy_(proj if proj is not None else torch.eye(args.hidden))
                lin.bias.zero_()
        model.hidden_proj = hp
    if proj is not None:
        table = teacher.encoder.embeddings.word_embeddings.weight.detach().clone()
        model.encoder.embeddings.word_embeddings = ProjectedEmbedding(table, proj)
    log(f"student {args.layers}x{args.hidden} (ff {cfg.intermediate_size}, {cfg.num_attention_heads} heads) "
        f"from teacher layers {layers}")
    return model, cfg


# modules used only by the training losses (--embed-weight, --hidden-weight): not in best.pt
TRAINING_ONLY = ("embed_proj.", "hidden_proj.")


def plain_state_dict(model):
    """state dict of an ordinary BertModel classifier (ProjectedEmbedding folded)."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()
          if not k.startswith(TRAINING_ONLY)}
    we = model.encoder.embeddings.word_embeddings
    if isinstance(we, ProjectedEmbedding):
        for k in [k for k in sd if k.startswith("encoder.embeddings.word_embeddings.")]:
            del sd[k]
        sd["encoder.embeddings.word_embeddings.weight"] = we.folded()
    return sd


def kd_items(args, tok):
    """[(ids, teacher logits [4], gold head -1/0/1, gold target [2], source, teacher pooled vector
    [384] or None)], dev, chat dev. Pooled vectors are read only with --embed-weight."""
    cache = load_vectors(os.path.join(args.work, "teacher_logits.npz"))
    pooled = load_vectors(os.path.join(args.work, "teacher_pooled.npz")) if args.embed_weight else {}
    rows, dev = labelled_rows(args)
    corpus = read_jsonl(os.path.join(args.work, "corpus.jsonl"))
    if args.vader_labels:
        extra = vader_labelled(args, corpus)
        log(f"--vader-labels {args.vader_labels}: {len(extra) // args.vader_repeat} VADER sentences "
            f"with gold sentiment from their human rating, x{args.vader_repeat}")
        rows = rows + extra
    texts = [r[0] for r in rows] + [r["text"] for r in corpus]
    missing = sum(text_key(t) not in cache for t in texts)
    if missing:
        sys.exit(f"{missing} texts have no teacher logits: run `distill.py teacher` first")
    if args.embed_weight:
        missing = sum(text_key(t) not in pooled for t in texts)
        if missing:
            sys.exit(f"{missing} texts have no teacher pooled vector: run `distill.py teacher --pooled` first")
    enc = train.encode(tok, texts)
    items = []
    for (t, task, tgt, src), ids in zip(rows, enc):
        items.append((ids, cache[text_key(t)], TASKS.index(task), tgt, src, pooled.get(text_key(t))))
    for r, ids in zip(corpus, enc[len(rows):]):
        items.append((ids, cache[text_key(r["text"])], -1, [0.0, 0.0], r["source"],
                      pooled.get(text_key(r["text"]))))
    return (items, *kd_dev(args, tok, cache, dev))


def kd_dev(args, tok, cache, dev):
    """The dev sets (`labelled_rows`' second value) and the chat dev turns, encoded, each text with
    its teacher logits (for agreement): the second and third values of kd_items."""
    dev_enc = {name: list(zip(train.encode(tok, [t for t, _ in v]), [y for _, y in v],
                              [cache.get(text_key(t)) for t, _ in v])) for name, v in dev.items()}
    cd = read_jsonl(os.path.join(args.work, "chat_dev.jsonl"))
    chat_dev = list(zip(train.encode(tok, [r["text"] for r in cd]), [r["role"] for r in cd],
                        [cache[text_key(r["text"])] for r in cd]))
    return dev_enc, chat_dev


def kd_plan(items, bs, seed, epoch):
    """[[item index]] for one epoch, a pure function of (seed, epoch): shuffle, chunks of 50
    batches sorted by length, batches shuffled."""
    rng = random.Random(f"{seed}:distill-epoch:{epoch}")
    idx = list(range(len(items)))
    rng.shuffle(idx)
    plan = []
    for c in range(0, len(idx), bs * 50):
        part = sorted(idx[c:c + bs * 50], key=lambda i: len(items[i][0]))
        plan += [part[b:b + bs] for b in range(0, len(part), bs)]
    rng.shuffle(plan)
    return plan


def kd_evaluate(model, dev, chat_dev, bs=64):
    """dev accuracies (train.DEV_SETS); on held-out synthetic chat turns the agreement of the
    student's argmax with the teacher's on the turn's own head (customer: sentiment, agent:
    politeness); and `dev_agreement`, that agreement over the dev sets' texts and the chat turns
    together (about 2,500 texts: a steadier choice of checkpoint than the mean of four accuracies,
    one of which has 22 texts)."""
    model.eval()
    res = {}
    with torch.inference_mode():
        all_agree, all_n = 0, 0
        for name, task in train.DEV_SETS:
            rows = dev[name]
            h = TASKS.index(task)
            order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
            correct = 0
            for b in range(0, len(order), bs):
                sel = order[b:b + bs]
                ids, att = train.pad_batch([rows[i][0] for i in sel])
                pred = model.heads[task](model.pooled(ids, att)).argmax(-1).tolist()
                correct += sum(LABELS[task][k] == rows[i][1] for k, i in zip(pred, sel))
                for k, i in zip(pred, sel):
                    if rows[i][2] is not None:
                        all_agree += k == int(np.argmax(rows[i][2][2 * h:2 * h + 2]))
                        all_n += 1
            res[name] = correct / max(1, len(rows))
        agree, n = 0, 0
        order = sorted(range(len(chat_dev)), key=lambda i: len(chat_dev[i][0]))
        for b in range(0, len(order), bs):
            sel = order[b:b + bs]
            ids, att = train.pad_batch([chat_dev[i][0] for i in sel])
            s, p = model(ids, att)
            for r, i in enumerate(sel):
                h = 0 if chat_dev[i][1] == "customer" else 1
                st = (s if h == 0 else p)[r].argmax().item()
                te = int(np.argmax(chat_dev[i][2][2 * h:2 * h + 2]))
                agree += st == te
                n += 1
        res["chat_dev_agreement"] = agree / max(1, n)
        res["dev_agreement"] = (all_agree + agree) / max(1, all_n + n)
    model.train()
    return res


def teacher_dev(dev, chat_dev):
    res = {}
    for name, task in train.DEV_SETS:
        h = TASKS.index(task)
        rows = [r for r in dev[name] if r[2] is not None]
        res[name] = float(np.mean([LABELS[task][int(np.argmax(lg[2 * h:2 * h + 2]))] == y for _, y, lg in rows]))
    return res


def make_kd_optimizer(model, args):
    dec, nodec, head = [], [], []
    for n, p in model.named_parameters():
        if n == "encoder.embeddings.word_embeddings.weight" and not args.train_embeddings:
            p.requires_grad_(False)
            continue
        (head if n.startswith("heads.") else nodec if p.ndim == 1 else dec).append(p)
    opt = torch.optim.AdamW([{"params": dec, "lr": args.lr, "weight_decay": 0.01},
                             {"params": nodec, "lr": args.lr, "weight_decay": 0.0},
                             {"params": head, "lr": args.head_lr, "weight_decay": 0.01}])
    warm = max(1, int(args.warmup * args.steps))

    def lam(step):  # reads args.steps when called: --budget-minutes may change it at step 30
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (args.steps - step) / max(1, args.steps - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lam)


def kd_loss(s_logits, p_logits, t_logits, gold_head, gold_tgt, T, alpha):
    """alpha * T^2 * (KL_sentiment + KL_politeness) + (1 - alpha) * CE on the gold head (mean
    over the texts that have one); returns (loss, kd, ce)."""
    st = torch.stack([s_logits, p_logits], 1)               # [B, 2 heads, 2]
    tt = t_logits.view(-1, 2, 2)
    pt = (tt / T).softmax(-1)
    kl = (pt * ((tt / T).log_softmax(-1) - (st / T).log_softmax(-1))).sum(-1)  # [B, 2]
    kd = kl.sum(1).mean() * T * T
    has = gold_head >= 0
    if has.any():
        g = st[torch.arange(len(st)), gold_head.clamp(min=0)]
        ce = -(gold_tgt * g.log_softmax(-1)).sum(-1)
        ce = (ce * has).sum() / has.sum()
    else:
        ce = torch.zeros(())
    return alpha * kd + (1 - alpha) * ce, kd, ce


def init_weights(model, path, train_embeddings=False):
    """Starts from the weights of an earlier run (its last.pt, or best.pt with the projection
    folded) with a fresh optimizer and schedule: a second stage of training. From a folded
    best.pt the table itself is the embedding (trained with --train-embeddings)."""
    sd = torch.load(path, map_location="cpu", weights_only=False)["model"]
    key = "encoder.embeddings.word_embeddings.weight"
    if key in sd and isinstance(model.encoder.embeddings.word_embeddings, ProjectedEmbedding):
        table = sd[key]
        model.encoder.embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(
            table, freeze=not train_embeddings)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    # training-only modules may be on either side (a stage with --hidden-weight, the next without)
    if any(not k.startswith(TRAINING_ONLY) for k in unexpected + missing):
        sys.exit(f"--init-from {path}: does not fit this student (missing {missing}, unexpected {unexpected})")
    log(f"weights from {path}")


def cmd_train(args):
    out = args.out
    os.makedirs(out, exist_ok=True)
    last_path = os.path.join(out, "last.pt")
    ckpt = None
    if args.resume:
        if not os.path.exists(last_path):
            sys.exit(f"--resume: no checkpoint at {last_path}")
        ckpt = torch.load(last_path, map_location="cpu", weights_only=False)
        keep = {k: getattr(args, k) for k in ("deadline", "ckpt_minutes", "stop_after", "resume", "out", "cmd")}
        older = {"embed_weight": 0.0, "hidden_weight": 0.0, "hidden_teacher": "fp32", "logit_weight": 1.0,
                 "select": "dev-mean", "keep_evals": False, "vader_labels": 0.0,
                 "vader_repeat": 1}  # options older runs lack
        args = argparse.Namespace(**{**older, **ckpt["args"], **keep})
        log(f"resuming from {last_path}: step {ckpt['step']} epoch {ckpt['epoch']} pos {ckpt['pos']}")
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed % 2**32)
    torch.manual_seed(args.seed)
    t0 = time.time()
    tok = train.load_tokenizer(args.vocab, args.max_len)
    items, dev, chat_dev = kd_items(args, tok)
    srcs = {}
    for it in items:
        srcs[it[4]] = srcs.get(it[4], 0) + 1
    lens = [len(it[0]) for it in items]
    log(f"{len(items)} training texts {srcs}; tokens mean {np.mean(lens):.1f} p95 {np.percentile(lens, 95):.0f}")
    log(f"dev: {', '.join(f'{k} {len(v)}' for k, v in dev.items())}; chat dev {len(chat_dev)}")
    log("teacher on dev: " + " ".join(f"{k} {v:.4f}" for k, v in teacher_dev(dev, chat_dev).items()))
    teacher = load_teacher(args.teacher)
    model, cfg = build_student(args, teacher, tok)
    del teacher
    if args.init_from:
        # also on --resume: a folded best.pt changes the embedding module, and the checkpoint's
        # weights (restored below) need the same structure
        init_weights(model, args.init_from, args.train_embeddings)
    opt, sched = make_kd_optimizer(model, args)
    log(f"setup {time.time() - t0:.1f}s; params {sum(p.numel() for p in model.parameters()):,}, trainable "
        f"{sum(p.numel() for p in model.parameters() if p.requires_grad):,}")
    step, epoch, pos, history, best = 0, 0, 0, [], -1.0
    resumed = ckpt is not None
    if resumed:
        step, epoch, pos, history, best = train.restore_checkpoint(ckpt, model, opt, sched)
        del ckpt
    t_eval = 0.0
    if not resumed and args.eval_every:
        te = time.time()
        res = kd_evaluate(model, dev, chat_dev)
        t_eval = time.time() - te
        log("dev @ 0 (initialised, untrained): " + " ".join(f"{k} {v:.4f}" for k, v in res.items())
            + f" [{t_eval:.0f}s]")

    def save_last():
        train.atomic_save(train.checkpoint(model, opt, sched, step, epoch, pos, args, history, best),
                          last_path)

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
    dl = train.deadline_ts(args.deadline)
    model.train()
    plan = kd_plan(items, args.bs, args.seed, epoch)
    last_ckpt, t_run, s_run = time.time(), time.time(), 0
    acc = {"loss": 0.0, "kd": 0.0, "ce": 0.0, "emb": 0.0, "hid": 0.0, "n": 0}
    captured, t_hidden, hidden_names, hidden_var = {}, None, [], []
    if args.hidden_weight:
        layers = [int(x) for x in args.init_layers.split(",")] if args.init_layers else spread(12, args.layers)
        for i, layer in enumerate(model.encoder.encoder.layer):
            layer.register_forward_hook(lambda _m, _in, out, i=i: captured.__setitem__(i, out))
        t_hidden = ort_session(teacher_hidden_onnx(args, layers), args.threads)
        hidden_names = [f"hidden{k}" for k in layers]
        # per layer, the teacher's token total variance (on 20 batches): 1.0 = predicting the mean
        sums = [[] for _ in layers]
        for b in kd_plan(items, args.bs, args.seed, 0)[:20]:
            ids, att = train.pad_batch([items[i][0] for i in b])
            hs = t_hidden.run(hidden_names, {"input_ids": ids.numpy(), "attention_mask": att.numpy()})
            for j, t in enumerate(hs):
                sums[j].append(t[att.numpy().astype(bool)])
        hidden_var = [float(np.var(np.concatenate(x), 0).sum()) for x in sums]
        log(f"hidden-state loss: student layers -> teacher layers {layers}, teacher variance "
            + " ".join(f"{v:.1f}" for v in hidden_var))
    # the embedding loss is divided by the teacher vectors' total variance: 1.0 = predicting the mean
    pooled_var = float(np.var(np.stack([it[5] for it in items[::max(1, len(items) // 20000)]]).astype(np.float32), 0).sum()) \
        if args.embed_weight else 1.0
    while step < args.steps:
        if pos >= len(plan):
            epoch, pos = epoch + 1, 0
            plan = kd_plan(items, args.bs, args.seed, epoch)
        sel = plan[pos]
        ids, att = train.pad_batch([items[i][0] for i in sel])
        tl = torch.tensor(np.stack([items[i][1] for i in sel]), dtype=torch.float32)
        gh = torch.tensor([items[i][2] for i in sel])
        gt = torch.tensor([items[i][3] for i in sel], dtype=torch.float32)
        captured.clear()
        pooled = model.pooled(ids, att)
        s, p = model.heads["sentiment"](pooled), model.heads["politeness"](pooled)
        loss, kd, ce = kd_loss(s, p, tl, gh, gt, args.temperature, args.alpha)
        loss = args.logit_weight * loss
        if args.hidden_weight:
            th = t_hidden.run(hidden_names, {"input_ids": ids.numpy(), "attention_mask": att.numpy()})
            m = att.unsqueeze(-1).to(torch.float32)
            hid = sum(((model.hidden_proj[i](captured[i]) - torch.from_numpy(t)) ** 2 * m).sum() / m.sum() / hidden_var[i]
                      for i, t in enumerate(th)) / len(th)
            loss = loss + args.hidden_weight * hid
            acc["hid"] += hid.item()
        if args.embed_weight:
            tp = torch.tensor(np.stack([items[i][5] for i in sel]), dtype=torch.float32)
            emb = ((model.embed_proj(pooled) - tp) ** 2).sum(-1).mean() / pooled_var
            loss = loss + args.embed_weight * emb
            acc["emb"] += emb.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([q for q in model.parameters() if q.requires_grad], 1.0)
        opt.step()
        sched.step()
        step, pos, s_run = step + 1, pos + 1, s_run + 1
        if args.budget_minutes and step == 30 and s_run == 30:
            # fit --steps to the time budget: the schedule decays to 0 when the budget ends
            spt = (time.time() - t_run) / s_run
            left = args.budget_minutes * 60 - (time.time() - t0)
            per_step = spt + (t_eval / args.eval_every if args.eval_every else 0.0)
            args.steps = max(step + 1, step + int(left / per_step))
            log(f"time budget {args.budget_minutes} min: {spt:.2f} s/step (+ {t_eval:.0f}s per dev "
                f"evaluation) -> --steps {args.steps}")
        acc["loss"] += loss.item()
        acc["kd"] += kd.item()
        acc["ce"] += ce.item()
        acc["n"] += 1
        if step % 25 == 0 or step == args.steps:
            el = time.time() - t_run
            k = max(1, acc["n"])
            log(f"step {step}/{args.steps} epoch {epoch} pos {pos}/{len(plan)} loss {acc['loss'] / k:.4f} "
                f"(kd {acc['kd'] / k:.4f} ce {acc['ce'] / k:.4f} emb {acc['emb'] / k:.4f} hid {acc['hid'] / k:.4f}) "
                f"lr {sched.get_last_lr()[0]:.2e} "
                f"{el / s_run:.2f} s/step eta {(args.steps - step) * el / s_run / 60:.1f} min")
            acc = {"loss": 0.0, "kd": 0.0, "ce": 0.0, "emb": 0.0, "hid": 0.0, "n": 0}
        if args.eval_every and (step % args.eval_every == 0 or step == args.steps):
            te = time.time()
            res = kd_evaluate(model, dev, chat_dev)
            mean = float(np.mean([res[n] for n, _ in train.DEV_SETS]))
            history.append({"step": step, **res, "mean": mean})
            score = res["dev_agreement"] if args.select == "agreement" else mean
            state = {"model": plain_state_dict(model), "config": cfg.to_dict(), "step": step,
                     "dev": res, "args": vars(args)}
            tag = ""
            if score > best:
                best = score
                train.atomic_save(state, os.path.join(out, "best.pt"))
                tag = " (new best, saved best.pt)"
            if args.keep_evals:
                train.atomic_save(state, os.path.join(out, f"step{step}.pt"))
            log(f"dev @ {step}: " + " ".join(f"{k} {v:.4f}" for k, v in res.items())
                + f" mean {mean:.4f}{tag} [{time.time() - te:.0f}s]")
        done = step >= args.steps
        stopping = train.stop_requested(stop, dl, args, step)
        if time.time() - last_ckpt > args.ckpt_minutes * 60 or done or stopping:
            save_last()
            last_ckpt = time.time()
            log(f"checkpoint step {step} -> {last_path}")
            if stopping and not done:
                log("stopping early (signal/deadline/--stop-after); continue with --resume")
                return
    if not args.eval_every:
        train.atomic_save({"model": plain_state_dict(model), "config": cfg.to_dict(), "step": step,
                           "dev": None, "args": vars(args)}, os.path.join(out, "best.pt"))
    log(f"finished {step} steps; best dev {'agreement' if args.select == 'agreement' else 'mean'} {best:.4f}")
    with open(os.path.join(out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)


def cmd_average(args):
    """OUT (best.pt form): the weight average of checkpoints of one run (stochastic weight
    averaging, Izmailov et al. 2018, over the `--keep-evals` checkpoints of a run's tail), scored
    on dev as train scores its evaluations, so the average is chosen on dev like any checkpoint."""
    import export
    torch.set_num_threads(args.threads)
    cks = [torch.load(p, map_location="cpu", weights_only=False) for p in args.ckpts]
    if any(ck.get("config") != cks[0].get("config") for ck in cks):
        sys.exit("average: the checkpoints have different shapes (config)")
    sd0 = cks[0]["model"]
    avg = {k: (sum(ck["model"][k].double() for ck in cks) / len(cks)).to(v.dtype)
           if v.is_floating_point() else v for k, v in sd0.items()}
    run_args = argparse.Namespace(**cks[0]["args"])
    state = {"model": avg, "config": cks[0]["config"], "step": [ck["step"] for ck in cks],
             "averaged": list(args.ckpts), "args": vars(run_args)}
    train.atomic_save(state, args.out)
    model, _ = export.load_classifier(args.out)
    dev, chat_dev = kd_dev(run_args, train.load_tokenizer(run_args.vocab, run_args.max_len),
                           load_vectors(os.path.join(run_args.work, "teacher_logits.npz")),
                           labelled_rows(run_args)[1])
    res = kd_evaluate(model, dev, chat_dev)
    state["dev"] = res
    train.atomic_save(state, args.out)
    mean = float(np.mean([res[n] for n, _ in train.DEV_SETS]))
    log(f"average of {len(cks)} checkpoints (steps {state['step']}) -> {args.out}: "
        + " ".join(f"{k} {v:.4f}" for k, v in res.items()) + f" mean {mean:.4f}")
