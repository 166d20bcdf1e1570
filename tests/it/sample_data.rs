//! Golden tests on the committed sample conversations (`data/sample`, described conversation by
//! conversation in `data/README.md`): known KPIs, rubric hits and flags of known conversations,
//! and the properties users rely on (bad agents score below good ones, flags cite the right
//! turn, same output for any thread count).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::common::*;
use arrow_array::RecordBatch;

struct Sample {
    _dir: tempfile::TempDir,
    summary: convqa::output::Summary,
    conversations: RecordBatch,
    turns: RecordBatch,
    flags: RecordBatch,
}

static SAMPLE: LazyLock<Sample> = LazyLock::new(|| {
    let (dir, summary) = score(&[data("sample")], 2);
    Sample {
        conversations: read_table(&dir.path().join("conversations.parquet")),
        turns: read_table(&dir.path().join("turns.parquet")),
        flags: read_table(&dir.path().join("flags.parquet")),
        summary,
        _dir: dir,
    }
});

/// Rule ids hit in one turn.
fn turn_hits(conversation_id: &str, turn: i32) -> Vec<String> {
    let t = &SAMPLE.turns;
    let ids = strings(t, "conversation_id");
    let idx = i32s(t, "turn_index");
    let hits = string_lists(t, "rule_hits");
    (0..ids.len())
        .find(|&i| ids[i].as_deref() == Some(conversation_id) && idx[i] == Some(turn))
        .map(|i| hits[i].clone())
        .unwrap_or_else(|| panic!("no turn {turn} of {conversation_id}"))
}

fn has_flag(flags: &[FlagRow], kind: &str, rule: Option<&str>, turn: Option<i32>) -> bool {
    flags.iter().any(|f| f.0 == kind && f.1.as_deref() == rule && f.2 == turn)
}

#[test]
fn every_sample_line_is_scored_and_counts_add_up() {
    let lines: u64 = std::fs::read_dir(data("sample"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|s| s.lines().filter(|l| !l.trim().is_empty()).count() as u64)
        .sum();
    let c = &SAMPLE.summary.counts;
    assert!(lines >= 40, "the sample should hold at least 40 conversations, has {lines}");
    assert_eq!((c.read, c.scored, c.rejected), (lines, lines, 0));
    assert_eq!(SAMPLE.conversations.num_rows() as u64, lines);
    assert_eq!(SAMPLE.turns.num_rows() as u64, c.turns);
    assert_eq!(SAMPLE.flags.num_rows() as u64, c.flags);
    assert_eq!(c.passed + c.failed, c.scored);
}

#[test]
fn good_zh_hans_conversation_has_its_known_kpis_and_hits() {
    let r = row(&SAMPLE.conversations, "zh-hans-001");
    assert_eq!(r.f64("first_response_secs"), Some(67.0), "09:15:10 - 09:14:03");
    assert_eq!(r.i32("sla_breaches"), Some(0));
    assert_eq!(r.str("language").as_deref(), Some("zh-Hans"));
    assert_eq!(r.f64("empathy_score"), Some(100.0));
    assert_eq!(r.f64("compliance_score"), Some(100.0));
    assert_eq!(r.bool("passed"), Some(true));
    assert_eq!(turn_hits("zh-hans-001", 2), ["customer_distress"], "真的很生气");
    assert_eq!(
        turn_hits("zh-hans-001", 3),
        ["greeting", "acknowledge_feelings", "apology", "reassurance"]
    );
    assert!(
        turn_hits("zh-hans-001", 9).contains(&"closing".to_string()),
        "感谢您的耐心，祝您生活愉快"
    );
    let flags = flags_of(&SAMPLE.flags, "zh-hans-001");
    assert!(flags.iter().all(|f| f.0 == "customer_signal"), "only signals, got {flags:?}");
}

#[test]
fn dismissive_english_agent_is_flagged_at_the_right_turns() {
    let r = row(&SAMPLE.conversations, "en-006");
    assert_eq!(r.f64("first_response_secs"), Some(210.0));
    assert_eq!(r.i32("sla_breaches"), Some(1), "turn 7 answers turn 5 after 230 s");
    assert_eq!(r.bool("passed"), Some(false));
    assert_eq!(r.f64("compliance_score"), Some(0.0));
    let signals = r.list("signals");
    for s in ["complaint", "escalation_request", "churn_risk"] {
        assert!(signals.contains(&s.to_string()), "missing signal {s} in {signals:?}");
    }
    let flags = flags_of(&SAMPLE.flags, "en-006");
    let matched: Vec<_> = flags
        .iter()
        .filter(|f| f.0 == "forbidden_phrase" && f.2 == Some(4))
        .map(|f| f.3.clone().unwrap())
        .collect();
    assert_eq!(matched, ["Calm down", "not my problem"]);
    assert!(has_flag(&flags, "slow_reply", None, Some(7)), "{flags:?}");
    assert!(
        has_flag(&flags, "missing_phrase", Some("apology"), Some(3)),
        "apology expected after 'unacceptable' at turn 3: {flags:?}"
    );
    assert!(has_flag(&flags, "missing_phrase", Some("greeting"), Some(2)), "{flags:?}");
}

#[test]
fn traditional_chinese_is_matched_by_the_simplified_rubric() {
    let r = row(&SAMPLE.conversations, "zh-hant-007");
    assert_eq!(r.f64("first_response_secs"), Some(95.0));
    assert_eq!(turn_hits("zh-hant-007", 1), ["customer_distress"], "真的很生氣");
    assert!(
        turn_hits("zh-hant-007", 8).contains(&"closing".to_string()),
        "還有其他需要協助的地方嗎"
    );
    let flags = flags_of(&SAMPLE.flags, "zh-hant-007");
    assert!(has_flag(&flags, "missing_phrase", Some("greeting"), Some(2)), "{flags:?}");
    assert!(has_flag(&flags, "missing_phrase", Some("apology"), Some(1)), "{flags:?}");
    assert_eq!(r.f64("empathy_score"), Some(0.0));
}

#[test]
fn a_negated_phrase_does_not_fire() {
    // 「我不生气，只是想问一下」: no distress, so no empathy was called for.
    let r = row(&SAMPLE.conversations, "zh-hans-003");
    assert!(!r.list("signals").contains(&"customer_distress".to_string()));
    assert_eq!(r.f64("empathy_score"), None);
    let t = &SAMPLE.turns;
    let ids = strings(t, "conversation_id");
    let negated = string_lists(t, "negated_hits");
    let first = ids.iter().position(|id| id.as_deref() == Some("zh-hans-003")).unwrap();
    assert_eq!(negated[first], ["customer_distress"]);
}

#[test]
fn a_closing_thank_you_is_not_an_unanswered_message() {
    // mixed-004 ends with the customer's 「收到了，thanks Kevin!」: nothing is left open.
    let r = row(&SAMPLE.conversations, "mixed-004");
    assert_eq!(r.bool("unanswered_customer"), Some(false));
    assert!(!has_flag(&flags_of(&SAMPLE.flags, "mixed-004"), "unanswered_customer", None, Some(2)));
    // en-011 ends with a customer message nobody answered.
    let r = row(&SAMPLE.conversations, "en-011");
    assert_eq!(r.bool("unanswered_customer"), Some(true));
}

#[test]
fn bad_agents_score_clearly_below_good_agents() {
    let c = &SAMPLE.conversations;
    let mut by_agent: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (agent, score) in strings(c, "agent_id").into_iter().zip(f64s(c, "qa_score")) {
        by_agent.entry(agent.unwrap()).or_default().push(score.unwrap());
    }
    let mean = |a: &str| {
        let v = &by_agent[a];
        v.iter().sum::<f64>() / v.len() as f64
    };
    let good = ["agent_wang", "agent_chen", "agent_sarah", "agent_amy"];
    let bad = ["agent_zhao", "agent_mike", "agent_liu", "agent_lin", "agent_tom"];
    for g in good {
        assert!(mean(g) >= 90.0, "{g} is a good agent but averages {:.1}", mean(g));
        for b in bad {
            assert!(
                mean(b) + 15.0 < mean(g),
                "{b} ({:.1}) is not clearly below {g} ({:.1})",
                mean(b),
                mean(g)
            );
        }
    }
}

#[test]
fn every_flag_cites_the_text_and_speaker_of_its_turn() {
    let (f, t) = (&SAMPLE.flags, &SAMPLE.turns);
    let mut text: BTreeMap<(String, i32), (String, String)> = BTreeMap::new();
    for (((id, i), s), who) in strings(t, "conversation_id")
        .into_iter()
        .zip(i32s(t, "turn_index"))
        .zip(strings(t, "text"))
        .zip(strings(t, "speaker"))
    {
        text.insert((id.unwrap(), i.unwrap()), (s.unwrap(), who.unwrap()));
    }
    let speakers = strings(f, "speaker");
    let ids = strings(f, "conversation_id");
    let turns = i32s(f, "turn_index");
    let evidence = strings(f, "evidence");
    let matched = strings(f, "matched");
    let (start, end) = (i32s(f, "span_start"), i32s(f, "span_end"));
    for i in 0..f.num_rows() {
        let Some(turn) = turns[i] else {
            assert_eq!(speakers[i], None, "flag {i} has a speaker but no turn");
            continue;
        };
        let (original, speaker) = &text[&(ids[i].clone().unwrap(), turn)];
        assert_eq!(speakers[i].as_ref(), Some(speaker), "flag {i}: speaker is not its turn's");
        assert_eq!(
            evidence[i].as_ref(),
            Some(original),
            "flag {i} evidence is not its turn's text"
        );
        if let Some(m) = &matched[i] {
            let span = start[i].unwrap() as usize..end[i].unwrap() as usize;
            assert_eq!(&original[span], m, "flag {i}: span does not slice the matched phrase");
        }
    }
}

#[test]
fn output_is_identical_for_one_and_two_threads() {
    // Small batches, so the two workers really interleave and several row groups are written.
    let (one, _) = score_in_batches(&[data("sample")], 1, 7);
    let (two, _) = score_in_batches(&[data("sample")], 2, 7);
    for file in ["conversations.parquet", "turns.parquet", "flags.parquet", "rejects.jsonl"] {
        let a = std::fs::read(one.path().join(file)).unwrap();
        let b = std::fs::read(two.path().join(file)).unwrap();
        assert!(a == b, "{file} differs between --threads 1 and --threads 2");
    }
}
