//! The scoring engine, the pure core: a function from a batch of conversations to a batch of
//! scores ([`score_batch`]), and the [`Engine`] it runs with (loaded once by [`Engine::load`]).
//!
//! `model` (one batched pass over every customer and agent turn of the batch, when a model is
//! loaded) → per conversation `segment → rubric (match + evaluate) / timing → score`, with no
//! I/O, so the same code serves the CLI, tests, benches and an Arrow/Spark wrapper. Work runs in
//! parallel on the current rayon pool when it has more than one thread; results keep input order,
//! so output is identical for any thread count. The serial path is the same code without rayon.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::conversation::{Conversation, Speaker};
use crate::model::{ModelError, ModelStage, TurnModelOutput};
use crate::rubric::{self, MatchScratch, Rubric, RubricError};
use crate::score::{self, ConversationScore, TurnResult, round3};
use crate::segment::{ChineseSegmenter, Segmenter};
use crate::timing;

/// Time spent per stage: the model's wall time, and CPU time of the other stages summed over
/// conversations (and threads).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    pub model: Duration,
    pub segment: Duration,
    pub rubric: Duration,
    pub score: Duration,
    /// Customer and agent turns given to the model, and how many distinct texts it ran (each
    /// distinct text of a batch runs once).
    pub model_texts: u64,
    pub model_runs: u64,
}

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, o: StageTimes) {
        self.model += o.model;
        self.segment += o.segment;
        self.rubric += o.rubric;
        self.score += o.score;
        self.model_texts += o.model_texts;
        self.model_runs += o.model_runs;
    }
}

/// What [`Engine::load`] loads: the rubric, the model and where ONNX Runtime is.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// A rubric file; `None` uses `rubric_text`, else the built-in default.
    pub rubric: Option<PathBuf>,
    /// A rubric's TOML text (embedders: the Python package takes a rubric as text), read when
    /// `rubric` is `None`.
    pub rubric_text: Option<String>,
    /// The model folder; `None` runs without the model stage (`--no-models`).
    pub model: Option<PathBuf>,
    /// Where ONNX Runtime's library is, if not in the default places.
    pub ort_lib: Option<PathBuf>,
    /// Model sessions, one per worker thread that scores.
    pub workers: usize,
    /// Whether example rules must carry their calibrated threshold (`convqa calibrate` lets
    /// them lack it).
    pub example_thresholds: rubric::ExampleThresholds,
}

/// Why the engine did not load: the rubric or the model (each has its own exit code).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Rubric(#[from] RubricError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Everything loaded once and shared read-only by all workers.
pub struct Engine {
    pub segmenter: Segmenter,
    pub rubric: Rubric,
    /// `None` runs without the model stage (`--no-models`): sentiment and politeness are null.
    pub model: Option<ModelStage>,
}

impl Engine {
    /// Loads the segmenter's dictionary, the rubric and the model once (the model in parallel
    /// with the other two: both are start-up cost) and binds them (see [`Engine::new_with`]).
    /// `convqa score`, `eval`, `calibrate` and the tests all load through here. A rubric error
    /// comes first when both fail.
    pub fn load(opts: &EngineOptions) -> Result<Engine, EngineError> {
        let (segmenter, rubric, model) = std::thread::scope(|scope| {
            let model = opts.model.as_deref().map(|dir| {
                scope.spawn(move || ModelStage::load(dir, opts.ort_lib.as_deref(), opts.workers))
            });
            let segmenter = Segmenter::new(ChineseSegmenter::new());
            let rubric = match (&opts.rubric, &opts.rubric_text) {
                (Some(path), _) => Rubric::load(path, &segmenter),
                (None, Some(text)) => Rubric::parse(text, "rubric text", &segmenter),
                (None, None) => Rubric::default_rubric(&segmenter),
            };
            let model = model.map(|m| m.join().expect("model loading does not panic")).transpose();
            (segmenter, rubric, model)
        });
        let (rubric, model) = (rubric?, model?);
        Ok(Engine::new_with(segmenter, rubric, model, opts.example_thresholds)?)
    }

    /// Binds the rubric's model and example detectors to `model` (see [`Rubric::bind`]): an act
    /// the model lacks, or an example threshold calibrated for another model, stops here.
    pub fn new(
        segmenter: Segmenter,
        rubric: Rubric,
        model: Option<ModelStage>,
    ) -> Result<Engine, RubricError> {
        Engine::new_with(segmenter, rubric, model, rubric::ExampleThresholds::Required)
    }

    /// As [`Engine::new`]; `convqa calibrate` lets example rules lack their threshold.
    pub fn new_with(
        segmenter: Segmenter,
        mut rubric: Rubric,
        mut model: Option<ModelStage>,
        thresholds: rubric::ExampleThresholds,
    ) -> Result<Engine, RubricError> {
        rubric.bind(model.as_ref(), thresholds)?;
        if let Some(m) = &mut model {
            m.keep_embedding(rubric.binding.needs_embedding);
        }
        Ok(Engine { segmenter, rubric, model })
    }

    /// jieba's dictionary and the built-in default rubric, without a model.
    pub fn with_default_rubric() -> Result<Engine, RubricError> {
        let opts = EngineOptions {
            rubric: None,
            rubric_text: None,
            model: None,
            ort_lib: None,
            workers: 1,
            example_thresholds: rubric::ExampleThresholds::Required,
        };
        Engine::load(&opts).map_err(|e| match e {
            EngineError::Rubric(e) => e,
            EngineError::Model(_) => unreachable!("no model is loaded"),
        })
    }

    /// Scores one conversation.
    pub fn score(&self, conv: &Conversation) -> Result<ConversationScore, ModelError> {
        let (mut scores, _) = score_batch(self, std::slice::from_ref(conv))?;
        Ok(scores.pop().expect("one score per conversation"))
    }

    /// Scores one conversation given its turns' model outputs (empty without a model), reusing
    /// `scratch` and adding stage times to `times`.
    pub fn score_timed(
        &self,
        conv: &Conversation,
        model_out: &[Option<TurnModelOutput>],
        scratch: &mut MatchScratch,
        times: &mut StageTimes,
    ) -> ConversationScore {
        let t0 = Instant::now();
        let segmented: Vec<_> =
            conv.turns.iter().map(|t| self.segmenter.segment(&t.text)).collect();
        let t1 = Instant::now();
        let mut hits: Vec<Vec<rubric::Hit>> = segmented
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                self.rubric.matcher.find(s, scratch, &mut out);
                out
            })
            .collect();
        let speakers: Vec<_> = conv.turns.iter().map(|t| t.speaker).collect();
        let detected = rubric::detect(&self.rubric, &speakers, model_out, &mut hits);
        let outcomes = rubric::evaluate(&self.rubric, &speakers, &hits);
        let t2 = Instant::now();
        let kpis = timing::measure(conv, &self.rubric.timing);
        let turns =
            turn_results(conv, &self.rubric, &segmented, &outcomes, &kpis, model_out, detected);
        let model = self.model.as_ref().map(|m| (model_out, &m.manifest.thresholds));
        let result = score::score(conv, &self.rubric, turns, &outcomes, kpis, model);
        let t3 = Instant::now();
        times.segment += t1 - t0;
        times.rubric += t2 - t1;
        times.score += t3 - t2;
        result
    }

    /// What the detectors see in single turns, each read on its own (no scope, no context):
    /// phrase rules, model acts and example rules, as `turns.parquet`'s `detected` columns list
    /// them. With the model's outputs (empty without a model). `convqa eval --acts` and
    /// `convqa calibrate` measure with it.
    pub fn detect_turns(
        &self,
        turns: &[(Speaker, &str)],
    ) -> Result<Vec<TurnDetections>, ModelError> {
        let outputs: Vec<Option<TurnModelOutput>> = match &self.model {
            Some(m) => {
                let texts: Vec<&str> = turns.iter().map(|t| t.1).collect();
                m.infer(&texts)?.into_iter().map(Some).collect()
            }
            None => vec![None; turns.len()],
        };
        let mut scratch = MatchScratch::default();
        Ok(turns
            .iter()
            .zip(outputs)
            .map(|(&(speaker, text), out)| {
                let mut hits = vec![Vec::new()];
                self.rubric.matcher.find(&self.segmenter.segment(text), &mut scratch, &mut hits[0]);
                let out = [out];
                let mut detected = rubric::detect(&self.rubric, &[speaker], &out, &mut hits)
                    .pop()
                    .unwrap_or_default();
                // a rule's model hit is a detection of that rule too
                for h in &hits[0] {
                    if let rubric::HitSource::Model { p, .. } = h.source {
                        detected.push(rubric::Detection {
                            name: self.rubric.rules[h.rule as usize].id.clone(),
                            detector: "model",
                            score: Some((p as f64 * 1000.0).round() / 1000.0),
                        });
                    }
                }
                let [out] = out;
                (detected, out)
            })
            .collect())
    }

    /// Model outputs for every turn of every conversation, from one batched pass; empty lists
    /// without a model.
    fn model_outputs(&self, batch: &[Conversation]) -> Result<BatchModelOutputs, ModelError> {
        let Some(model) = &self.model else {
            return Ok(BatchModelOutputs {
                per_turn: vec![Vec::new(); batch.len()],
                texts: 0,
                runs: 0,
            });
        };
        let texts: Vec<&str> = batch
            .iter()
            .flat_map(|c| &c.turns)
            .filter(|t| t.speaker != Speaker::System)
            .map(|t| t.text.as_str())
            .collect();
        let (outputs, runs) = model.infer_counted(&texts)?;
        let mut outputs = outputs.into_iter();
        let per_turn = batch
            .iter()
            .map(|c| {
                c.turns
                    .iter()
                    .map(|t| {
                        (t.speaker != Speaker::System)
                            .then(|| outputs.next().expect("one per turn"))
                    })
                    .collect()
            })
            .collect();
        Ok(BatchModelOutputs { per_turn, texts: texts.len() as u64, runs: runs as u64 })
    }
}

/// What the detectors saw in one turn read on its own, and the model's output for it.
pub type TurnDetections = (Vec<rubric::Detection>, Option<TurnModelOutput>);

/// What the model gave for one batch of conversations.
struct BatchModelOutputs {
    /// Per conversation, per turn (`None` for system turns).
    per_turn: Vec<Vec<Option<TurnModelOutput>>>,
    /// Texts sent to the model, and distinct texts actually run.
    texts: u64,
    runs: u64,
}

fn turn_results(
    conv: &Conversation,
    rubric: &Rubric,
    segmented: &[crate::segment::Segmented],
    outcomes: &[rubric::RuleOutcome],
    kpis: &timing::TimingKpis,
    model_out: &[Option<TurnModelOutput>],
    detected: Vec<Vec<rubric::Detection>>,
) -> Vec<TurnResult> {
    let mut turns: Vec<TurnResult> = conv
        .turns
        .iter()
        .zip(segmented)
        .zip(detected)
        .enumerate()
        .map(|(i, ((t, s), detected))| {
            let out = model_out.get(i).and_then(Option::as_ref);
            TurnResult {
                turn_index: i as u32,
                speaker: t.speaker,
                ts: t.ts.to_utc(),
                language: s.language,
                text: t.text.clone(),
                n_tokens: s.tokens.len() as u32,
                rule_hits: Vec::new(),
                negated_hits: Vec::new(),
                reply_secs: None,
                sentiment: out
                    .filter(|_| t.speaker == Speaker::Customer)
                    .map(|o| round3(o.sentiment())),
                politeness: out
                    .filter(|_| t.speaker == Speaker::Agent)
                    .map(|o| round3(o.polite as f64)),
                detected,
            }
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

/// Scores a batch: the model over all its turns at once, then each conversation, in parallel on
/// the current rayon pool when it has several threads; the result is in input order either way.
pub fn score_batch(
    engine: &Engine,
    batch: &[Conversation],
) -> Result<(Vec<ConversationScore>, StageTimes), ModelError> {
    let mut times = StageTimes::default();
    let t = Instant::now();
    let BatchModelOutputs { per_turn: model_out, texts, runs } = engine.model_outputs(batch)?;
    times.model = t.elapsed();
    times.model_texts = texts;
    times.model_runs = runs;
    if rayon::current_num_threads() <= 1 {
        let mut scratch = MatchScratch::default();
        let scores = batch
            .iter()
            .zip(&model_out)
            .map(|(c, m)| engine.score_timed(c, m, &mut scratch, &mut times))
            .collect();
        return Ok((scores, times));
    }
    let scored: Vec<(ConversationScore, StageTimes)> = batch
        .par_iter()
        .zip(model_out.par_iter())
        .map_init(MatchScratch::default, |scratch, (c, m)| {
            let mut t = StageTimes::default();
            let s = engine.score_timed(c, m, scratch, &mut t);
            (s, t)
        })
        .collect();
    let scores = scored
        .into_iter()
        .map(|(s, t)| {
            times += t;
            s
        })
        .collect();
    Ok((scores, times))
}
