use super::*;
use crate::report::test_support::{conv, flag};
use crate::rubric::Dimension;

/// A conversation of `agent` on `day` (November 2026) with an empathy subscore.
fn c(i: usize, agent: &str, day: u32, empathy: Option<f64>) -> ConvRecord {
    let mut r = conv(&format!("c{i}"), agent, 80.0, true);
    r.started_at = format!("2026-11-{day:02}T09:00:00Z").parse().unwrap();
    r.subscores[Dimension::Empathy as usize] = empathy;
    r
}

fn training(agent: &str, skill: Skill, date: &str, course: Option<&str>, line: u64) -> Training {
    Training {
        line,
        agent_id: agent.into(),
        skill,
        date: date.parse().unwrap(),
        course: course.map(Into::into),
    }
}

fn opts() -> ImpactOptions {
    ImpactOptions {
        before_days: 7,
        after_days: 7,
        gap_days: 2,
        min_conversations: 5,
        replicates: 400,
        ..Default::default()
    }
}

/// Agent `a` (trained on the 10th) and controls `b`, `c`: 10 conversations a day-window each,
/// alternating between two values so there is spread.
fn input(a_before: f64, a_after: f64, ctl_before: f64, ctl_after: f64) -> ReportInput {
    let mut convs = Vec::new();
    let mut i = 0;
    for day in [3, 4, 5, 6, 7, 8, 9] {
        for (agent, v) in [("a", a_before), ("b", ctl_before), ("c", ctl_before)] {
            for k in 0..2 {
                convs.push(c(i, agent, day, Some(v + if k == 0 { -10.0 } else { 10.0 })));
                i += 1;
            }
        }
    }
    for day in [12, 13, 14, 15, 16, 17, 18] {
        for (agent, v) in [("a", a_after), ("b", ctl_after), ("c", ctl_after)] {
            for k in 0..2 {
                convs.push(c(i, agent, day, Some(v + if k == 0 { -10.0 } else { 10.0 })));
                i += 1;
            }
        }
    }
    // outside both windows (the gap days, and long before): ignored
    convs.push(c(i, "a", 11, Some(0.0)));
    convs.push(c(i + 1, "a", 1, Some(0.0)));
    // not judged: ignored
    convs.push(c(i + 2, "a", 13, None));
    ReportInput { conversations: convs, ..Default::default() }
}

#[test]
fn windows_counts_and_the_difference_in_differences() {
    let data = input(40.0, 70.0, 50.0, 60.0);
    let t = training("a", Skill::Dimension(Dimension::Empathy), "2026-11-10", None, 2);
    let r = &measure(&data, std::slice::from_ref(&t), &opts()).trainings[0];
    assert_eq!(
        (r.before.first.to_string(), r.before.last.to_string()),
        ("2026-11-03".into(), "2026-11-09".into())
    );
    assert_eq!(
        (r.after.first.to_string(), r.after.last.to_string()),
        ("2026-11-12".into(), "2026-11-18".into())
    );
    assert_eq!((r.n_before, r.n_after), (14, 14));
    assert_eq!((r.mean_before, r.mean_after), (Some(40.0), Some(70.0)));
    assert_eq!(r.control_agents, 2);
    assert_eq!((r.control_n_before, r.control_n_after), (28, 28));
    assert_eq!(r.control_difference, Some(10.0));
    let did = r.did.unwrap();
    assert!((did.estimate - 20.0).abs() < 1e-9, "{did:?}");
    assert!(did.low > 0.0 && did.high > did.estimate, "{did:?}");
    assert_eq!(r.verdict, Verdict::Improved);
    assert_eq!(r.verdict.words(), "improved");
}

#[test]
fn a_team_wide_change_is_no_training_effect() {
    let data = input(50.0, 60.0, 50.0, 60.0);
    let t = training("a", Skill::Dimension(Dimension::Empathy), "2026-11-10", None, 2);
    let r = &measure(&data, &[t], &opts()).trainings[0];
    assert!(r.difference.unwrap().low > 0.0, "the raw change alone looks like an improvement");
    assert!(r.did.unwrap().covers(0.0));
    assert_eq!(r.verdict.words(), "no measurable change");
    assert_eq!(r.no_control_note(), "");
}

#[test]
fn without_controls_the_plain_change_is_judged_and_said_so() {
    let mut data = input(40.0, 70.0, 50.0, 60.0);
    data.conversations.retain(|c| &*c.agent_id == "a");
    let t = training("a", Skill::Dimension(Dimension::Empathy), "2026-11-10", None, 2);
    let m = measure(&data, &[t], &opts());
    let r = &m.trainings[0];
    assert_eq!((r.control_agents, r.did), (0, None));
    assert_eq!(r.effect(), r.difference);
    assert_eq!(r.verdict, Verdict::Improved);
    assert!(render_text(&m).contains("(no control group)"), "{}", render_text(&m));
}

#[test]
fn too_few_conversations_names_the_need() {
    let data = input(40.0, 70.0, 50.0, 60.0);
    let t = training("a", Skill::Dimension(Dimension::Empathy), "2026-11-10", None, 2);
    let o = ImpactOptions { min_conversations: 15, ..opts() };
    let r = &measure(&data, &[t], &o).trainings[0];
    assert_eq!(r.verdict, Verdict::TooFew { need: 15 });
    assert_eq!(r.verdict.words(), "too few conversations: need 15");
    assert!(r.difference.is_some(), "the numbers are still shown");
}

#[test]
fn trained_agents_are_no_controls_and_courses_pool() {
    let data = input(40.0, 70.0, 50.0, 60.0);
    let ts = [
        training("a", Skill::Dimension(Dimension::Empathy), "2026-11-10", Some("Empathy 101"), 2),
        training("b", Skill::Dimension(Dimension::Empathy), "2026-11-10", Some("Empathy 101"), 3),
    ];
    let m = measure(&data, &ts, &opts());
    assert_eq!(m.trainings[0].control_agents, 1, "b is trained too: only c controls");
    assert_eq!(m.trainings[1].control_agents, 1);
    let course = &m.courses[0];
    assert_eq!((course.course.as_str(), course.trainings, course.pooled), ("Empathy 101", 2, 2));
    let e = course.effect.unwrap();
    let mean = (m.trainings[0].effect().unwrap().estimate
        + m.trainings[1].effect().unwrap().estimate)
        / 2.0;
    assert!((e.estimate - mean).abs() < 1e-9);
    assert!(e.covers(e.estimate));
}

#[test]
fn a_rule_skill_scores_flagged_conversations_0() {
    let mut data = input(50.0, 50.0, 50.0, 50.0);
    // a's before-window conversations (the first 2 of each day's 6) all have an apology flag
    for (i, cv) in data.conversations.iter().enumerate() {
        if &*cv.agent_id == "a" && cv.started_at.date_naive() < "2026-11-10".parse().unwrap() {
            data.flags.push(flag(
                i,
                "missing_phrase",
                "empathy",
                "minor",
                Some("apology"),
                Some(1),
            ));
        }
    }
    let t = training("a", Skill::Rule("apology".into()), "2026-11-10", None, 2);
    let r = &measure(&data, &[t], &opts()).trainings[0];
    assert_eq!((r.mean_before, r.mean_after), (Some(0.0), Some(100.0)));
    assert_eq!(r.control_difference, Some(0.0));
    assert_eq!(r.verdict, Verdict::Improved);
}

#[test]
fn the_same_seed_gives_the_same_interval() {
    let data = input(40.0, 70.0, 50.0, 60.0);
    let t = training("a", Skill::Dimension(Dimension::Empathy), "2026-11-10", None, 2);
    let a = measure(&data, std::slice::from_ref(&t), &opts());
    let b = measure(&data, std::slice::from_ref(&t), &opts());
    assert_eq!(a.trainings[0].did, b.trainings[0].did);
}

#[test]
fn unknown_agents_are_rejects() {
    let data = input(40.0, 70.0, 50.0, 60.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "a,empathy,2026-11-10\nzz,empathy,2026-11-10\na,apology,2026-11-10\n")
        .unwrap();
    let (ok, rejects) = read_trainings(&path, &data).unwrap();
    assert_eq!(ok.len(), 1);
    let got: Vec<(u64, &str)> = rejects.iter().map(|r| (r.line, r.code)).collect();
    assert_eq!(got, [(2, "unknown_agent"), (3, "unknown_skill")]);
}
