//! `report.html` written from the committed sample (`data/sample`, no model): the review queue
//! starts with the conversation ranked first in `review_queue.parquet`, the heatmap has a cell
//! per agent × dimension, the page loads nothing from the network, and transcript markup shows
//! as text. The browser-side checks (DOM, console errors, screenshot) are in
//! `tests/browser/check_report.sh`, run by `.ci/run`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::*;
use convqa::report::{self, REPORT_HTML, REVIEW_QUEUE_PARQUET, ReportOptions};

/// Scores `inputs` without the model, writes the reports, returns the folder and the page.
fn report_of(inputs: &[std::path::PathBuf]) -> (tempfile::TempDir, String) {
    let (dir, _) = score(inputs, 2);
    report::write_report(dir.path(), &ReportOptions::default())
        .unwrap_or_else(|e| panic!("write_report: {e}"));
    let html = std::fs::read_to_string(dir.path().join(REPORT_HTML)).unwrap();
    (dir, html)
}

/// The `<table id="…">…</table>` element of the page.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("<table id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no table #{id} in report.html"));
    let end = html[start..].find("</table>").expect("the table is closed");
    &html[start..start + end]
}

/// `data-conversation` of each review-queue row, in page order.
fn queue_rows(html: &str) -> Vec<&str> {
    table(html, "review-queue")
        .split("<tr data-conversation=\"")
        .skip(1)
        .map(|row| &row[..row.find('"').unwrap()])
        .collect()
}

fn agents_of(dir: &Path) -> BTreeSet<String> {
    let convs = read_table(&dir.join("conversations.parquet"));
    strings(&convs, "agent_id").into_iter().flatten().collect()
}

#[test]
fn the_sample_report_lists_the_first_ranked_conversation_first_and_a_cell_per_agent_dimension() {
    let (dir, html) = report_of(&[data("sample")]);
    let queue = read_table(&dir.path().join(REVIEW_QUEUE_PARQUET));
    let ranks = i32s(&queue, "rank");
    let ids = strings(&queue, "conversation_id");
    let first = ranks.iter().position(|r| *r == Some(1)).expect("a rank-1 row");
    let rows = queue_rows(&html);
    assert_eq!(rows.len(), queue.num_rows(), "one queue row per review_queue.parquet row");
    assert_eq!(
        Some(rows[0]),
        ids[first].as_deref(),
        "help: #review-queue must list the entries in rank order"
    );

    let agents = agents_of(dir.path());
    let heatmap = table(&html, "heatmap");
    assert_eq!(agents.len(), 10, "the sample has ten agents (data/README.md)");
    assert_eq!(heatmap.matches("data-dimension=").count(), agents.len() * 5);
    for a in &agents {
        assert_eq!(heatmap.matches(&format!("data-agent=\"{a}\"")).count(), 5, "{a}");
    }
    // without the model, its dimensions say so instead of showing a number
    assert!(heatmap.contains("data-dimension=\"sentiment\" title=\"agent_amy · sentiment: n/a"));
}

#[test]
fn the_sample_report_is_self_contained_and_the_same_on_every_run() {
    let (dir, html) = report_of(&[data("sample")]);
    assert!(!html.contains("http://") && !html.contains("https://"), "no URL in report.html");
    assert!(html.contains("<meta charset=\"utf-8\">"));
    // Chinese text from the transcripts comes through as UTF-8
    assert!(html.contains("你烦不烦"), "zh-hans-009's insult is quoted as evidence");
    report::write_report(dir.path(), &ReportOptions::default()).unwrap();
    let again = std::fs::read_to_string(dir.path().join(REPORT_HTML)).unwrap();
    assert!(again == html, "help: report.html must not depend on the clock or on hash order");
}

const HOSTILE: &str = r#"{"conversation_id":"x-<i>1</i>","agent_id":"agent_\"evil'<b>","channel":"chat","customer_id":"<u>cust</u>","started_at":"2026-11-03T09:00:00Z","tags":["<s>tag</s>"],"turns":[{"speaker":"customer","text":"my order <b>never</b> came","ts":"2026-11-03T09:00:00Z"},{"speaker":"agent","text":"<script>alert(1)</script> shut up & <img src=x onerror=alert(2)>, not my problem","ts":"2026-11-03T09:01:00Z"},{"speaker":"customer","text":"I want to complain","ts":"2026-11-03T09:02:00Z"}]}"#;

#[test]
fn transcript_markup_in_the_queue_renders_as_text() {
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("hostile.jsonl"), format!("{HOSTILE}\n")).unwrap();
    let (_dir, html) = report_of(&[data("sample"), extra.path().to_path_buf()]);
    assert_eq!(html.matches("<script").count(), 1, "help: only the page's own script element");
    for raw in ["<script>alert", "<img", "<b>", "<i>1</i>", "<u>cust", "agent_\"evil"] {
        assert!(!html.contains(raw), "help: {raw:?} from the data reached the page unescaped");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; shut up &amp; &lt;img"));
    assert!(html.contains("data-conversation=\"x-&lt;i&gt;1&lt;/i&gt;\""));
    assert!(html.contains("data-agent=\"agent_&quot;evil&#39;&lt;b&gt;\""));
}
