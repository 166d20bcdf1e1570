//! The real binary as a nightly job runs it: exit codes, messages, stdin, outputs.

use std::path::Path;

use crate::common::*;

const GOOD: &str = r#"{"conversation_id":"cli-1","agent_id":"a","channel":"chat","turns":[{"speaker":"customer","text":"hello, my bill is wrong","ts":"2026-11-02T09:00:00Z"},{"speaker":"agent","text":"Hi! Sorry about that, let me check. Anything else I can help with?","ts":"2026-11-02T09:01:00Z"}]}"#;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn scores_stdin_and_exits_0_even_with_rejects() {
    let out = tempfile::tempdir().unwrap();
    let input = format!("{GOOD}\nnot json\n");
    let o = convqa_stdin(&["score", "-", "--out", path(out.path()), "--no-models"], &input);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("scored 1 conversations"), "{}", stderr(&o));
    for f in
        ["conversations.parquet", "turns.parquet", "flags.parquet", "rejects.jsonl", "summary.json"]
    {
        assert!(out.path().join(f).is_file(), "{f} not written");
    }
    let rejects = std::fs::read_to_string(out.path().join("rejects.jsonl")).unwrap();
    assert!(rejects.contains(r#""file":"-","line":2,"code":"invalid_json""#), "{rejects}");
    let table = read_table(&out.path().join("conversations.parquet"));
    assert_eq!(f64s(&table, "first_response_secs"), [Some(60.0)]);
}

#[test]
fn empty_input_writes_empty_tables_that_readers_open() {
    let out = tempfile::tempdir().unwrap();
    let o = convqa_stdin(&["score", "-", "--out", path(out.path()), "-q", "--no-models"], "\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["conversations.parquet", "turns.parquet", "flags.parquet"] {
        let table = read_table(&out.path().join(f));
        assert_eq!(table.num_rows(), 0, "{f}");
        assert!(table.num_columns() > 5, "{f} keeps its schema");
    }
}

#[test]
fn leaves_no_temporary_files_behind() {
    let out = tempfile::tempdir().unwrap();
    let o =
        convqa_stdin(&["score", "-", "--out", path(out.path()), "--quiet", "--no-models"], GOOD);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "--quiet printed: {}", stderr(&o));
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    // the lock file stays (the lock is the flock on it, released when the run ends)
    let temps = names.iter().filter(|n| n.starts_with('.') && *n != ".convqa.lock");
    assert_eq!(temps.count(), 0, "temporary files left: {names:?}");
}

#[test]
fn a_missing_input_exits_3_naming_it() {
    let out = tempfile::tempdir().unwrap();
    let o = convqa(&["score", "no/such/file.jsonl", "--out", path(out.path())]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("no/such/file.jsonl: cannot open input"), "{}", stderr(&o));
}

#[test]
fn an_unwritable_output_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let out = blocker.join("out");
    let o = convqa(&["score", path(&data("sample")), "--out", path(&out)]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create output directory"), "{}", stderr(&o));
}

#[test]
fn a_broken_rubric_exits_5_naming_rule_and_field_and_keeps_old_outputs() {
    let out = tempfile::tempdir().unwrap();
    let o = convqa_stdin(&["score", "-", "--out", path(out.path()), "-q", "--no-models"], GOOD);
    assert_eq!(o.status.code(), Some(0));
    let before = std::fs::read(out.path().join("conversations.parquet")).unwrap();

    let rubric = out.path().join("bad.toml");
    let text = convqa::rubric::DEFAULT_RUBRIC.replacen(
        "\nlast_n_agent_turns = 2",
        "\nlast_n_agent_turns = 0",
        1,
    );
    std::fs::write(&rubric, text).unwrap();
    let o = convqa_stdin(
        &["score", "-", "--out", path(out.path()), "--rubric", path(&rubric), "--no-models"],
        GOOD,
    );
    assert_eq!(o.status.code(), Some(5));
    let msg = stderr(&o);
    assert!(msg.contains("rule \"closing\": last_n_agent_turns: must be at least 1"), "{msg}");
    assert_eq!(std::fs::read(out.path().join("conversations.parquet")).unwrap(), before);
}

#[test]
fn a_missing_model_exits_6_saying_what_to_do() {
    let out = tempfile::tempdir().unwrap();
    let o =
        convqa_stdin(&["score", "-", "--out", path(out.path()), "--model", "no/such/model"], GOOD);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no/such/model: no model folder here")
            && stderr(&o).contains("--no-models"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_model_stage_fills_sentiment_and_politeness() {
    let out = tempfile::tempdir().unwrap();
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-model");
    let input = GOOD.replace("hello, my bill is wrong", "bad bad").replace(
        "Hi! Sorry about that, let me check. Anything else I can help with?",
        "thanks please",
    );
    let o = convqa_stdin(
        &["score", "-", "--out", path(out.path()), "-q", "--model", path(&model)],
        &input,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let turns = read_table(&out.path().join("turns.parquet"));
    let sentiment = f64s(&turns, "sentiment");
    let politeness = f64s(&turns, "politeness");
    assert!(
        sentiment[0].unwrap() < -0.5 && sentiment[1].is_none(),
        "customer turn only: {sentiment:?}"
    );
    assert!(
        politeness[0].is_none() && politeness[1].unwrap() > 0.8,
        "agent turn only: {politeness:?}"
    );
    let conv = read_table(&out.path().join("conversations.parquet"));
    assert_eq!(f64s(&conv, "sentiment_end"), f64s(&conv, "sentiment_start"));
    let flags = read_table(&out.path().join("flags.parquet"));
    assert!(strings(&flags, "flag").contains(&Some("customer_ends_negative".to_string())));
    let summary = std::fs::read_to_string(out.path().join("summary.json")).unwrap();
    assert!(summary.contains("\"name\": \"tiny-test-model\""), "{summary}");
}

#[test]
fn a_text_repeated_across_conversations_runs_once_and_the_summary_counts_it() {
    let out = tempfile::tempdir().unwrap();
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-model");
    let input = format!("{GOOD}\n{}\n", GOOD.replace("cli-1", "cli-2"));
    let o = convqa_stdin(
        &["score", "-", "--out", path(out.path()), "-q", "--model", path(&model)],
        &input,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["counts"]["model_turns"], 4, "{summary}");
    assert_eq!(summary["counts"]["model_distinct_texts"], 2, "{summary}");
    // every turn still has its own scores
    let turns = read_table(&out.path().join("turns.parquet"));
    let (sentiment, politeness) = (f64s(&turns, "sentiment"), f64s(&turns, "politeness"));
    assert!(sentiment[0].is_some() && sentiment[0] == sentiment[2], "{sentiment:?}");
    assert!(politeness[1].is_some() && politeness[1] == politeness[3], "{politeness:?}");
}

#[test]
fn usage_errors_exit_2() {
    let o = convqa(&["score", "data/sample"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
}

#[test]
fn a_messages_csv_export_converts_and_scores_and_its_bad_rows_are_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("conv.jsonl");
    let csv = crate::common::data("adapters/messages.csv");
    let o = convqa(&["convert", "messages-csv", path(&csv), "--out", path(&jsonl)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("converted 4 conversations from messages-csv"), "{}", stderr(&o));
    assert!(stderr(&o).contains("rejected 2"), "{}", stderr(&o));
    // one conversation had a row with an unknown role; one row came after its conversation ended
    let rejects = std::fs::read_to_string(dir.path().join("conv.rejects.jsonl")).unwrap();
    let rejects: Vec<serde_json::Value> =
        rejects.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rejects.len(), 2);
    // the rejects are `convqa score`'s: {file, line, code, field, reason, raw}
    assert_eq!(
        (rejects[0]["line"].as_u64(), rejects[0]["code"].as_str(), rejects[0]["field"].as_str()),
        (Some(19), Some("invalid_field"), Some("Sender Type"))
    );
    assert!(rejects[0]["raw"].as_str().unwrap().starts_with("T-1004,"), "{}", rejects[0]);
    assert!(rejects[0]["reason"].as_str().unwrap().contains("\"robot\""));
    assert!(rejects[0]["file"].as_str().unwrap().ends_with("messages.csv"));
    assert!(rejects[1]["reason"].as_str().unwrap().contains("sort the export"));
    // the output is convqa's schema: `score` takes every line
    let out = dir.path().join("out");
    let o = convqa(&["score", path(&jsonl), "--no-models", "--out", path(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let conv = read_table(&out.join("conversations.parquet"));
    let ids = strings(&conv, "conversation_id");
    assert_eq!(ids.len(), 4);
    let languages = strings(&conv, "language");
    let lang_of =
        |id: &str| languages[ids.iter().position(|i| i.as_deref() == Some(id)).unwrap()].clone();
    assert_eq!(
        lang_of("T-1003").as_deref(),
        Some("zh-Hant"),
        "a quoted two-line message kept whole"
    );
    // the bot's message is a system turn: the first response is the agent's, 450 s later
    let first = convqa::report::load(&out).unwrap();
    let t1002 = first.conversations.iter().find(|c| c.conversation_id == "T-1002").unwrap();
    assert_eq!(t1002.first_response_secs, Some(450.0));
}

#[test]
fn convert_without_a_required_column_exits_3_naming_the_accepted_headers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "ticket,role,message\nT1,agent,hi\n").unwrap();
    let o = convqa(&[
        "convert",
        "messages-csv",
        path(&csv),
        "--out",
        path(&dir.path().join("o.jsonl")),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("no conversation_id column") && stderr(&o).contains("ticket_id"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("o.jsonl").exists(), "nothing written on a fatal error");
}

/// The README's quick start writes to a relative `--out`: the commit must work with it (flat,
/// incremental, reports), not only with the absolute temporary folders of the other tests.
#[test]
fn a_relative_output_folder_commits_flat_incremental_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::common::data("sample/en.jsonl");
    for args in [
        vec!["score", path(&sample), "--out", "flat", "--no-models", "-q", "--report"],
        vec!["score", path(&sample), "--out", "nightly", "--no-models", "-q", "--incremental"],
        vec!["score", path(&sample), "--out", "nightly", "--no-models", "-q", "--incremental"],
        vec!["report", "nightly"],
        vec!["verify", "nightly"],
    ] {
        let o = convqa_command(&args).current_dir(dir.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
    assert!(dir.path().join("flat/report.html").is_file());
    assert!(dir.path().join("nightly/summary.json").is_file());
}
