//! Applies each rule's scope (speaker, position, `when`) to a conversation's phrase hits.
//!
//! The result, one [`RuleOutcome`] per rule, says whether the rule applied, which hits count,
//! which were cancelled by negation, and where a missing required phrase was expected — what the
//! scorer needs for subscores and what a QA reviewer needs to see why.

use super::{Hit, Position, Rubric, RuleKind};
use crate::conversation::Speaker;

/// A hit in a given turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnHit {
    pub turn: u32,
    pub hit: Hit,
}

#[derive(Debug, Clone, PartialEq, Default)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::MatchScratch;
    use crate::segment::tests::SEGMENTER;
    use Speaker::{Agent as A, Customer as C};

    const RUBRIC: &str = r#"
name = "t"
version = "1"
pass_threshold = 70
[weights]
responsiveness = 1
empathy = 1
compliance = 1
[negation]
en = ["not"]
[[rule]]
id = "greeting"
kind = "required"
dimension = "compliance"
first_n_agent_turns = 2
weight = 10
en = ["hello"]
[[rule]]
id = "closing"
kind = "required"
dimension = "compliance"
last_n_agent_turns = 1
weight = 10
en = ["bye"]
[[rule]]
id = "upset"
kind = "signal"
en = ["angry"]
[[rule]]
id = "apology"
kind = "required"
dimension = "empathy"
when = "upset"
weight = 10
en = ["sorry"]
[[rule]]
id = "insult"
kind = "forbidden"
dimension = "compliance"
negation = false
weight = 10
en = ["stupid"]
"#;

    /// Outcomes of every rule, by id, for turns given as (speaker, text).
    fn outcomes(turns: &[(Speaker, &str)]) -> std::collections::HashMap<String, RuleOutcome> {
        let rubric = Rubric::parse(RUBRIC, "t.toml", &SEGMENTER).unwrap();
        let mut scratch = MatchScratch::default();
        let hits: Vec<Vec<Hit>> = turns
            .iter()
            .map(|(_, text)| {
                let mut out = Vec::new();
                rubric.matcher.find(&SEGMENTER.segment(text), &mut scratch, &mut out);
                out
            })
            .collect();
        let speakers: Vec<Speaker> = turns.iter().map(|t| t.0).collect();
        let result = evaluate(&rubric, &speakers, &hits);
        rubric.rules.iter().map(|r| r.id.clone()).zip(result).collect()
    }

    fn hit_turns(o: &RuleOutcome) -> Vec<u32> {
        o.hits.iter().map(|h| h.turn).collect()
    }

    #[test]
    fn position_scopes_count_agent_turns_only() {
        let o = outcomes(&[(C, "hello?"), (A, "one"), (A, "two"), (A, "hello bye"), (C, "bye")]);
        assert!(o["greeting"].hits.is_empty(), "hello in the 3rd agent turn is too late");
        assert_eq!(o["greeting"].expected_turn, Some(1), "expected at the first agent turn");
        assert_eq!(hit_turns(&o["closing"]), [3], "the customer's bye does not count");
    }

    #[test]
    fn closing_outside_the_last_agent_turns_is_missing_and_expected_at_the_last() {
        let o = outcomes(&[(A, "bye"), (C, "x"), (A, "ok")]);
        assert!(o["closing"].hits.is_empty());
        assert_eq!(o["closing"].expected_turn, Some(2));
    }

    #[test]
    fn when_rules_apply_only_after_the_signal() {
        let o = outcomes(&[(C, "hi"), (A, "sorry to hear")]);
        assert!(!o["apology"].applicable, "nobody was upset");
        let o = outcomes(&[(A, "sorry"), (C, "I am angry"), (A, "let me check")]);
        assert!(o["apology"].applicable);
        assert!(o["apology"].hits.is_empty(), "the apology before the anger does not count");
        assert_eq!(o["apology"].expected_turn, Some(1), "expected after the upset turn");
        let o = outcomes(&[(C, "I am angry"), (A, "so sorry")]);
        assert_eq!(hit_turns(&o["apology"]), [1]);
        let o = outcomes(&[(C, "I am not angry"), (A, "ok")]);
        assert!(!o["apology"].applicable, "a negated signal does not trigger");
        let o = outcomes(&[(A, "hello"), (C, "I am angry")]);
        assert!(!o["apology"].applicable, "no agent turn followed the upset message");
    }

    #[test]
    fn negation_can_be_switched_off_per_rule() {
        // "not stupid" is still an insult in this rubric: negation = false.
        let o = outcomes(&[(A, "you are not stupid, are you")]);
        assert_eq!(hit_turns(&o["insult"]), [0]);
        assert!(o["insult"].negated.is_empty());
    }
}
