#!/usr/bin/env bash
# What issue 20's guarantees cost on a 100,000-conversation run (`convqa generate --seed 7`,
# scored with `--no-models` so the model stage does not hide the cost): the fsyncs (every data
# file before the commit point, then the journal and the folders) and the folder's lock.
# For the flat and the --incremental layout (a first night into an empty store), R runs each:
#   - fsync + lock share: summary.json's stage_seconds.fsync + stage_seconds.lock (the data
#     files' fsyncs and taking the lock) over total_wall, in the same run;
#   - disk / tmpfs: the same run with --out on the disk and on a tmpfs, where fsync returns at
#     once: the whole durability cost, the commit's own fsyncs included (needs root to mount;
#     skipped otherwise).
#
#   bash benches/store_cost.sh [--conversations N] [--repeat R] [--bin FILE]
#
# Prints one markdown table (medians). Corpus and outputs go under target/bench-store-cost/ and
# are deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

n=100000
repeat=3
convqa=
while [ $# -gt 0 ]; do
  case "$1" in
    --conversations) n=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --bin) convqa=$2; shift ;;
    -h|--help) usage_help "$0"; exit 0 ;;
    *) echo "store_cost.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
convqa=$(release_bin "$convqa")
dir=$PWD/target/bench-store-cost
mnt=$dir/tmpfs
cleanup() {
  mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  rm -rf "$dir"
}
trap cleanup EXIT
rm -rf "$dir"
mkdir -p "$dir" "$mnt"
"$convqa" generate --conversations "$n" --seed 7 --out "$dir/corpus.jsonl" --quiet
tmpfs=no
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8g tmpfs "$mnt" 2>/dev/null; then
  tmpfs=yes
fi

# one_run OUT_PARENT LAYOUT_FLAG: prints "wall fsync lock" from the run's summary.json
one_run() {
  local out=$1/out
  rm -rf "$out"
  "$convqa" score "$dir/corpus.jsonl" --out "$out" --no-models --quiet $2
  python3 - "$out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["stage_seconds"]
print(s["total_wall"], s["fsync"], s["lock"])
PY
  rm -rf "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| layout | wall on disk (s) | fsync (s) | lock (s) | fsync + lock / wall | wall on tmpfs (s) | disk / tmpfs |"
echo "|---|---|---|---|---|---|---|"
for layout in flat incremental; do
  flag=""
  [ "$layout" = incremental ] && flag="--incremental"
  : > "$dir/disk.txt"
  : > "$dir/tmpfs.txt"
  for _ in $(seq "$repeat"); do
    one_run "$dir" "$flag" >> "$dir/disk.txt"
    if [ "$tmpfs" = yes ]; then
      one_run "$mnt" "$flag" >> "$dir/tmpfs.txt"
    fi
  done
  wall=$(cut -d' ' -f1 "$dir/disk.txt" | median)
  fsync=$(cut -d' ' -f2 "$dir/disk.txt" | median)
  lock=$(cut -d' ' -f3 "$dir/disk.txt" | median)
  if [ "$tmpfs" = yes ]; then
    twall=$(cut -d' ' -f1 "$dir/tmpfs.txt" | median)
  else
    twall=""
  fi
  python3 - "$layout" "$wall" "$fsync" "$lock" "$twall" <<'PY'
import sys
layout, wall, fsync, lock, twall = sys.argv[1], *map(float, sys.argv[2:5]), sys.argv[5]
share = (fsync + lock) / wall * 100
t = f"{float(twall):.2f} | {wall / float(twall):.3f}" if twall else "skipped (not root) | –"
print(f"| {layout} | {wall:.2f} | {fsync:.3f} | {lock:.4f} | {share:.1f} % | {t} |")
PY
done
