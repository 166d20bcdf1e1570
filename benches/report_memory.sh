#!/usr/bin/env bash
# Peak memory of the whole-store report (`convqa report DIR`, no `--days`) as the store grows:
# for each size, `convqa generate --seed 3` that many conversations (over `--days` days, 28 by
# default), `convqa score --no-models` them into a flat output folder, delete the corpus, then
# run `convqa report` with each binary under `/usr/bin/time -f "%e %M"` (wall seconds, peak
# RSS). With `--before FILE` (a build of the code before the streaming report) both are
# measured, and their report files are compared with `cmp`.
#
#   bash benches/report_memory.sh [--conversations "100000 1000000"] [--days N]
#                                 [--bin FILE] [--before FILE] [--incremental] [--reverse]
#                                 [--anonymous]
#
# `--incremental` scores into the `--incremental` layout (one part file per date and table)
# instead. `--reverse` scores the corpus's lines in reverse order, so each returning customer's
# contacts are out of time order in the files (the streamed report then keeps every identified
# contact). `--anonymous` writes customer id "anonymous" (a placeholder: no id) on every
# conversation, so no per-customer state is kept: what remains is the part of the report that
# does not grow with the store. Prints one markdown table. Work goes under target/bench-report-memory/ (about 1.3 GB
# per million conversations, the folder of the current size only) and is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

sizes="100000 1000000"
days=28
convqa=
before=
layout=()
reverse=
anonymous=
while [ $# -gt 0 ]; do
  case "$1" in
    --conversations) sizes=$2; shift ;;
    --days) days=$2; shift ;;
    --bin) convqa=$2; shift ;;
    --before) before=$2; shift ;;
    --incremental) layout=(--incremental) ;;
    --reverse) reverse=1 ;;
    --anonymous) anonymous=1 ;;
    -h|--help) usage_help "$0"; exit 0 ;;
    *) echo "report_memory.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
convqa=$(release_bin "$convqa")
dir=$PWD/target/bench-report-memory
reports="review_queue.parquet review_queue.csv agents.parquet skill_gaps.parquet follow_ups.parquet report.html"

measure() { # binary, output folder -> "seconds MiB"
  /usr/bin/time -f "%e %M" -o "$dir/time" "$1" report "$2" > /dev/null 2> "$dir/stderr" \
    || { cat "$dir/stderr" >&2; exit 1; }
  read -r secs kb < "$dir/time"
  echo "$secs $((kb / 1024))"
}

if [ -n "$before" ]; then
  echo "| conversations | before: peak RSS MiB | after: peak RSS MiB | after / before | before s | after s | report files |"
  echo "|---|---|---|---|---|---|---|"
else
  echo "| conversations | peak RSS MiB | seconds |"
  echo "|---|---|---|"
fi
for n in $sizes; do
  rm -rf "$dir"
  mkdir -p "$dir"
  "$convqa" generate --conversations "$n" --seed 3 --days "$days" --out "$dir/corpus.jsonl" --quiet
  if [ -n "$reverse" ]; then
    tac "$dir/corpus.jsonl" > "$dir/reversed.jsonl"
    mv "$dir/reversed.jsonl" "$dir/corpus.jsonl"
  fi
  if [ -n "$anonymous" ]; then
    sed -i 's/"customer_id":"[^"]*"/"customer_id":"anonymous"/' "$dir/corpus.jsonl"
  fi
  "$convqa" score "$dir/corpus.jsonl" --no-models --quiet "${layout[@]}" --out "$dir/out"
  rm "$dir/corpus.jsonl"
  read -r secs mib < <(measure "$convqa" "$dir/out")
  if [ -n "$before" ]; then
    mkdir "$dir/after"
    for f in $reports; do cp "$dir/out/$f" "$dir/after/"; done
    read -r bsecs bmib < <(measure "$before" "$dir/out")
    same=identical
    for f in $reports; do cmp -s "$dir/out/$f" "$dir/after/$f" || same="$f differs"; done
    ratio=$(python3 -c "print(f'{$mib / $bmib:.2f}')")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$bmib" "$mib" "$ratio" "$bsecs" "$secs" "$same"
  else
    printf '| %s | %s | %s |\n' "$n" "$mib" "$secs"
  fi
done
rm -rf "$dir"
