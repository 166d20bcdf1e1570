//! The reports for people on the committed sample (`data/sample`, whose agents have the known
//! profiles listed in `data/README.md`): what QA staff read first, which agent lacks which skill.

use std::sync::LazyLock;

use crate::common::*;
use convqa::report::{self, PeriodKind, Report, ReportOptions};
use convqa::rubric::Dimension;

struct Run {
    dir: tempfile::TempDir,
    report: Report,
}

static SAMPLE: LazyLock<Run> = LazyLock::new(|| {
    let (dir, _) = score(&[data("sample")], 2);
    report::write_report(dir.path(), &ReportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let input = report::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let report = report::build(&input, &ReportOptions::default());
    Run { dir, report }
});

#[test]
fn a_window_of_days_keeps_the_newest_days_conversations_and_their_flags() {
    let all = report::load(SAMPLE.dir.path()).unwrap();
    let newest = all.conversations.iter().map(|c| c.started_at.date_naive()).max().unwrap();
    let first = newest - chrono::Days::new(2);
    let recent = report::load_window(SAMPLE.dir.path(), Some(3)).unwrap();
    let expected: Vec<&str> = all
        .conversations
        .iter()
        .filter(|c| c.started_at.date_naive() >= first)
        .map(|c| c.conversation_id.as_str())
        .collect();
    assert!(!expected.is_empty() && expected.len() < all.conversations.len());
    let got: Vec<&str> = recent.conversations.iter().map(|c| c.conversation_id.as_str()).collect();
    assert_eq!(got, expected);
    let flags_of = |input: &report::ReportInput| {
        let mut f: Vec<(String, String, Option<u32>)> = input
            .flags
            .iter()
            .map(|f| {
                (
                    input.conversations[f.conv].conversation_id.clone(),
                    f.flag.to_string(),
                    f.turn_index,
                )
            })
            .filter(|(id, _, _)| expected.contains(&id.as_str()))
            .collect();
        f.sort();
        f
    };
    assert_eq!(recent.flags.len(), flags_of(&recent).len(), "only the window's flags");
    assert_eq!(flags_of(&recent), flags_of(&all));
}

#[test]
fn a_mistyped_future_date_does_not_empty_a_window() {
    // one sample conversation moved to 2099: the newest day, but after the run itself
    let line = std::fs::read_to_string(data("sample/en.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let future = line.replace("2026-11-", "2099-11-").replacen("\"en-0", "\"future-0", 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("future.jsonl");
    std::fs::write(&file, future + "\n").unwrap();
    let (out, _) = score(&[data("sample"), file], 2);
    let recent = report::load_window(out.path(), Some(3)).unwrap();
    let sample_only = report::load_window(SAMPLE.dir.path(), Some(3)).unwrap();
    // the sample's last three days, plus the future one (it is not before the window)
    assert_eq!(recent.conversations.len(), sample_only.conversations.len() + 1);
    assert!(recent.conversations.iter().any(|c| c.conversation_id.starts_with("future-")));
}

#[test]
fn the_queue_starts_with_the_insulting_agents_conversations_and_says_why() {
    let q = &SAMPLE.report.queue;
    // zhao's conversations hold the sample's critical insults (data/README.md)
    assert_eq!(q[0].agent_id, "agent_zhao", "{:?}", q[0]);
    assert!(q[0].reasons.iter().any(|r| r.starts_with("critical: rude")), "{:?}", q[0].reasons);
    assert!(!q[0].passed);
    // priorities never increase down the priority part of the queue
    let prio: Vec<f64> =
        q.iter().filter(|e| e.selection == "priority").map(|e| e.priority).collect();
    assert!(prio.windows(2).all(|w| w[0] >= w[1]), "{prio:?}");
    // every failed conversation is in the queue (the sample has fewer than 50)
    let conv = read_table(&SAMPLE.dir.path().join("conversations.parquet"));
    let ids = strings(&conv, "conversation_id");
    let passed = bools(&conv, "passed");
    for (id, p) in ids.iter().zip(&passed) {
        if *p == Some(false) {
            let id = id.as_deref().unwrap();
            assert!(q.iter().any(|e| e.conversation_id == id), "failed {id} is not queued");
        }
    }
    // no conversation twice
    let mut seen: Vec<&str> = q.iter().map(|e| e.conversation_id.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), q.len());
}

#[test]
fn queue_evidence_quotes_the_flagged_turns() {
    let turns = read_table(&SAMPLE.dir.path().join("turns.parquet"));
    let ids = strings(&turns, "conversation_id");
    let idx = i32s(&turns, "turn_index");
    let text = strings(&turns, "text");
    let speaker = strings(&turns, "speaker");
    let mut checked = 0;
    for e in &SAMPLE.report.queue {
        for ev in &e.evidence {
            let Some(t) = ev.turn_index else { continue };
            let row = (0..ids.len())
                .find(|&i| {
                    ids[i].as_deref() == Some(&e.conversation_id) && idx[i] == Some(t as i32)
                })
                .unwrap();
            assert_eq!(text[row].as_deref(), Some(ev.text.as_str()));
            assert_eq!(speaker[row], ev.speaker);
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} pieces of evidence");
}

#[test]
fn the_skill_gaps_name_the_weak_agents_and_spare_the_good_ones() {
    let gaps: Vec<(&str, Dimension)> = SAMPLE
        .report
        .skill_gaps
        .iter()
        .filter(|g| g.period == PeriodKind::All)
        .map(|g| (g.agent_id.as_str(), g.dimension))
        .collect();
    // data/README.md: liu is slow, mike and zhao lack empathy and compliance, tom skips the script
    for expected in [
        ("agent_liu", Dimension::Responsiveness),
        ("agent_mike", Dimension::Empathy),
        ("agent_zhao", Dimension::Empathy),
        ("agent_tom", Dimension::Compliance),
    ] {
        assert!(gaps.contains(&expected), "{expected:?} missing from {gaps:?}");
    }
    for good in ["agent_wang", "agent_chen", "agent_sarah", "agent_amy"] {
        assert!(gaps.iter().all(|g| g.0 != good), "{good} has a gap: {gaps:?}");
    }
}

#[test]
fn the_agent_table_has_a_row_per_agent_and_period_and_a_team_row() {
    let a = read_table(&SAMPLE.dir.path().join("agents.parquet"));
    let scope = strings(&a, "scope");
    let period = strings(&a, "period");
    let agent = strings(&a, "agent_id");
    let n = i32s(&a, "conversations");
    let all = |s: &'static str| {
        (0..a.num_rows())
            .filter(|&i| period[i].as_deref() == Some("all") && scope[i].as_deref() == Some(s))
    };
    assert_eq!(all("agent").count(), 10);
    let team: Vec<usize> = all("team").collect();
    assert_eq!(team.len(), 1);
    assert_eq!(agent[team[0]], None);
    assert_eq!(n[team[0]], Some(50));
    assert_eq!(all("agent").map(|i| n[i].unwrap()).sum::<i32>(), 50);
    // weeks: the sample spans two weeks, so a week row can carry a change against the one before
    let deltas = f64s(&a, "delta_qa_mean");
    assert!((0..a.num_rows()).any(|i| period[i].as_deref() == Some("week") && deltas[i].is_some()));
}

#[test]
fn every_report_file_is_written_and_the_csv_matches_the_queue() {
    for f in [
        report::REVIEW_QUEUE_PARQUET,
        report::REVIEW_QUEUE_CSV,
        report::AGENTS,
        report::SKILL_GAPS,
        report::FOLLOW_UPS,
        report::REPORT_HTML,
    ] {
        assert!(SAMPLE.dir.path().join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(SAMPLE.dir.path().join(report::REVIEW_QUEUE_CSV)).unwrap();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), SAMPLE.report.queue.len());
    assert_eq!(&rows[0][1], SAMPLE.report.queue[0].conversation_id);
    assert!(rows[0][9].contains("turn "), "evidence column: {}", &rows[0][9]);
}

#[test]
fn a_folder_without_scores_is_an_input_error_that_says_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    let out = convqa(&["report", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("summary.json") && err.contains("convqa score"), "{err}");
}

/// Issue 20: the whole-store report is streamed; it must be the report of the loaded records.
#[test]
fn the_streamed_report_is_the_report_of_the_loaded_records_issue_20() {
    let streamed = report::build_from_store(SAMPLE.dir.path(), &ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        streamed, SAMPLE.report,
        "help: src/report/stream.rs must fold the records as report::build computes them"
    );
    let opts = ReportOptions {
        queue: report::QueueOptions { per_agent: 0, sample_max: 3, ..Default::default() },
        unknown_customer_ids: vec![],
        repeat_window_days: 2,
        ..Default::default()
    };
    let loaded = report::build(&report::load(SAMPLE.dir.path()).unwrap(), &opts);
    assert_eq!(report::build_from_store(SAMPLE.dir.path(), &opts).unwrap(), loaded);
}

/// Issue 20: on a generated corpus with returning customers, in its order and reversed (each
/// customer's contacts out of time order, so the streamed report keeps every identified contact),
/// the streamed report is the report of the loaded records.
#[test]
fn the_streamed_report_of_returning_customers_in_any_order_is_the_same_issue_20() {
    let input = tempfile::tempdir().unwrap();
    let mut corpus = Vec::new();
    convqa::generate::write_corpus(&convqa::generate::GenerateOptions::new(1500, 3), &mut corpus)
        .unwrap();
    let text = String::from_utf8(corpus).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let forward = input.path().join("forward.jsonl");
    std::fs::write(&forward, lines.join("\n") + "\n").unwrap();
    lines.reverse();
    let reversed = input.path().join("reversed.jsonl");
    std::fs::write(&reversed, lines.join("\n") + "\n").unwrap();
    for file in [forward, reversed] {
        let (dir, _) = score(&[file], 2);
        for days in [7, 1] {
            let opts = ReportOptions { repeat_window_days: days, ..Default::default() };
            let loaded = report::build(&report::load(dir.path()).unwrap(), &opts);
            assert!(loaded.follow_ups.iter().any(|u| u.repeat_contacts > 0));
            assert_eq!(report::build_from_store(dir.path(), &opts).unwrap(), loaded);
        }
    }
}
