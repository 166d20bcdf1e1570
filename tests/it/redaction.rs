//! Personal data never reaches the outputs (on by default), flags still point at the right
//! phrase in the redacted text, and scoring is the same with and without redaction.

use crate::common::*;
use convqa::job::{RunOptions, run};

const PII: [&str; 7] = [
    "13912345678",
    "13812345678",
    "li.ming@example.com",
    "11010519491231002X",
    "4111 1111 1111 1111",
    "192.168.10.20",
    "+44 20 7946 0958",
];

fn score_pii(redact: bool) -> (tempfile::TempDir, convqa::output::Summary) {
    let out = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::new(vec![data("pii")], out.path().to_path_buf());
    opts.model = None;
    if !redact {
        opts.redact = None;
    }
    let summary = run(&opts).unwrap_or_else(|e| panic!("{e}"));
    convqa::report::write_report(out.path(), &convqa::report::ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    (out, summary)
}

/// Every output file as text (Parquet pages are zstd-compressed, so read the tables back).
fn all_text(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for table in ["turns.parquet", "flags.parquet"] {
        let b = read_table(&dir.join(table));
        for col in ["text", "evidence", "matched"] {
            if b.column_by_name(col).is_some() {
                text.extend(strings(&b, col).into_iter().flatten().map(|s| s + "\n"));
            }
        }
    }
    for file in ["review_queue.csv", "report.html", "rejects.jsonl"] {
        text += &std::fs::read_to_string(dir.join(file)).unwrap();
    }
    text
}

#[test]
fn no_personal_data_reaches_any_output_by_default() {
    let (dir, summary) = score_pii(true);
    let text = all_text(dir.path());
    for pii in PII {
        assert!(!text.contains(pii), "{pii} leaked into the outputs");
    }
    for tag in ["[PHONE]", "[EMAIL]", "[ID]", "[CARD]", "[IP]"] {
        assert!(text.contains(tag), "{tag} missing");
    }
    assert!(text.contains("202611050001"), "an order number is not personal data");
    // seven in the scored turns; the rejected line's phone number is replaced in rejects.jsonl
    assert_eq!(summary.counts.redacted, 7);
    assert_eq!(summary.counts.rejected, 1);
}

#[test]
fn flags_point_at_their_phrase_in_the_redacted_turn() {
    let (dir, _) = score_pii(true);
    let f = read_table(&dir.path().join("flags.parquet"));
    let evidence = strings(&f, "evidence");
    let matched = strings(&f, "matched");
    let (start, end) = (i32s(&f, "span_start"), i32s(&f, "span_end"));
    let mut checked = 0;
    for i in 0..f.num_rows() {
        if let (Some(m), Some(s), Some(e)) = (&matched[i], start[i], end[i]) {
            assert_eq!(&evidence[i].as_ref().unwrap()[s as usize..e as usize], m);
            checked += 1;
        }
    }
    // "that's on you" after a phone number in pii-002
    assert!(checked >= 1, "only {checked} phrase flags");
    assert!(matched.iter().flatten().any(|m| m == "that's on you"), "{matched:?}");
}

#[test]
fn scores_do_not_depend_on_redaction_and_none_keeps_the_text() {
    let (red, _) = score_pii(true);
    let (raw, summary) = score_pii(false);
    let a = read_table(&red.path().join("conversations.parquet"));
    let b = read_table(&raw.path().join("conversations.parquet"));
    assert_eq!(f64s(&a, "qa_score"), f64s(&b, "qa_score"));
    assert_eq!(summary.counts.redacted, 0);
    let text = all_text(raw.path());
    assert!(PII.iter().all(|p| text.contains(p)));
}
