//! Issue 22: coaching sheets and the new commands' exit codes, on a generated corpus whose agents'
//! weaknesses are known (`cold` never shows empathy), through the library job and the real
//! binary.

use std::path::Path;
use std::sync::LazyLock;

use crate::common::*;
use convqa::coach::{CoachOptions, write_sheets};
use convqa::generate::{AgentSpec, GenerateOptions, generate_files};
use convqa::rubric::Dimension;

struct Scored {
    _dir: tempfile::TempDir,
    out: tempfile::TempDir,
}

/// 1,500 conversations in October and November 2026: good:3, average, cold, rude.
static SCORED: LazyLock<Scored> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    let mut opts = GenerateOptions::new(1500, 21);
    opts.start_date = "2026-10-05".parse().unwrap();
    opts.days = 56;
    opts.team = ["good:3", "average", "cold", "rude"]
        .iter()
        .map(|s| s.parse::<AgentSpec>().unwrap())
        .collect();
    generate_files(&opts, &corpus, None).unwrap();
    let (out, _) = score(&[corpus], 2);
    Scored { _dir: dir, out }
});

/// The tests share one scored folder and run in parallel: each waits for the folder's lock.
const WAIT: Option<std::time::Duration> = Some(std::time::Duration::from_secs(120));

/// Runs `convqa`, waiting for the shared folder's lock.
fn convqa_waiting(args: &[&str]) -> std::process::Output {
    convqa_command(args).args(["--wait-lock", "120"]).output().unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_cold_agents_sheet_is_about_empathy_with_flagged_examples_and_one_done_well() {
    let out = SCORED.out.path();
    let opts = CoachOptions { agent: Some("syn-cold".into()), month: None, wait_lock: WAIT };
    let (sheets, written) = write_sheets(out, &opts).unwrap();
    let s = &sheets[0];
    assert_eq!(s.month.to_string(), "2026-11-01");
    let w = &s.weakest[0];
    assert_eq!(w.dimension, Dimension::Empathy, "cold agents never show empathy");
    assert!(w.agent_mean < w.team_mean - 30.0, "{} vs team {}", w.agent_mean, w.team_mean);
    assert_eq!(w.to_discuss.len(), 2);
    for e in &w.to_discuss {
        assert!(e.why.contains("missing"), "{}", e.why);
        let focus: Vec<_> = e.turns.iter().filter(|t| t.focus).collect();
        assert_eq!(focus.len(), 1, "the flagged turn is marked: {:?}", e.turns);
        assert!(e.turns.len() >= 2, "with context: {:?}", e.turns);
    }
    assert_ne!(w.to_discuss[0].conversation_id, w.to_discuss[1].conversation_id);
    // every quoted turn is the stored text of that conversation's turn
    let turns = read_table(&out.join("turns.parquet"));
    let (ids, idx, text) =
        (strings(&turns, "conversation_id"), i32s(&turns, "turn_index"), strings(&turns, "text"));
    for t in &w.to_discuss[0].turns {
        let row = (0..turns.num_rows())
            .find(|&r| {
                ids[r].as_deref() == Some(&w.to_discuss[0].conversation_id)
                    && idx[r] == Some(t.index as i32)
            })
            .unwrap();
        assert_eq!(text[row].as_deref(), Some(t.text.as_str()));
    }
    let names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["syn-cold_2026-11.html", "syn-cold_2026-11.md"]);
    let md = std::fs::read_to_string(out.join("coaching/syn-cold_2026-11.md")).unwrap();
    assert!(md.starts_with("# Coaching sheet: syn-cold, 2026-11\n"), "{md}");
    assert!(md.contains("## empathy: 0.0 against the team's"), "{md}");
    assert!(md.contains("## Since last month"));
}

#[test]
fn the_rude_agents_weakest_is_compliance() {
    let out = SCORED.out.path();
    let opts = CoachOptions { agent: Some("syn-rude".into()), month: None, wait_lock: WAIT };
    let (sheets, _) = write_sheets(out, &opts).unwrap();
    assert_eq!(sheets[0].weakest[0].dimension, Dimension::Compliance);
    assert!(sheets[0].weakest[0].to_discuss.iter().all(|e| !e.turns.is_empty()));
}

#[test]
fn coach_and_impact_exit_codes() {
    let out = SCORED.out.path();
    let all = convqa_waiting(&["coach", path(out), "--all", "--month", "2026-10"]);
    assert!(all.status.success(), "{}", String::from_utf8_lossy(&all.stderr));
    assert!(out.join("coaching/syn-good-1_2026-10.md").is_file());
    // unknown agent, bad month: 2 (arguments); no such folder: 3
    let o = convqa_waiting(&["coach", path(out), "--agent", "nobody"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("syn-cold"), "names the known agents");
    assert_eq!(
        convqa_waiting(&["coach", path(out), "--agent", "syn-cold", "--month", "11/2026"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(convqa_waiting(&["coach", path(out)]).status.code(), Some(2), "--agent or --all");
    let missing = out.join("no-such-folder");
    assert_eq!(convqa_waiting(&["coach", path(&missing), "--all"]).status.code(), Some(3));
    // impact: bad rows are rejects (exit 0); a missing trainings file is 3
    let csv = out.join("trainings.csv");
    std::fs::write(&csv, "syn-cold,empathy,2026-11-02\nsyn-cold,empathy,yesterday\n").unwrap();
    let o = convqa_waiting(&["impact", path(out), "--trainings", path(&csv)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.starts_with("syn-cold empathy 2026-11-02: "), "{stdout}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("rejected 1 rows"));
    assert!(out.join("training_impact.parquet").is_file());
    let o = convqa_waiting(&["impact", path(out), "--trainings", path(&out.join("none.csv"))]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("none.csv"));
}
