use super::*;
use crate::report::test_support::{conv, flag};

/// Agents `a` (weak in empathy) and `b`, `c`, `d` (good) in October and November 2026.
fn input() -> ReportInput {
    let mut convs = Vec::new();
    let mut flags = Vec::new();
    for (month, day) in [(10, 5), (11, 9)] {
        for agent in ["a", "b", "c", "d"] {
            for k in 0..4 {
                let i = convs.len();
                let mut c = conv(&format!("{agent}-{month}-{k}"), agent, 80.0, true);
                c.started_at = format!("2026-{month:02}-{:02}T09:00:00Z", day + k).parse().unwrap();
                let weak = agent == "a" && k < 3;
                let empathy = if weak { [0.0, 35.0, 65.0][k] } else { 100.0 };
                c.subscores[Dimension::Empathy as usize] = Some(empathy);
                c.subscores[Dimension::Compliance as usize] =
                    Some(if agent == "a" { 90.0 } else { 100.0 });
                c.subscores[Dimension::Responsiveness as usize] = Some(100.0);
                convs.push(c);
                if weak {
                    flags.push(flag(
                        i,
                        "missing_phrase",
                        "empathy",
                        "minor",
                        Some("apology"),
                        Some(1),
                    ));
                }
            }
        }
    }
    // one major flag in a's 65-point conversation: the clearest example despite its score
    flags.push(flag(2 + 16, "forbidden_phrase", "empathy", "major", Some("blame"), Some(3)));
    ReportInput { conversations: convs, flags, ..Default::default() }
}

fn sheets_of(opts: &CoachOptions) -> Result<Vec<Sheet>, CoachError> {
    let input = input();
    let report = crate::report::build(&input, &ReportOptions::default());
    sheets(&input, &report, opts, &mut |ids| {
        let mut t = turns::Turns::new();
        for id in ids {
            let turn = |i: u32, sp: &str, hits: &[&str]| turns::StoredTurn {
                index: i,
                speaker: sp.into(),
                text: format!("{id} turn {i} <b>"),
                rule_hits: hits.iter().map(|h| h.to_string()).collect(),
            };
            t.insert(
                id.clone(),
                vec![
                    turn(0, "customer", &[]),
                    turn(1, "customer", &[]),
                    turn(2, "agent", &["apology"]),
                    turn(3, "agent", &[]),
                    turn(4, "customer", &[]),
                ],
            );
        }
        Ok(t)
    })
}

#[test]
fn the_weakest_dimensions_with_examples_to_discuss_and_one_done_well() {
    let s = &sheets_of(&CoachOptions { agent: Some("a".into()), month: None, wait_lock: None })
        .unwrap()[0];
    assert_eq!(s.month.to_string(), "2026-11-01", "the newest month by default");
    assert_eq!(s.conversations, 4);
    let dims: Vec<Dimension> = s.weakest.iter().map(|w| w.dimension).collect();
    assert_eq!(dims, [Dimension::Empathy, Dimension::Compliance], "below the team only");
    let e = &s.weakest[0];
    assert_eq!(e.agent_mean, 50.0);
    let ids: Vec<&str> = e.to_discuss.iter().map(|x| x.conversation_id.as_str()).collect();
    assert_eq!(ids, ["a-11-2", "a-11-0"], "the major flag first, then the lowest score");
    // the flagged turn with the one before and two after
    let shown: Vec<(u32, bool)> =
        e.to_discuss[0].turns.iter().map(|t| (t.index, t.focus)).collect();
    assert_eq!(shown, [(2, false), (3, true), (4, false)]);
    assert!(e.to_discuss[0].why.contains("forbidden_phrase"));
    let good = e.done_well.as_ref().unwrap();
    assert_eq!((good.conversation_id.as_str(), good.score), ("a-11-3", Some(100.0)));
    assert!(good.turns.iter().any(|t| t.focus && t.index == 2), "the apology turn is shown");
    // compliance: no flags, but still one done well
    assert!(s.weakest[1].to_discuss.is_empty());
    let change = s.changes.iter().find(|c| c.dimension == Dimension::Empathy).unwrap();
    assert_eq!(change.delta, Some(0.0));
}

#[test]
fn all_agents_and_unknown_ones() {
    let all = sheets_of(&CoachOptions {
        agent: None,
        month: Some(parse_month("2026-10").unwrap()),
        wait_lock: None,
    })
    .unwrap();
    assert_eq!(all.iter().map(|s| s.agent_id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    assert!(all.iter().all(|s| s.month.to_string() == "2026-10-01"));
    let e = sheets_of(&CoachOptions { agent: Some("zz".into()), month: None, wait_lock: None })
        .unwrap_err();
    assert!(matches!(e, CoachError::UnknownAgent { .. }) && e.exit_code() == 2, "{e}");
    let e = sheets_of(&CoachOptions {
        agent: Some("a".into()),
        month: Some(parse_month("2025-01").unwrap()),
        wait_lock: None,
    })
    .unwrap_err();
    assert!(e.to_string().contains("2026-10, 2026-11"), "{e}");
    assert!(parse_month("11/2026").is_err());
}

#[test]
fn data_is_escaped_in_html_and_markdown() {
    let mut s = sheets_of(&CoachOptions { agent: Some("a".into()), month: None, wait_lock: None })
        .unwrap()
        .remove(0);
    s.agent_id = "<script>alert(1)</script>".into();
    let h = html(&s);
    assert!(!h.contains("<script>") && h.contains("&lt;script&gt;"));
    assert!(!h.contains("<b>"), "transcript markup shows as text");
    let m = markdown(&s);
    assert!(!m.contains("<script>") && !m.contains("<b>"), "{m}");
    assert_eq!(md_escape("[x](http://e) *y* | z<"), "\\[x\\](http://e) \\*y\\* \\| z&lt;");
    assert_eq!(file_stem(&s), "_script_alert_1___script__2026-11");
}

#[test]
fn a_killed_coach_runs_temporary_sheets_are_found_for_removal() {
    let dir = tempfile::tempdir().unwrap();
    let sheets = dir.path().join(COACHING_DIR);
    std::fs::create_dir(&sheets).unwrap();
    std::fs::write(sheets.join(".a_2026-11.md.abc123.tmp"), "half").unwrap();
    let found = crate::output::commit::stale_temps(dir.path()).unwrap();
    assert_eq!(found, [sheets.join(".a_2026-11.md.abc123.tmp")]);
}
