//! The model dimensions of a conversation: how the customer felt at the start and at the end
//! (sentiment of their first and last turns), and how polite the agent was (mean and worst turn).
//!
//! The model's probabilities are calibrated (Platt scaling in the manifest) so that 0.5 means
//! "neither": a neutral customer and a matter-of-fact agent sit near the middle. Only the bad side
//! costs points; a neutral ending or a plain, correct agent turn is not a fault.
//! - `sentiment_score` = the higher of `100 × (1 + min(end, 0))` (only a negative ending costs)
//!   and `50 × (1 + change)` (how much better the customer ended than they started): an agent is
//!   credited for a calm ending or for turning an angry customer round. Null without customer
//!   turns.
//! - `politeness_score` = `100 × (mean + worst) / 2` of each agent turn's `min(1, 2 × P(polite))`:
//!   a turn at 0.5 or above is full marks, so one rude turn costs even in a long polite
//!   conversation. Null without agent turns.
//! - A customer turn that fired one of the rubric's `closing_signals` ("no, that's all, thanks",
//!   「没有了，谢谢」) is a closing reply: its sentiment counts as at least 0 here (the
//!   review-trained model reads the "no" as negative). `turns.parquet` keeps the model's reading.
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
    closing: &[bool],
    flags: &mut Vec<Flag>,
) -> ModelScores {
    let by = |speaker: Speaker| {
        conv.turns
            .iter()
            .zip(outputs)
            .enumerate()
            .filter(move |(_, (t, o))| t.speaker == speaker && o.is_some())
            .map(|(i, (_, o))| (i, o.as_ref().expect("filtered")))
    };
    let mut s = ModelScores::default();

    let customer: Vec<(usize, f64)> = by(Speaker::Customer)
        .map(|(i, o)| (i, if closing[i] { o.sentiment().max(0.0) } else { o.sentiment() }))
        .collect();
    if let (Some(&(_, start)), Some(&(last, end))) = (customer.first(), customer.last()) {
        let delta = end - start;
        s.sentiment_start = Some(round3(start));
        s.sentiment_end = Some(round3(end));
        s.sentiment_delta = Some(round3(delta));
        s.sentiment_score =
            Some(round1((100.0 * (1.0 + end.min(0.0))).max(50.0 * (1.0 + delta.clamp(-1.0, 1.0)))));
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
        let marks = |p: f64| (2.0 * p).min(1.0);
        let marks_mean = agent.iter().map(|a| marks(a.1)).sum::<f64>() / agent.len() as f64;
        s.politeness_score = Some(round1(100.0 * (marks_mean + marks(min)) / 2.0));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Channel;

    /// Turns at one instant; turn i's text is `turn {i}`.
    fn conv(speakers: &[Speaker]) -> Conversation {
        let turns: Vec<(Speaker, i64)> = speakers.iter().map(|&s| (s, 0)).collect();
        crate::conversation::test_conversation(Channel::Chat, &turns)
    }

    fn out(positive: f32, polite: f32) -> Option<TurnModelOutput> {
        Some(TurnModelOutput { positive, polite, ..Default::default() })
    }

    const T: Thresholds =
        Thresholds { impolite_below: 0.2, negative_below: -0.5, sentiment_drop: 1.0 };
    use Speaker::{Agent, Customer, System};

    #[test]
    fn a_calm_or_happy_ending_is_full_marks_and_a_turnaround_earns_credit() {
        let c = conv(&[Customer, Agent, Customer]);
        let mut flags = vec![];
        // neutral start, neutral end: nothing to blame the agent for
        let s = model_scores(
            &c,
            &[out(0.5, 0.5), out(0.5, 0.9), out(0.5, 0.5)],
            &T,
            &[false; 5],
            &mut flags,
        );
        assert_eq!(s.sentiment_score, Some(100.0));
        // angry (−0.9) to still a bit negative (−0.4): end part 60, turnaround part 50 × 1.5 = 75
        let s = model_scores(
            &c,
            &[out(0.05, 0.5), out(0.5, 0.9), out(0.3, 0.5)],
            &T,
            &[false; 5],
            &mut flags,
        );
        assert_eq!((s.sentiment_start, s.sentiment_end), (Some(-0.9), Some(-0.4)));
        assert_eq!(s.sentiment_score, Some(75.0));
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn a_customer_who_ends_negative_is_flagged_on_their_last_turn() {
        let c = conv(&[Customer, Agent, Customer, System]);
        let mut flags = vec![];
        let s = model_scores(
            &c,
            &[out(0.9, 0.5), out(0.5, 0.9), out(0.1, 0.5), None],
            &T,
            &[false; 5],
            &mut flags,
        );
        assert_eq!(s.sentiment_delta, Some(-1.6));
        assert_eq!(s.sentiment_score, Some(20.0));
        let kinds: Vec<_> = flags.iter().map(|f| (f.kind, f.turn_index)).collect();
        assert_eq!(
            kinds,
            [(FlagKind::CustomerEndsNegative, Some(2)), (FlagKind::SentimentDropped, Some(2))]
        );
        assert!(flags[0].detail.contains("no agent turn followed it"), "{}", flags[0].detail);
    }

    #[test]
    fn a_closing_reply_the_model_reads_negative_counts_as_neutral() {
        // "nope, that's all" read at −0.8 by the model, after a calm start
        let c = conv(&[Customer, Agent, Customer]);
        let outputs = [out(0.6, 0.5), out(0.5, 0.9), out(0.1, 0.5)];
        let mut flags = vec![];
        let s = model_scores(&c, &outputs, &T, &[false, false, true], &mut flags);
        assert_eq!(s.sentiment_end, Some(0.0));
        assert_eq!(s.sentiment_score, Some(100.0));
        assert!(flags.is_empty(), "{flags:?}");
        // the same turn without the closing signal is what the model says
        let s = model_scores(&c, &outputs, &T, &[false; 3], &mut flags);
        assert_eq!(s.sentiment_end, Some(-0.8));
        assert_eq!(flags[0].kind, FlagKind::CustomerEndsNegative);
    }

    #[test]
    fn one_rude_turn_costs_even_among_polite_ones_and_neutral_turns_cost_nothing() {
        let c = conv(&[Customer, Agent, Agent, Agent, Agent]);
        let mut flags = vec![];
        let all_fine = [out(0.5, 0.5), out(0.5, 0.95), out(0.5, 0.5), out(0.5, 0.6), out(0.5, 0.8)];
        let s = model_scores(&c, &all_fine, &T, &[false; 5], &mut flags);
        assert_eq!(s.politeness_score, Some(100.0));
        assert!(flags.is_empty());
        let one_rude =
            [out(0.5, 0.5), out(0.5, 0.95), out(0.5, 0.05), out(0.5, 0.6), out(0.5, 0.8)];
        let s = model_scores(&c, &one_rude, &T, &[false; 5], &mut flags);
        // marks 1, 0.1, 1, 1 → mean 0.775, worst 0.1 → 43.75
        assert_eq!(s.politeness_score, Some(43.8));
        assert_eq!(s.politeness_min, Some(0.05));
        assert_eq!(flags.len(), 1);
        assert_eq!((flags[0].kind, flags[0].turn_index), (FlagKind::ImpoliteTurn, Some(2)));
        assert_eq!(flags[0].evidence, "turn 2");
    }
}
