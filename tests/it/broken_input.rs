//! Broken input never crashes a run and is never lost: every line of `data/broken/broken.jsonl`
//! (described line by line in `data/README.md`) is either scored or rejected with its reason.

use crate::common::*;

/// (line, reason code, field) of every reject.
fn rejects(dir: &std::path::Path) -> Vec<(u64, String, Option<String>)> {
    std::fs::read_to_string(dir.join("rejects.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["line"].as_u64().unwrap(),
                v["code"].as_str().unwrap().to_string(),
                v["field"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn every_broken_line_is_rejected_with_its_reason_and_the_valid_ones_are_scored() {
    let (out, summary) = score(&[data("broken/broken.jsonl")], 2);
    let got = rejects(out.path());
    let s = |x: &str| Some(x.to_string());
    let expected = vec![
        (2, "invalid_json".to_string(), None),
        (3, "not_an_object".to_string(), None),
        (4, "missing_field".to_string(), s("conversation_id")),
        (6, "missing_field".to_string(), s("agent_id")),
        (8, "invalid_field".to_string(), s("channel")),
        (9, "empty_turns".to_string(), s("turns")),
        (10, "invalid_field".to_string(), s("turns[1].ts")),
        (11, "invalid_field".to_string(), s("turns[1].speaker")),
        (12, "missing_field".to_string(), s("turns[0].text")),
        (13, "invalid_field".to_string(), s("csat")),
        (14, "invalid_utf8".to_string(), None),
        (16, "duplicate_id".to_string(), s("conversation_id")),
    ];
    assert_eq!(got, expected);

    let c = &summary.counts;
    assert_eq!((c.read, c.scored, c.rejected, c.blank_lines), (15, 3, 12, 1));
    assert_eq!(c.read, c.scored + c.rejected);
    let ids = strings(&read_table(&out.path().join("conversations.parquet")), "conversation_id");
    let ids: Vec<_> = ids.into_iter().map(Option::unwrap).collect();
    assert_eq!(ids, ["broken-ok-1", "broken-ok-2", "broken-ok-3"], "BOM and CRLF lines are read");
}

#[test]
fn a_reject_says_where_and_what_to_do() {
    let (out, _) = score(&[data("broken/broken.jsonl")], 1);
    let text = std::fs::read_to_string(out.path().join("rejects.jsonl")).unwrap();
    let line = |n: u64| {
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["line"] == n)
            .unwrap()
    };
    assert!(line(10)["reason"].as_str().unwrap().contains(r#"got "yesterday""#));
    assert!(line(10)["file"].as_str().unwrap().ends_with("data/broken/broken.jsonl"));
    assert!(
        line(16)["reason"].as_str().unwrap().ends_with("broken.jsonl:7"),
        "points at the first"
    );
    assert!(line(14)["reason"].as_str().unwrap().contains("re-export the file as UTF-8"));
    assert!(!line(2)["raw"].as_str().unwrap().is_empty(), "the raw line is kept for the fix");
}

#[test]
fn broken_and_sample_files_together_still_add_up() {
    let (_out, summary) = score(&[data("sample"), data("broken")], 2);
    let c = &summary.counts;
    assert_eq!(c.read, c.scored + c.rejected);
    assert_eq!(c.rejected, 12);
    assert_eq!(summary.inputs.len(), 5, "4 sample files + broken.jsonl");
}
