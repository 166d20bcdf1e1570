#!/usr/bin/env bash
# End-to-end bench (issue 7). Two modes:
#
#   bash benches/e2e.sh [--conversations N] [--reference-conversations M] [--threads T] [--bin FILE]
#                       [--model DIR]
#       The whole job with the model, on one generated corpus (`convqa generate --conversations N
#       --seed 7`, default N = 4000, about 34,000 turns), in one run:
#         (a) `convqa score` (release build, --threads T, default one per core);
#         (b) the Python reference pipeline, benches/reference/reference.py, on the first M
#             conversations of the same corpus (default M = N);
#         (c) the model alone on the corpus's pre-tokenized turns, benches/models_only.py, laid out
#             as convqa runs it (T sessions × 1 ONNX Runtime thread, each distinct text once per
#             batch of 1,024 conversations, as convqa): the upper limit. It runs
#             before and after (a), and the mean of the two is used, so that a change of background
#             load during the run weighs on both sides alike.
#       Then (a) and (b) again with --no-models: the text pipelines alone.
#       Prints conversations/s, turns/s, MB/s and peak RSS (/usr/bin/time) of each, and the ratios
#       convqa / reference and convqa / models-only (of conversations/s on the same corpus), and
#       whether the reference agrees with convqa (pass/fail, qa_score) on the conversations both scored.
#       The Python packages (benches/reference/requirements.txt) go into target/bench-venv.
#
#   bash benches/e2e.sh --no-models [REPLICAS]
#       The text pipeline only (`convqa score --no-models`) on the committed sample replicated
#       REPLICAS times (default 400 → 20,000 conversations), --threads 1 and 2: conversations/s,
#       turns/s, MB/s, peak RSS and the 2-thread speed-up; outputs must be byte-identical.
#
# --model DIR runs all three with that model folder instead of the default (e.g. a student
# packaged into target/models/ by training/package.py). models-only makes the calls convqa makes
# (up to the manifest's max_batch texts a call); the reference runs one turn per call, as its
# per-conversation loop would.
# --bin FILE times that convqa binary instead of building this tree (e.g. a build of a clean
# checkout while the tree is being edited). Everything is written under target/bench-e2e/.
# Numbers vary between runs on a shared machine: the script prints the load average next to each
# run; compare ratios within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

mode=models
n=4000
m=
threads=$(nproc)
replicas=400
convqa=
model=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-models) mode=text; if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then replicas=$2; shift; fi ;;
    --conversations) n=$2; shift ;;
    --reference-conversations) m=$2; shift ;;
    --threads) threads=$2; shift ;;
    --bin) convqa=$2; shift ;;
    --model) model=$2; shift ;;
    -h|--help) usage_help "$0"; exit 0 ;;
    *) echo "e2e.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
m=${m:-$n}
dir=target/bench-e2e
mkdir -p "$dir"
convqa=$(release_bin "$convqa")

if [ "$mode" = text ]; then
  python3 benches/replicate_sample.py "$replicas" "$dir/corpus.jsonl"
  bytes=$(stat -c %s "$dir/corpus.jsonl")
  declare -A wall
  for t in 1 2; do
    /usr/bin/time -f "%e %M" -o "$dir/time-$t" "$convqa" score "$dir/corpus.jsonl" --out "$dir/out-$t" --threads "$t" --quiet --no-models
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
  exit 0
fi

# --- with the model: convqa, the Python reference, models-only ---
model_args=()
[ -n "$model" ] && model_args=(--model "$model")
bash scripts/fetch-onnxruntime.sh >/dev/null
venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/reference/requirements.txt

corpus=$dir/corpus-$n.jsonl
"$convqa" generate --conversations "$n" --seed 7 --out "$corpus" --quiet
ref_corpus=$corpus
if [ "$m" != "$n" ]; then
  ref_corpus=$dir/corpus-$n-first-$m.jsonl
  head -n "$m" "$corpus" > "$ref_corpus"
fi
echo "model: ${model:-the default}"
echo "corpus: $corpus ($n conversations, $(stat -c %s "$corpus") bytes); reference on $m of them; threads $threads; $(nproc) cores"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

models_only() { # run number
  /usr/bin/time -f "%e %M" -o "$dir/time-models-only-$1" "$venv/bin/python" benches/models_only.py "$corpus" "${model_args[@]}" \
    --sessions "$threads" --intra-threads 1 --json "$dir/models-only-$1.json"
  echo "  load average after models-only: $(loadavg)"
}
echo "load average before: $(loadavg)"
models_only 1
rm -rf "$dir/out-convqa"
/usr/bin/time -f "%e %M" -o "$dir/time-convqa" "$convqa" score "$corpus" --out "$dir/out-convqa" \
  --threads "$threads" --quiet "${model_args[@]}"
echo "  load average after convqa: $(loadavg)"
models_only 2
rm -rf "$dir/out-reference"
/usr/bin/time -f "%e %M" -o "$dir/time-reference" "$venv/bin/python" benches/reference/reference.py "$ref_corpus" \
  --out "$dir/out-reference" "${model_args[@]}"
echo "  load average after the reference: $(loadavg)"
# The text pipelines alone, on the same corpora: where convqa's own code is compared.
rm -rf "$dir/out-convqa-text" "$dir/out-reference-text"
/usr/bin/time -f "%e %M" -o "$dir/time-convqa-text" "$convqa" score "$corpus" --out "$dir/out-convqa-text" \
  --threads "$threads" --quiet --no-models
/usr/bin/time -f "%e %M" -o "$dir/time-reference-text" "$venv/bin/python" benches/reference/reference.py "$ref_corpus" \
  --out "$dir/out-reference-text" --no-models
echo "  load average after the text-only runs: $(loadavg)"

"$venv/bin/python" - "$dir" "$corpus" "$ref_corpus" <<'PY'
import json, os, sys
import pyarrow.parquet as pq

d, corpus, ref_corpus = sys.argv[1:]
def timed(name):
    secs, rss = open(f"{d}/time-{name}").read().split()
    return float(secs), int(rss) / 1024

def count(path):
    conv = turns = 0
    for line in open(path, encoding="utf-8"):
        conv += 1
        turns += len(json.loads(line)["turns"])
    return conv, turns

rows = []
def convqa_row(name, out, timing):
    s = json.load(open(f"{d}/{out}/summary.json"))
    secs, rss = timed(timing)
    rows.append((name, s["counts"]["scored"], s["counts"]["turns"], os.path.getsize(corpus), secs, rss))
    return s
def reference_row(name, out, timing):
    r = json.load(open(f"{d}/{out}/reference_summary.json"))
    secs, rss = timed(timing)
    rows.append((name, r["conversations"], r["turns"], os.path.getsize(ref_corpus), secs, rss))
    return r
s = convqa_row("convqa score", "out-convqa", "convqa")
r = reference_row("Python reference", "out-reference", "reference")
mo1, mo2 = (json.load(open(f"{d}/models-only-{i}.json")) for i in (1, 2))
mo = dict(mo1, seconds=(mo1["seconds"] + mo2["seconds"]) / 2)
mo["turns_per_sec"] = mo["turns"] / mo["seconds"]
rss = max(timed("models-only-1")[1], timed("models-only-2")[1])
_, all_turns = count(corpus)
rows.append(("models only (inference time, mean of 2)", mo["conversations"], all_turns, mo["bytes"], mo["seconds"], rss))
convqa_row("convqa score --no-models", "out-convqa-text", "convqa-text")
rt = reference_row("Python reference --no-models", "out-reference-text", "reference-text")

print()
print("| run | conversations | turns | MB | seconds | conv/s | turns/s | MB/s | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|")
rate = {}
for name, c, t, b, secs, rss in rows:
    rate[name] = c / secs
    print(f"| {name} | {c:,} | {t:,} | {b/1e6:.1f} | {secs:.1f} | {c/secs:,.1f} | {t/secs:,.0f} | {b/1e6/secs:.2f} | {rss:,.0f} |")
print(f"\nmodel turns (customer + agent): {mo['turns']:,}, of which {mo['model_texts']:,} distinct texts per batch of "
      f"1,024 conversations ({100 * mo['model_texts'] / mo['turns']:.0f} %): convqa and models-only run each once, the "
      f"reference runs every turn; generated text repeats more than most real traffic, so read the reference ratio "
      f"with that share in mind")
print(f"models-only {mo['turns_per_sec']:,.0f} model turns/s "
      f"({mo['sessions']} sessions x {mo['intra_threads']} ONNX Runtime thread); turns/s above count all turns; "
      f"seconds are wall time of the whole process, except models-only (inference only)")
ratio_ref = rate["convqa score"] / rate["Python reference"]
ratio_mo = rate["convqa score"] / rate["models only (inference time, mean of 2)"]
ratio_text = rate["convqa score --no-models"] / rate["Python reference --no-models"]
print(f"convqa / Python reference:   {ratio_ref:.2f}x (conversations/s; target >= 5x)")
print(f"convqa / models-only:        {100 * ratio_mo:.1f} % (conversations/s on the same corpus; target >= 85 %; "
      f"models-only took {mo1['seconds']:.1f} s before convqa and {mo2['seconds']:.1f} s after)")
st = s["stage_seconds"]
print(f"convqa's model stage: {100 * st['model'] / st['total_wall']:.1f} % of its wall time "
      f"(everything else, start-up included: {st['total_wall'] - st['model']:.2f} s)")
print(f"text pipelines (--no-models): convqa / Python reference {ratio_text:.1f}x")
st = s["stage_seconds"]
print("convqa stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in st.items())
      + " (model and write: wall; segment, rubric, score: CPU summed over threads)")
print("reference stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in r["seconds"].items()))
print("reference --no-models stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in rt["seconds"].items()))

# The reference must do comparable work: compare its verdicts with convqa's on the conversations both scored.
a = {row["conversation_id"]: row for row in pq.read_table(f"{d}/out-convqa/conversations.parquet",
     columns=["conversation_id", "passed", "qa_score"]).to_pylist()}
b = pq.read_table(f"{d}/out-reference/conversations.parquet", columns=["conversation_id", "passed", "qa_score"]).to_pylist()
both = [(a[x["conversation_id"]], x) for x in b if x["conversation_id"] in a]
if both:
    same = sum(1 for p, q in both if p["passed"] == q["passed"])
    close = sum(1 for p, q in both if abs(p["qa_score"] - q["qa_score"]) <= 1.0)
    print(f"reference vs convqa on {len(both):,} conversations: pass/fail agree on {100*same/len(both):.1f} %, "
          f"qa_score within 1 point on {100*close/len(both):.1f} %")
PY
