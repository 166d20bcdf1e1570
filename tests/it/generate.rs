//! The synthetic corpus (`convqa generate`) against the scorer and the reports: a generated
//! corpus is read without rejects, and the agents' known skill profiles show in
//! `conversations.parquet` and in the skill-gap report the way the truth file says.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use crate::common::*;
use arrow_array::RecordBatch;
use convqa::generate::{GenerateOptions, generate_files, write_corpus};

const SEED: u64 = 20_261_102;
const CONVERSATIONS: u64 = 600;

struct Scored {
    _corpus_dir: tempfile::TempDir,
    _out_dir: tempfile::TempDir,
    out: PathBuf,
    summary: convqa::output::Summary,
    conversations: RecordBatch,
    truth: serde_json::Value,
}

/// 600 conversations over four weeks (Monday 2026-11-02 …), default team of 12, scored without
/// the model.
static SCORED: LazyLock<Scored> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus/synthetic.jsonl");
    let truth = dir.path().join("truth.json");
    let opts = GenerateOptions::new(CONVERSATIONS, SEED);
    let stats = generate_files(&opts, &corpus, Some(&truth)).unwrap();
    assert_eq!(stats.conversations, CONVERSATIONS);
    let (out, summary) = score(&[corpus], 2);
    let conversations = read_table(&out.path().join("conversations.parquet"));
    let truth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    Scored {
        out: out.path().to_path_buf(),
        _corpus_dir: dir,
        _out_dir: out,
        summary,
        conversations,
        truth,
    }
});

/// Per agent: the mean of a subscore column over the conversations where it is not null.
fn means(column: &str, filter: impl Fn(usize) -> bool) -> BTreeMap<String, f64> {
    let c = &SCORED.conversations;
    let agents = strings(c, "agent_id");
    let values = f64s(c, column);
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for i in (0..c.num_rows()).filter(|&i| filter(i)) {
        if let (Some(a), Some(v)) = (&agents[i], values[i]) {
            let e = sums.entry(a.clone()).or_default();
            e.0 += v;
            e.1 += 1;
        }
    }
    sums.into_iter().map(|(a, (s, n))| (a, s / n as f64)).collect()
}

/// A timestamp[µs] column as microseconds since the epoch.
fn timestamps(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;
    let col = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    col.as_primitive::<TimestampMicrosecondType>().iter().collect()
}

fn lowest(m: &BTreeMap<String, f64>) -> &str {
    m.iter().min_by(|a, b| a.1.total_cmp(b.1)).map(|(a, _)| a.as_str()).unwrap()
}

fn median(m: &BTreeMap<String, f64>) -> f64 {
    let mut v: Vec<f64> = m.values().copied().collect();
    v.sort_by(f64::total_cmp);
    (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
}

#[test]
fn a_generated_corpus_is_read_without_rejects() {
    let c = &SCORED.summary.counts;
    assert_eq!(
        (c.read, c.scored, c.rejected),
        (CONVERSATIONS, CONVERSATIONS, 0),
        "help: the generator must write only valid input lines; see {}",
        SCORED.out.join("rejects.jsonl").display()
    );
}

#[test]
fn the_agent_profiles_show_in_the_subscores() {
    let empathy = means("empathy_score", |_| true);
    let resp = means("responsiveness_score", |_| true);
    let compliance = means("compliance_score", |_| true);
    let show =
        format!("empathy {empathy:.0?}\nresponsiveness {resp:.0?}\ncompliance {compliance:.0?}");

    assert_eq!(lowest(&empathy), "syn-cold", "{show}");
    assert!(empathy["syn-cold"] < 30.0, "cold shows no empathy\n{show}");
    assert!(resp["syn-cold"] >= median(&resp) - 5.0, "cold answers as fast as the team\n{show}");
    assert!(compliance["syn-cold"] >= median(&compliance) - 5.0, "{show}");

    assert_eq!(lowest(&resp), "syn-slow", "{show}");
    assert!(resp["syn-slow"] < 60.0, "{show}");

    let mut by_compliance: Vec<(&String, &f64)> = compliance.iter().collect();
    by_compliance.sort_by(|a, b| a.1.total_cmp(b.1));
    let two_lowest: Vec<&str> = by_compliance[..2].iter().map(|e| e.0.as_str()).collect();
    assert!(
        two_lowest.contains(&"syn-rude") && two_lowest.contains(&"syn-scriptless"),
        "rude and scriptless have the lowest compliance\n{show}"
    );
    for a in ["syn-rude", "syn-scriptless"] {
        assert!(compliance[a] <= median(&compliance) - 10.0, "{a}\n{show}");
    }
}

#[test]
fn the_improver_gets_faster_week_over_week() {
    let c = &SCORED.conversations;
    let started = timestamps(c, "started_at");
    let week = |i: usize| {
        let first: i64 =
            "2026-11-02T00:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap().timestamp();
        (started[i].unwrap() / 1_000_000 - first).div_euclid(7 * 86_400)
    };
    let by_week: Vec<f64> =
        (0..4).map(|w| means("responsiveness_score", |i| week(i) == w)["syn-improver"]).collect();
    assert!(
        by_week[3] > by_week[0] + 20.0,
        "improver's responsiveness by week {by_week:.0?}: the last week should beat the first"
    );
}

#[test]
fn the_skill_gap_report_finds_what_the_truth_says() {
    use convqa::report::{PeriodKind, ReportOptions, build, load};
    use convqa::rubric::Dimension;
    let input = load(&SCORED.out).unwrap();
    let report = build(&input, &ReportOptions::default());
    let gaps: Vec<(String, Dimension)> = report
        .skill_gaps
        .iter()
        .filter(|g| g.period == PeriodKind::All)
        .map(|g| (g.agent_id.clone(), g.dimension))
        .collect();
    let show = format!("skill gaps over the whole range: {gaps:?}");
    assert!(gaps.contains(&("syn-cold".into(), Dimension::Empathy)), "{show}");
    assert!(gaps.contains(&("syn-slow".into(), Dimension::Responsiveness)), "{show}");
    let agents = SCORED.truth["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 12);
    for a in agents {
        let id = a["agent_id"].as_str().unwrap();
        let weak: Vec<&str> =
            a["weaknesses"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        let mine: Vec<&str> = gaps.iter().filter(|g| g.0 == id).map(|g| g.1.as_str()).collect();
        for w in &weak {
            assert!(mine.contains(w), "{id}: the truth says {w} is weak; {show}");
        }
        if a["profile"] == "good" {
            assert!(mine.is_empty(), "{id} is a good agent but has gaps {mine:?}");
        }
    }
}

#[test]
fn the_binary_writes_the_library_bytes_and_the_same_bytes_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let path = dir.path().join(name);
        let status = convqa_command(&[
            "generate",
            "--conversations",
            "200",
            "--seed",
            "5",
            "--days",
            "7",
            "--quiet",
            "--out",
        ])
        .arg(&path)
        .status()
        .unwrap();
        assert!(status.success());
        std::fs::read(path).unwrap()
    };
    let a = run("a.jsonl");
    assert_eq!(a, run("b.jsonl"));
    let mut opts = GenerateOptions::new(200, 5);
    opts.days = 7;
    let mut lib = Vec::new();
    write_corpus(&opts, &mut lib).unwrap();
    assert_eq!(a, lib);
}

#[test]
fn the_binary_rejects_unknown_profiles_with_usage_exit_code() {
    let out = convqa_command(&[
        "generate",
        "--conversations",
        "1",
        "--seed",
        "1",
        "--out",
        "-",
        "--agents",
        "good,nice",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown agent profile \"nice\""));
}
