//! Snapshots (`expect-test`) of what users read: the CLI's error messages with their exit codes,
//! its closing lines, and `summary.json`. A snapshot that differs fails with a diff; after an
//! intended change, `UPDATE_EXPECT=1 cargo test --test it snapshots::` rewrites them here.

use std::path::Path;

use expect_test::{Expect, expect};

use crate::common::*;

/// `convqa ARGS` (from the repository root) as the user sees it: the exit code and stderr, with
/// the temporary folder shown as `$TMP`.
fn check(tmp: &Path, args: &[&str], expected: Expect) {
    let o = convqa(args);
    let text = format!("exit {}\n{}", o.status.code().unwrap_or(-1), stderr(&o));
    expected.assert_eq(&text.replace(tmp.to_str().unwrap(), "$TMP"));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn error_messages_say_where_what_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = t.join("out");
    check(
        t,
        &["score", "no/such/file.jsonl", "--out", s(&out), "--no-models"],
        expect![[r#"
            exit 3
            convqa: error: no/such/file.jsonl: cannot open input: no such file or directory
        "#]],
    );
    let rubric = t.join("bad.toml");
    std::fs::write(&rubric, "[rubric]\nname = 3\n").unwrap();
    check(
        t,
        &["score", "data/sample", "--rubric", s(&rubric), "--out", s(&out), "--no-models"],
        expect![[r#"
            exit 5
            convqa: error: $TMP/bad.toml: invalid TOML: TOML parse error at line 1, column 2
                |
              1 | [rubric]
                |  ^^^^^^
              unknown field `rubric`, expected one of `name`, `version`, `pass_threshold`, `weights`, `timing`, `negation`, `sentiment`, `rule`
        "#]],
    );
    check(
        t,
        &["score", "data/sample", "--model", "no/such/model", "--out", s(&out)],
        expect![[r#"
            exit 6
            convqa: error: no/such/model: no model folder here; run from the repository root, pass --model DIR, or --no-models to score without sentiment and politeness
        "#]],
    );
    check(
        t,
        &["eval"],
        expect![[r#"
        exit 3
        convqa: error: nothing to evaluate: give --turns FILE (labelled turns, e.g. data/eval/turns.jsonl), --acts FILE (e.g. data/acts/eval/zh.jsonl) and/or --conversations FILE --labels FILE (e.g. data/eval/conversations.jsonl and data/eval/conversation_labels.jsonl); see `convqa eval --help`
    "#]],
    );
    check(
        t,
        &["eval", "--no-models", "--turns", "data/eval/turns.jsonl"],
        expect![[r#"
        exit 6
        convqa: error: turn-level evaluation needs the model; drop --no-models or leave out --turns
    "#]],
    );
    check(
        t,
        &["convert", "json", "data/adapters/zendesk", "--out", s(&t.join("x.jsonl"))],
        expect![[r#"
            exit 2
            convqa: error: the json format needs --mapping FILE.toml (examples in data/adapters/mappings/)
        "#]],
    );
    check(
        t,
        &["verify", s(&t.join("nothing"))],
        expect![[r#"
        exit 3
        convqa: error: $TMP/nothing: not a convqa output folder (no summary.json); pass the --out DIR of `convqa score`
    "#]],
    );
    check(
        t,
        &["report", s(&t.join("nothing"))],
        expect![[r#"
        exit 3
        convqa: error: $TMP/nothing: cannot read: entity not found; run `convqa score … --out DIR` first and pass that DIR
    "#]],
    );
}

#[test]
fn closing_lines_and_the_summary_of_the_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out = t.join("out");
    check(
        t,
        &["score", "data/sample", "--out", s(&out), "--no-models", "--threads", "2", "--report"],
        expect![[r#"
            exit 0
            [WARN ] 8 rules ran on their phrases only (no model acts or example matching with --no-models): blame_customer, dismissive, rude, sarcasm, acknowledge_feelings, apology, reassurance, customer_distress
            convqa: scored 50 conversations (33 passed, 17 failed), rejected 0 lines, 123 flags -> $TMP/out
            convqa: wrote 6 report files, open $TMP/out/report.html
        "#]],
    );
    let mut summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    // what changes from run to run: the times, and the digests of files that are edited often
    for key in ["started_at", "finished_at", "stage_seconds"] {
        summary.as_object_mut().unwrap().remove(key).expect(key);
    }
    for input in summary["inputs"].as_array_mut().unwrap() {
        input["sha256"] = "…".into();
    }
    summary["rubric"]["sha256"] = "…".into();
    expect![[r#"
        {
          "convqa_version": "0.1.0",
          "counts": {
            "blank_lines": 0,
            "failed": 17,
            "flags": 123,
            "model_distinct_texts": 0,
            "model_turns": 0,
            "passed": 33,
            "read": 50,
            "redacted": 1,
            "rejected": 0,
            "scored": 50,
            "turns": 420
          },
          "inputs": [
            {
              "blank_lines": 0,
              "bytes": 17085,
              "conversations": 14,
              "lines": 14,
              "path": "data/sample/en.jsonl",
              "rejected": 0,
              "sha256": "…"
            },
            {
              "blank_lines": 0,
              "bytes": 12307,
              "conversations": 11,
              "lines": 11,
              "path": "data/sample/mixed.jsonl",
              "rejected": 0,
              "sha256": "…"
            },
            {
              "blank_lines": 0,
              "bytes": 19179,
              "conversations": 14,
              "lines": 14,
              "path": "data/sample/zh-hans.jsonl",
              "rejected": 0,
              "sha256": "…"
            },
            {
              "blank_lines": 0,
              "bytes": 13260,
              "conversations": 11,
              "lines": 11,
              "path": "data/sample/zh-hant.jsonl",
              "rejected": 0,
              "sha256": "…"
            }
          ],
          "models": [],
          "outputs": [
            "conversations.parquet",
            "turns.parquet",
            "flags.parquet",
            "rejects.jsonl",
            "summary.json"
          ],
          "rejects_by_code": {},
          "rubric": {
            "limits": {
              "chat": {
                "first_response_secs": 300.0,
                "reply_secs": 180.0
              },
              "email": {
                "first_response_secs": 14400.0,
                "reply_secs": 14400.0
              },
              "phone": {
                "first_response_secs": 300.0,
                "reply_secs": 180.0
              }
            },
            "name": "default",
            "pass_threshold": 70.0,
            "phrases": 441,
            "rules": 18,
            "rules_phrases_only": [
              "blame_customer",
              "dismissive",
              "rude",
              "sarcasm",
              "acknowledge_feelings",
              "apology",
              "reassurance",
              "customer_distress"
            ],
            "sha256": "…",
            "source": "rubric/default.toml (built in)",
            "version": "1.2.0"
          },
          "threads": 2
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&summary).unwrap());
}
