"""Models-only bench (issue 7): the model alone on the pre-tokenized turns of a corpus, laid out as
convqa runs it — the upper limit of `convqa score`'s throughput, since nothing can be faster than
the model.

    python benches/models_only.py CORPUS.jsonl [--model models/convqa-mini]
                                  [--sessions 2] [--intra-threads 1] [--all-turns] [--json FILE]

Layout, as in src/model/mod.rs: the same ONNX Runtime (the `onnxruntime` 1.31.1 wheel, whose
library convqa loads), one session per worker thread (`--sessions`, default 2 = convqa's default
`--threads` on this 2-core machine), each with `--intra-threads` ONNX Runtime threads (1) and all
graph optimizations; every customer and agent turn (system turns are not scored), with the
manifest's prefix and max length, each distinct text once per batch of 1,024 conversations
(convqa's batch; it runs a repeated text once, which is exact; `--all-turns` runs every turn).
Calls as convqa makes them: a batch's texts sorted by token length and cut into calls of at most
the manifest's `max_batch` texts and 4,096 padded tokens (one text per call when `max_batch = 1`,
as for the teacher). Workers take the next call from a shared counter (convqa's rayon pool steals work the same way); `session.run`
releases the GIL, so two Python threads run two inferences at once.

Untimed: reading the corpus, tokenizing (the `tokenizers` library, as convqa) and building the
input tensors. Timed: only the `session.run` calls. Prints turns/s (and conversations/s and MB/s
of the corpus at that rate, to compare with the end-to-end runs).
"""

import argparse
import json
import os
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


TOKEN_BUDGET = 4096  # src/model/mod.rs: most padded tokens (texts × longest) in one call


def token_budget_calls(order, lens, max_batch):
    """`order` (sorted by length) cut into calls of at most max_batch texts and TOKEN_BUDGET padded
    tokens, as src/model/mod.rs token_budget_batches."""
    calls, current = [], []
    for i in order:
        width = max(1, lens[i])
        if current and (len(current) >= max_batch or (len(current) + 1) * width > TOKEN_BUDGET):
            calls.append(current)
            current = []
        current.append(i)
    if current:
        calls.append(current)
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--model", default="models/convqa-mini")
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--intra-threads", type=int, default=1)
    ap.add_argument("--all-turns", action="store_true",
                    help="run every turn, repeated texts too (convqa runs each distinct text once a batch)")
    ap.add_argument("--batch-conversations", type=int, default=1024, help="convqa's batch size")
    ap.add_argument("--json", help="also write the result as JSON here")
    args = ap.parse_args()

    folder = Path(args.model)
    with open(folder / "manifest.toml", "rb") as f:
        manifest = tomllib.load(f)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=manifest["max_length"])
    tokenizer.no_padding()

    conversations = 0
    batches, all_turns = [], 0  # the texts to run of each batch of conversations
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                if conversations % args.batch_conversations == 0:
                    batches.append([])
                    seen = set()
                conversations += 1
                for t in json.loads(line)["turns"]:
                    if t["speaker"] == "system":
                        continue
                    all_turns += 1
                    if args.all_turns or t["text"] not in seen:
                        seen.add(t["text"])
                        batches[-1].append(t["text"])
    texts = [t for b in batches for t in b]
    encodings = tokenizer.encode_batch([manifest["prefix"] + t for t in texts])
    max_batch = max(1, manifest.get("max_batch", 1))
    inputs, start = [], 0
    for b in batches:
        lens = [len(e.ids) for e in encodings[start:start + len(b)]]
        order = sorted(range(len(b)), key=lambda i: (lens[i], i))
        for call in token_budget_calls(order, lens, max_batch):
            width = max(1, max(lens[i] for i in call))
            ids = np.zeros((len(call), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(call):
                ids[r, :lens[i]] = encodings[start + i].ids
                mask[r, :lens[i]] = 1
            inputs.append({manifest["inputs"][0]: ids, manifest["inputs"][1]: mask})
        start += len(b)
    outputs = [manifest["heads"][h]["output"] for h in ("sentiment", "politeness")]

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.intra_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sessions = [
        ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        for _ in range(args.sessions)
    ]

    results = [None] * len(inputs)
    lock = threading.Lock()
    next_turn = [0]

    def worker(session):
        while True:
            with lock:
                i = next_turn[0]
                next_turn[0] += 1
            if i >= len(inputs):
                return
            results[i] = session.run(outputs, inputs[i])

    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - started
    assert all(r is not None for r in results)

    size = os.path.getsize(args.corpus)
    tokens = sum(len(e.ids) for e in encodings)
    result = {
        "conversations": conversations,
        "turns": all_turns,
        "model_calls": len(inputs),
        "model_texts": len(texts),
        "tokens": tokens,
        "bytes": size,
        "sessions": args.sessions,
        "intra_threads": args.intra_threads,
        "seconds": secs,
        "turns_per_sec": all_turns / secs,
        "conversations_per_sec": conversations / secs,
        "mb_per_sec": size / 1e6 / secs,
    }
    print(
        f"models-only ({args.sessions} sessions x {args.intra_threads} ORT thread): "
        f"{all_turns} turns of {conversations} conversations, {len(texts)} texts "
        f"({'every turn' if args.all_turns else 'distinct texts per batch'}, {tokens / len(texts):.1f} tokens each) "
        f"in {len(inputs)} calls of at most {max_batch} "
        f"in {secs:.2f} s: {result['turns_per_sec']:,.0f} turns/s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
