"""Python reference pipeline for the end-to-end bench (issue 7): `convqa score`'s job written the
way a data scientist would write it, to measure convqa against.

    python benches/reference/reference.py INPUT.jsonl --out DIR \
        [--rubric rubric/default.toml] [--model models/convqa-mini | --no-models]

What it does, per conversation, in one process, one conversation after another:
- reads the JSONL line by line (`json.loads`), skipping lines that are not a conversation;
- normalizes every turn: NFKC, lowercase, typographic apostrophes to ', Traditional -> Simplified
  (`zhconv-rs`, the same conversion tables as convqa's `zhconv` crate);
- segments every turn with python `jieba` (`jieba.tokenize`, HMM on; punctuation and spaces are
  not tokens) and tags it zh-Hans / zh-Hant / en / mixed / none from its tokens;
- matches every rubric phrase (rubric/default.toml via `tomllib`; phrases normalized and segmented
  the same way) per turn: one `pyahocorasick` automaton over the space-joined tokens, so a hit
  starts and ends on token boundaries; a negator within the rubric's window of tokens before a
  hit, in the same clause, cancels it (unless the rule says `negation = false`), except a
  negator inside a `[negation] except` phrase; a rule's `except` phrases cancel its hits they cover;
- applies the rules' scopes (speaker, first / last agent turns, `when` a signal fired earlier);
- timing KPIs per channel: reply times from the first waiting customer turn, first response,
  SLA breaches, an unanswered last customer turn (not when it is a closing thank-you);
- runs the model (`models/convqa-mini`: `tokenizers` with the manifest's prefix and max length,
  one `onnxruntime` session with its default options; a conversation's turns in padded calls of
  at most the manifest's `max_batch`, one turn per call when it is 1) on every customer and agent
  turn, with the manifest's Platt calibration per head;
- scores: empathy / compliance / responsiveness / sentiment / politeness subscores, the weighted
  qa_score, pass/fail, flags with evidence (the formulas of convqa's README);
- writes conversations.parquet, turns.parquet and flags.parquet with `pyarrow` (zstd) at the end,
  and prints the counts and the time spent per stage.
With --no-models it skips the model (sentiment and politeness null, as `convqa score --no-models`),
to compare the text pipelines alone.

What it does not do (so it is lighter than convqa, never heavier): no redaction of personal data,
no rejects file or per-field validation messages (a bad line is counted and skipped), no exact
original-text spans of hits (the matched phrase is quoted as normalized), no sub-word boundaries
inside jieba tokens (so 「谢谢」 does not match inside the token 「谢谢您」), no whatlang language
identification, no content hash, no summary.json, no atomic writes, no parallelism. Its scores
are close to convqa's but not identical (segmentation-dependent phrase hits differ a little).
"""

import argparse
import json
import sys
import time
import tomllib
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import ahocorasick
import jieba
import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer
from zhconv_rs import zhconv

CLAUSE_BREAKS = set(",.!?;:。、…\n~，！？；：")
DIMENSIONS = ["responsiveness", "empathy", "compliance", "sentiment", "politeness"]

timers = defaultdict(float)  # seconds per stage


def is_han(ch):
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def normalize(text):
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u02bc", "'")
    if any(is_han(c) for c in text):
        simplified = zhconv(text, "zh-hans")
        return simplified, simplified != text
    return text, False


def segment(text):
    """jieba tokens of normalized text as (word, clause number); punctuation is not a token."""
    tokens = []
    clause = 0
    for word, _start, _end in jieba.tokenize(text):
        if any(c in CLAUSE_BREAKS for c in word):
            clause += 1
        if any(c.isalnum() for c in word):
            tokens.append((word, clause))
    return tokens


def language_of(tokens, traditional):
    han = sum(1 for w, _ in tokens if is_han(w[0]))
    latin = sum(1 for w, _ in tokens if w.isascii() and w.isalpha())
    if han == 0 and latin == 0:
        return "none"
    if han and latin >= 2 and latin / (han + latin) >= 0.2:
        return "mixed"
    if han:
        return "zh-Hant" if traditional else "zh-Hans"
    return "en"


def phrase_key(phrase):
    norm, _ = normalize(phrase)
    return " ".join(w for w, _ in segment(norm))


class RubricMatcher:
    def __init__(self, rubric):
        self.rules = rubric["rule"]
        self.window = rubric.get("negation", {}).get("window", 3)
        negators = rubric.get("negation", {}).get("zh", []) + rubric.get("negation", {}).get("en", [])
        self.negators = [phrase_key(n) for n in negators]
        self.automaton = ahocorasick.Automaton()
        targets = defaultdict(list)
        for r, rule in enumerate(self.rules):
            for phrase in rule.get("zh", []) + rule.get("en", []):
                targets[phrase_key(phrase)].append((r, phrase))
            # a rule's `except` phrases cancel its hits they cover (marker: phrase None)
            for phrase in rule.get("except", []):
                targets[phrase_key(phrase)].append((r, None))
        # phrases in which a negator does not negate (marker: rule -1)
        for phrase in rubric.get("negation", {}).get("except", []):
            targets[phrase_key(phrase)].append((-1, None))
        for key, value in targets.items():
            self.automaton.add_word(" " + key + " ", (key, value))
        self.automaton.make_automaton()

    def find(self, tokens):
        """Hits in one turn: list of (rule index, phrase, first token, negated)."""
        if not tokens:
            return []
        text = " " + " ".join(w for w, _ in tokens) + " "
        # character offset of each token's start in `text` -> token index
        starts = {}
        pos = 1
        for i, (w, _) in enumerate(tokens):
            starts[pos] = i
            pos += len(w) + 1
        found, excepts, not_negating = [], [], set()
        for end, (key, targets) in self.automaton.iter(text):
            start = end - len(key)  # `end` is the trailing space; the key starts after the leading one
            first = starts[start]
            last = first + key.count(" ")
            for r, phrase in targets:
                if r == -1:
                    not_negating.update(range(first, last + 1))
                elif phrase is None:
                    excepts.append((r, first, last))
                else:
                    found.append((r, phrase, first, last))
        hits = []
        for r, phrase, first, last in found:
            if any(er == r and ef <= first and last <= el for er, ef, el in excepts):
                continue
            hits.append((r, phrase, first, self.is_negated(tokens, first, not_negating)))
        return hits

    def is_negated(self, tokens, first, not_negating):
        clause = tokens[first][1]
        lo = max(0, first - self.window)
        # a token inside a `[negation] except` phrase cannot negate
        before = [w if k not in not_negating else "\0" for k, (w, c) in enumerate(tokens[lo:first], lo) if c == clause]
        if not before:
            return False
        window = " " + " ".join(before) + " "
        return any(" " + n + " " in window for n in self.negators)


def evaluate(rules, speakers, turn_hits):
    """Per rule: {'applicable', 'hits': [(turn, phrase)], 'negated': [...], 'expected_turn'}."""
    agent_turns = [i for i, s in enumerate(speakers) if s == "agent"]
    ordinal = {t: n for n, t in enumerate(agent_turns)}
    ids = {rule["id"]: r for r, rule in enumerate(rules)}
    outcomes = [None] * len(rules)
    order = [r for r, rule in enumerate(rules) if rule["kind"] == "signal"]
    order += [r for r, rule in enumerate(rules) if rule["kind"] != "signal"]
    for r in order:
        rule = rules[r]
        trigger = None
        if "when" in rule:
            signal = outcomes[ids[rule["when"]]]
            if not signal["hits"]:
                outcomes[r] = {"applicable": False, "hits": [], "negated": [], "expected_turn": None}
                continue
            trigger = signal["hits"][0][0]
        speaker = rule.get("speaker", "customer" if rule["kind"] == "signal" else "agent")

        def in_scope(t):
            if speaker != "any" and speakers[t] != speaker:
                return False
            if trigger is not None and t <= trigger:
                return False
            if "first_n_agent_turns" in rule:
                return t in ordinal and ordinal[t] < rule["first_n_agent_turns"]
            if "last_n_agent_turns" in rule:
                return t in ordinal and ordinal[t] + rule["last_n_agent_turns"] >= len(agent_turns)
            return True

        out = {"applicable": False, "hits": [], "negated": [], "expected_turn": None}
        any_in_scope = False
        for t, hits in enumerate(turn_hits):
            if not in_scope(t):
                continue
            any_in_scope = True
            for hr, phrase, _first, negated in hits:
                if hr != r:
                    continue
                if negated and rule.get("negation", True):
                    out["negated"].append((t, phrase))
                else:
                    out["hits"].append((t, phrase))
        out["applicable"] = trigger is None or any_in_scope
        if rule["kind"] == "required" and not out["hits"]:
            if trigger is not None:
                out["expected_turn"] = trigger
            elif "last_n_agent_turns" in rule:
                out["expected_turn"] = agent_turns[-1] if agent_turns else None
            else:
                out["expected_turn"] = next((t for t in range(len(speakers)) if in_scope(t)), None)
        outcomes[r] = out
    return outcomes


def channel_limits(rubric, channel):
    timing = rubric["timing"]
    limits = {
        "first": timing.get("first_response_limit_secs", 300.0),
        "reply": timing.get("reply_limit_secs", 180.0),
    }
    over = timing.get("channel", {}).get(channel, {})
    limits["first"] = over.get("first_response_limit_secs", limits["first"])
    limits["reply"] = over.get("reply_limit_secs", limits["reply"])
    return limits


def timing_kpis(turns, times, limits):
    replies = []  # (turn, waiting_since, secs, limit, first)
    waiting = None
    has_customer = False
    out_of_order = None
    for i, turn in enumerate(turns):
        if i > 0 and times[i] < times[i - 1] and out_of_order is None:
            out_of_order = i
        if turn["speaker"] == "customer":
            has_customer = True
            if waiting is None:
                waiting = i
        elif turn["speaker"] == "agent" and waiting is not None:
            first = not replies
            secs = max(0.0, (times[i] - times[waiting]).total_seconds())
            replies.append((i, waiting, secs, limits["first"] if first else limits["reply"], first))
            waiting = None
    secs = [r[2] for r in replies]
    return {
        "replies": replies,
        "unanswered": waiting,
        "has_customer": has_customer,
        "out_of_order": out_of_order,
        "first_response_secs": secs[0] if secs else None,
        "mean_agent_reply_secs": sum(secs) / len(secs) if secs else None,
        "max_agent_reply_secs": max(secs) if secs else None,
        "handling_secs": max(0.0, (times[-1] - times[0]).total_seconds()),
        "sla_breaches": sum(1 for r in replies if r[2] > r[3]),
    }


class Model:
    def __init__(self, folder):
        folder = Path(folder)
        with open(folder / "manifest.toml", "rb") as f:
            self.manifest = tomllib.load(f)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.manifest["max_length"])
        self.tokenizer.no_padding()
        self.session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        self.heads = self.manifest["heads"]

    def predict(self, texts):
        """[(P(positive), P(polite))] of one conversation's turns: one call per turn when the
        manifest says `max_batch = 1`, else the conversation's turns padded into calls of at most
        `max_batch` (what a data scientist does with a batchable model: one batch per record)."""
        bs = max(1, int(self.manifest.get("max_batch", 1)))
        names = [self.heads["sentiment"]["output"], self.heads["politeness"]["output"]]
        out = []
        for start in range(0, len(texts), bs):
            encs = [self.tokenizer.encode(self.manifest["prefix"] + t) for t in texts[start:start + bs]]
            width = max(len(e.ids) for e in encs)
            ids = np.ones((len(encs), width), dtype=np.int64)  # <pad> is id 1
            mask = np.zeros_like(ids)
            for i, e in enumerate(encs):
                ids[i, :len(e.ids)] = e.ids
                mask[i, :len(e.ids)] = 1
            sentiment, politeness = self.session.run(names, {"input_ids": ids, "attention_mask": mask})
            out += [(self.calibrated("sentiment", s), self.calibrated("politeness", p))
                    for s, p in zip(sentiment, politeness)]
        return out

    def calibrated(self, head, logits):
        h = self.heads[head]
        z = h.get("scale", 1.0) * float(logits[1] - logits[0]) + h.get("bias", 0.0)
        return 1.0 / (1.0 + np.exp(-z))


def score_conversation(conv, rubric, matcher, model):
    turns = conv["turns"]
    rules = rubric["rule"]
    ids = {rule["id"]: r for r, rule in enumerate(rules)}

    t0 = time.perf_counter()
    segmented = []
    for turn in turns:
        norm, traditional = normalize(turn["text"])
        tokens = segment(norm)
        segmented.append((tokens, language_of(tokens, traditional)))
    t1 = time.perf_counter()
    turn_hits = [matcher.find(tokens) for tokens, _ in segmented]
    speakers = [t["speaker"] for t in turns]
    outcomes = evaluate(rules, speakers, turn_hits)
    t2 = time.perf_counter()
    scored = [i for i, t in enumerate(turns) if model and t["speaker"] != "system"]
    preds = [None] * len(turns)
    for i, pred in zip(scored, model.predict([turns[i]["text"] for i in scored]) if scored else []):
        preds[i] = pred
    t3 = time.perf_counter()
    timers["segment"] += t1 - t0
    timers["rubric"] += t2 - t1
    timers["model"] += t3 - t2

    times = [datetime.fromisoformat(t["ts"]) for t in turns]
    kpis = timing_kpis(turns, times, channel_limits(rubric, conv["channel"]))
    cid = conv["conversation_id"]
    flags = []

    def flag(kind, dimension, severity, turn, detail, rule_id=None, matched=None):
        flags.append({
            "conversation_id": cid, "flag": kind, "dimension": dimension, "severity": severity,
            "rule_id": rule_id, "turn_index": turn,
            "speaker": turns[turn]["speaker"] if turn is not None else None,
            "evidence": turns[turn]["text"] if turn is not None else "",
            "matched": matched, "detail": detail,
        })

    # an unanswered closing thank-you is not waiting for an answer
    last = max((i for i, t in enumerate(turns) if t["speaker"] != "system"), default=None)
    if kpis["unanswered"] is not None and last is not None and not any(q in turns[last]["text"] for q in "?？"):
        exempt = [ids[s] for s in rubric["timing"].get("unanswered_exempt_signals", [])]
        if any(h[0] == last for r in exempt for h in outcomes[r]["hits"]):
            kpis["unanswered"] = None

    subscores = {}
    for dimension in ["empathy", "compliance"]:
        applicable = met = penalty = 0.0
        judged = False
        for rule, out in zip(rules, outcomes):
            if rule.get("dimension") != dimension:
                continue
            if rule["kind"] == "required" and out["applicable"]:
                judged = True
                applicable += rule["weight"]
                if out["hits"]:
                    met += rule["weight"]
                else:
                    flag("missing_phrase", dimension, rule["severity"], out["expected_turn"],
                         f"missing {rule['id']!r}: {rule.get('description', '')}", rule["id"])
            elif rule["kind"] == "forbidden":
                judged = True
                for t, phrase in out["hits"]:
                    penalty += rule["weight"]
                    flag("forbidden_phrase", dimension, rule["severity"], t,
                         f"forbidden {rule['id']!r}", rule["id"], phrase)
        if judged:
            base = 100.0 * met / applicable if applicable else 100.0
            subscores[dimension] = round(min(100.0, max(0.0, base - penalty)), 1)

    if kpis["has_customer"]:
        first_weight = rubric["timing"].get("first_response_weight", 2.0)
        total = credit = 0.0
        for turn, since, secs, limit, first in kpis["replies"]:
            w = first_weight if first else 1.0
            total += w
            credit += w * (1.0 if secs <= limit else max(0.0, 1.0 - (secs - limit) / limit))
            if secs > limit:
                flag("slow_first_response" if first else "slow_reply", "responsiveness",
                     "major" if first else "minor", turn, f"reply after {secs:.0f} s (limit {limit:.0f} s)")
        if kpis["unanswered"] is not None:
            total += first_weight if not kpis["replies"] else 1.0
            flag("unanswered_customer", "responsiveness", "major", kpis["unanswered"],
                 "the customer's last message got no agent reply")
        if total > 0:
            subscores["responsiveness"] = round(100.0 * credit / total, 1)

    # model dimensions
    closing = [False] * len(turns)
    for s in rubric.get("sentiment", {}).get("closing_signals", []):
        for t, _ in outcomes[ids[s]]["hits"]:
            closing[t] = True
    for s in rubric.get("sentiment", {}).get("unless_signals", []):
        for t, _ in outcomes[ids[s]]["hits"]:
            closing[t] = False
    thresholds = model.manifest["thresholds"] if model else {}
    model_cols = {}
    customer = [(i, 2 * p[0] - 1) for i, p in enumerate(preds) if p and speakers[i] == "customer"]
    customer = [(i, max(s, 0.0) if closing[i] else s) for i, s in customer]
    if customer:
        start, end = customer[0][1], customer[-1][1]
        delta = end - start
        model_cols.update(sentiment_start=round(start, 3), sentiment_end=round(end, 3), sentiment_delta=round(delta, 3))
        subscores["sentiment"] = round(max(100.0 * (1.0 + min(end, 0.0)), 50.0 * (1.0 + max(-1.0, min(1.0, delta)))), 1)
        if end < thresholds["negative_below"]:
            flag("customer_ends_negative", "sentiment", "minor", customer[-1][0], f"sentiment {end:.2f}")
        if len(customer) > 1 and delta <= -thresholds["sentiment_drop"]:
            flag("sentiment_dropped", "sentiment", "minor", customer[-1][0], f"from {start:.2f} to {end:.2f}")
    agent = [(i, p[1]) for i, p in enumerate(preds) if p and speakers[i] == "agent"]
    if agent:
        values = [p for _, p in agent]
        marks = [min(1.0, 2 * p) for p in values]
        model_cols.update(politeness_mean=round(float(np.mean(values)), 3), politeness_min=round(min(values), 3))
        subscores["politeness"] = round(100.0 * (np.mean(marks) + min(1.0, 2 * min(values))) / 2, 1)
        for i, p in agent:
            if p < thresholds["impolite_below"]:
                flag("impolite_turn", "politeness", "minor", i, f"politeness {p:.2f}")

    signals = []
    for rule, out in zip(rules, outcomes):
        if rule["kind"] == "signal" and out["hits"]:
            signals.append(rule["id"])
            if rule.get("severity", "info") != "info":
                t, phrase = out["hits"][0]
                flag("customer_signal", "signal", rule["severity"], t, f"customer signal {rule['id']!r}", rule["id"], phrase)
    flags.sort(key=lambda f: f["turn_index"] if f["turn_index"] is not None else 1 << 30)

    weights = rubric["weights"]
    num = sum(subscores[d] * weights.get(d, 0.0) for d in subscores)
    den = sum(weights.get(d, 0.0) for d in subscores)
    qa_score = round(num / den, 1) if den > 0 else 100.0
    passed = qa_score >= rubric["pass_threshold"] and not any(f["severity"] == "critical" for f in flags)

    languages = Counter(lang for _, lang in segmented if lang != "none")
    conv_row = {
        "conversation_id": cid, "agent_id": conv["agent_id"], "channel": conv["channel"],
        "customer_id": conv.get("customer_id"),
        "started_at": datetime.fromisoformat(conv["started_at"]) if conv.get("started_at") else times[0],
        "ended_at": max(times),
        "language": languages.most_common(1)[0][0] if languages else "none",
        "n_turns": len(turns),
        "n_customer_turns": speakers.count("customer"), "n_agent_turns": speakers.count("agent"),
        "first_response_secs": kpis["first_response_secs"],
        "mean_agent_reply_secs": kpis["mean_agent_reply_secs"],
        "max_agent_reply_secs": kpis["max_agent_reply_secs"],
        "handling_secs": kpis["handling_secs"], "sla_breaches": kpis["sla_breaches"],
        **{f"{d}_score": subscores.get(d) for d in DIMENSIONS},
        **{k: model_cols.get(k) for k in ["sentiment_start", "sentiment_end", "sentiment_delta", "politeness_mean", "politeness_min"]},
        "qa_score": qa_score, "passed": passed, "signals": signals,
        "resolved": conv.get("resolved"), "csat": conv.get("csat"), "tags": conv.get("tags", []),
        "n_flags": len(flags),
    }
    reply_secs = {r[0]: r[2] for r in kpis["replies"]}
    rule_hits = [[] for _ in turns]
    negated_hits = [[] for _ in turns]
    for rule, out in zip(rules, outcomes):
        for t in sorted({t for t, _ in out["hits"]}):
            rule_hits[t].append(rule["id"])
        for t in sorted({t for t, _ in out["negated"]}):
            negated_hits[t].append(rule["id"])
    turn_rows = []
    for i, turn in enumerate(turns):
        p = preds[i]
        turn_rows.append({
            "conversation_id": cid, "turn_index": i, "speaker": turn["speaker"], "ts": times[i],
            "language": segmented[i][1], "text": turn["text"], "n_tokens": len(segmented[i][0]),
            "rule_hits": rule_hits[i], "negated_hits": negated_hits[i],
            "reply_secs": reply_secs.get(i),
            "sentiment": round(2 * p[0] - 1, 3) if p and turn["speaker"] == "customer" else None,
            "politeness": round(p[1], 3) if p and turn["speaker"] == "agent" else None,
        })
    return conv_row, turn_rows, flags


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rubric", default="rubric/default.toml")
    ap.add_argument("--model", default="models/convqa-mini")
    ap.add_argument("--no-models", action="store_true", help="skip the model stage")
    args = ap.parse_args()

    started = time.perf_counter()
    jieba.setLogLevel(60)
    jieba.initialize()
    with open(args.rubric, "rb") as f:
        rubric = tomllib.load(f)
    matcher = RubricMatcher(rubric)
    model = None if args.no_models else Model(args.model)
    timers["load"] = time.perf_counter() - started

    conversations, turns, flags = [], [], []
    skipped = 0
    t = time.perf_counter()
    with open(args.input, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                conv = json.loads(line)
                conv_row, turn_rows, flag_rows = score_conversation(conv, rubric, matcher, model)
            except (ValueError, KeyError, TypeError):
                skipped += 1
                continue
            conversations.append(conv_row)
            turns.extend(turn_rows)
            flags.extend(flag_rows)
    timers["score_loop"] = time.perf_counter() - t

    t = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in [("conversations", conversations), ("turns", turns), ("flags", flags)]:
        pq.write_table(pa.Table.from_pylist(rows), out / f"{name}.parquet", compression="zstd")
    timers["write"] = time.perf_counter() - t
    timers["total"] = time.perf_counter() - started

    passed = sum(1 for c in conversations if c["passed"])
    print(f"reference: scored {len(conversations)} conversations ({passed} passed), {len(turns)} turns, "
          f"{len(flags)} flags, skipped {skipped} lines -> {out}")
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in timers.items())
    print(f"reference: {stages}")
    json.dump({"conversations": len(conversations), "turns": len(turns), "flags": len(flags),
               "skipped": skipped, "seconds": dict(timers)}, open(out / "reference_summary.json", "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
