//! The review queue: which conversations a QA reviewer should read first, and why.
//!
//! Priority points per conversation (documented in the README):
//!
//! | finding | points |
//! |---|---|
//! | a critical flag (e.g. an insult: automatic fail) | 100 each |
//! | failed (qa_score below the pass threshold) | 40 |
//! | the model read an agent turn as impolite (`impolite_turn`) | 30 each |
//! | another major flag / minor forbidden phrase | 20 / 10 each |
//! | the customer ended negative (`customer_ends_negative`) | 20 |
//! | the customer was left unanswered | 15 |
//! | complaint, churn risk or escalation request from the customer | 10 each |
//! | a model score within 0.05 of its flag threshold (borderline: a person should judge) | 10 |
//! | each reply over its time limit | 5 each, at most 20 |
//! | plus `(100 − qa_score) / 10` so that, among equals, the lower score comes first | |
//!
//! Conversations with at least one finding are ranked by priority (then lower qa_score, then id)
//! and the first `top_n` are taken, at most `per_agent` per agent. Then a random sample of the
//! passed conversations not already queued is added for calibration (QA teams audit passes too):
//! a conversation is sampled when a hash of its id and the seed falls below `sample_percent`, so
//! the sample is the same on every re-run and does not depend on input order; of those, at most
//! `sample_max`, the ones with the lowest hash.

use std::collections::HashMap;

use super::{ConvRecord, Evidence, FlagRecord, QueueEntry, QueueOptions, ReportInput};

/// Signals worth a reviewer's attention.
const ATTENTION_SIGNALS: [&str; 3] = ["complaint", "churn_risk", "escalation_request"];
const BORDERLINE: f64 = 0.05;
const MAX_EVIDENCE: usize = 5;

struct Candidate {
    conv: usize,
    priority: f64,
    reasons: Vec<String>,
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 3,
        "major" => 2,
        "minor" => 1,
        _ => 0,
    }
}

fn rule_name(f: &FlagRecord) -> &str {
    f.rule_id.as_deref().unwrap_or(&f.flag)
}

fn at_turn(f: &FlagRecord) -> String {
    f.turn_index.map(|t| format!(" at turn {t}")).unwrap_or_default()
}

fn candidate(input: &ReportInput, conv: usize, flags: &[&FlagRecord]) -> Candidate {
    let (priority, reasons) = findings(
        &input.conversations[conv],
        flags,
        input.pass_threshold,
        input.model_thresholds.as_ref(),
    );
    Candidate { conv, priority, reasons }
}

/// A conversation's priority points and reasons (none: not a candidate), from it and its flags.
pub(super) fn findings(
    c: &ConvRecord,
    flags: &[&FlagRecord],
    pass_threshold: f64,
    model_thresholds: Option<&crate::model::Thresholds>,
) -> (f64, Vec<String>) {
    let mut priority = 0.0;
    let mut reasons = Vec::new();
    // One reason (and its points) per finding: a phrase said twice in a turn is one finding.
    let mut add = |points: f64, reason: String| {
        if !reasons.contains(&reason) {
            priority += points;
            reasons.push(reason);
        }
    };
    for f in flags.iter().filter(|f| &*f.severity == "critical") {
        add(100.0, format!("critical: {}{} — {}", rule_name(f), at_turn(f), f.detail));
    }
    if !c.passed {
        add(40.0, format!("failed: qa_score {:.1} (pass {:.0})", c.qa_score, pass_threshold));
    }
    for f in flags.iter().filter(|f| &*f.severity != "critical") {
        let points = match (f.flag.as_ref(), f.severity.as_ref()) {
            ("impolite_turn", _) => 30.0,
            ("customer_ends_negative", _) => 20.0,
            ("unanswered_customer", _) => 15.0,
            ("forbidden_phrase", "minor") => 10.0,
            (_, "major") => 20.0,
            _ => continue,
        };
        add(points, format!("{}{} — {}", rule_name(f), at_turn(f), f.detail));
    }
    for s in c.signals.iter().map(|s| &**s).filter(|s| ATTENTION_SIGNALS.contains(s)) {
        add(10.0, format!("customer signal: {s}"));
    }
    if let Some(t) = model_thresholds {
        let near = |v: Option<f64>, cut: f64| v.is_some_and(|v| (v - cut).abs() <= BORDERLINE);
        if near(c.politeness_min, t.impolite_below) || near(c.sentiment_end, t.negative_below) {
            add(10.0, "borderline model score: a person should judge it".into());
        }
    }
    if c.sla_breaches > 0 {
        add(
            (5.0 * c.sla_breaches as f64).min(20.0),
            match c.sla_breaches {
                1 => "1 reply over the time limit".to_string(),
                n => format!("{n} replies over the time limit"),
            },
        );
    }
    if !reasons.is_empty() {
        priority += (100.0 - c.qa_score) / 10.0;
    }
    (priority, reasons)
}

/// Evidence for a queued conversation: its flags that point at a turn, worst first.
pub(super) fn evidence(flags: &[&FlagRecord]) -> Vec<Evidence> {
    let mut with_turn: Vec<&&FlagRecord> = flags
        .iter()
        .filter(|f| {
            f.turn_index.is_some() && &*f.dimension != "signal" || &*f.severity == "critical"
        })
        .collect();
    with_turn.sort_by_key(|f| (std::cmp::Reverse(severity_rank(&f.severity)), f.turn_index));
    with_turn.dedup_by(|a, b| a.turn_index == b.turn_index && a.detail == b.detail);
    with_turn
        .into_iter()
        .take(MAX_EVIDENCE)
        .map(|f| Evidence {
            turn_index: f.turn_index,
            speaker: f.speaker.as_deref().map(str::to_string),
            text: f.evidence.clone(),
            why: f.detail.clone(),
        })
        .collect()
}

/// FNV-1a of the seed and the conversation id, finished with the SplitMix64 mixer (FNV alone
/// leaves similar ids close together), mapped to [0, 100).
pub(super) fn sample_point(seed: u64, id: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes().iter().chain(id.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64 * 100.0
}

pub fn review_queue(input: &ReportInput, opts: &QueueOptions) -> Vec<QueueEntry> {
    let mut by_conv: HashMap<usize, Vec<&FlagRecord>> = HashMap::new();
    for f in &input.flags {
        by_conv.entry(f.conv).or_default().push(f);
    }
    let no_flags = Vec::new();
    let flags_of = |i: usize| by_conv.get(&i).unwrap_or(&no_flags);
    let mut candidates: Vec<Candidate> = (0..input.conversations.len())
        .map(|i| candidate(input, i, flags_of(i)))
        .filter(|c| !c.reasons.is_empty())
        .collect();
    let convs = &input.conversations;
    candidates.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(convs[a.conv].qa_score.total_cmp(&convs[b.conv].qa_score))
            .then(convs[a.conv].conversation_id.cmp(&convs[b.conv].conversation_id))
    });
    let mut per_agent: HashMap<&str, usize> = HashMap::new();
    let mut chosen = Vec::new();
    for c in candidates {
        if chosen.len() == opts.top_n {
            break;
        }
        let n = per_agent.entry(convs[c.conv].agent_id.as_ref()).or_default();
        if opts.per_agent > 0 && *n >= opts.per_agent {
            continue;
        }
        *n += 1;
        chosen.push((c, "priority"));
    }
    let queued: std::collections::HashSet<usize> = chosen.iter().map(|(c, _)| c.conv).collect();
    let mut points: Vec<(f64, usize)> = convs
        .iter()
        .enumerate()
        .filter(|(i, c)| c.passed && !queued.contains(i))
        .map(|(i, c)| (sample_point(opts.seed, &c.conversation_id), i))
        .filter(|(p, _)| *p < opts.sample_percent)
        .collect();
    if opts.sample_max > 0 && points.len() > opts.sample_max {
        let by_point = |a: &(f64, usize), b: &(f64, usize)| {
            a.0.total_cmp(&b.0).then(convs[a.1].conversation_id.cmp(&convs[b.1].conversation_id))
        };
        points.select_nth_unstable_by(opts.sample_max, by_point);
        points.truncate(opts.sample_max);
    }
    let mut sample: Vec<Candidate> = points
        .into_iter()
        .map(|(_, i)| Candidate {
            conv: i,
            priority: 0.0,
            reasons: vec!["random sample of passed conversations (calibration audit)".into()],
        })
        .collect();
    sample.sort_by(|a, b| convs[a.conv].conversation_id.cmp(&convs[b.conv].conversation_id));
    chosen.extend(sample.into_iter().map(|c| (c, "sample")));
    chosen
        .into_iter()
        .enumerate()
        .map(|(rank, (c, selection))| {
            let conv = &convs[c.conv];
            QueueEntry {
                rank: rank + 1,
                conversation_id: conv.conversation_id.clone(),
                agent_id: conv.agent_id.to_string(),
                language: conv.language.to_string(),
                started_at: conv.started_at,
                qa_score: conv.qa_score,
                passed: conv.passed,
                priority: crate::score::round1(c.priority),
                selection,
                reasons: c.reasons,
                evidence: evidence(flags_of(c.conv)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::{conv, flag};

    #[test]
    fn the_worst_conversation_comes_first_with_its_reasons_and_evidence() {
        let mut input = ReportInput { pass_threshold: 70.0, ..Default::default() };
        input.conversations = vec![
            conv("ok", "a1", 95.0, true),
            conv("slow", "a1", 72.0, true),
            conv("rude", "a2", 40.0, false),
        ];
        input.conversations[1].sla_breaches = 2;
        input.flags = vec![
            flag(1, "slow_reply", "responsiveness", "minor", None, Some(3)),
            flag(2, "forbidden_phrase", "compliance", "critical", Some("rude"), Some(4)),
        ];
        let q = review_queue(&input, &QueueOptions { sample_percent: 0.0, ..Default::default() });
        let ids: Vec<&str> = q.iter().map(|e| e.conversation_id.as_str()).collect();
        assert_eq!(ids, ["rude", "slow"]);
        assert_eq!(q[0].rank, 1);
        assert!(q[0].reasons[0].starts_with("critical: rude at turn 4"), "{:?}", q[0].reasons);
        assert!(q[0].reasons[1].starts_with("failed: qa_score 40.0"), "{:?}", q[0].reasons);
        assert_eq!(q[0].evidence[0].turn_index, Some(4));
        assert_eq!(q[0].evidence[0].text, "text of turn 4");
        assert_eq!(q[1].reasons, ["2 replies over the time limit"]);
    }

    #[test]
    fn per_agent_quota_and_top_n_bound_the_queue() {
        let mut input = ReportInput { pass_threshold: 70.0, ..Default::default() };
        input.conversations = (0..6)
            .map(|i| conv(&format!("c{i}"), if i < 5 { "bad" } else { "b" }, 10.0, false))
            .collect();
        let opts =
            QueueOptions { top_n: 3, per_agent: 2, sample_percent: 0.0, sample_max: 50, seed: 0 };
        let q = review_queue(&input, &opts);
        let agents: Vec<&str> = q.iter().map(|e| e.agent_id.as_str()).collect();
        assert_eq!(agents, ["bad", "bad", "b"]);
    }

    #[test]
    fn the_calibration_sample_is_stable_and_about_the_asked_share() {
        let mut input = ReportInput { pass_threshold: 70.0, ..Default::default() };
        input.conversations = (0..2000).map(|i| conv(&format!("c{i}"), "a", 90.0, true)).collect();
        let opts =
            QueueOptions { sample_percent: 10.0, seed: 7, sample_max: 0, ..Default::default() };
        let q = review_queue(&input, &opts);
        assert!((150..=250).contains(&q.len()), "{} sampled of 2000 at 10 %", q.len());
        assert!(q.iter().all(|e| e.selection == "sample" && e.passed));
        // the same ids whatever the input order
        input.conversations.reverse();
        let again: Vec<String> =
            review_queue(&input, &opts).into_iter().map(|e| e.conversation_id).collect();
        let first: Vec<String> = q.into_iter().map(|e| e.conversation_id).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn the_calibration_sample_is_capped_by_the_lowest_sample_hash() {
        let mut input = ReportInput { pass_threshold: 70.0, ..Default::default() };
        input.conversations = (0..2000).map(|i| conv(&format!("c{i}"), "a", 90.0, true)).collect();
        let ids = |input: &ReportInput, max: usize| -> Vec<String> {
            let opts = QueueOptions {
                sample_percent: 10.0,
                seed: 7,
                sample_max: max,
                ..Default::default()
            };
            review_queue(input, &opts).into_iter().map(|e| e.conversation_id).collect()
        };
        let (all, capped) = (ids(&input, 0), ids(&input, 20));
        assert!(all.len() > 100);
        assert_eq!(capped.len(), 20);
        // the capped sample is the part of the full one with the lowest hashes, in id order
        let mut lowest = all.clone();
        lowest.sort_by(|a, b| sample_point(7, a).total_cmp(&sample_point(7, b)));
        lowest.truncate(20);
        lowest.sort();
        assert_eq!(capped, lowest);
        // and it is the same whatever the input order
        input.conversations.reverse();
        assert_eq!(ids(&input, 20), capped);
    }
}
