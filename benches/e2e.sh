#!/usr/bin/env bash
# End-to-end timing of `convqa score --no-models` (release build: the text pipeline; the model
# stage has its own bench in benches/stages.rs) on the sample replicated N times
# (default 400 → 20,000 conversations), with --threads 1 and --threads 2, in one run.
# Prints conversations/s, turns/s, MB/s and peak RSS for each, and the 2-thread speed-up.
# Usage: bash benches/e2e.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-400}
dir=target/bench-e2e
mkdir -p "$dir"
cargo build --release --quiet
python3 benches/replicate_sample.py "$n" "$dir/corpus.jsonl"
bytes=$(stat -c %s "$dir/corpus.jsonl")
declare -A wall
for t in 1 2; do
  /usr/bin/time -f "%e %M" -o "$dir/time-$t" ./target/release/convqa score "$dir/corpus.jsonl" --out "$dir/out-$t" --threads "$t" --quiet --no-models
  read -r secs rss_kb < "$dir/time-$t"
  wall[$t]=$secs
  python3 - "$dir/out-$t/summary.json" "$secs" "$rss_kb" "$bytes" "$t" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); secs, rss, size, t = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
c = s["counts"]
print(f"threads={t}: {c['scored']} conversations, {c['turns']} turns, {size/1e6:.1f} MB in {secs:.2f} s: "
      f"{c['scored']/secs:,.0f} conv/s, {c['turns']/secs:,.0f} turns/s, {size/1e6/secs:.1f} MB/s, peak RSS {rss/1024:.0f} MiB")
PY
done
cmp -s "$dir/out-1/conversations.parquet" "$dir/out-2/conversations.parquet" && echo "outputs identical for 1 and 2 threads"
python3 -c "print(f'speed-up 2 threads / 1 thread: {${wall[1]}/${wall[2]}:.2f}x')"
