//! The model dimensions of a conversation: how the customer felt at the start and at the end
//! (sentiment of their first and last turns), and how polite the agent was (mean and worst turn).
//!
//! - `sentiment_score` = the higher of `50 × (1 + end)` (where the customer ended) and
//!   `50 × (1 + change)` (how much better they ended than they started): an agent is credited for
//!   a happy ending or for turning an angry customer round. Null without customer turns.
//! - `politeness_score` = `100 × (mean + worst) / 2` over agent turns' P(polite), so one rude
//!   turn costs even in a long polite conversation. Null without agent turns.
//! - Flags (thresholds from the model's manifest; severity minor until the model is calibrated): `impolite_turn` per agent turn below
//!   `impolite_below`; `customer_ends_negative` when the last customer turn is below
//!   `negative_below`; `sentiment_dropped` when sentiment fell by `sentiment_drop` or more.

use super::{Flag, FlagKind, round1, round3, turn_flag};
use crate::conversation::{Conversation, Speaker};
use crate::model::{Thresholds, TurnModelOutput};
use crate::rubric::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModelScores {
    pub sentiment_start: Option<f64>,
    pub sentiment_end: Option<f64>,
    pub sentiment_delta: Option<f64>,
    pub politeness_mean: Option<f64>,
    pub politeness_min: Option<f64>,
    pub sentiment_score: Option<f64>,
    pub politeness_score: Option<f64>,
}

/// Scores from per-turn model outputs (`outputs[i]` for turn i; `None` for system turns).
pub fn model_scores(
    conv: &Conversation,
    outputs: &[Option<TurnModelOutput>],
    thresholds: &Thresholds,
    flags: &mut Vec<Flag>,
) -> ModelScores {
    let by = |speaker: Speaker| {
        conv.turns
            .iter()
            .zip(outputs)
            .enumerate()
            .filter(move |(_, (t, o))| t.speaker == speaker && o.is_some())
            .map(|(i, (_, o))| (i, o.expect("filtered")))
    };
    let mut s = ModelScores::default();

    let customer: Vec<(usize, f64)> =
        by(Speaker::Customer).map(|(i, o)| (i, o.sentiment())).collect();
    if let (Some(&(_, start)), Some(&(last, end))) = (customer.first(), customer.last()) {
        let delta = end - start;
        s.sentiment_start = Some(round3(start));
        s.sentiment_end = Some(round3(end));
        s.sentiment_delta = Some(round3(delta));
        s.sentiment_score =
            Some(round1((50.0 * (1.0 + end)).max(50.0 * (1.0 + delta.clamp(-1.0, 1.0)))));
        let answered = conv.turns[last + 1..].iter().any(|t| t.speaker == Speaker::Agent);
        if end < thresholds.negative_below {
            let detail = format!(
                "the customer's last message reads negative (sentiment {end:.2}, flagged below {:.2}){}",
                thresholds.negative_below,
                if answered { "" } else { "; no agent turn followed it" }
            );
            flags.push(turn_flag(
                conv,
                FlagKind::CustomerEndsNegative,
                "sentiment",
                Severity::Minor,
                Some(last as u32),
                detail,
            ));
        }
        if customer.len() > 1 && delta <= -thresholds.sentiment_drop {
            let detail = format!("customer sentiment fell from {start:.2} to {end:.2}");
            flags.push(turn_flag(
                conv,
                FlagKind::SentimentDropped,
                "sentiment",
                Severity::Minor,
                Some(last as u32),
                detail,
            ));
        }
    }

    let agent: Vec<(usize, f64)> = by(Speaker::Agent).map(|(i, o)| (i, o.polite as f64)).collect();
    if !agent.is_empty() {
        let mean = agent.iter().map(|a| a.1).sum::<f64>() / agent.len() as f64;
        let min = agent.iter().map(|a| a.1).fold(f64::INFINITY, f64::min);
        s.politeness_mean = Some(round3(mean));
        s.politeness_min = Some(round3(min));
        s.politeness_score = Some(round1(100.0 * (mean + min) / 2.0));
        for &(i, p) in agent.iter().filter(|a| a.1 < thresholds.impolite_below) {
            let detail = format!(
                "the politeness model gives this agent turn {p:.2} (flagged below {:.2})",
                thresholds.impolite_below
            );
            flags.push(turn_flag(
                conv,
                FlagKind::ImpoliteTurn,
                "politeness",
                Severity::Minor,
                Some(i as u32),
                detail,
            ));
        }
    }
    s
}
