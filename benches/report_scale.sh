#!/usr/bin/env bash
# The reports and the incremental layout at nightly scale: peak RSS (/usr/bin/time), wall time
# and output sizes of `convqa report` and `convqa score --incremental` on a generated corpus
# (`convqa generate --seed 7`, 300 k conversations over 28 days by default, `--no-models`), and
# on two variants of it that real exports produce:
#   - many agents: every agent id split into 30 (the generator has 10 agents; a contact centre
#     has hundreds), which multiplies the skill gaps;
#   - one placeholder customer id ("anonymous") on every sixth conversation's copy (50 k), which
#     an export writes for contacts it could not identify.
#
#   bash benches/report_scale.sh [--conversations N] [--bin FILE]
#
# Prints one markdown table. Corpora and outputs go under target/bench-report-scale/ (about
# 2 GB at 300 k) and are deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

n=300000
convqa=
while [ $# -gt 0 ]; do
  case "$1" in
    --conversations) n=$2; shift ;;
    --bin) convqa=$2; shift ;;
    -h|--help) usage_help "$0"; exit 0 ;;
    *) echo "report_scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
convqa=$(release_bin "$convqa")
dir=target/bench-report-scale
rm -rf "$dir"
mkdir -p "$dir"
"$convqa" generate --conversations "$n" --seed 7 --out "$dir/corpus.jsonl" --quiet

# the two variants, with the standard library only
python3 - "$dir" <<'PY'
import json, sys, zlib
d = sys.argv[1]
with open(f"{d}/corpus.jsonl", encoding="utf-8") as src, \
        open(f"{d}/agents.jsonl", "w", encoding="utf-8") as agents, \
        open(f"{d}/anonymous.jsonl", "w", encoding="utf-8") as anon:
    for k, line in enumerate(src):
        c = json.loads(line)
        c["agent_id"] += "_%d" % (zlib.crc32(c["conversation_id"].encode()) % 30)
        agents.write(json.dumps(c, ensure_ascii=False) + "\n")
        if k % 6 == 5:
            c = json.loads(line)
            c["customer_id"] = "anonymous"
            anon.write(json.dumps(c, ensure_ascii=False) + "\n")
PY

row() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > /dev/null 2> "$dir/stderr" \
    || { cat "$dir/stderr" >&2; exit 1; }
  read -r secs kb < "$dir/time"
  printf '| %s | %s | %.0f |\n' "$label" "$secs" "$((kb / 1024))"
}

echo "| run ($n generated conversations, --no-models) | seconds | peak RSS MiB |"
echo "|---|---|---|"
row "score, flat layout" "$convqa" score "$dir/corpus.jsonl" --no-models --out "$dir/flat"
row "score --incremental (one part file per date and table)" \
  "$convqa" score "$dir/corpus.jsonl" --no-models --incremental --out "$dir/inc"
row "report, flat output" "$convqa" report "$dir/flat"
row "report, incremental store, all dates" "$convqa" report "$dir/inc"
row "report, incremental store, --days 7" "$convqa" report "$dir/inc" --days 7
"$convqa" score "$dir/agents.jsonl" --no-models --quiet --out "$dir/agents"
row "report, 30 × as many agents" "$convqa" report "$dir/agents"
"$convqa" score "$dir/anonymous.jsonl" --no-models --quiet --out "$dir/anonymous"
row "report, $((n / 6)) conversations under customer id \"anonymous\"" \
  "$convqa" report "$dir/anonymous"
row "report, the same with --unknown-customer-ids \"\" (keep every id)" \
  "$convqa" report "$dir/anonymous" --unknown-customer-ids ""

python3 - "$dir" <<'PY'
import os, sys
d = sys.argv[1]
html = os.path.getsize(f"{d}/flat/report.html")
with open(f"{d}/flat/review_queue.csv", encoding="utf-8") as f:
    queue = sum(1 for _ in f) - 1
dates = len([p for p in os.listdir(f"{d}/inc/conversations") if p.startswith("date=")])
print(f"\nflat output: report.html {html / 1e3:,.0f} kB, review queue {queue} rows; "
      f"incremental store: {dates} date partitions")
PY
rm -rf "$dir"
