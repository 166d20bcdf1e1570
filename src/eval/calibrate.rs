//! `convqa calibrate`: the threshold of a rubric's example rule, from a small labelled file.
//!
//! Each labelled turn is scored as convqa scores it: the cosine of its sentence vector with the
//! nearest example sentence (0 when a counter-example is nearer). The threshold is the lowest
//! score at which the rule's precision on the file still reaches the target, so the rule finds
//! as many positives as it can at that precision. What is printed is the TOML line to paste into
//! the rule, tied to the SHA-256 of the model file used: another model's similarities are on
//! another scale, and convqa refuses a threshold calibrated for a different model.
//!
//! The labelled file is JSONL: `text` and either `label` (true / false) or `labels` (a list; the
//! turn is positive when it holds `--positive`, by default the rule's id or its model act), and
//! optionally `speaker` (turns of another speaker than the rule's are skipped).

use std::path::Path;

use serde::Serialize;

use super::{EvalError, read_json_lines};
use crate::conversation::Speaker;
use crate::engine::Engine;
use crate::rubric::{RubricError, example_score};

/// Fewest turns above the threshold: a precision over fewer says little.
const MIN_PREDICTED: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Calibrated {
    pub rule: String,
    pub threshold: f64,
    pub target_precision: f64,
    pub precision: f64,
    pub recall: f64,
    pub positives: u64,
    pub negatives: u64,
    pub model_sha256: String,
    pub labels: String,
}

impl Calibrated {
    /// The line to paste into the rule.
    pub fn toml(&self) -> String {
        format!(
            "example_threshold = {{ threshold = {:.4}, model_sha256 = \"{}\", precision = {:.2}, recall = {:.3}, positives = {}, negatives = {}, labels = {:?} }}",
            self.threshold,
            self.model_sha256,
            self.target_precision,
            self.recall,
            self.positives,
            self.negatives,
            self.labels
        )
    }
}

/// Calibrates rule `rule_id` of the engine's rubric on the labelled turns of `path`.
pub fn calibrate(
    engine: &Engine,
    rule_id: &str,
    path: &Path,
    positive: Option<&str>,
    target_precision: f64,
) -> Result<Calibrated, EvalError> {
    let model = engine.model.as_ref().ok_or(EvalError::NoModel)?;
    let rubric = &engine.rubric;
    let rule_err = |field: &str, message: String| {
        EvalError::Rubric(RubricError::Rule {
            path: rubric.source.clone(),
            rule: rule_id.to_string(),
            field: field.to_string(),
            message,
        })
    };
    let rule = rubric
        .rules
        .iter()
        .find(|r| r.id == rule_id)
        .ok_or_else(|| rule_err("id", "no rule has this id".to_string()))?;
    let examples = rule
        .examples
        .as_ref()
        .ok_or_else(|| rule_err("examples", "the rule has no examples to calibrate".into()))?;
    let positive = positive.map(str::to_string).unwrap_or_else(|| match &rule.model {
        Some(m) => crate::model::ACTS[m.act].to_string(),
        None => rule.id.clone(),
    });
    let mut texts: Vec<String> = Vec::new();
    let mut gold = Vec::new();
    for (line, v) in read_json_lines(path)? {
        let err = |message: String| EvalError::Label { path: path.to_path_buf(), line, message };
        let text = v["text"].as_str().ok_or_else(|| err("text: missing or not a string".into()))?;
        if let Some(s) = v["speaker"].as_str() {
            let speaker = Speaker::parse(s).ok_or_else(|| err(format!("speaker: {s:?}")))?;
            if !rule.speaker.admits(speaker) {
                continue;
            }
        }
        let is_positive = match (&v["label"], v["labels"].as_array()) {
            (serde_json::Value::Bool(b), _) => *b,
            (_, Some(list)) => list.iter().any(|l| l.as_str() == Some(positive.as_str())),
            _ => return Err(err("expected `label` (true / false) or `labels` (a list)".into())),
        };
        texts.push(text.to_string());
        gold.push(is_positive);
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = model.embed(&texts)?;
    let scores: Vec<f32> = vectors.iter().map(|v| example_score(examples, v)).collect();
    let (positives, negatives) =
        (gold.iter().filter(|g| **g).count() as u64, gold.iter().filter(|g| !**g).count() as u64);
    let (threshold, precision, recall) = threshold_at(&scores, &gold, target_precision)
        .ok_or_else(|| EvalError::Label {
            path: path.to_path_buf(),
            line: 0,
            message: format!(
                "no threshold reaches precision {target_precision} with at least \
                 {MIN_PREDICTED} turns above it ({positives} positives, {negatives} negatives): \
                 add examples or counter-examples to rule {rule_id:?}, or label more turns"
            ),
        })?;
    Ok(Calibrated {
        rule: rule_id.to_string(),
        threshold,
        target_precision,
        precision,
        recall,
        positives,
        negatives,
        model_sha256: model.manifest.model_sha256().to_string(),
        labels: path.display().to_string(),
    })
}

/// The lowest score whose precision (turns scoring at least it) reaches `target`, with at least
/// `MIN_PREDICTED` (5) turns above it: (threshold, precision, recall).
pub fn threshold_at(scores: &[f32], gold: &[bool], target: f64) -> Option<(f64, f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let total_pos = gold.iter().filter(|g| **g).count();
    if total_pos == 0 {
        return None;
    }
    let mut best = None;
    let mut tp = 0;
    for (k, &i) in order.iter().enumerate() {
        tp += gold[i] as usize;
        // only cut between different scores: tied turns fall on the same side
        let next_differs = order.get(k + 1).is_none_or(|&j| scores[j] < scores[i]);
        let n = k + 1;
        let precision = tp as f64 / n as f64;
        if next_differs && n >= MIN_PREDICTED && precision >= target && scores[i] > 0.0 {
            best = Some((scores[i] as f64, precision, tp as f64 / total_pos as f64));
        }
    }
    // four decimals, rounded down so the turn at the threshold still reaches it (the 1e-3 absorbs
    // the f32 → f64 widening: 0.9f32 is 0.8999999762)
    best.map(|(t, p, r)| ((t * 10_000.0 + 1e-3).floor() / 10_000.0, p, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_the_lowest_score_that_keeps_the_precision() {
        let scores = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.90, 0.80, 0.70];
        let gold = [true, true, true, true, true, false, true, false, true];
        // down to 0.90: 6 of 7 right (0.857); to 0.95: 5 of 5
        let (t, p, r) = threshold_at(&scores, &gold, 0.85).unwrap();
        assert_eq!((t, (p * 1000.0).round()), (0.9, 857.0));
        assert!((r - 6.0 / 7.0).abs() < 1e-9);
        let (t, p, _) = threshold_at(&scores, &gold, 0.95).unwrap();
        assert_eq!((t, p), (0.95, 1.0));
    }

    #[test]
    fn too_few_turns_above_any_threshold_is_no_calibration() {
        assert_eq!(threshold_at(&[0.9, 0.8], &[true, true], 0.9), None);
        assert_eq!(threshold_at(&[0.9; 6], &[false; 6], 0.5), None);
    }

    #[test]
    fn tied_scores_fall_on_the_same_side() {
        // the top five tie: cutting inside them is not possible
        let scores = [0.9, 0.9, 0.9, 0.9, 0.9, 0.5];
        let gold = [true, true, true, true, false, true];
        assert_eq!(threshold_at(&scores, &gold, 0.85), None);
        assert!(threshold_at(&scores, &gold, 0.8).is_some());
    }
}
