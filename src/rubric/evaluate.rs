//! Applies each rule's scope (speaker, position, `when`) to a conversation's phrase hits.
//!
//! The result, one [`RuleOutcome`] per rule, says whether the rule applied, which hits count,
//! which were cancelled by negation, and where a missing required phrase was expected — what the
//! scorer needs for subscores and what a QA reviewer needs to see why.

use super::{Hit, Position, Rubric, RuleKind};
use crate::conversation::Speaker;

/// A hit in a given turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnHit {
    pub turn: u32,
    pub hit: Hit,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleOutcome {
    /// Whether the rule counts for this conversation (its `when` signal fired and a turn was
    /// in scope after it).
    pub applicable: bool,
    /// Hits in scope that count.
    pub hits: Vec<TurnHit>,
    /// Hits in scope cancelled by a negator.
    pub negated: Vec<TurnHit>,
    /// For a required rule: the turn where the phrase was expected (first agent turn for a
    /// greeting, last for a closing, the triggering customer turn for a `when` rule).
    pub expected_turn: Option<u32>,
}

/// Evaluates every rule of `rubric` on one conversation. `speakers[i]` is turn i's speaker and
/// `hits[i]` its phrase hits from the matcher.
pub fn evaluate(rubric: &Rubric, speakers: &[Speaker], hits: &[Vec<Hit>]) -> Vec<RuleOutcome> {
    let agent_turns: Vec<u32> = speakers
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == Speaker::Agent)
        .map(|(i, _)| i as u32)
        .collect();
    // Turn i's ordinal among agent turns, for position scopes.
    let mut agent_ordinal = vec![u32::MAX; speakers.len()];
    for (n, &t) in agent_turns.iter().enumerate() {
        agent_ordinal[t as usize] = n as u32;
    }
    let n_agent = agent_turns.len() as u32;

    let mut outcomes = vec![RuleOutcome::default(); rubric.rules.len()];
    // Signals first: `when` rules depend on them.
    let order = (0..rubric.rules.len())
        .filter(|&r| rubric.rules[r].kind == RuleKind::Signal)
        .chain((0..rubric.rules.len()).filter(|&r| rubric.rules[r].kind != RuleKind::Signal));
    for r in order.collect::<Vec<_>>() {
        let rule = &rubric.rules[r];
        let trigger = match rule.when {
            None => None,
            Some(signal) => match outcomes[signal].hits.first() {
                Some(h) => Some(h.turn),
                None => continue, // the condition never arose: not applicable
            },
        };
        let in_scope = |turn: usize| {
            rule.speaker.admits(speakers[turn])
                && trigger.is_none_or(|t| turn as u32 > t)
                && match rule.position {
                    Position::Anywhere => true,
                    Position::FirstAgentTurns(n) => agent_ordinal[turn] < n,
                    Position::LastAgentTurns(n) => {
                        agent_ordinal[turn] != u32::MAX && agent_ordinal[turn] + n >= n_agent
                    }
                }
        };
        let out = &mut outcomes[r];
        let mut any_in_scope = false;
        for (turn, turn_hits) in hits.iter().enumerate() {
            if !in_scope(turn) {
                continue;
            }
            any_in_scope = true;
            for h in turn_hits.iter().filter(|h| h.rule as usize == r) {
                let th = TurnHit { turn: turn as u32, hit: *h };
                if h.negated && rule.negation { out.negated.push(th) } else { out.hits.push(th) }
            }
        }
        out.applicable = trigger.is_none() || any_in_scope;
        if rule.kind == RuleKind::Required && out.hits.is_empty() {
            out.expected_turn = match (trigger, rule.position) {
                (Some(t), _) => Some(t),
                (None, Position::LastAgentTurns(_)) => agent_turns.last().copied(),
                (None, _) => (0..speakers.len()).find(|&t| in_scope(t)).map(|t| t as u32),
            };
        }
    }
    outcomes
}
