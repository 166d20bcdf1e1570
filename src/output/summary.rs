//! `summary.json`: what a run read, scored and rejected, how long each stage took, and which
//! rubric and models produced the scores. Built here from the run's parts ([`Summary::new`]).

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

impl RubricInfo {
    /// What the summary says of `rubric`.
    pub fn of(rubric: &crate::rubric::Rubric) -> RubricInfo {
        RubricInfo {
            name: rubric.name.clone(),
            version: rubric.version.clone(),
            source: rubric.source.clone(),
            sha256: rubric.sha256.clone(),
            rules: rubric.rules.len(),
            phrases: rubric.matcher.pattern_count(),
            pass_threshold: rubric.pass_threshold,
            limits: crate::conversation::Channel::ALL
                .iter()
                .map(|&c| (c.as_str().to_string(), rubric.timing.limits(c)))
                .collect(),
            rules_phrases_only: rubric.binding.phrases_only.clone(),
        }
    }
}

impl ModelInfo {
    /// What the summary says of `model`.
    pub fn of(model: &crate::model::ModelStage) -> ModelInfo {
        let m = &model.manifest;
        ModelInfo {
            name: m.name.clone(),
            version: m.version.clone(),
            dir: model.dir.display().to_string(),
            sha256: m.sha256.clone(),
            thresholds: m.thresholds,
            act_thresholds: m
                .acts
                .as_ref()
                .map(|a| a.threshold.clone().into_iter().collect())
                .unwrap_or_default(),
        }
    }
}

/// What a run hands over to build its summary.
pub struct RunFacts<'a> {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub threads: usize,
    pub counts: Counts,
    pub rejects_by_code: std::collections::BTreeMap<String, u64>,
    pub inputs: Vec<SourceStats>,
    pub adapter: Option<AdapterInfo>,
    pub rubric: &'a crate::rubric::Rubric,
    pub model: Option<&'a crate::model::ModelStage>,
    pub stage_seconds: StageSeconds,
    pub incremental: Option<super::IncrementalInfo>,
}

impl Summary {
    /// The summary of a finished run; `finished_at` is now.
    pub fn new(run: RunFacts<'_>) -> Summary {
        Summary {
            convqa_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: run.started_at.to_rfc3339(),
            finished_at: chrono::Utc::now().to_rfc3339(),
            threads: run.threads,
            counts: run.counts,
            rejects_by_code: run.rejects_by_code,
            inputs: run.inputs,
            adapter: run.adapter,
            rubric: RubricInfo::of(run.rubric),
            models: run.model.iter().map(|m| ModelInfo::of(m)).collect(),
            stage_seconds: run.stage_seconds,
            outputs: output_files(run.incremental.is_some()),
            incremental: run.incremental,
        }
    }

    /// Writes the summary to a temporary file for the run's [`super::Transaction`].
    pub fn stage(&self, path: &Path) -> Result<Staged, OutputError> {
        let io = |source| OutputError::Io { path: path.to_path_buf(), source };
        let mut f = std::io::BufWriter::new(AtomicFile::create(path)?);
        serde_json::to_writer_pretty(&mut f, self).map_err(|e| io(e.into()))?;
        f.write_all(b"\n").map_err(io)?;
        f.into_inner().map_err(|e| io(e.into_error()))?.finish()
    }
}

/// The files a run writes, as `summary.json`'s `outputs` lists them.
fn output_files(incremental: bool) -> Vec<String> {
    let tables: Vec<String> = if incremental {
        super::partitioned::TABLES.iter().map(|t| format!("{t}/date=*/part-*.parquet")).collect()
    } else {
        [super::CONVERSATIONS, super::TURNS, super::FLAGS].iter().map(|s| s.to_string()).collect()
    };
    tables
        .into_iter()
        .chain([super::REJECTS, super::SUMMARY].iter().map(|s| s.to_string()))
        .collect()
}
