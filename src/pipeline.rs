//! The scoring core: a pure function from a batch of conversations to a batch of scores.
//!
//! `segment → rubric (match + evaluate) / timing → score`, per conversation, with no I/O, so the
//! same code serves the CLI, tests, benches and an Arrow/Spark wrapper. Batches are scored in
//! parallel with rayon when the current pool has more than one thread; results keep input order,
//! so output is identical for any thread count. The serial path is the same code without rayon.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::conversation::Conversation;
use crate::rubric::{self, MatchScratch, Rubric, RubricError};
use crate::score::{self, ConversationScore, TurnResult};
use crate::segment::{ChineseSegmenter, Segmenter};
use crate::timing;

/// CPU time spent per stage, summed over conversations (and threads).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    pub segment: Duration,
    pub rubric: Duration,
    pub score: Duration,
}

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, o: StageTimes) {
        self.segment += o.segment;
        self.rubric += o.rubric;
        self.score += o.score;
    }
}

/// Everything loaded once and shared read-only by all workers.
pub struct Engine {
    pub segmenter: Segmenter,
    pub rubric: Rubric,
}

impl Engine {
    pub fn new(segmenter: Segmenter, rubric: Rubric) -> Engine {
        Engine { segmenter, rubric }
    }

    /// jieba's dictionary and the built-in default rubric.
    pub fn with_default_rubric() -> Result<Engine, RubricError> {
        let segmenter = Segmenter::new(ChineseSegmenter::new());
        let rubric = Rubric::default_rubric(&segmenter)?;
        Ok(Engine { segmenter, rubric })
    }

    /// Scores one conversation.
    pub fn score(&self, conv: &Conversation) -> ConversationScore {
        self.score_timed(conv, &mut MatchScratch::default(), &mut StageTimes::default())
    }

    /// Scores one conversation, reusing `scratch` and adding stage times to `times`.
    pub fn score_timed(
        &self,
        conv: &Conversation,
        scratch: &mut MatchScratch,
        times: &mut StageTimes,
    ) -> ConversationScore {
        let t0 = Instant::now();
        let segmented: Vec<_> =
            conv.turns.iter().map(|t| self.segmenter.segment(&t.text)).collect();
        let t1 = Instant::now();
        let hits: Vec<Vec<rubric::Hit>> = segmented
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                self.rubric.matcher.find(s, scratch, &mut out);
                out
            })
            .collect();
        let speakers: Vec<_> = conv.turns.iter().map(|t| t.speaker).collect();
        let outcomes = rubric::evaluate(&self.rubric, &speakers, &hits);
        let t2 = Instant::now();
        let kpis = timing::measure(conv, &self.rubric.timing);
        let turns = turn_results(conv, &self.rubric, &segmented, &outcomes, &kpis);
        let result = score::score(conv, &self.rubric, turns, &outcomes, kpis);
        let t3 = Instant::now();
        *times += StageTimes { segment: t1 - t0, rubric: t2 - t1, score: t3 - t2 };
        result
    }
}

fn turn_results(
    conv: &Conversation,
    rubric: &Rubric,
    segmented: &[crate::segment::Segmented],
    outcomes: &[rubric::RuleOutcome],
    kpis: &timing::TimingKpis,
) -> Vec<TurnResult> {
    let mut turns: Vec<TurnResult> = conv
        .turns
        .iter()
        .zip(segmented)
        .enumerate()
        .map(|(i, (t, s))| TurnResult {
            turn_index: i as u32,
            speaker: t.speaker,
            ts: t.ts.to_utc(),
            language: s.language,
            text: t.text.clone(),
            n_tokens: s.tokens.len() as u32,
            rule_hits: Vec::new(),
            negated_hits: Vec::new(),
            reply_secs: None,
        })
        .collect();
    // Only hits that count after scoping are listed as hits; negated ones separately.
    for (rule, outcome) in rubric.rules.iter().zip(outcomes) {
        for h in &outcome.hits {
            turns[h.turn as usize].rule_hits.push(rule.id.clone());
        }
        for h in &outcome.negated {
            turns[h.turn as usize].negated_hits.push(rule.id.clone());
        }
    }
    for t in &mut turns {
        let order = |id: &String| rubric.rule_index(id);
        t.rule_hits.sort_by_key(order);
        t.rule_hits.dedup();
        t.negated_hits.sort_by_key(order);
        t.negated_hits.dedup();
    }
    for r in &kpis.replies {
        turns[r.turn as usize].reply_secs = Some(r.secs);
    }
    turns
}

/// Scores a batch, in parallel on the current rayon pool when it has several threads; the result
/// is in input order either way.
pub fn score_batch(
    engine: &Engine,
    batch: &[Conversation],
) -> (Vec<ConversationScore>, StageTimes) {
    if rayon::current_num_threads() <= 1 {
        let mut scratch = MatchScratch::default();
        let mut times = StageTimes::default();
        let scores =
            batch.iter().map(|c| engine.score_timed(c, &mut scratch, &mut times)).collect();
        return (scores, times);
    }
    let scored: Vec<(ConversationScore, StageTimes)> = batch
        .par_iter()
        .map_init(MatchScratch::default, |scratch, c| {
            let mut times = StageTimes::default();
            let s = engine.score_timed(c, scratch, &mut times);
            (s, times)
        })
        .collect();
    let mut times = StageTimes::default();
    let scores = scored
        .into_iter()
        .map(|(s, t)| {
            times += t;
            s
        })
        .collect();
    (scores, times)
}
