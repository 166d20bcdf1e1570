"""distill.py, part 2: ONNX export of a student, its quantized variants (row8s, ...), speed and
batch-effect measurements, and the `speed` and `export` subcommands.

Moved out of distill.py unchanged (see distill.py for the whole method).
"""
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import train  # noqa: E402
from distill_student import (  # noqa: E402
    OUTPUTS, SPEED_TURNS, init_student, load_teacher, parse_shape, shipped_teacher, spread,
    student_config)
from train import log  # noqa: E402


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
