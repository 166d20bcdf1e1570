#!/usr/bin/env bash
# Browser test of report.html: loads the page in headless Chromium (Debian's `chromium`), checks
# the DOM after the page's script ran, fails on any console message or uncaught error from the
# page and on any attempt to load another resource, and keeps a screenshot.
#
#   tests/browser/check_report.sh OUT/report.html SCREENSHOT_DIR
#
# The report's folder must also hold review_queue.csv (written with it by `convqa ... --report`):
# its rank-1 row must be the first row of the page's review queue. Needs python3 (stdlib only).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 REPORT_HTML OUT_DIR" >&2
    exit 2
fi
report=$(realpath "$1")
out_dir=$2
queue_csv=$(dirname "$report")/review_queue.csv
[[ -f $report ]] || { echo "check_report: $report: no such file; run convqa score ... --report first" >&2; exit 2; }
[[ -f $queue_csv ]] || { echo "check_report: $queue_csv: no such file (written next to report.html)" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || { echo "check_report: chromium not found; install Debian's chromium package" >&2; exit 2; }
mkdir -p "$out_dir"
out_dir=$(realpath "$out_dir")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url="file://$report"
run_browser() {
    # a fresh profile each time: no state from other runs, no first-run pages
    "$browser" --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
        --user-data-dir="$work/profile" --enable-logging=stderr --v=1 "$@" "$url"
}

echo "check_report: $("$browser" --version 2>/dev/null | head -n 1)"
run_browser --dump-dom >"$work/dom.html" 2>"$work/dom.log"
run_browser --screenshot="$out_dir/report.png" --window-size=1280,4000 \
    >"$work/shot.out" 2>"$work/shot.log"
[[ -s $out_dir/report.png ]] || { echo "check_report: no screenshot written" >&2; cat "$work/shot.log" >&2; exit 1; }

python3 - "$work/dom.html" "$queue_csv" "$report" "$work/dom.log" "$work/shot.log" <<'PY'
import csv
import re
import sys
from html.parser import HTMLParser

dom_path, csv_path, report, *logs = sys.argv[1:]
failures = []


class Dom(HTMLParser):
    """Collects what the checks need from the DOM dump."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.table = None  # id of the table being read
        self.queue_rows = []
        self.cells = []  # (agent, dimension) of heatmap cells
        self.filter_hidden = None
        self.shown = None
        self.in_shown = False
        self.meta = {}
        self.dt = None
        self.in_dt = self.in_dd = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "table":
            self.table = a.get("id")
        elif tag == "tr" and self.table == "review-queue" and "data-conversation" in a:
            self.queue_rows.append(a["data-conversation"])
        elif tag == "td" and self.table == "heatmap" and "data-dimension" in a:
            self.cells.append((a.get("data-agent"), a["data-dimension"]))
        elif a.get("id") == "queue-filter":
            self.filter_hidden = "hidden" in a
        elif a.get("id") == "queue-shown":
            self.in_shown, self.shown = True, ""
        elif tag == "dt":
            self.in_dt, self.dt = True, ""
        elif tag == "dd":
            self.in_dd = True
            self.meta[self.dt] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        elif tag == "output":
            self.in_shown = False
        elif tag == "dt":
            self.in_dt = False
        elif tag == "dd":
            self.in_dd = False

    def handle_data(self, data):
        if self.in_shown:
            self.shown += data
        if self.in_dt:
            self.dt += data
        if self.in_dd:
            self.meta[self.dt] += data


dom = Dom()
with open(dom_path, encoding="utf-8") as f:
    dom.feed(f.read())

# 1. the queue starts with review_queue.csv's rank-1 conversation
with open(csv_path, encoding="utf-8", newline="") as f:
    queue = list(csv.DictReader(f))
first = [r["conversation_id"] for r in queue if r["rank"] == "1"]
if not dom.queue_rows:
    failures.append("#review-queue has no rows in the DOM")
elif first and dom.queue_rows[0] != first[0]:
    failures.append(f"#review-queue starts with {dom.queue_rows[0]!r}, review_queue.csv ranks {first[0]!r} first")
if len(dom.queue_rows) != len(queue):
    failures.append(f"#review-queue has {len(dom.queue_rows)} rows, review_queue.csv {len(queue)}")

# 2. the heatmap has a cell per agent x dimension
agents = sorted({a for a, _ in dom.cells})
dimensions = ["responsiveness", "empathy", "compliance", "sentiment", "politeness"]
expected = {(a, d) for a in agents for d in dimensions}
declared = dom.meta.get("Agents", "").strip()
if len(dom.cells) != len(agents) * 5 or set(dom.cells) != expected:
    failures.append(f"#heatmap has {len(dom.cells)} cells for {len(agents)} agents, expected one per agent x {dimensions}")
if not declared.isdigit() or int(declared) != len(agents):
    failures.append(f"the header says {declared!r} agents, the heatmap has {len(agents)}")

# 3. the page's script ran
if dom.body.get("data-js") != "ready":
    failures.append('<body data-js="ready"> missing: the page script did not run to its end')
if dom.filter_hidden is not False:
    failures.append("the review-queue agent filter is still hidden: the page script did not show it")
if not re.fullmatch(rf"{len(queue)} of {len(queue)} shown", (dom.shown or "").strip()):
    failures.append(f"#queue-shown says {dom.shown!r}, expected '{len(queue)} of {len(queue)} shown'")

# 4. no console message or uncaught error from the page, no other resource loaded
page = "file://" + report
for log in logs:
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if ":CONSOLE" in line and page in line or "Uncaught" in line:
                failures.append("console: " + re.sub(r"^\[[^\]]*\]\s*", "", line.strip()))
            m = re.search(r"FileURLLoader::Start: (\S+)", line)
            if m and m.group(1) != page:
                failures.append(f"the page loaded another file: {m.group(1)}")
            if re.search(r"URLLoader.*https?://", line) and "source: " + page in line:
                failures.append(f"network request from the page: {line.strip()}")

failures = list(dict.fromkeys(failures))  # both browser runs report the same page errors
if failures:
    print("check_report: FAILED", file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    print("help: open the report in Chromium and look at its console (F12); the checks are in tests/browser/check_report.sh", file=sys.stderr)
    sys.exit(1)
print(f"check_report: ok: queue starts with {dom.queue_rows[0]}, heatmap {len(agents)} agents x 5, script ran, console clean")
PY
echo "check_report: screenshot $out_dir/report.png"
