//! `summary.json`: what a run read, scored and rejected, how long each stage took, and which
//! rubric (and, later, models) produced the scores.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{AtomicFile, OutputError, Staged};
use crate::input::SourceStats;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Non-blank input lines: always `scored + rejected`.
    pub read: u64,
    pub scored: u64,
    pub rejected: u64,
    pub blank_lines: u64,
    pub passed: u64,
    pub failed: u64,
    pub turns: u64,
    pub flags: u64,
    /// Pieces of personal data replaced in the written text (`[PHONE]`, `[EMAIL]`, ...).
    pub redacted: u64,
    /// Customer and agent turns scored by the model, and the distinct texts it actually ran
    /// (a text repeated within a batch of conversations runs once): how much the run's
    /// greetings and canned replies saved. Both 0 with `--no-models`.
    pub model_turns: u64,
    pub model_distinct_texts: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StageSeconds {
    /// Wall-clock time reading and parsing input.
    pub read: f64,
    /// Wall-clock time of model inference.
    pub model: f64,
    /// CPU time summed over worker threads.
    pub segment: f64,
    pub rubric: f64,
    pub score: f64,
    /// Wall-clock time building and writing outputs (on the writer thread, overlapping scoring).
    pub write: f64,
    /// Of which fsyncs of the data files before the commit (the commit's own few, of the
    /// journal and the folders, come after the summary is written).
    pub fsync: f64,
    /// Waiting for and taking the output folder's lock.
    pub lock: f64,
    pub total_wall: f64,
}

/// `summary.json`'s `adapter`: how another tool's export was read.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterInfo {
    pub format: String,
    #[serde(flatten)]
    pub counts: crate::input::adapters::AdapterCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct RubricInfo {
    pub name: String,
    pub version: String,
    pub source: String,
    pub sha256: String,
    pub rules: usize,
    pub phrases: usize,
    /// qa_score needed to pass (the reports read it back).
    pub pass_threshold: f64,
    /// Reply-time limits per channel (the reports measure each conversation against its own).
    pub limits: std::collections::BTreeMap<String, crate::rubric::Limits>,
    /// Rules with a model or example detector that ran on their phrases only in this run
    /// (`--no-models`, or a model without an acts head): their findings may be fewer.
    pub rules_phrases_only: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub dir: String,
    pub sha256: std::collections::BTreeMap<String, String>,
    /// Where the model's scores became flags (the reports read them back).
    pub thresholds: crate::model::Thresholds,
    /// Per act of the acts head: the probability at which a turn shows it (empty without one).
    pub act_thresholds: std::collections::BTreeMap<String, f32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub convqa_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub threads: usize,
    pub counts: Counts,
    /// Rejects by reason code.
    pub rejects_by_code: std::collections::BTreeMap<String, u64>,
    pub inputs: Vec<SourceStats>,
    /// With `--from FORMAT`: the format and what its adapter dropped and kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterInfo>,
    pub rubric: RubricInfo,
    /// Models used in scoring; empty with `--no-models`.
    pub models: Vec<ModelInfo>,
    pub stage_seconds: StageSeconds,
    pub outputs: Vec<String>,
    /// What an `--incremental` run added, replaced and left unchanged (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<super::IncrementalInfo>,
}

impl Summary {
    /// Writes the summary to a temporary file for the run's [`super::Transaction`].
    pub fn stage(&self, path: &Path) -> Result<Staged, OutputError> {
        let io = |source| OutputError::Io { path: path.to_path_buf(), source };
        let mut f = std::io::BufWriter::new(AtomicFile::create(path)?);
        serde_json::to_writer_pretty(&mut f, self).map_err(|e| io(e.into()))?;
        f.write_all(b"\n").map_err(io)?;
        f.into_inner().map_err(|e| io(e.into_error()))?.finish()
    }
}
