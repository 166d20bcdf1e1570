//! Detectors beyond phrase lists: the model's act head (`model = "apology"`) and example
//! sentences matched on the model's sentence vector (`examples = { en = [...] }`).
//!
//! Detection is its own step, before scoping: every turn records what it shows (each act the
//! model sees above its threshold, each example rule that matches, each phrase rule that fired),
//! whether or not a rule's `when`, speaker or position makes it count. Then each rule's detectors
//! combine with OR into the hits [`super::evaluate`] scopes: a phrase hit first (the most
//! explainable evidence), else the model's act, else the nearest example. One rule gives at
//! most one model or example hit per turn, so a forbidden rule costs its weight once per turn
//! however many detectors agree.

use std::sync::Arc;

use super::{Hit, HitSource, Rubric, RubricError};
use crate::conversation::Speaker;
use crate::model::{ACTS, ModelStage, N_ACTS, TurnModelOutput, cosine, is_customer_act};

/// `model = "<act>"` on a rule: the act head's probability against a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDetector {
    /// Index into [`ACTS`].
    pub act: usize,
    /// The rule's own `model_threshold`; `None` uses the model manifest's calibrated one.
    pub threshold: Option<f32>,
}

/// `examples` / `counter_examples` on a rule: nearest-example matching on sentence vectors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExampleDetector {
    /// Example sentences as written, with the language key they were listed under.
    pub examples: Vec<(String, String)>,
    pub counter_examples: Vec<(String, String)>,
    /// The calibrated threshold and the model it was calibrated for.
    pub calibration: Option<Calibration>,
    /// Sentence vectors, filled when the rubric is bound to a model.
    pub vectors: Vec<Arc<[f32]>>,
    pub counter_vectors: Vec<Arc<[f32]>>,
}

/// `example_threshold = { threshold, model_sha256, ... }`, written by `convqa calibrate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Cosine similarity (0–1) the nearest example must reach.
    pub threshold: f32,
    /// SHA-256 of the `model.onnx` the threshold was calibrated with: another model's
    /// similarities are on another scale, so a mismatch stops the run.
    pub model_sha256: String,
    /// The precision the threshold was chosen for (documentation).
    pub precision: Option<f64>,
}

/// Why a turn shows an act or matches a rule (a row of `turns.parquet`'s `detected*` columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// An act of [`ACTS`] (model), or a rule id (phrase, examples).
    pub name: String,
    /// `model`, `examples` or `phrase`.
    pub detector: &'static str,
    /// The act's probability, or the nearest example's similarity; `None` for a phrase.
    pub score: Option<f64>,
}

/// What binding a rubric to a model (or to none) decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Binding {
    /// The manifest's threshold per act (`None`: the model lacks it, or no model).
    pub act_thresholds: [Option<f32>; N_ACTS],
    /// Rules whose model or example detectors did not run (`--no-models`, or a model without
    /// an acts head): they ran on their phrases only. Listed in the run summary.
    pub phrases_only: Vec<String>,
    /// Whether any rule matches examples (turns then need their sentence vector).
    pub needs_embedding: bool,
}

/// How strictly example thresholds are required when binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleThresholds {
    /// Every example rule must carry a threshold calibrated for this model (scoring).
    Required,
    /// Rules without one still get their vectors (`convqa calibrate` computes the threshold).
    Optional,
}

impl Rubric {
    /// Checks the rubric's model and example detectors against `model` and embeds the example
    /// sentences; without a model, records which rules run on phrases only. An act the model
    /// lacks, examples without a sentence vector, or a threshold calibrated for another model
    /// file stop here, naming the rule and field.
    pub fn bind(
        &mut self,
        model: Option<&ModelStage>,
        thresholds: ExampleThresholds,
    ) -> Result<(), RubricError> {
        let mut binding = Binding::default();
        let Some(model) = model else {
            binding.phrases_only = self
                .rules
                .iter()
                .filter(|r| r.model.is_some() || r.examples.is_some())
                .map(|r| r.id.clone())
                .collect();
            self.binding = binding;
            return Ok(());
        };
        for (act, slot) in binding.act_thresholds.iter_mut().enumerate() {
            *slot = model.act_threshold(act);
        }
        let source = self.source.clone();
        let err = |rule: &str, field: &str, message: String| RubricError::Rule {
            path: source.clone(),
            rule: rule.to_string(),
            field: field.to_string(),
            message,
        };
        let sha = model.manifest.model_sha256().to_string();
        for rule in &mut self.rules {
            // a model without an acts head (the teacher, older models) runs such rules on
            // their phrases, and the summary says so
            if rule.model.is_some() && model.manifest.acts.is_none() {
                binding.phrases_only.push(rule.id.clone());
            } else if let Some(m) = &rule.model
                && !model.has_act(m.act)
            {
                return Err(err(
                    &rule.id,
                    "model",
                    format!(
                        "the model {} ({}) has no {:?} act; use a model with an acts head or \
                         remove the field",
                        model.manifest.name,
                        model.dir.display(),
                        ACTS[m.act]
                    ),
                ));
            }
            let Some(ex) = &mut rule.examples else { continue };
            if model.manifest.embedding.is_none() {
                return Err(err(
                    &rule.id,
                    "examples",
                    format!(
                        "the model {} ({}) has no sentence vector to match examples with; use \
                         a model whose manifest has [embedding], or remove the examples",
                        model.manifest.name,
                        model.dir.display()
                    ),
                ));
            }
            match (&ex.calibration, thresholds) {
                (Some(c), _) if c.model_sha256 != sha => {
                    return Err(err(
                        &rule.id,
                        "example_threshold.model_sha256",
                        format!(
                            "calibrated for model.onnx {}, but the model in use is {sha}; \
                             similarities differ between models: recalibrate with `convqa \
                             calibrate --rubric FILE --rule {} --labels LABELLED.jsonl`",
                            c.model_sha256, rule.id
                        ),
                    ));
                }
                (None, ExampleThresholds::Required) => {
                    return Err(err(
                        &rule.id,
                        "example_threshold",
                        format!(
                            "missing: example rules need a threshold calibrated for the model; \
                             run `convqa calibrate --rubric FILE --rule {} --labels \
                             LABELLED.jsonl` and paste what it prints",
                            rule.id
                        ),
                    ));
                }
                _ => {}
            }
            let embed = |list: &[(String, String)]| {
                let texts: Vec<&str> = list.iter().map(|(_, t)| t.as_str()).collect();
                model.embed(&texts).map_err(|e| err(&rule.id, "examples", e.to_string()))
            };
            ex.vectors = embed(&ex.examples)?;
            ex.counter_vectors = embed(&ex.counter_examples)?;
            binding.needs_embedding = true;
        }
        self.binding = binding;
        Ok(())
    }
}

/// The nearest example and counter-example of `ex` to the unit vector `v`: (example index,
/// similarity) and the same for the counter-examples.
pub fn nearest(ex: &ExampleDetector, v: &[f32]) -> ((u32, f32), Option<(u32, f32)>) {
    let best = |vs: &[Arc<[f32]>]| {
        vs.iter()
            .enumerate()
            .map(|(i, e)| (i as u32, cosine(e, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    };
    (best(&ex.vectors).unwrap_or((0, f32::NEG_INFINITY)), best(&ex.counter_vectors))
}

/// An example rule's score for a turn: the nearest example's similarity, or 0 when a
/// counter-example is nearer (the turn is closer to what the rule must not match).
pub fn example_score(ex: &ExampleDetector, v: &[f32]) -> f32 {
    match nearest(ex, v) {
        ((_, s), Some((_, c))) if c >= s => 0.0,
        ((_, s), _) => s.max(0.0),
    }
}

/// Runs the model and example detectors over one conversation: adds their hits to `hits` (per
/// turn) and returns, per turn, everything detected on it. `model_out` is empty without a model.
pub fn detect(
    rubric: &Rubric,
    speakers: &[Speaker],
    model_out: &[Option<TurnModelOutput>],
    hits: &mut [Vec<Hit>],
) -> Vec<Vec<Detection>> {
    let b = &rubric.binding;
    let mut detected: Vec<Vec<Detection>> = vec![Vec::new(); speakers.len()];
    for (turn, turn_hits) in hits.iter_mut().enumerate() {
        let speaker = speakers[turn];
        let out = model_out.get(turn).and_then(Option::as_ref);
        let found = &mut detected[turn];
        if let Some(acts) = out.and_then(|o| o.acts.as_ref()) {
            for (act, &p) in acts.iter().enumerate() {
                let fits = (speaker == Speaker::Customer) == is_customer_act(act);
                if let Some(t) = b.act_thresholds[act]
                    && fits
                    && speaker != Speaker::System
                    && p >= t
                {
                    found.push(Detection {
                        name: ACTS[act].to_string(),
                        detector: "model",
                        score: Some(round3(p)),
                    });
                }
            }
        }
        let n_phrase_hits = turn_hits.len();
        for (r, rule) in rubric.rules.iter().enumerate() {
            // (any hit of the rule, any hit not negated)
            let (phrase_hit, counted) = turn_hits[..n_phrase_hits]
                .iter()
                .filter(|h| h.rule as usize == r)
                .fold((false, false), |(_, counted), h| (true, counted || !h.negated));
            if counted {
                found.push(Detection { name: rule.id.clone(), detector: "phrase", score: None });
            }
            // a phrase decides its turn (a negated one too: the negation is the rule's reading)
            if phrase_hit || !rule.speaker.admits(speaker) {
                continue;
            }
            let Some(out) = out else { continue };
            let whole = |source| Hit {
                rule: r as u32,
                phrase: u32::MAX,
                first_token: 0,
                last_token: 0,
                orig_start: 0,
                orig_end: 0,
                negated: false,
                source,
            };
            if let (Some(m), Some(acts)) = (&rule.model, &out.acts)
                && (speaker == Speaker::Customer) == is_customer_act(m.act)
                && let Some(t) = m.threshold.or(b.act_thresholds[m.act])
                && acts[m.act] >= t
            {
                turn_hits.push(whole(HitSource::Model { p: acts[m.act], threshold: t }));
                continue;
            }
            if let (Some(ex), Some(v)) = (&rule.examples, &out.embedding)
                && let Some(c) = &ex.calibration
            {
                let ((example, similarity), counter) = nearest(ex, v);
                if example_score(ex, v) >= c.threshold {
                    found.push(Detection {
                        name: rule.id.clone(),
                        detector: "examples",
                        score: Some(round3(similarity)),
                    });
                    turn_hits.push(whole(HitSource::Example {
                        example,
                        similarity,
                        threshold: c.threshold,
                        counter,
                    }));
                }
            }
        }
    }
    detected
}

fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::act_index;
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
[[rule]]
id = "distress"
kind = "signal"
model = "distress"
en = ["angry"]
[[rule]]
id = "blame"
kind = "forbidden"
dimension = "compliance"
weight = 10
model = "blame_customer"
en = ["your fault"]
[[rule]]
id = "brush_off"
kind = "forbidden"
dimension = "compliance"
weight = 10
examples = { en = ["not our department", "go ask someone else"] }
counter_examples = { en = ["let me transfer you"] }
example_threshold = { threshold = 0.8, model_sha256 = "a2e13fb00ba4728a2bd77ac080edaddb329b56a91f4e24feee7576c41e6e2125" }
"#;

    /// The rubric bound as a model with these act thresholds would bind it, the examples given
    /// the unit vectors e0, e1 and the counter-example e2.
    fn rubric() -> Rubric {
        let mut r = Rubric::parse(RUBRIC, "t.toml", &SEGMENTER).unwrap();
        r.binding.act_thresholds[act_index("distress").unwrap()] = Some(0.6);
        r.binding.act_thresholds[act_index("blame_customer").unwrap()] = Some(0.7);
        let unit = |i: usize| -> Arc<[f32]> { (0..3).map(|j| (i == j) as u8 as f32).collect() };
        let ex = r.rules[2].examples.as_mut().unwrap();
        ex.vectors = vec![unit(0), unit(1)];
        ex.counter_vectors = vec![unit(2)];
        r
    }

    fn out(act: &str, p: f32, embedding: [f32; 3]) -> Option<TurnModelOutput> {
        let mut acts = [0.0; N_ACTS];
        acts[act_index(act).unwrap()] = p;
        let norm = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        let v: Arc<[f32]> = embedding.iter().map(|x| x / norm).collect();
        Some(TurnModelOutput { acts: Some(acts), embedding: Some(v), ..Default::default() })
    }

    fn run(
        turns: &[(Speaker, &str, Option<TurnModelOutput>)],
    ) -> (Vec<Vec<Hit>>, Vec<Vec<Detection>>) {
        let r = rubric();
        let mut scratch = MatchScratch::default();
        let mut hits: Vec<Vec<Hit>> = turns
            .iter()
            .map(|(_, text, _)| {
                let mut h = Vec::new();
                r.matcher.find(&SEGMENTER.segment(text), &mut scratch, &mut h);
                h
            })
            .collect();
        let speakers: Vec<Speaker> = turns.iter().map(|t| t.0).collect();
        let outputs: Vec<_> = turns.iter().map(|t| t.2.clone()).collect();
        let detected = detect(&r, &speakers, &outputs, &mut hits);
        (hits, detected)
    }

    fn names(d: &[Detection]) -> Vec<(&str, &str)> {
        d.iter().map(|d| (d.name.as_str(), d.detector)).collect()
    }

    #[test]
    fn the_model_detects_a_rule_said_in_other_words() {
        let (hits, detected) = run(&[
            (
                C,
                "The box came open and half the order is gone.",
                out("distress", 0.9, [0.0, 0.0, 1.0]),
            ),
            (
                A,
                "The setup screen told you to write the codes down.",
                out("blame_customer", 0.95, [0.0, 0.0, 1.0]),
            ),
        ]);
        assert_eq!(hits[0].len(), 1);
        assert_eq!(hits[0][0].rule, 0);
        assert!(
            matches!(hits[0][0].source, HitSource::Model { p, threshold } if p == 0.9 && threshold == 0.6)
        );
        assert!(matches!(hits[1][0].source, HitSource::Model { .. }));
        assert_eq!(names(&detected[0]), [("distress", "model")]);
        assert_eq!(names(&detected[1]), [("blame_customer", "model")]);
    }

    #[test]
    fn a_phrase_hit_decides_its_turn_and_the_model_adds_no_second_penalty() {
        let (hits, detected) =
            run(&[(A, "That's your fault.", out("blame_customer", 0.99, [0.0, 0.0, 1.0]))]);
        assert_eq!(hits[0].len(), 1, "{:?}", hits[0]);
        assert_eq!(hits[0][0].source, HitSource::Phrase);
        assert_eq!(names(&detected[0]), [("blame_customer", "model"), ("blame", "phrase")]);
    }

    #[test]
    fn below_its_threshold_or_on_the_wrong_speaker_an_act_detects_nothing() {
        let (hits, detected) = run(&[
            (A, "ok", out("blame_customer", 0.69, [0.0, 0.0, 1.0])),
            // the distress head read on an agent turn is not distress
            (A, "ok", out("distress", 0.99, [0.0, 0.0, 1.0])),
        ]);
        assert!(hits.iter().all(Vec::is_empty), "{hits:?}");
        assert!(detected.iter().all(Vec::is_empty), "{detected:?}");
    }

    #[test]
    fn the_nearest_example_matches_unless_a_counter_example_is_nearer() {
        let (hits, detected) = run(&[
            (A, "a", out("rude", 0.0, [0.1, 0.95, 0.0])),
            (A, "b", out("rude", 0.0, [0.5, 0.0, 0.6])),
            (A, "c", out("rude", 0.0, [0.6, 0.6, 0.0])),
        ]);
        match hits[0][0].source {
            HitSource::Example { example, similarity, counter, .. } => {
                assert_eq!(example, 1);
                assert!(similarity > 0.99 && counter.unwrap().1 < 0.01);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(names(&detected[0]), [("brush_off", "examples")]);
        assert!(hits[1].is_empty(), "the counter-example is nearer");
        assert!(hits[2].is_empty(), "0.71 is below the threshold 0.8");
    }

    #[test]
    fn without_a_model_the_rules_with_model_or_examples_are_listed_as_phrases_only() {
        let mut r = Rubric::parse(RUBRIC, "t.toml", &SEGMENTER).unwrap();
        r.bind(None, ExampleThresholds::Required).unwrap();
        assert_eq!(r.binding.phrases_only, ["distress", "blame", "brush_off"]);
        assert!(!r.binding.needs_embedding);
    }
}
