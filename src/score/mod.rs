//! Scoring: rule outcomes and timing KPIs → dimension subscores (0–100), the weighted
//! `qa_score`, pass/fail and flags, each flag with its evidence (turn index and text).
//!
//! Formulas (also in the README):
//! - empathy / compliance: `100 × (weight of applicable required rules met) / (weight of
//!   applicable required rules)`, or 100 when none applied, minus each forbidden hit's weight,
//!   clamped to 0–100; null when the dimension had nothing to judge (no applicable required rule
//!   and no forbidden rule in it).
//! - responsiveness: the weighted mean of per-reply credit (1 within the limit, falling linearly
//!   to 0 at twice the limit; the first reply weighs `first_response_weight`), an unanswered final
//!   customer message counting as a reply with credit 0; null with no customer turn, or when no
//!   reply was due (the customer only said a closing thank-you).
//! - qa_score: the weighted mean of the non-null subscores; `passed` when it reaches the rubric's
//!   `pass_threshold` and no flag is critical.

mod model;

use chrono::{DateTime, Utc};

pub use model::ModelScores;

use crate::conversation::{Channel, Conversation, Speaker};
use crate::model::{Thresholds, TurnModelOutput};
use crate::rubric::{Dimension, HitSource, Rubric, RuleKind, RuleOutcome, Severity};
use crate::segment::language::Language;
use crate::timing::{Reply, TimingKpis};

/// What a flag is about. `as_str` is the `flag` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagKind {
    MissingPhrase,
    ForbiddenPhrase,
    CustomerSignal,
    SlowFirstResponse,
    SlowReply,
    UnansweredCustomer,
    TimestampsOutOfOrder,
    ImpoliteTurn,
    CustomerEndsNegative,
    SentimentDropped,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::MissingPhrase => "missing_phrase",
            FlagKind::ForbiddenPhrase => "forbidden_phrase",
            FlagKind::CustomerSignal => "customer_signal",
            FlagKind::SlowFirstResponse => "slow_first_response",
            FlagKind::SlowReply => "slow_reply",
            FlagKind::UnansweredCustomer => "unanswered_customer",
            FlagKind::TimestampsOutOfOrder => "timestamps_out_of_order",
            FlagKind::ImpoliteTurn => "impolite_turn",
            FlagKind::CustomerEndsNegative => "customer_ends_negative",
            FlagKind::SentimentDropped => "sentiment_dropped",
        }
    }
}

/// One finding a QA reviewer can check: what, how bad, and where (turn and exact span).
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub kind: FlagKind,
    /// `responsiveness`, `empathy`, `compliance`, `signal` or `data`.
    pub dimension: &'static str,
    pub severity: Severity,
    pub rule_id: Option<String>,
    pub turn_index: Option<u32>,
    /// Who wrote the flagged turn (`None` when no turn applies).
    pub speaker: Option<Speaker>,
    /// The flagged turn's original text (empty when no turn applies).
    pub evidence: String,
    /// The matched phrase as written in the turn, and its byte span there.
    pub matched: Option<String>,
    pub span: Option<(u32, u32)>,
    /// For a rule's flag: which detector found it (`phrase`, `model`, `examples`), and the
    /// model's probability or the nearest example's similarity.
    pub detector: Option<&'static str>,
    pub detector_score: Option<f64>,
    /// The reason in plain words.
    pub detail: String,
}

/// Per-turn results (one row of `turns.parquet`).
#[derive(Debug, Clone, PartialEq)]
pub struct TurnResult {
    pub turn_index: u32,
    pub speaker: Speaker,
    pub ts: DateTime<Utc>,
    pub language: Language,
    pub text: String,
    pub n_tokens: u32,
    /// Rule ids hit in this turn (counted hits, in rubric order, each once).
    pub rule_hits: Vec<String>,
    /// Rule ids whose phrase appeared here but was cancelled by a negator.
    pub negated_hits: Vec<String>,
    /// For an agent reply: how long the customer had waited.
    pub reply_secs: Option<f64>,
    /// Customer turns: sentiment −1 (negative) … 1 (positive), from the model.
    pub sentiment: Option<f64>,
    /// Agent turns: P(polite) 0 … 1, from the model.
    pub politeness: Option<f64>,
    /// What detectors saw in this turn, whether or not a rule's scope made it count: each act
    /// the model detected (with its probability), each example rule that matched (with the
    /// nearest example's similarity), each phrase rule that fired.
    pub detected: Vec<crate::rubric::Detection>,
}

/// Everything convqa concludes about one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationScore {
    pub conversation_id: String,
    /// [`Conversation::content_hash`] of the input: incremental runs compare it.
    pub content_hash: String,
    pub agent_id: String,
    pub channel: Channel,
    pub customer_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub language: Language,
    pub declared_language: Option<String>,
    pub n_turns: u32,
    pub n_customer_turns: u32,
    pub n_agent_turns: u32,
    pub timing: TimingKpis,
    pub responsiveness_score: Option<f64>,
    pub empathy_score: Option<f64>,
    pub compliance_score: Option<f64>,
    /// The model dimensions (all null when run with `--no-models`).
    pub model: ModelScores,
    pub qa_score: f64,
    pub passed: bool,
    /// Ids of the signal rules that fired (complaint, churn_risk, ...).
    pub signals: Vec<String>,
    pub resolved: Option<bool>,
    pub csat: Option<u8>,
    pub tags: Vec<String>,
    pub flags: Vec<Flag>,
    pub turns: Vec<TurnResult>,
}

/// Per-turn model outputs (`None` for system turns) and the model's flag thresholds.
pub type ModelInput<'a> = (&'a [Option<TurnModelOutput>], &'a Thresholds);

/// Builds the score of one conversation from its stage results.
pub fn score(
    conv: &Conversation,
    rubric: &Rubric,
    turns: Vec<TurnResult>,
    outcomes: &[RuleOutcome],
    mut timing: TimingKpis,
    model: Option<ModelInput<'_>>,
) -> ConversationScore {
    if timing.unanswered_turn.is_some() && ends_with_closing_thanks(conv, rubric, outcomes) {
        timing.unanswered_turn = None;
    }
    let mut flags = Vec::new();
    let mut rule_score = |d: Dimension| dimension_score(conv, rubric, outcomes, d, &mut flags);
    let empathy_score = rule_score(Dimension::Empathy);
    let compliance_score = rule_score(Dimension::Compliance);
    let responsiveness_score = responsiveness(conv, rubric, &timing, &mut flags);
    let model = match model {
        Some((outputs, thresholds)) => {
            let closing = closing_turns(conv, rubric, outcomes);
            model::model_scores(conv, outputs, thresholds, &closing, &mut flags)
        }
        None => ModelScores::default(),
    };
    let mut signals = Vec::new();
    for (rule, outcome) in rubric.rules.iter().zip(outcomes) {
        if rule.kind != RuleKind::Signal {
            continue;
        }
        if let Some(first) = outcome.hits.first() {
            signals.push(rule.id.clone());
            if rule.severity == Severity::Info {
                continue; // listed in `signals`, too common to be a flag
            }
            let n = outcome.hits.len();
            let detail = format!(
                "customer signal {:?}{}",
                rule.id,
                if n > 1 { format!(" ({n} mentions)") } else { String::new() }
            );
            flags.push(phrase_flag(conv, FlagKind::CustomerSignal, "signal", rule, first, detail));
        }
    }
    if let Some(t) = timing.out_of_order_turn {
        flags.push(turn_flag(
            conv,
            FlagKind::TimestampsOutOfOrder,
            "data",
            Severity::Info,
            Some(t),
            "this turn's timestamp is earlier than the previous turn's; its wait counts as 0 s"
                .into(),
        ));
    }
    flags.sort_by_key(|f| f.turn_index.unwrap_or(u32::MAX));

    let subscores = [
        (Dimension::Responsiveness, responsiveness_score),
        (Dimension::Empathy, empathy_score),
        (Dimension::Compliance, compliance_score),
        (Dimension::Sentiment, model.sentiment_score),
        (Dimension::Politeness, model.politeness_score),
    ];
    let qa_score = qa_score(&subscores, |d| rubric.weight(d));
    let passed = passes(qa_score, rubric.pass_threshold, &flags);

    let count = |s: Speaker| conv.turns.iter().filter(|t| t.speaker == s).count() as u32;
    let first_ts = conv.turns.first().map(|t| t.ts.to_utc()).expect("validated: at least one turn");
    ConversationScore {
        conversation_id: conv.conversation_id.clone(),
        content_hash: conv.content_hash(),
        agent_id: conv.agent_id.clone(),
        channel: conv.channel,
        customer_id: conv.customer_id.clone(),
        started_at: conv.started_at.map_or(first_ts, |t| t.to_utc()),
        ended_at: conv.turns.iter().map(|t| t.ts.to_utc()).max().unwrap_or(first_ts),
        language: crate::segment::language::conversation_language(turns.iter().map(|t| t.language)),
        declared_language: conv.declared_language.clone(),
        n_turns: conv.turns.len() as u32,
        n_customer_turns: count(Speaker::Customer),
        n_agent_turns: count(Speaker::Agent),
        timing,
        responsiveness_score,
        empathy_score,
        compliance_score,
        model,
        qa_score,
        passed,
        signals,
        resolved: conv.resolved,
        csat: conv.csat,
        tags: conv.tags.clone(),
        flags,
        turns,
    }
}

/// qa_score: the mean of the non-null subscores weighted by `weight`, rounded to 0.1; 100 when no
/// subscore counts (nothing to judge, nothing wrong).
pub fn qa_score(subscores: &[(Dimension, Option<f64>)], weight: impl Fn(Dimension) -> f64) -> f64 {
    let (sum, weights) = subscores
        .iter()
        .filter_map(|(d, s)| s.map(|s| (s * weight(*d), weight(*d))))
        .fold((0.0, 0.0), |(a, b), (x, w)| (a + x, b + w));
    if weights > 0.0 { round1(sum / weights) } else { 100.0 }
}

/// A conversation passes when its qa_score reaches the rubric's `pass_threshold` and no flag is
/// critical: a critical flag fails it whatever the score.
pub fn passes(qa_score: f64, pass_threshold: f64, flags: &[Flag]) -> bool {
    qa_score >= pass_threshold && !flags.iter().any(|f| f.severity == Severity::Critical)
}

/// Whether the last turn is the customer's and is a thank-you / confirmation (an exempt signal
/// fired in it) that asks nothing: such an ending is not waiting for an answer.
fn ends_with_closing_thanks(
    conv: &Conversation,
    rubric: &Rubric,
    outcomes: &[RuleOutcome],
) -> bool {
    let Some(last) = conv.turns.iter().rposition(|t| t.speaker != Speaker::System) else {
        return false;
    };
    let text = &conv.turns[last].text;
    if text.contains(['?', '？']) {
        return false;
    }
    rubric
        .timing
        .unanswered_exempt
        .iter()
        .any(|&r| outcomes[r].hits.iter().any(|h| h.turn as usize == last))
}

/// Per turn: did it fire one of the rubric's closing signals?
fn closing_turns(conv: &Conversation, rubric: &Rubric, outcomes: &[RuleOutcome]) -> Vec<bool> {
    let mut closing = vec![false; conv.turns.len()];
    for &r in &rubric.closing_signals {
        for h in &outcomes[r].hits {
            closing[h.turn as usize] = true;
        }
    }
    for &r in &rubric.closing_unless {
        for h in &outcomes[r].hits {
            closing[h.turn as usize] = false;
        }
    }
    closing
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn dimension_score(
    conv: &Conversation,
    rubric: &Rubric,
    outcomes: &[RuleOutcome],
    dimension: Dimension,
    flags: &mut Vec<Flag>,
) -> Option<f64> {
    let mut applicable = 0.0;
    let mut met = 0.0;
    let mut penalty = 0.0;
    let mut judged = false;
    for (rule, outcome) in rubric.rules.iter().zip(outcomes) {
        if rule.dimension != Some(dimension) {
            continue;
        }
        match rule.kind {
            RuleKind::Required if outcome.applicable => {
                judged = true;
                applicable += rule.weight;
                if !outcome.hits.is_empty() {
                    met += rule.weight;
                    continue;
                }
                let mut detail = format!("missing {:?}", rule.id);
                if !rule.description.is_empty() {
                    detail = format!("{detail}: {}", rule.description);
                }
                if rule.when.is_some() {
                    detail.push_str(" (the customer's message at this turn called for it)");
                }
                if !outcome.negated.is_empty() {
                    detail.push_str(&format!(
                        "; {} mention(s) cancelled by negation",
                        outcome.negated.len()
                    ));
                }
                let f = turn_flag(
                    conv,
                    FlagKind::MissingPhrase,
                    dimension.as_str(),
                    rule.severity,
                    outcome.expected_turn,
                    detail,
                );
                flags.push(Flag { rule_id: Some(rule.id.clone()), ..f });
            }
            RuleKind::Forbidden => {
                judged = true;
                for hit in &outcome.hits {
                    penalty += rule.weight;
                    let detail = format!("forbidden {:?}{}", rule.id, describe(&rule.description));
                    flags.push(phrase_flag(
                        conv,
                        FlagKind::ForbiddenPhrase,
                        dimension.as_str(),
                        rule,
                        hit,
                        detail,
                    ));
                }
            }
            _ => {}
        }
    }
    if !judged {
        return None;
    }
    let base = if applicable > 0.0 { 100.0 * met / applicable } else { 100.0 };
    Some(round1((base - penalty).clamp(0.0, 100.0)))
}

fn describe(description: &str) -> String {
    if description.is_empty() { String::new() } else { format!(": {description}") }
}

fn responsiveness(
    conv: &Conversation,
    rubric: &Rubric,
    timing: &TimingKpis,
    flags: &mut Vec<Flag>,
) -> Option<f64> {
    if !timing.has_customer_turn {
        return None;
    }
    let first_weight = rubric.timing.first_response_weight;
    let mut total = 0.0;
    let mut credit = 0.0;
    for r in &timing.replies {
        let w = if r.first { first_weight } else { 1.0 };
        total += w;
        credit += w * reply_credit(r);
        if r.breached() {
            let (kind, severity, what) = if r.first {
                (FlagKind::SlowFirstResponse, Severity::Major, "first response")
            } else {
                (FlagKind::SlowReply, Severity::Minor, "reply")
            };
            let detail = format!(
                "{what} after {} (limit {}), counted from the customer's message at turn {}",
                duration(r.secs),
                duration(r.limit_secs),
                r.waiting_since
            );
            flags.push(turn_flag(conv, kind, "responsiveness", severity, Some(r.turn), detail));
        }
    }
    if let Some(t) = timing.unanswered_turn {
        total += if timing.replies.is_empty() { first_weight } else { 1.0 };
        let detail = "the customer's last message got no agent reply".to_string();
        flags.push(turn_flag(
            conv,
            FlagKind::UnansweredCustomer,
            "responsiveness",
            Severity::Major,
            Some(t),
            detail,
        ));
    }
    // No reply was due: the only customer messages were a closing thank-you nobody answered
    // (issue 8: was 0 / 0 = NaN, which made qa_score NaN).
    if total == 0.0 {
        return None;
    }
    Some(round1(100.0 * credit / total))
}

/// 1 within the limit, falling linearly to 0 at twice the limit.
fn reply_credit(r: &Reply) -> f64 {
    if r.secs <= r.limit_secs {
        1.0
    } else {
        (1.0 - (r.secs - r.limit_secs) / r.limit_secs).max(0.0)
    }
}

/// `7 min 12 s`, `45 s`, `3 h 5 min`.
fn duration(secs: f64) -> String {
    let s = secs.round() as i64;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 && s % 60 == 0 => format!("{} min", s / 60),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn turn_flag(
    conv: &Conversation,
    kind: FlagKind,
    dimension: &'static str,
    severity: Severity,
    turn: Option<u32>,
    detail: String,
) -> Flag {
    Flag {
        kind,
        dimension,
        severity,
        rule_id: None,
        turn_index: turn,
        speaker: turn.map(|t| conv.turns[t as usize].speaker),
        evidence: turn.map(|t| conv.turns[t as usize].text.clone()).unwrap_or_default(),
        matched: None,
        span: None,
        detector: None,
        detector_score: None,
        detail,
    }
}

fn phrase_flag(
    conv: &Conversation,
    kind: FlagKind,
    dimension: &'static str,
    rule: &crate::rubric::Rule,
    hit: &crate::rubric::TurnHit,
    detail: String,
) -> Flag {
    let text = &conv.turns[hit.turn as usize].text;
    let (matched, span, score, why) = match hit.hit.source {
        HitSource::Phrase => {
            let (s, e) = (hit.hit.orig_start, hit.hit.orig_end);
            (Some(text[s as usize..e as usize].to_string()), Some((s, e)), None, String::new())
        }
        HitSource::Model { p, threshold } => {
            let act = rule.model.as_ref().map_or("?", |m| crate::model::ACTS[m.act]);
            let why = format!("; model: P({act}) {p:.2} (threshold {threshold:.2})");
            (None, None, Some(round3(p as f64)), why)
        }
        HitSource::Example { example, similarity, threshold, counter } => {
            let ex = rule.examples.as_ref();
            let sentence = |list: Option<&Vec<(String, String)>>, i: u32| {
                list.and_then(|l| l.get(i as usize)).map_or("?", |(_, s)| s.as_str()).to_string()
            };
            let mut why = format!(
                "; nearest example {:?} (similarity {similarity:.2}, threshold {threshold:.2})",
                sentence(ex.map(|e| &e.examples), example)
            );
            if let Some((c, sim)) = counter {
                let c = sentence(ex.map(|e| &e.counter_examples), c);
                why.push_str(&format!("; nearest counter-example {c:?} ({sim:.2})"));
            }
            (None, None, Some(round3(similarity as f64)), why)
        }
    };
    Flag {
        kind,
        dimension,
        severity: rule.severity,
        rule_id: Some(rule.id.clone()),
        turn_index: Some(hit.turn),
        speaker: Some(conv.turns[hit.turn as usize].speaker),
        evidence: text.clone(),
        matched,
        span,
        detector: Some(hit.hit.source.detector()),
        detector_score: score,
        detail: detail + &why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45.2), "45 s");
        assert_eq!(duration(432.0), "7 min 12 s");
        assert_eq!(duration(11100.0), "3 h 5 min");
        assert_eq!(duration(300.0), "5 min");
    }

    /// Weights as a rubric's `[weights]` might set them.
    fn weight(d: Dimension) -> f64 {
        match d {
            Dimension::Responsiveness => 2.0,
            Dimension::Empathy => 1.0,
            Dimension::Compliance => 1.0,
            Dimension::Sentiment => 0.5,
            Dimension::Politeness => 0.0,
        }
    }

    #[test]
    fn qa_score_is_the_weighted_mean_of_the_subscores_that_are_not_null() {
        use Dimension::*;
        let all = [
            (Responsiveness, Some(100.0)),
            (Empathy, Some(40.0)),
            (Compliance, Some(70.0)),
            (Sentiment, Some(20.0)),
            (Politeness, Some(0.0)),
        ];
        // (2·100 + 40 + 70 + 0.5·20) / (2 + 1 + 1 + 0.5) = 320 / 4.5 = 71.11…; a 0 weight counts
        // for nothing
        assert_eq!(qa_score(&all, weight), 71.1);
        // a null subscore (no model: sentiment) leaves its weight out: (200 + 40 + 70) / 4
        let mut no_model = all;
        no_model[3].1 = None;
        no_model[4].1 = None;
        assert_eq!(qa_score(&no_model, weight), 77.5);
        // rounded to one decimal: (2·100 + 33) / 3 = 77.666…
        assert_eq!(qa_score(&[(Responsiveness, Some(100.0)), (Empathy, Some(33.0))], weight), 77.7);
        // nothing to judge
        assert_eq!(qa_score(&[(Responsiveness, None), (Empathy, None)], weight), 100.0);
        assert_eq!(qa_score(&[(Politeness, Some(10.0))], weight), 100.0, "only a 0 weight");
    }

    fn flag(severity: Severity) -> Flag {
        Flag {
            kind: FlagKind::CustomerSignal,
            dimension: "signal",
            severity,
            rule_id: Some("r".into()),
            turn_index: Some(0),
            speaker: Some(Speaker::Customer),
            evidence: "text".into(),
            matched: None,
            span: None,
            detector: None,
            detector_score: None,
            detail: "why".into(),
        }
    }

    #[test]
    fn a_critical_flag_fails_the_conversation_whatever_its_score() {
        assert!(passes(70.0, 70.0, &[]), "the threshold itself passes");
        assert!(!passes(69.9, 70.0, &[]));
        assert!(passes(
            100.0,
            70.0,
            &[flag(Severity::Info), flag(Severity::Minor), flag(Severity::Major)]
        ));
        assert!(!passes(100.0, 70.0, &[flag(Severity::Major), flag(Severity::Critical)]));
    }

    #[test]
    fn reply_credit_falls_to_zero_at_twice_the_limit() {
        let r = |secs| Reply { turn: 1, waiting_since: 0, secs, limit_secs: 180.0, first: false };
        assert_eq!(reply_credit(&r(180.0)), 1.0);
        assert_eq!(reply_credit(&r(270.0)), 0.5);
        assert_eq!(reply_credit(&r(400.0)), 0.0);
    }
}
