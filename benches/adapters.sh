#!/usr/bin/env bash
# Conversion speed of the adapters (issue 18):
#
#   bash benches/adapters.sh [--mb MB] [--bin FILE]
#
# Replicates the Amazon Connect and Zendesk fixtures of data/adapters/ to MB megabytes each
# (default 100; benches/replicate_export.py gives every copy its own id), then times
# `convqa convert FORMAT DIR --out FILE` with 1 and with 2 rayon threads (RAYON_NUM_THREADS),
# and prints MB/s (input bytes as stored / wall time), MB per CPU second (user + system time:
# the rate per core, which a busy machine does not distort as it does wall time), the 2-thread
# speed-up and peak RSS. The output of both runs must be byte-identical. Connect is one small file per
# contact (the S3 layout), so it also measures the cost of opening files; Zendesk is one ticket
# per JSONL line. Everything is written under target/bench-adapters/.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

mb=100
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) mb="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    -h|--help) usage_help "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; usage_help "$0" >&2; exit 2 ;;
  esac
done
bin=$(release_bin "$bin")
work=target/bench-adapters
echo "machine: $(nproc) cores, $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
for format in connect-chat zendesk; do
  input="$work/$format"
  if [ ! -f "$input.done" ] || [ "$(cat "$input.done")" != "$mb" ]; then
    rm -rf "$input"
    n=$(python3 benches/replicate_export.py "$format" "$input" --mb "$mb")
    echo "$mb" > "$input.done"
    echo "$format: wrote $n conversations" >&2
  fi
  bytes=$(du -sb --apparent-size "$input" | cut -f1)
  files=$(find "$input" -type f | wc -l)
  declare -A rate
  for threads in 1 2; do
    out="$work/$format-$threads.jsonl"
    # Warm the page cache so both runs read from memory.
    cat $(find "$input" -type f | head -2000) > /dev/null
    start=$(date +%s.%N)
    RAYON_NUM_THREADS=$threads /usr/bin/time -f "%M %U %S" -o "$work/rss" "$bin" convert "$format" "$input" --out "$out" --quiet
    end=$(date +%s.%N)
    read -r rss_kb user sys < "$work/rss"
    rss=$(( rss_kb / 1024 ))
    cpu=$(awk "BEGIN{print $user + $sys}")
    secs=$(awk "BEGIN{print $end - $start}")
    rate[$threads]=$(awk "BEGIN{print $bytes / 1e6 / $secs}")
    printf "%-13s %d thread(s): %6.1f MB in %5.2f s = %6.1f MB/s; %5.2f CPU s = %5.1f MB per CPU second; %d files, peak RSS %d MiB\n" \
      "$format" "$threads" "$(awk "BEGIN{print $bytes / 1e6}")" "$secs" "${rate[$threads]}" \
      "$cpu" "$(awk "BEGIN{print $bytes / 1e6 / $cpu}")" "$files" "$rss"
  done
  cmp -s "$work/$format-1.jsonl" "$work/$format-2.jsonl" || { echo "outputs of 1 and 2 threads differ" >&2; exit 1; }
  printf "%-13s 2-thread speed-up %.2fx; outputs identical\n" "$format" "$(awk "BEGIN{print ${rate[2]} / ${rate[1]}}")"
done
