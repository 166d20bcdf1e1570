#!/usr/bin/env python3
"""Validate data/politeness-zh/agent_turns.jsonl and print its count table.

All texts in this folder are synthetic, written by hand for convqa.

Usage (from the repository root or from this folder):

    python3 data/politeness-zh/check.py             # validate; exit 0 = OK
    python3 data/politeness-zh/check.py --markdown  # print only the count table
    python3 data/politeness-zh/check.py --no-readme # skip the README table comparison

Python 3.9+ standard library only. What is checked (any failure -> exit 1):

- File: UTF-8 without BOM, LF line endings, final newline, no blank lines,
  one compact JSON object per line.
- Schema: exactly the keys id, text, label, script, split, scenario, all
  strings; id matches zhp-NNNN and is unique; label in polite / neutral /
  impolite; script in Hans / Hant; split in train / eval; scenario in
  billing, login, refund, bug, delivery, subscription, account, other.
- Text: 1-80 characters (code points), no leading/trailing whitespace, no
  control characters or line breaks, no URL / host name / e-mail address.
  Texts shorter than 5 characters (curt one-word replies such as 「嗯。」)
  are allowed but counted and must stay under 10 % of the file.
- Script sanity: a Hans text must not contain common Traditional-only
  characters (這 們 說 ...), a Hant text must not contain their Simplified
  counterparts (这 们 说 ...). A small fixed list, so it catches slips,
  not every mistake.
- Duplicates: no two texts share the same key, where key = NFKC, casefold,
  then keep only letters and digits (punctuation, symbols incl. emoji and
  whitespace removed).
- Leakage: no eval text may be a near-duplicate of a train text: character
  4-gram Jaccard similarity of the keys >= 0.6 is an error (a key shorter
  than 4 characters is its own single shingle, so it only matches itself).
- Balance: at least 420 lines; label shares within 5 points of 40/30/30 %;
  Hans share 55-65 %; eval share 28-38 % overall and 25-42 % in every
  label x script stratum.
- README.md: the split x label x script table between the
  `<!-- counts:begin -->` / `<!-- counts:end -->` markers and the scenario
  table between `<!-- scenarios:begin -->` / `<!-- scenarios:end -->` must
  equal the tables printed here (`--markdown` prints both).

Optional, only if the `zhconv_rs` package happens to be importable (it is not
needed): the duplicate and leakage checks are repeated on keys converted to
Simplified Chinese, so a Traditional eval text cannot be a character-for-
character conversion of a Simplified train text. Without it this extra pass is
skipped with a note; the result of the standard checks does not change.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "agent_turns.jsonl"
README = HERE / "README.md"

KEYS = ("id", "text", "label", "script", "split", "scenario")
LABELS = ("polite", "neutral", "impolite")
SCRIPTS = ("Hans", "Hant")
SPLITS = ("train", "eval")
SCENARIOS = ("billing", "login", "refund", "bug", "delivery", "subscription", "account", "other")

MIN_LINES = 420
MAX_CHARS = 80
SHORT_CHARS = 5
MAX_SHORT_SHARE = 0.10
TARGET_LABEL_SHARE = {"polite": 0.40, "neutral": 0.30, "impolite": 0.30}
LABEL_TOLERANCE = 0.05
HANS_SHARE = (0.55, 0.65)
EVAL_SHARE = (0.28, 0.38)
EVAL_SHARE_STRATUM = (0.25, 0.42)
NGRAM = 4
JACCARD_LIMIT = 0.6

ID_RE = re.compile(r"^zhp-\d{4}$")
HOST_RE = re.compile(
    r"(https?://|www\.|[A-Za-z0-9-]+\.(com|net|org|cn|tw|hk|io)\b|\S+@\S+\.\S+)", re.IGNORECASE
)

# (Simplified, Traditional) pairs where the Simplified form is never correct in
# Taiwan / Hong Kong writing and the Traditional form never appears in mainland
# writing. Characters shared by both conventions in some words (后, 里, 系, 只,
# 干, 面, 周, 台, 么, 发, 著 ...) are deliberately left out.
SC_TC_PAIRS = (
    "这這 们們 说說 为為 会會 个個 时時 还還 过過 来來 对對 没沒 问問 题題 现現 点點 钱錢 单單 "
    "号號 账帳 户戶 码碼 验驗 证證 请請 谢謝 让讓 帮幫 应應 该該 给給 联聯 经經 务務 处處 订訂 "
    "费費 续續 货貨 运運 递遞 网網 络絡 机機 关關 开開 动動 边邊 东東 车車 电電 话話 买買 卖賣 "
    "实實 体體 认認 识識 设設 样樣 种種 长長 间間 门門 页頁 视視 录錄 统統 优優 员員 专專 业業 "
    "换換 坏壞 图圖 听聽 见見 觉覺 写寫 办辦 难難 谁誰 烦煩 气氣 吗嗎 啰囉 错錯 误誤 态態 节節 "
    "约約 级級 报報 复復 试試 准準 团團 么麼 读讀 语語 确確"
)
SIMPLIFIED_ONLY = set()
TRADITIONAL_ONLY = set()
for _pair in SC_TC_PAIRS.split():
    SIMPLIFIED_ONLY.add(_pair[0])
    TRADITIONAL_ONLY.add(_pair[1])
# 么 is also a (rare) Traditional character and 準 / 准 are both used in Taiwan
# (准許 vs 標準); keep them out of the Hant check, keep the Hans check.
SIMPLIFIED_ONLY -= {"么", "准"}


def key(text: str) -> str:
    """Dedup key: NFKC, casefold, letters and digits only."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in norm if unicodedata.category(ch)[0] in "LN")


def shingles(k: str, n: int = NGRAM) -> frozenset[str]:
    if len(k) < n:
        return frozenset([k])
    return frozenset(k[i : i + n] for i in range(len(k) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)

    def __bool__(self) -> bool:
        return bool(self.items)


def load(path: Path, problems: Problems) -> list[dict]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.add(f"{path.name}: starts with a UTF-8 BOM")
        raw = raw[3:]
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(f"{path.name}: not valid UTF-8 ({exc})")
        return []
    if "\r" in content:
        problems.add(f"{path.name}: contains CR characters (line endings must be LF)")
    if content and not content.endswith("\n"):
        problems.add(f"{path.name}: no newline at end of file")
    rows = []
    lines = content.split("\n")
    if content.endswith("\n"):
        lines.pop()
    for lineno, line in enumerate(lines, 1):
        where = f"line {lineno}"
        line = line[:-1] if line.endswith("\r") else line  # CR already reported once above
        if not line.strip():
            problems.add(f"{where}: blank line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            problems.add(f"{where}: not a JSON object")
            continue
        compact = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
        if line != compact and line != json.dumps(obj, ensure_ascii=False, separators=(",", ":")):
            problems.add(f"{where}: not one canonical JSON object per line (extra spaces or escapes)")
        obj["_line"] = lineno
        rows.append(obj)
    return rows


def validate_rows(rows: list[dict], problems: Problems) -> list[dict]:
    good = []
    seen_ids: dict[str, int] = {}
    for obj in rows:
        where = f"line {obj['_line']}"
        keys = tuple(k for k in obj if k != "_line")
        if set(keys) != set(KEYS):
            missing = sorted(set(KEYS) - set(keys))
            extra = sorted(set(keys) - set(KEYS))
            problems.add(f"{where}: wrong keys (missing {missing}, extra {extra})")
            continue
        if any(not isinstance(obj[k], str) for k in KEYS):
            problems.add(f"{where}: every value must be a string")
            continue
        ok = True
        if not ID_RE.match(obj["id"]):
            problems.add(f"{where}: id {obj['id']!r} does not match zhp-NNNN")
            ok = False
        elif obj["id"] in seen_ids:
            problems.add(f"{where}: duplicate id {obj['id']} (first on line {seen_ids[obj['id']]})")
            ok = False
        else:
            seen_ids[obj["id"]] = obj["_line"]
        for field, allowed in (("label", LABELS), ("script", SCRIPTS), ("split", SPLITS), ("scenario", SCENARIOS)):
            if obj[field] not in allowed:
                problems.add(f"{where} ({obj['id']}): {field} {obj[field]!r} not in {allowed}")
                ok = False
        text = obj["text"]
        if not text or len(text) > MAX_CHARS:
            problems.add(f"{where} ({obj['id']}): text length {len(text)} outside 1..{MAX_CHARS}")
            ok = False
        if text != text.strip():
            problems.add(f"{where} ({obj['id']}): leading or trailing whitespace")
            ok = False
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            problems.add(f"{where} ({obj['id']}): control character or line break in text")
            ok = False
        if HOST_RE.search(text):
            problems.add(f"{where} ({obj['id']}): text contains a URL, host name or e-mail address")
            ok = False
        if obj["script"] == "Hans":
            bad = sorted({ch for ch in text if ch in TRADITIONAL_ONLY})
            if bad:
                problems.add(f"{where} ({obj['id']}): Hans text has Traditional-only characters {''.join(bad)}")
                ok = False
        elif obj["script"] == "Hant":
            bad = sorted({ch for ch in text if ch in SIMPLIFIED_ONLY})
            if bad:
                problems.add(f"{where} ({obj['id']}): Hant text has Simplified-only characters {''.join(bad)}")
                ok = False
        if not key(text):
            problems.add(f"{where} ({obj['id']}): text has no letters or digits")
            ok = False
        if ok:
            good.append(obj)
    return good


def check_duplicates(rows: list[dict], keyfn, tag: str, problems: Problems) -> float:
    """Exact duplicates anywhere, near-duplicates eval vs train. Returns max eval-train Jaccard."""
    first: dict[str, dict] = {}
    for obj in rows:
        k = keyfn(obj["text"])
        if k in first:
            other = first[k]
            problems.add(f"{tag}duplicate text: {obj['id']} {obj['text']!r} == {other['id']} {other['text']!r}")
        else:
            first[k] = obj
    train = [(o, shingles(keyfn(o["text"]))) for o in rows if o["split"] == "train"]
    evals = [(o, shingles(keyfn(o["text"]))) for o in rows if o["split"] == "eval"]
    worst = 0.0
    for e, es in evals:
        for t, ts in train:
            j = jaccard(es, ts)
            worst = max(worst, j)
            if j >= JACCARD_LIMIT and keyfn(e["text"]) != keyfn(t["text"]):
                problems.add(
                    f"{tag}eval {e['id']} {e['text']!r} is a near-duplicate of train {t['id']} "
                    f"{t['text']!r} (4-gram Jaccard {j:.2f} >= {JACCARD_LIMIT})"
                )
    return worst


def check_balance(rows: list[dict], problems: Problems) -> None:
    n = len(rows)
    if n < MIN_LINES:
        problems.add(f"only {n} valid lines, need at least {MIN_LINES}")
    if not n:
        return
    labels = Counter(o["label"] for o in rows)
    for label, target in TARGET_LABEL_SHARE.items():
        share = labels[label] / n
        if abs(share - target) > LABEL_TOLERANCE:
            problems.add(f"label {label}: {share:.1%} of lines, target {target:.0%} ± {LABEL_TOLERANCE:.0%}")
    hans = sum(o["script"] == "Hans" for o in rows) / n
    if not HANS_SHARE[0] <= hans <= HANS_SHARE[1]:
        problems.add(f"Hans share {hans:.1%} outside {HANS_SHARE[0]:.0%}..{HANS_SHARE[1]:.0%}")
    ev = sum(o["split"] == "eval" for o in rows) / n
    if not EVAL_SHARE[0] <= ev <= EVAL_SHARE[1]:
        problems.add(f"eval share {ev:.1%} outside {EVAL_SHARE[0]:.0%}..{EVAL_SHARE[1]:.0%}")
    for label, script in itertools.product(LABELS, SCRIPTS):
        stratum = [o for o in rows if o["label"] == label and o["script"] == script]
        if not stratum:
            problems.add(f"stratum {label}/{script} is empty")
            continue
        share = sum(o["split"] == "eval" for o in stratum) / len(stratum)
        if not EVAL_SHARE_STRATUM[0] <= share <= EVAL_SHARE_STRATUM[1]:
            problems.add(
                f"stratum {label}/{script}: eval share {share:.1%} outside "
                f"{EVAL_SHARE_STRATUM[0]:.0%}..{EVAL_SHARE_STRATUM[1]:.0%}"
            )
    short = sum(len(o["text"]) < SHORT_CHARS for o in rows)
    if short / n > MAX_SHORT_SHARE:
        problems.add(f"{short} texts shorter than {SHORT_CHARS} characters (> {MAX_SHORT_SHARE:.0%})")


def count_table(rows: list[dict]) -> str:
    c = Counter((o["split"], o["label"], o["script"]) for o in rows)
    n = len(rows)
    lines = [
        "| split | label | Hans | Hant | total | share of file |",
        "|---|---|---:|---:|---:|---:|",
    ]

    def row(split_name: str, label_name: str, splits, labels) -> str:
        h = sum(c[(s, l, "Hans")] for s in splits for l in labels)
        t = sum(c[(s, l, "Hant")] for s in splits for l in labels)
        return f"| {split_name} | {label_name} | {h} | {t} | {h + t} | {(h + t) / n:.1%} |"

    for split in SPLITS:
        for label in LABELS:
            lines.append(row(split, label, [split], [label]))
        lines.append(row(split, "**all**", [split], LABELS))
    for label in LABELS:
        lines.append(row("**all**", label, SPLITS, [label]))
    lines.append(row("**all**", "**all**", SPLITS, LABELS))
    return "\n".join(lines)


def scenario_table(rows: list[dict]) -> str:
    c = Counter((o["scenario"], o["split"]) for o in rows)
    lines = ["| scenario | train | eval | total |", "|---|---:|---:|---:|"]
    for s in SCENARIOS:
        lines.append(f"| {s} | {c[(s, 'train')]} | {c[(s, 'eval')]} | {c[(s, 'train')] + c[(s, 'eval')]} |")
    return "\n".join(lines)


def readme_block(path: Path, name: str) -> str | None:
    """The text between <!-- NAME:begin --> and <!-- NAME:end --> in README.md."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    return m.group(1).strip() if m else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print only the count tables")
    ap.add_argument("--no-readme", action="store_true", help="do not compare with README.md")
    ap.add_argument("path", nargs="?", default=str(DATA), help="JSONL file (default: agent_turns.jsonl here)")
    args = ap.parse_args()

    problems = Problems()
    path = Path(args.path)
    if not path.exists():
        print(f"FAIL: {path} not found", file=sys.stderr)
        return 1
    rows = validate_rows(load(path, problems), problems)
    table = count_table(rows)
    scen = scenario_table(rows)
    if args.markdown:
        print(table)
        print()
        print(scen)
        return 0

    worst = check_duplicates(rows, key, "", problems)
    try:
        import zhconv_rs  # optional, see module docstring

        def folded(text: str) -> str:
            return zhconv_rs.zhconv(key(text), "zh-hans")

        worst_folded = check_duplicates(rows, folded, "[folded to Simplified] ", problems)
        fold_note = f"Traditional->Simplified folded pass: max eval-train Jaccard {worst_folded:.2f}"
    except ImportError:
        fold_note = "Traditional->Simplified folded pass skipped (zhconv_rs not installed; optional)"
    check_balance(rows, problems)

    if not args.no_readme and path.resolve() == DATA:
        for name, actual in (("counts", table), ("scenarios", scen)):
            expected = readme_block(README, name)
            if expected is None:
                problems.add(f"README.md: no table between <!-- {name}:begin --> and <!-- {name}:end -->")
            elif expected != actual:
                problems.add(f"README.md: {name} table differs from the data (paste the output of --markdown)")

    short = sum(len(o["text"]) < SHORT_CHARS for o in rows)
    print(table)
    print()
    print(scen)
    print()
    print(f"{len(rows)} valid lines; {short} texts under {SHORT_CHARS} characters (curt replies)")
    print(f"max eval-train 4-gram Jaccard {worst:.2f} (limit {JACCARD_LIMIT})")
    print(fold_note)
    if problems:
        print(f"\nFAIL: {len(problems.items)} problem(s)", file=sys.stderr)
        for msg in problems.items:
            print(f"  - {msg}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
