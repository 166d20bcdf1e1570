#!/usr/bin/env bash
# usage: cases.sh BIN WORK — runs every case with the convqa binary BIN, writing into the folder
# WORK (emptied first); run from the repository root (the cases read data/ and models/).
set -u
BIN=$1; W=$2
rm -rf "$W"; mkdir -p "$W"
c() { # case name, args...
  local n=$1; shift
  "$BIN" "$@" >$W/$n.stdout 2>$W/$n.stderr; echo $? >$W/$n.rc
}
c sample_model score data/sample --out $W/sample_model --report
c sample_nomodel score data/sample --no-models --out $W/sample_nomodel --report
c sample_inc1 score data/sample --incremental --out $W/sample_inc --report
c sample_inc2 score data/sample --incremental --out $W/sample_inc --report
c sample_inc_verify verify $W/sample_inc
c sample_threads1 score data/sample --threads 1 --out $W/sample_t1
c gen generate --conversations ${GEN_N:-10000} --seed 21 --out $W/gen.jsonl --truth $W/gen-truth.json
c gen_flat score $W/gen.jsonl --no-models --out $W/gen_flat --report
c gen_inc score $W/gen.jsonl --no-models --incremental --out $W/gen_inc --report
c gen_report report $W/gen_inc --days 7
c convert_zendesk convert zendesk data/adapters/zendesk --out $W/zendesk.jsonl
c score_from score data/adapters/messages.csv --from messages-csv --no-models --out $W/from_csv
c eval_conv eval --no-models --conversations data/eval/conversations.jsonl --labels data/eval/conversation_labels.jsonl --out $W/eval.json
c eval_turns eval --turns data/eval/turns.jsonl --out $W/eval_turns.json
printf '[rubric]\nname = 3\n' > $W/bad.toml
c err_bad_rubric score data/sample --no-models --rubric $W/bad.toml --out $W/err1
c err_missing_rubric score data/sample --no-models --rubric $W/nope.toml --out $W/err1b
c err_missing_input score $W/does-not-exist.jsonl --no-models --out $W/err2
c err_empty_eval eval
c err_no_model score data/sample --model $W/nomodel --out $W/err3
c err_eval_nomodel eval --no-models --turns data/eval/turns.jsonl
c err_gen_days generate --conversations 3 --seed 1 --days 0 --out $W/x.jsonl
c err_report_missing report $W/nothing-here
c err_json_nomap convert json data/adapters/zendesk --out $W/y.jsonl
c err_verify_missing verify $W/nothing-here2
for h in "" score eval calibrate report verify convert generate; do c help_${h:-top} $h --help; done
c err_bad_flag score --nope
