//! `models/<name>/manifest.toml`: what a model folder holds and how to call it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::ModelError;

/// One classification head: which output it reads, what its classes mean, and how its logits
/// are calibrated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub output: String,
    pub labels: Vec<String>,
    /// Platt scaling fitted on held-out chat turns (see the model card): the reported
    /// probability of the second label is `sigmoid(scale × (logit₁ − logit₀) + bias)`.
    #[serde(default = "one")]
    pub scale: f32,
    #[serde(default)]
    pub bias: f32,
}

fn one() -> f32 {
    1.0
}

impl Head {
    /// Calibrated probability of the second label from the head's two logits.
    pub fn probability(&self, logits: &[f32]) -> f32 {
        let z = self.scale * (logits[1] - logits[0]) + self.bias;
        1.0 / (1.0 + (-z).exp())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// Tokens per input, special tokens included; longer turns are truncated.
    pub max_length: usize,
    /// Prepended to every text before tokenizing (e5 expects "query: ").
    #[serde(default)]
    pub prefix: String,
    /// Model input names, in the order `input_ids`, `attention_mask`.
    pub inputs: Vec<String>,
    pub heads: BTreeMap<String, Head>,
    /// SHA-256 of the files in the folder, checked at load.
    pub sha256: BTreeMap<String, String>,
    /// Flag thresholds chosen for this model on held-out data (see its model card).
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Most texts per inference call. A dynamically quantized model computes its activation
    /// scales per call, so a text's output would depend on the other texts in its batch; such a
    /// model says `max_batch = 1` and every turn is scored on its own.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Agent acts and customer distress (multi-label), when the model has that head.
    #[serde(default)]
    pub acts: Option<ActsHead>,
    /// The sentence vector that rubric example sentences are matched against.
    #[serde(default)]
    pub embedding: Option<EmbeddingOutput>,
}

/// A multi-label head: one logit per act, `P(act) = sigmoid(logit)`; the act is detected on a
/// turn when `P` reaches its threshold (calibrated on held-out turns, see the model card).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActsHead {
    pub output: String,
    pub labels: Vec<String>,
    pub threshold: BTreeMap<String, f32>,
}

/// An L2-normalized sentence vector output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingOutput {
    pub output: String,
    pub dim: usize,
}

fn default_max_batch() -> usize {
    64
}

/// Where a model score becomes a flag.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// An agent turn with P(polite) below this is flagged impolite.
    pub impolite_below: f64,
    /// A customer ending with sentiment (−1…1) below this is flagged as ending negative.
    pub negative_below: f64,
    /// A fall in customer sentiment from first to last turn of at least this much is flagged.
    pub sentiment_drop: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { impolite_below: 0.3, negative_below: -0.3, sentiment_drop: 0.8 }
    }
}

impl Manifest {
    pub fn load(dir: &Path) -> Result<Manifest, ModelError> {
        let path = dir.join("manifest.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ModelError::Read { path: path.clone(), source })?;
        let m: Manifest = toml::from_str(&text).map_err(|e| ModelError::Manifest {
            path: path.clone(),
            message: e.to_string().trim_end().to_string(),
        })?;
        for name in ["sentiment", "politeness"] {
            let head = m.heads.get(name).ok_or_else(|| ModelError::Manifest {
                path: path.clone(),
                message: format!(
                    "heads.{name}: missing; convqa needs a sentiment and a politeness head"
                ),
            })?;
            if !(head.scale.is_finite() && head.scale > 0.0 && head.bias.is_finite()) {
                return Err(ModelError::Manifest {
                    path: path.clone(),
                    message: format!(
                        "heads.{name}: scale must be a positive number and bias a finite one \
                         (got scale {}, bias {})",
                        head.scale, head.bias
                    ),
                });
            }
            if head.labels.len() != 2 {
                return Err(ModelError::Manifest {
                    path: path.clone(),
                    message: format!(
                        "heads.{name}.labels: expected 2 labels (negative class first), got {}",
                        head.labels.len()
                    ),
                });
            }
        }
        if let Some(acts) = &m.acts {
            for label in &acts.labels {
                if !super::ACTS.contains(&label.as_str()) {
                    return Err(ModelError::Manifest {
                        path: path.clone(),
                        message: format!(
                            "acts.labels: {label:?} is not an act convqa knows ({})",
                            super::ACTS.join(", ")
                        ),
                    });
                }
                match acts.threshold.get(label) {
                    Some(t) if (0.0..=1.0).contains(t) => {}
                    other => {
                        return Err(ModelError::Manifest {
                            path: path.clone(),
                            message: format!(
                                "acts.threshold.{label}: expected a probability from 0 to 1, got {other:?}"
                            ),
                        });
                    }
                }
            }
        }
        if m.inputs.len() != 2 {
            return Err(ModelError::Manifest {
                path,
                message: "inputs: expected [input_ids, attention_mask]".to_string(),
            });
        }
        Ok(m)
    }

    /// The SHA-256 of `model.onnx` as the manifest states it (checked at load): what example
    /// thresholds calibrated for this model are tied to.
    pub fn model_sha256(&self) -> &str {
        self.sha256.get("model.onnx").map_or("", String::as_str)
    }

    pub fn head(&self, name: &str) -> &Head {
        &self.heads[name]
    }
}
