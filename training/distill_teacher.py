"""distill.py, part 4: the teacher's ONNX graphs (fp32, with pooled vector or hidden states as
extra outputs) and the `teacher` subcommand (teacher targets of every text, cached, resumable).

Moved out of distill.py unchanged (see distill.py for the whole method).
"""
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import train  # noqa: E402
from distill_data import all_texts, load_vectors, save_vectors, text_key  # noqa: E402
from distill_quant import ort_session  # noqa: E402
from distill_student import OUTPUTS, TEACHER_ONNX, load_teacher, shipped_teacher  # noqa: E402
from train import log  # noqa: E402


# ----------------------------------------------------------------------------------------------
# teacher graphs and outputs


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


def teacher_hidden_onnx(args, layers):
    """WORK/teacher.hidden.<layers>.<fp32|shipped>.onnx: the teacher (fp32, or with
    --hidden-teacher shipped the int8 model.onnx restored by scripts/fetch-teacher.sh, about 3x faster) with the token hidden
    states (output of LayerNorm of each layer in `layers`) as extra outputs `hidden<k>` [B, T, 384],
    for `train --hidden-weight`."""
    # --teacher-onnx (train) names the shipped teacher; runs saved before that option read TEACHER_ONNX
    shipped = getattr(args, "teacher_onnx", TEACHER_ONNX)
    src_path = shipped_teacher(shipped) if args.hidden_teacher == "shipped" else teacher_onnx(args)
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
