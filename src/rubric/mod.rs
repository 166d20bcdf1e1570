//! The keyword rubric: a TOML file of rules (required phrases, forbidden phrases, customer
//! signals) plus the timing limits, dimension weights and pass threshold.
//!
//! Loading validates everything once: a mistake is reported with the rule id and the field
//! (`rubric/default.toml: rule "greeting": first_n_agent_turns: ...`). Phrases are normalized and
//! segmented with the same segmenter as the turns, and compiled into one Aho-Corasick automaton,
//! so thousands of phrases cost one pass over each turn.

mod detect;
mod evaluate;
mod file;
mod matcher;

use std::path::Path;

/// The timing settings are the timing stage's; the rubric file sets them.
pub use crate::timing::{Limits, TimingConfig};
pub use detect::{
    Binding, Calibration, Detection, ExampleDetector, ExampleThresholds, ModelDetector, detect,
    example_score, nearest,
};
pub use evaluate::{RuleOutcome, TurnHit, evaluate};
pub use matcher::MatchScratch;
pub use matcher::{Hit, HitSource, Matcher};

use crate::conversation::Speaker;
use crate::segment::Segmenter;

/// The rubric shipped with convqa (`rubric/default.toml`).
pub const DEFAULT_RUBRIC: &str = include_str!("../../rubric/default.toml");
pub const DEFAULT_RUBRIC_NAME: &str = "rubric/default.toml (built in)";

/// A rubric file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RubricError {
    #[error("{path}: cannot read rubric: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: invalid TOML: {}", source.to_string().trim_end().replace('\n', "\n  "))]
    Toml { path: String, source: Box<toml::de::Error> },
    #[error("{path}: {field}: {message}")]
    Field { path: String, field: String, message: String },
    #[error("{path}: rule {rule:?}: {field}: {message}")]
    Rule { path: String, rule: String, field: String, message: String },
}

/// A QA dimension. Rules score `empathy` or `compliance`; `responsiveness` comes from timing,
/// `sentiment` and `politeness` from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Responsiveness,
    Empathy,
    Compliance,
    Sentiment,
    Politeness,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Responsiveness,
        Dimension::Empathy,
        Dimension::Compliance,
        Dimension::Sentiment,
        Dimension::Politeness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Responsiveness => "responsiveness",
            Dimension::Empathy => "empathy",
            Dimension::Compliance => "compliance",
            Dimension::Sentiment => "sentiment",
            Dimension::Politeness => "politeness",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Minor,
    Major,
    /// A critical flag fails the conversation whatever its score.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Must be said (in scope) or the dimension loses the rule's weight.
    Required,
    /// Must not be said; each hit costs the rule's weight.
    Forbidden,
    /// Something the customer says that the team wants to know (complaint, churn risk, ...).
    Signal,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Required => "required",
            RuleKind::Forbidden => "forbidden",
            RuleKind::Signal => "signal",
        }
    }
}

/// Whose turns a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerScope {
    Only(Speaker),
    Any,
}

impl SpeakerScope {
    pub fn admits(self, speaker: Speaker) -> bool {
        match self {
            SpeakerScope::Only(s) => s == speaker,
            SpeakerScope::Any => true,
        }
    }
}

/// Where in the conversation a rule looks (counted in agent turns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Anywhere,
    FirstAgentTurns(u32),
    LastAgentTurns(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub kind: RuleKind,
    pub dimension: Option<Dimension>,
    pub speaker: SpeakerScope,
    pub position: Position,
    /// Index of the signal rule that must have fired for this rule to apply.
    pub when: Option<usize>,
    pub weight: f64,
    pub severity: Severity,
    pub negation: bool,
    pub phrases: Vec<String>,
    /// Longer phrases that, when one of them covers a hit in the same turn, cancel it: the
    /// listed phrase is part of an innocent expression ("take care" in "take care of").
    pub except: Vec<String>,
    /// `model = "<act>"`: the model's act head also detects this rule.
    pub model: Option<ModelDetector>,
    /// `examples`: sentences whose nearest neighbours also detect this rule.
    pub examples: Option<ExampleDetector>,
}

/// A validated rubric, with its phrase matcher compiled.
pub struct Rubric {
    pub name: String,
    pub version: String,
    /// Where it was loaded from, and the SHA-256 of the file, for the run summary.
    pub source: String,
    pub sha256: String,
    pub pass_threshold: f64,
    /// qa_score weights per dimension, indexed by `Dimension as usize`.
    pub weights: [f64; 5],
    pub timing: TimingConfig,
    /// Signal rules (indexes) that mark a customer turn as a closing reply ("no, that's all,
    /// thanks"): its sentiment counts as at least neutral in the conversation's sentiment.
    pub closing_signals: Vec<usize>,
    /// ... unless the same turn fires one of these (a complaint in a closing reply stays).
    pub closing_unless: Vec<usize>,
    pub rules: Vec<Rule>,
    pub matcher: Matcher,
    /// What [`Rubric::bind`] decided for the model and example detectors.
    pub binding: Binding,
}

impl Rubric {
    /// Reads and validates a rubric file.
    pub fn load(path: &Path, segmenter: &Segmenter) -> Result<Rubric, RubricError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| RubricError::Read { path: name.clone(), source })?;
        Rubric::parse(&text, &name, segmenter)
    }

    /// The built-in default rubric.
    pub fn default_rubric(segmenter: &Segmenter) -> Result<Rubric, RubricError> {
        Rubric::parse(DEFAULT_RUBRIC, DEFAULT_RUBRIC_NAME, segmenter)
    }

    /// Parses and validates rubric text; `source` names it in errors.
    pub fn parse(text: &str, source: &str, segmenter: &Segmenter) -> Result<Rubric, RubricError> {
        file::parse(text, source, segmenter)
    }

    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }

    pub fn weight(&self, d: Dimension) -> f64 {
        self.weights[d as usize]
    }
}
