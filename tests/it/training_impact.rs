//! Issue 22: `convqa impact` against planted truth. Corpora come from `convqa generate` with a
//! planted training effect or team-wide drift (`generate::plant`), are scored without the model,
//! and measured by the library job behind `convqa impact`; nothing here is a hard-coded result,
//! only the planted points.

use std::path::Path;

use crate::common::*;
use convqa::generate::{AgentSpec, GenerateOptions, Plant, generate_files};
use convqa::impact::{ImpactOptions, Verdict, write_impact};

/// Generates and scores a corpus of `n` conversations of `agents` from `start` over `days`
/// days with `plants`; returns the scored folder.
fn scored(
    seed: u64,
    n: u64,
    start: &str,
    days: u32,
    agents: &str,
    plants: Vec<Plant>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    let mut opts = GenerateOptions::new(n, seed);
    opts.start_date = start.parse().unwrap();
    opts.days = days;
    opts.team = agents.split(',').map(|s| s.parse::<AgentSpec>().unwrap()).collect();
    opts.plants = plants;
    generate_files(&opts, &corpus, None).unwrap();
    let (out, summary) = score(&[corpus], 2);
    assert_eq!(summary.counts.rejected, 0);
    out
}

fn trainings(dir: &Path, rows: &str) -> std::path::PathBuf {
    let path = dir.join("trainings.csv");
    std::fs::write(&path, rows).unwrap();
    path
}

const START: &str = "2026-09-07";
const TRAINED: &str = "2026-10-05"; // day 28 of 63: 28 days before, 28 after from a week on

#[test]
fn a_planted_15_points_on_empathy_is_recovered_within_its_interval() {
    let plant = Plant::parse_training(&format!("syn-uneven-1:empathy:{TRAINED}:15")).unwrap();
    let out = scored(22, 8000, START, 63, "uneven:4", vec![plant]);
    let csv = trainings(
        out.path(),
        &format!("agent_id,skill,date,course\nsyn-uneven-1,empathy,{TRAINED},Empathy 101\n"),
    );
    let run = write_impact(out.path(), &csv, &ImpactOptions::default()).unwrap();
    let r = &run.impact.trainings[0];
    let did = r.did.expect("three untrained agents form the control group");
    assert_eq!(r.control_agents, 3);
    assert!(r.n_before >= 100 && r.n_after >= 100, "{} / {} conversations", r.n_before, r.n_after);
    assert!(
        did.covers(15.0),
        "planted +15, measured {:+.1} [{:+.1}, {:+.1}]; help: if the estimate is near 15 the \
         interval is too narrow, else the plant or the windows are off",
        did.estimate,
        did.low,
        did.high
    );
    assert_eq!(r.verdict, Verdict::Improved, "{did:?}");
    // the table says the same, with the course's pooled row after the training's
    let t = read_table(&out.path().join("training_impact.parquet"));
    assert_eq!(strings(&t, "scope"), [Some("training".into()), Some("course".into())]);
    assert_eq!(strings(&t, "verdict")[0].as_deref(), Some("improved"));
    assert_eq!(f64s(&t, "did_low")[0], Some(did.low));
    assert_eq!(f64s(&t, "effect")[1], Some(did.estimate), "one training: the course is it");
    assert_eq!(std::fs::read_to_string(out.path().join("training_rejects.jsonl")).unwrap(), "");
}

#[test]
fn the_control_group_removes_a_team_wide_drift() {
    // everyone gets 20 points better from the training day; the training itself does nothing
    let drift = Plant::parse_drift(&format!("empathy:{TRAINED}:20")).unwrap();
    let out = scored(23, 8000, START, 63, "uneven:4", vec![drift]);
    let csv = trainings(out.path(), &format!("syn-uneven-1,empathy,{TRAINED}\n"));
    let run = write_impact(out.path(), &csv, &ImpactOptions::default()).unwrap();
    let r = &run.impact.trainings[0];
    let diff = r.difference.unwrap();
    assert!(diff.low > 0.0, "before/after alone credits the drift to the training: {diff:?}");
    let did = r.did.unwrap();
    assert!(did.covers(0.0), "the control group's change should cancel the drift: {did:?}");
    assert!(!did.covers(20.0), "{did:?}");
    assert_eq!(r.verdict.words(), "no measurable change");
}

#[test]
fn without_a_planted_effect_the_interval_covers_0_in_at_least_90_percent_of_seeds() {
    // small corpora: 14 days before the training, 14 after, no gap
    let opts = ImpactOptions {
        before_days: 14,
        after_days: 14,
        gap_days: 0,
        replicates: 1000,
        ..Default::default()
    };
    let seeds = 40u64;
    let mut covered = 0;
    let mut missed = Vec::new();
    for seed in 0..seeds {
        let out = scored(1000 + seed, 1200, "2026-11-02", 28, "uneven:4", Vec::new());
        let csv = trainings(out.path(), "syn-uneven-1,empathy,2026-11-16\n");
        let run = write_impact(out.path(), &csv, &ImpactOptions { seed, ..opts.clone() }).unwrap();
        let r = &run.impact.trainings[0];
        let e = r.effect().unwrap_or_else(|| panic!("seed {seed}: nothing measured: {r:?}"));
        if e.covers(0.0) {
            covered += 1;
        } else {
            missed.push(format!("seed {seed}: {e:?}"));
        }
    }
    let share = covered as f64 / seeds as f64;
    eprintln!("no effect: the interval covered 0 in {covered} of {seeds} seeds");
    assert!(share >= 0.9, "covered 0 in only {covered} of {seeds}: {missed:#?}");
}

#[test]
fn bad_rows_are_counted_and_kept_with_their_reason() {
    let out = scored(5, 300, "2026-11-02", 28, "uneven:2", Vec::new());
    let csv = trainings(
        out.path(),
        "agent_id,skill,date\nsyn-uneven-1,empathy,2026-11-16\nsyn-uneven-1,empathy\n\
         ghost,empathy,2026-11-16\nsyn-uneven-2,kindness,2026-11-16\nsyn-uneven-2,empathy,16.11.2026\n",
    );
    let run = write_impact(out.path(), &csv, &ImpactOptions::default()).unwrap();
    assert_eq!(run.impact.trainings.len(), 1);
    let rejects: Vec<serde_json::Value> =
        std::fs::read_to_string(out.path().join("training_rejects.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let got: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(3, "wrong_field_count"), (4, "unknown_agent"), (5, "unknown_skill"), (6, "invalid_date")]
    );
    // few conversations: a verdict that says so, not a guess
    let r = &run.impact.trainings[0];
    assert!(matches!(r.verdict, Verdict::TooFew { need: 20 }), "{:?}", r.verdict);
}
