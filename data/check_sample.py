#!/usr/bin/env python3
"""Validate the convqa sample data and the facts stated in data/README.md.

All data checked here is synthetic, written by hand for this project.

Usage (from the repository root or from data/):

    python3 data/check_sample.py            # validate files + README tables
    python3 data/check_sample.py --markdown # print the README fact tables

What is checked
- data/sample/*.jsonl: UTF-8 without BOM, LF line endings, one JSON object per
  line, required fields and enumerations, timestamps that parse with
  datetime.fromisoformat and carry an offset, conversation_id unique across
  all sample files, per-file minimum counts.
- Timing facts (first_response_secs, reply gaps, SLA breaches, unanswered
  final customer turn) are recomputed from the timestamps and compared with
  the tables in data/README.md. Whether a final customer turn is exempt from
  "unanswered" ([timing] unanswered_exempt_signals) needs the phrase matcher;
  without it only the cells that do not depend on it are compared.
- If the optional packages `jieba` and `zhconv_rs` (PyPI: jieba, zhconv-rs,
  the latter wraps the same zhconv crate the Rust code uses) are importable,
  rubric/default.toml is applied with a reference matcher that mirrors
  src/normalize.rs, src/segment and src/rubric/matcher.rs (NFKC -> lowercase
  -> Traditional-to-Simplified, jieba on Han runs and Unicode words elsewhere,
  phrases must start and end on token boundaries, a negator within `window`
  tokens before a hit in the same clause cancels it) and the rubric columns of
  the README are compared too. Rules, phrases, negators, severities and the
  unanswered exemptions are all read from rubric/default.toml (tomllib);
  nothing rubric-specific is hard-coded here. Without those packages that part
  is skipped, not failed.
- data/broken/broken.jsonl is regenerated in memory with make_broken.py and
  must be byte-identical to the file on disk.

Only the Python standard library is required.
"""
from __future__ import annotations

import argparse
import bisect
import importlib.util
import json
import re
import sys
import tomllib
import unicodedata
from datetime import datetime
from pathlib import Path

DATA = Path(__file__).resolve().parent
ROOT = DATA.parent
SAMPLE = DATA / "sample"
RUBRIC = ROOT / "rubric" / "default.toml"
README = DATA / "README.md"

FILES = {  # file stem -> (minimum count, allowed language values)
    "zh-hans": (12, {"zh-Hans"}),
    "zh-hant": (10, {"zh-Hant"}),
    "en": (12, {"en"}),
    "mixed": (10, {"mixed"}),
}
CHANNELS = {"chat", "email", "phone"}
SPEAKERS = {"customer", "agent", "system"}
LANGS = {"zh-Hans", "zh-Hant", "en", "mixed"}
REQUIRED = ("conversation_id", "agent_id", "channel", "turns")
OPTIONAL = ("customer_id", "started_at", "language", "resolved", "csat", "tags")
# an RFC 3339 timestamp with a mandatory offset (fromisoformat alone also takes other ISO shapes)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

errors: list[str] = []
warnings: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def warn(msg: str) -> None:
    warnings.append(msg)


def parse_ts(s: str, where: str) -> datetime | None:
    if not isinstance(s, str) or not RFC3339.match(s):
        err(f"{where}: ts {s!r} is not RFC 3339 with an offset")
        return None
    try:
        d = datetime.fromisoformat(s)
    except ValueError as e:
        err(f"{where}: ts {s!r} does not parse: {e}")
        return None
    if d.tzinfo is None:
        err(f"{where}: ts {s!r} has no offset")
        return None
    return d


# ---------------------------------------------------------------------------
# loading and schema
# ---------------------------------------------------------------------------

def load_samples() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    seen: dict[str, str] = {}
    for stem, (minimum, langs) in FILES.items():
        path = SAMPLE / f"{stem}.jsonl"
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            err(f"{path.name}: starts with a BOM")
        if b"\r" in raw:
            err(f"{path.name}: contains CR characters (must be LF only)")
        if not raw.endswith(b"\n"):
            err(f"{path.name}: does not end with a newline")
        text = raw.decode("utf-8")  # raises on invalid UTF-8
        lines = text.split("\n")[:-1]
        count = 0
        for n, line in enumerate(lines, 1):
            where = f"{path.name}:{n}"
            if not line.strip():
                err(f"{where}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"{where}: invalid JSON: {e}")
                continue
            if not isinstance(obj, dict):
                err(f"{where}: not a JSON object")
                continue
            check_conversation(obj, where, langs)
            cid = obj.get("conversation_id")
            if cid in seen:
                err(f"{where}: duplicate conversation_id {cid!r} (first in {seen[cid]})")
            seen[cid] = where
            out.append((stem, obj))
            count += 1
        if count < minimum:
            err(f"{path.name}: {count} conversations, need at least {minimum}")
    return out


def check_conversation(c: dict, where: str, langs: set[str]) -> None:
    for k in REQUIRED:
        if k not in c:
            err(f"{where}: missing {k}")
    for k in c:
        if k not in REQUIRED and k not in OPTIONAL:
            err(f"{where}: unknown field {k}")
    for k in ("conversation_id", "agent_id", "customer_id"):
        if k in c and (not isinstance(c[k], str) or not c[k]):
            err(f"{where}: {k} must be a non-empty string")
    if c.get("channel") not in CHANNELS:
        err(f"{where}: bad channel {c.get('channel')!r}")
    if "language" in c:
        if c["language"] not in LANGS:
            err(f"{where}: bad language {c['language']!r}")
        elif c["language"] not in langs:
            warn(f"{where}: language {c['language']} in a file for {sorted(langs)}")
    if "resolved" in c and not isinstance(c["resolved"], bool):
        err(f"{where}: resolved must be a bool")
    if "csat" in c:
        v = c["csat"]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
            err(f"{where}: csat must be an integer 1..5, got {v!r}")
    if "tags" in c and (not isinstance(c["tags"], list) or not all(isinstance(t, str) for t in c["tags"])):
        err(f"{where}: tags must be a list of strings")
    if "started_at" in c:
        parse_ts(c["started_at"], f"{where} started_at")
    turns = c.get("turns")
    if not isinstance(turns, list) or not turns:
        err(f"{where}: turns must be a non-empty list")
        return
    if not 2 <= len(turns) <= 14:
        err(f"{where}: {len(turns)} turns, expected 2..14")
    prev = None
    for i, t in enumerate(turns):
        w = f"{where} turn {i}"
        if not isinstance(t, dict):
            err(f"{w}: not an object")
            continue
        if set(t) != {"speaker", "text", "ts"}:
            err(f"{w}: keys {sorted(t)} != speaker/text/ts")
        if t.get("speaker") not in SPEAKERS:
            err(f"{w}: bad speaker {t.get('speaker')!r}")
        if not isinstance(t.get("text"), str) or not t.get("text"):
            err(f"{w}: text must be a non-empty string")
        d = parse_ts(t.get("ts"), w)
        if d is not None and prev is not None and d < prev:
            err(f"{w}: timestamp goes backwards")
        prev = d or prev
    if "started_at" in c and turns and isinstance(turns[0], dict):
        s = parse_ts(c["started_at"], where)
        f = parse_ts(turns[0].get("ts"), where)
        if s and f and s > f:
            err(f"{where}: started_at is after the first turn")


# ---------------------------------------------------------------------------
# timing (definitions from the project brief, see data/README.md)
# ---------------------------------------------------------------------------

def secs(a: datetime, b: datetime) -> float | int:
    v = (b - a).total_seconds()
    return int(v) if v == int(v) else v


def timing(c: dict, rubric: dict) -> dict:
    turns = c["turns"]
    ts = [datetime.fromisoformat(t["ts"]) for t in turns]
    tcfg = rubric["timing"]
    chan = tcfg.get("channel", {}).get(c["channel"], {})
    first_limit = chan.get("first_response_limit_secs", tcfg["first_response_limit_secs"])
    reply_limit = chan.get("reply_limit_secs", tcfg["reply_limit_secs"])

    first_cust = next((i for i, t in enumerate(turns) if t["speaker"] == "customer"), None)
    first_resp = None
    if first_cust is not None:
        j = next((i for i in range(first_cust + 1, len(turns)) if turns[i]["speaker"] == "agent"), None)
        if j is not None:
            first_resp = secs(ts[first_cust], ts[j])

    gaps: list[tuple[int, float | int]] = []  # (agent turn index, gap)
    pending = None
    for i, t in enumerate(turns):
        if t["speaker"] == "customer":
            if pending is None:
                pending = ts[i]
        elif t["speaker"] == "agent" and pending is not None:
            gaps.append((i, secs(pending, ts[i])))
            pending = None

    breaches = []
    for k, (i, g) in enumerate(gaps):
        limit = first_limit if k == 0 else reply_limit
        if g > limit:
            breaches.append(("first" if k == 0 else "reply", i, g))

    last = next((i for i in reversed(range(len(turns))) if turns[i]["speaker"] != "system"), None)
    last_customer = last if last is not None and turns[last]["speaker"] == "customer" else None
    return dict(first_resp=first_resp, gaps=gaps, breaches=breaches, last_customer=last_customer,
                unanswered=None if last_customer is not None else False,
                first_limit=first_limit, reply_limit=reply_limit)


def decide_unanswered(c: dict, tm: dict, rubric: dict, res: dict | None) -> None:
    """Sets tm["unanswered"] (mirrors ends_with_closing_thanks in src/score.rs).

    The conversation ends unanswered when the last non-system turn is the customer's, unless one
    of [timing] unanswered_exempt_signals has a non-negated hit in that turn and the turn's
    original text holds no '?' / '？'. Without the phrase matcher (res is None) the exemption
    can only be ruled out by a question mark; otherwise the value stays None (undecided).
    """
    i = tm["last_customer"]
    if i is None:
        tm["unanswered"] = False
        return
    text = c["turns"][i]["text"]
    if "?" in text or "？" in text:
        tm["unanswered"] = True
        return
    if res is None:
        tm["unanswered"] = None
        return
    exempt = rubric["timing"].get("unanswered_exempt_signals", [])
    for rid in exempt:
        if rid not in res or res[rid]["rule"]["kind"] != "signal":
            err(f"rubric: unanswered_exempt_signals names {rid!r}, not a signal rule")
    tm["unanswered"] = not any(t == i for rid in exempt if rid in res for t, _ in res[rid]["hits"])


# ---------------------------------------------------------------------------
# reference phrase matcher (optional)
# ---------------------------------------------------------------------------

# Mirrors src/normalize.rs, src/segment and src/rubric/matcher.rs closely enough to predict
# their hits: Han runs go to jieba (HMM on), other runs to Unicode word segmentation
# (UAX #29, approximated below), punctuation and spaces are not tokens, and a turn's tokens
# are joined into a match text (touching Chinese tokens without a space, all others with one).
# Phrases are normalized, segmented and joined the same way; a hit must start and end on token
# boundaries; every occurrence counts (overlapping ones too).

CLAUSE_BREAKS = set(",.!?;:。、…\n~")
APOSTROPHES = {"\u2018": "'", "\u2019": "'", "\u02bc": "'"}
MID_LETTER = set(":\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a")
MID_NUM = set(",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b")
MID_NUM_LET_Q = set(".'\u2018\u2019\u2024\ufe52\uff07\uff0e")


def is_han(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x323AF
            or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F or 0x2E80 <= o <= 0x2FDF
            or o in (0x3005, 0x3007, 0x3021, 0x3022, 0x3023, 0x3024, 0x3025, 0x3026, 0x3027,
                     0x3028, 0x3029, 0x3038, 0x3039, 0x303A, 0x303B))


def _wordish(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def uax29_words(run: str) -> list[tuple[int, int]]:
    """Word spans of a non-Han run, as unicode_word_indices gives them (approximation:
    letters/digits/underscore, joined across one MidLetter / MidNum / MidNumLetQ character
    between letters or between digits)."""
    out, i, n = [], 0, len(run)
    while i < n:
        if not _wordish(run[i]):
            i += 1
            continue
        j = i + 1
        while j < n:
            c = run[j]
            if _wordish(c):
                j += 1
                continue
            if j + 1 < n and _wordish(run[j + 1]):
                a, b = run[j - 1], run[j + 1]
                letters = a.isalpha() and b.isalpha()
                digits = a.isdigit() and b.isdigit()
                if (c in MID_LETTER and letters) or (c in MID_NUM and digits) or \
                        (c in MID_NUM_LET_Q and (letters or digits)):
                    j += 2
                    continue
            break
        if any(ch.isalnum() for ch in run[i:j]):
            out.append((i, j))
        i = j
    return out


class Matcher:
    def __init__(self, rubric: dict):
        import logging

        import jieba
        from zhconv_rs import zhconv

        jieba.setLogLevel(logging.ERROR)
        self.jieba = jieba
        self.zhconv = zhconv
        self.rubric = rubric
        neg = rubric["negation"]
        self.window = neg["window"]
        self.negators = {self.join(self.segment(x))[0] for x in neg["zh"] + neg["en"]}
        self.patterns = {}  # rule id -> [(pattern, phrase)]
        for r in rubric["rule"]:
            self.patterns[r["id"]] = [(self.join(self.segment(p))[0], p) for p in r.get("zh", []) + r.get("en", [])]

    def norm(self, text: str) -> str:
        out = []
        for ch in text:
            if ch.isascii():
                out.append(ch.lower())
                continue
            for c in unicodedata.normalize("NFKC", ch):
                out.append(APOSTROPHES.get(c, c).lower())
        s = "".join(out)
        # Traditional -> Simplified, run by run of Han characters
        res, i = [], 0
        while i < len(s):
            j = i
            while j < len(s) and is_han(s[j]) == is_han(s[i]):
                j += 1
            run = s[i:j]
            res.append(self.zhconv(run, "zh-hans") if is_han(s[i]) else run)
            i = j
        return "".join(res)

    def has_word(self, w: str) -> bool:
        return self.jieba.dt.FREQ.get(w, 0) > 0

    def inner_boundaries(self, w: str, at: int) -> list[int]:
        """Edges of 2-/3-character dictionary words inside a longer token (jieba search mode)."""
        found = set()
        if len(w) > 2:
            for ln in (2, 3):
                if ln >= len(w):
                    continue
                for i in range(len(w) - ln + 1):
                    if self.has_word(w[i:i + ln]):
                        found.update((i, i + ln))
        return [at + o for o in sorted(found) if 0 < o < len(w)]

    def segment(self, text: str):
        """(normalized text, tokens as (start, end, is_chinese), inner boundaries)."""
        n = self.norm(text)
        toks, inner, i = [], [], 0
        while i < len(n):
            han = is_han(n[i])
            j = i
            while j < len(n) and is_han(n[j]) == han:
                j += 1
            run = n[i:j]
            if han:
                pos = 0
                for w in self.jieba.cut(run, HMM=True):
                    if any(ch.isalnum() for ch in w):
                        toks.append((i + pos, i + pos + len(w), True))
                        inner += self.inner_boundaries(w, i + pos)
                    pos += len(w)
            else:
                toks += [(i + a, i + b, False) for a, b in uax29_words(run)]
            i = j
        return n, toks, inner

    @staticmethod
    def join(seg):
        """(match text, token starts, token ends, inner boundaries) in match-text offsets."""
        n, toks, inner = seg
        text, starts, ends, inner_mt, prev = "", [], [], [], None
        for t in toks:
            if prev is not None and not (prev[2] and t[2] and prev[1] == t[0]):
                text += " "
            starts.append(len(text))
            inner_mt += [len(text) + (b - t[0]) for b in inner if t[0] < b < t[1]]
            text += n[t[0]:t[1]]
            ends.append(len(text))
            prev = t
        return text, starts, ends, inner_mt

    def negated(self, n, toks, first: int, norm_start: int) -> bool:
        prefix = n[toks[first][0]:norm_start]
        if prefix and any(prefix.endswith(x) for x in self.negators):
            return True
        for k in range(first - 1, max(0, first - self.window) - 1, -1):
            gap = n[toks[k][1]:toks[k + 1][0]]
            if any(ch in CLAUSE_BREAKS for ch in gap):
                return False
            if n[toks[k][0]:toks[k][1]] in self.negators:
                return True
        return False

    def hits(self, rule: dict, text: str, where: str) -> tuple[list[str], list[str]]:
        """(phrases that hit, phrases that hit but were negated)."""
        n, toks, inner = self.segment(text)
        mt, starts, ends, inner_mt = self.join((n, toks, inner))
        start_set = set(starts) | set(inner_mt)
        end_set = set(ends) | set(inner_mt)
        found, negs = [], []
        for pat, phrase in self.patterns[rule["id"]]:
            i = mt.find(pat)
            while i >= 0:
                j = i + len(pat)
                if i in start_set and j in end_set:
                    first = bisect.bisect_right(starts, i) - 1
                    norm_start = toks[first][0] + (i - starts[first])
                    if rule.get("negation", True) and self.negated(n, toks, first, norm_start):
                        negs.append(phrase)
                    else:
                        found.append((i, j, phrase))
                i = mt.find(pat, i + 1)
        if rule["kind"] == "forbidden":
            for a in found:
                for b in found:
                    if a is not b and a[0] < b[1] and b[0] < a[1]:
                        warn(f"{where}: overlapping {rule['id']} phrases {a[2]!r} and {b[2]!r} both count")
        return [h[2] for h in sorted(found)], negs

    def apply(self, c: dict) -> dict:
        turns = c["turns"]
        agent_idx = [i for i, t in enumerate(turns) if t["speaker"] == "agent"]
        rules = self.rubric["rule"]
        raw: dict[str, list[tuple[int, str]]] = {}
        negated: dict[str, list[tuple[int, str]]] = {}
        for r in rules:
            lst, nl = [], []
            for i, t in enumerate(turns):
                if r["speaker"] != "any" and t["speaker"] != r["speaker"]:
                    continue
                got, neg = self.hits(r, t["text"], f"{c['conversation_id']} turn {i}")
                lst += [(i, p) for p in got]
                nl += [(i, p) for p in neg]
            raw[r["id"]] = lst
            negated[r["id"]] = nl
        res = {}
        for r in rules:
            lst, nl = raw[r["id"]], negated[r["id"]]
            applicable = True
            if "first_n_agent_turns" in r:
                allowed = set(agent_idx[: r["first_n_agent_turns"]])
                lst = [h for h in lst if h[0] in allowed]
                nl = [h for h in nl if h[0] in allowed]
            if "last_n_agent_turns" in r:
                allowed = set(agent_idx[-r["last_n_agent_turns"]:])
                lst = [h for h in lst if h[0] in allowed]
                nl = [h for h in nl if h[0] in allowed]
            if "when" in r:
                sig = raw[r["when"]]
                first = min(h[0] for h in sig) if sig else None
                if first is None or not any(i > first for i in agent_idx):
                    applicable = False
                    lst, nl = [], []
                else:
                    lst = [h for h in lst if h[0] > first]
                    nl = [h for h in nl if h[0] > first]
            res[r["id"]] = dict(rule=r, hits=lst, applicable=applicable, negated=nl)
        return res


# ---------------------------------------------------------------------------
# README tables
# ---------------------------------------------------------------------------

def fmt_num(v) -> str:
    return "—" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def fmt_turns(hits, counts: bool = False) -> str:
    """Turn indexes that hold a hit; with counts, `7×2` = two hits in turn 7."""
    if not hits:
        return "—"
    seen = [i for i, _ in hits]
    out = []
    for i in sorted(set(seen)):
        n = seen.count(i)
        out.append(f"{i}" + (f"×{n}" if counts and n > 1 else ""))
    return ", ".join(out)


def timing_row(c, tm) -> list[str | None]:
    gaps = ", ".join(f"{i}:{fmt_num(g)}" for i, g in tm["gaps"]) or "—"
    br = ", ".join(f"{kind}@{i}" for kind, i, _ in tm["breaches"]) or "—"
    u = tm["unanswered"]
    return [c["conversation_id"], c["channel"], fmt_num(tm["first_resp"]), gaps, br,
            None if u is None else ("yes" if u else "no")]


# The rubric table has fixed columns for these rules; every other rule is taken from the rubric
# by kind (forbidden hits, other signals) in rubric order.
DISTRESS = "customer_distress"
REQUIRED_COLUMNS = ("greeting", "closing", "apology", "acknowledge_feelings", "reassurance")


def rubric_row(c, tm, res) -> list[str]:
    rules = [x["rule"] for x in res.values()]  # rubric order
    forbidden = [r["id"] for r in rules if r["kind"] == "forbidden"]
    required = [r["id"] for r in rules if r["kind"] == "required"]
    signals = [r["id"] for r in rules if r["kind"] == "signal"]

    def req(rid):
        x = res[rid]
        if not x["applicable"]:
            return "n/a"
        return fmt_turns(x["hits"]) if x["hits"] else "MISSING"

    forb = [f"{rid}@{fmt_turns(res[rid]['hits'], counts=True)}" for rid in forbidden if res[rid]["hits"]]
    sig = [f"{rid}@{fmt_turns(res[rid]['hits'])}" for rid in signals if rid != DISTRESS and res[rid]["hits"]]
    flags = []
    if any(k == "first" for k, _, _ in tm["breaches"]):
        flags.append("sla_first_response")
    if any(k == "reply" for k, _, _ in tm["breaches"]):
        flags.append("sla_reply")
    if tm["unanswered"]:
        flags.append("unanswered_final")
    flags += [f"missing:{rid}" for rid in required if res[rid]["applicable"] and not res[rid]["hits"]]
    flags += [rid for rid in forbidden if res[rid]["hits"]]
    # a signal is listed in `signals` whenever it fires, but only minor/major ones are flags
    flags += [rid for rid in signals if res[rid]["hits"] and res[rid]["rule"]["severity"] != "info"]
    return [c["conversation_id"], *(req(rid) for rid in REQUIRED_COLUMNS[:2]), "; ".join(forb) or "—",
            fmt_turns(res[DISTRESS]["hits"]), *(req(rid) for rid in REQUIRED_COLUMNS[2:]),
            "; ".join(sig) or "—", " ".join(f"`{f}`" for f in flags) or "—"]


# Every negated hit in the sample, as listed in data/README.md (Definitions): (id, turn, rule).
EXPECTED_NEGATED = {
    ("zh-hans-003", 0, "customer_distress"),   # 我不生气
    ("en-004", 0, "customer_distress"),        # I'm not upset
    ("mixed-011", 5, "customer_distress"),     # 我没有生气啦
}

TIMING_HEAD = ["id", "channel", "first_response_secs", "reply gaps (agent turn:secs)", "SLA breaches", "unanswered final"]
RUBRIC_HEAD = ["id", "greeting", "closing", "forbidden hits", "distress", "apology", "acknowledge", "reassurance",
               "other signals", "expected flags"]


def md_table(head, rows) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def readme_tables() -> dict[str, dict[str, list[str]]]:
    """Return {header-first-cells: {id: cells}} for every table in README.md."""
    tables: dict[str, dict[str, list[str]]] = {}
    cur = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            cur = None
            continue
        cells = [x.strip() for x in line.strip().strip("|").split("|")]
        if cur is None:
            cur = tuple(cells)
            tables[cur] = {}
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        tables[cur][cells[0]] = cells
    return tables


def find_table(tables, head):
    for k, v in tables.items():
        if list(k) == head:
            return v
    return None


# ---------------------------------------------------------------------------
# broken.jsonl
# ---------------------------------------------------------------------------

def check_broken(tables) -> None:
    path = DATA / "broken" / "broken.jsonl"
    sys.dont_write_bytecode = True  # leave no __pycache__ in data/
    spec = importlib.util.spec_from_file_location("make_broken", DATA / "broken" / "make_broken.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    want = mod.build()
    have = path.read_bytes()
    if want != have:
        err("broken.jsonl differs from what make_broken.py generates; re-run make_broken.py")
    lines = have.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    if not have.startswith(b"\xef\xbb\xbf"):
        err("broken.jsonl line 1 should start with a UTF-8 BOM")
    if not any(l.endswith(b"\r") for l in lines):
        err("broken.jsonl should have one CRLF line")
    bad_utf8 = 0
    for l in lines:
        try:
            l.decode("utf-8")
        except UnicodeDecodeError:
            bad_utf8 += 1
    if bad_utf8 != 1:
        err(f"broken.jsonl: {bad_utf8} lines with invalid UTF-8, expected 1")
    # every line must be rejected by this validator for its documented reason,
    # except the valid ones; the duplicate is caught by the id check
    expect_ok = {1, 7, 15}
    seen_ids = set()
    for n, l in enumerate(lines, 1):
        global errors
        saved, errors = errors, []
        try:
            text = l.decode("utf-8").removeprefix("\ufeff").removesuffix("\r")
            if not text.strip():
                raise ValueError("blank line")
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
            check_conversation(obj, f"broken.jsonl:{n}", LANGS)
            if obj.get("conversation_id") in seen_ids:
                raise ValueError("duplicate conversation_id")
            if not errors:
                seen_ids.add(obj.get("conversation_id"))
        except (UnicodeDecodeError, ValueError) as e:
            errors.append(str(e))
        found, errors = errors, saved
        if n in expect_ok and found:
            err(f"broken.jsonl line {n} should be valid: {found}")
        if n not in expect_ok and not found:
            err(f"broken.jsonl line {n} should be rejected but passes")
    t = None
    for k, v in tables.items():
        if k and k[0] == "line":
            t = v
    if t is None:
        err("README.md: no broken.jsonl table (first column 'line')")
    elif sorted(int(x) for x in t) != list(range(1, len(lines) + 1)):
        err(f"README.md broken table rows {sorted(t)} do not match the {len(lines)} lines of broken.jsonl")


# ---------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markdown", action="store_true", help="print the README fact tables and exit")
    args = ap.parse_args()

    rubric = tomllib.loads(RUBRIC.read_text(encoding="utf-8"))
    convs = load_samples()
    if errors:
        print("\n".join("ERROR " + e for e in errors))
        return 1

    try:
        matcher = Matcher(rubric)
    except ImportError as e:
        matcher = None
        print(f"note: phrase checks skipped ({e}); pip install jieba zhconv-rs to run them")

    trows, rrows, negated = [], [], set()
    for stem, c in convs:
        tm = timing(c, rubric)
        res = matcher.apply(c) if matcher else None
        decide_unanswered(c, tm, rubric, res)
        trows.append(timing_row(c, tm))
        if res is not None:
            rrows.append(rubric_row(c, tm, res))
            negated |= {(c["conversation_id"], i, rid) for rid, x in res.items() for i, _ in x["negated"]}

    if args.markdown:
        print(md_table(TIMING_HEAD, [[x if x is not None else "?" for x in r] for r in trows]))
        print()
        if rrows:
            print(md_table(RUBRIC_HEAD, rrows))
        for w in warnings:
            print("WARN " + w, file=sys.stderr)
        return 0

    tables = readme_tables()
    overview = None
    for k, v in tables.items():
        if k and k[0] == "id" and "agent" in k:
            overview = (k, v)
    if overview is None:
        err("README.md: overview table (id | ... | agent | ...) not found")
    else:
        head, rows = overview
        ids = {c["conversation_id"] for _, c in convs}
        if set(rows) != ids:
            err(f"README.md overview: ids differ: missing {sorted(ids - set(rows))}, extra {sorted(set(rows) - ids)}")
        ti = head.index("turns") if "turns" in head else None
        ai = head.index("agent")
        for _, c in convs:
            r = rows.get(c["conversation_id"])
            if r is None:
                continue
            if ti is not None and r[ti] != str(len(c["turns"])):
                err(f"README.md overview {c['conversation_id']}: turns {r[ti]} != {len(c['turns'])}")
            if r[ai].strip("`") != c["agent_id"]:
                err(f"README.md overview {c['conversation_id']}: agent {r[ai]} != {c['agent_id']}")

    for head, rows, label in ((TIMING_HEAD, trows, "timing"), (RUBRIC_HEAD, rrows, "rubric")):
        if label == "rubric" and not matcher:
            continue
        t = find_table(tables, head)
        if t is None:
            err(f"README.md: {label} table with header {head} not found")
            continue
        for r in rows:
            got = t.get(r[0])
            if got is None:
                err(f"README.md {label} table: no row for {r[0]}")
            else:
                for h, a, b in zip(head, got, r):
                    if b is not None and a != b:
                        err(f"README.md {label} table {r[0]} / {h}: README says {a!r}, recomputed {b!r}")
        extra = set(t) - {r[0] for r in rows}
        if extra:
            err(f"README.md {label} table: unknown ids {sorted(extra)}")
    undecided = [r[0] for r in trows if r[5] is None]
    if undecided:
        print(f"note: unanswered final not checked for {', '.join(undecided)} (needs the phrase matcher)")
    if matcher and negated != EXPECTED_NEGATED:
        for x in sorted(negated - EXPECTED_NEGATED):
            err(f"negated hit {x} is not in EXPECTED_NEGATED / the README")
        for x in sorted(EXPECTED_NEGATED - negated):
            err(f"expected negated hit {x} no longer occurs")

    check_broken(tables)

    for w in warnings:
        print("WARN " + w)
    for e in errors:
        print("ERROR " + e)
    counts = {}
    for stem, _ in convs:
        counts[stem] = counts.get(stem, 0) + 1
    print(f"{len(convs)} conversations {counts}; {len(errors)} errors, {len(warnings)} warnings"
          + ("" if matcher else " (phrase checks skipped)"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
