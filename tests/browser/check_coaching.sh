#!/usr/bin/env bash
# Browser test of issue 22's pages: monthly scorecards and "Did training work?" in report.html,
# and the coaching sheets. Builds a scored folder from a generated corpus (a planted training
# effect) plus hostile transcripts (tests/browser/hostile.jsonl: markup in ids, text and tags)
# and a trainings file with hostile course names and bad rows (tests/browser/trainings.csv),
# loads the pages in headless Chromium (Debian's `chromium`), and checks the DOM after the
# page's script ran: every card and row is there, no markup from the data became an element,
# the hostile text shows as text, no console message, no other resource loaded. Screenshots
# are kept.
#
#   tests/browser/check_coaching.sh CONVQA_BINARY WORK_DIR
#
# Needs python3 (stdlib only).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 CONVQA_BINARY WORK_DIR" >&2
    exit 2
fi
convqa=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || { echo "check_coaching: chromium not found; install Debian's chromium package" >&2; exit 2; }
rm -rf "$2"
mkdir -p "$2"
work=$(realpath "$2")
out="$work/out"

# the data: 63 days from 2026-09-07, a +15 empathy training planted on syn-uneven-1 on day 28
"$convqa" generate --conversations 4000 --seed 22 --start-date 2026-09-07 --days 63 \
    --agents good:3,uneven:3,cold --plant-training syn-uneven-1:empathy:2026-10-05:15 \
    --out "$work/corpus.jsonl" --quiet
"$convqa" score "$work/corpus.jsonl" "$here/hostile.jsonl" --out "$out" --no-models --quiet
"$convqa" report "$out" --trainings "$here/trainings.csv"
"$convqa" coach "$out" --all
"$convqa" coach "$out" --agent "agent_\"evil'<b>" --month 2026-10
sheet=$(ls "$out"/coaching/agent_*evil*.html)
[[ -f $sheet ]] || { echo "check_coaching: no coaching sheet for the hostile agent" >&2; exit 1; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
run_browser() { # URL, then chromium options
    local url=$1
    shift
    # an alert() from injected markup would block the page: a time limit makes it a failure
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        --no-default-browser-check --user-data-dir="$profile/p" --enable-logging=stderr --v=1 \
        "$@" "$url"
}
blocked() {
    echo "check_coaching: FAILED: $1 did not load within 90 s (a dialog opened by injected markup blocks it)" >&2
    exit 1
}
pages=("$out/report.html" "$out/coaching/syn-uneven-1_2026-11.html" "$sheet")
i=0
for page in "${pages[@]}"; do
    run_browser "file://$page" --dump-dom >"$work/dom$i.html" 2>"$work/dom$i.log" || blocked "$page"
    run_browser "file://$page" --screenshot="$work/page$i.png" --window-size=1280,3000 \
        >"$work/shot$i.out" 2>"$work/shot$i.log" || blocked "$page"
    i=$((i + 1))
done

python3 - "$work" "$out" "$here/trainings.csv" "${pages[@]}" <<'PY'
import csv
import json
import re
import sys
from html.parser import HTMLParser

work, out, trainings_csv, *pages = sys.argv[1:]
failures = []


class Dom(HTMLParser):
    """Elements (tag, attributes, the ids of the sections they are in) and text per section."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.stack = []  # open section ids
        self.text = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.stack.append(a.get("id", ""))
        self.elements.append((tag, a, tuple(self.stack)))

    def handle_endtag(self, tag):
        if tag == "section" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        key = self.stack[-1] if self.stack else ""
        self.text[key] = self.text.get(key, "") + data


def dom(i):
    d = Dom()
    with open(f"{work}/dom{i}.html", encoding="utf-8") as f:
        d.feed(f.read())
    return d


def no_injected_markup(d, name, own_scripts):
    scripts = [e for e in d.elements if e[0] == "script"]
    if len(scripts) != own_scripts:
        failures.append(f"{name}: {len(scripts)} <script> elements, expected {own_scripts} (the page's own)")
    for tag in ("img", "b", "i", "u", "s"):
        if any(e[0] == tag for e in d.elements):
            failures.append(f"{name}: a <{tag}> element: markup from the data was not escaped")
    for tag, a, _ in d.elements:
        if any(k.startswith("on") for k in a):
            failures.append(f"{name}: <{tag}> has an event handler attribute {a}")


evil = "agent_\"evil'<b>"

# report.html: one scorecard per agent, one impact row per usable training, hostile text as text
report = dom(0)
no_injected_markup(report, "report.html", 1)
heat_agents = {a["data-agent"] for t, a, _ in report.elements if t == "td" and "data-agent" in a and "data-dimension" in a}
cards = [a for t, a, _ in report.elements if t == "article" and "scorecard" in a.get("class", "")]
card_agents = {a.get("data-agent") for a in cards}
if not heat_agents or card_agents != heat_agents:
    failures.append(f"scorecards for {sorted(card_agents)}, heatmap agents {sorted(heat_agents)}")
if evil not in card_agents:
    failures.append("no scorecard for the hostile agent id (or its id was mangled)")
ids = {a.get("id") for _, a, _ in report.elements}
for t, a, _ in report.elements:
    if t == "a" and a.get("class") == "card-link" and a.get("href", "#")[1:] not in ids:
        failures.append(f"heatmap link {a.get('href')!r} points at no scorecard")
with open(trainings_csv, encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f))
with open(f"{out}/training_rejects.jsonl", encoding="utf-8") as f:
    rejects = [json.loads(l) for l in f if l.strip()]
# a verdict cell per usable training (csv line = row + 2) and per course among them
rejected_lines = {r["line"] for r in rejects}
usable = [r for i, r in enumerate(rows) if i + 2 not in rejected_lines]
expected = len(usable) + len({r["course"] for r in usable if r.get("course")})
verdicts = sum(1 for t, a, s in report.elements if t == "td" and "training" in s and "verdict" in a.get("class", ""))
if verdicts != expected:
    failures.append(f"'Did training work?' shows {verdicts} verdicts, expected {expected} ({len(usable)} trainings and their courses)")
if len(rejects) != 2:
    failures.append(f"training_rejects.jsonl has {len(rejects)} rows, the file has 2 bad ones")
training_text = report.text.get("training", "")
for s in ("<script>alert(5)</script>", "<img src=x onerror=alert(6)>", evil, "improved"):
    if s not in training_text:
        failures.append(f"'Did training work?' does not show {s!r} as text")

# coaching sheets: weakest dimensions with examples; the hostile one escaped
sheet = dom(1)
no_injected_markup(sheet, "coaching sheet syn-uneven-1", 0)
if not any(t == "section" and "weakness" in a.get("class", "") for t, a, _ in sheet.elements):
    failures.append("syn-uneven-1's sheet has no weak dimension")
if not any(t == "p" and "focus" in a.get("class", "") for t, a, _ in sheet.elements):
    failures.append("syn-uneven-1's sheet quotes no flagged turn")
hostile = dom(2)
no_injected_markup(hostile, "coaching sheet of the hostile agent", 0)
text = "".join(hostile.text.values())
for s in (evil, "<script>alert(1)</script>", "[click](javascript:alert(4))"):
    if s not in text:
        failures.append(f"the hostile agent's sheet does not show {s!r} as text")
if any(t == "a" for t, _, _ in hostile.elements):
    failures.append("the hostile agent's sheet has a link: transcript text became markup")

# no console message or uncaught error, no other resource loaded
for i, page in enumerate(pages):
    url = "file://" + page
    for log in (f"{work}/dom{i}.log", f"{work}/shot{i}.log"):
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                if ":CONSOLE" in line or "Uncaught" in line:
                    failures.append(f"{page}: console: " + re.sub(r"^\[[^\]]*\]\s*", "", line.strip()))
                m = re.search(r"FileURLLoader::Start: (\S+)", line)
                if m and m.group(1) != url.replace(" ", "%20"):
                    failures.append(f"{page} loaded another file: {m.group(1)}")
                if re.search(r"URLLoader.*https?://", line):
                    failures.append(f"{page}: network request: {line.strip()}")

failures = list(dict.fromkeys(failures))
if failures:
    print("check_coaching: FAILED", file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    print("help: open the pages in Chromium (F12 for the console); the checks are in tests/browser/check_coaching.sh", file=sys.stderr)
    sys.exit(1)
print(f"check_coaching: ok: {len(cards)} scorecards, {verdicts} verdicts (trainings and courses), {len(rejects)} rows rejected, sheets escaped, console clean")
PY
echo "check_coaching: screenshots in $work/page*.png"
