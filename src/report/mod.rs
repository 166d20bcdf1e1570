//! Reports for people, built from a run's output folder: the review queue for QA staff, the
//! agent × period table and skill gaps for training planners, repeat contacts / first-contact
//! resolution and a follow-up list of at-risk customers, and one self-contained `report.html`.
//!
//! `load` reads `conversations.parquet` and `flags.parquet` (what any later run or another tool
//! also reads); `build` is pure (records in, [`Report`] out); `tables` and `html` write it. So
//! `convqa report OUT` and `convqa score --report` produce the same files from the same data.
//! The whole-store report (no `--days`) does not load the records: `stream` folds them batch by
//! batch into the same [`Report`], in memory that grows with agents × periods and distinct
//! customers, not with the records.

mod agents;
mod contacts;
pub mod html;
mod load;
mod period;
mod queue;
mod stream;
mod tables;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

pub(crate) use load::batches;
pub use load::{LoadError, load, load_window};
pub use period::PeriodKind;

use crate::rubric::Dimension;

/// Output files of a report (in the run's output folder).
pub const REVIEW_QUEUE_PARQUET: &str = "review_queue.parquet";
pub const REVIEW_QUEUE_CSV: &str = "review_queue.csv";
pub const AGENTS: &str = "agents.parquet";
pub const SKILL_GAPS: &str = "skill_gaps.parquet";
pub const FOLLOW_UPS: &str = "follow_ups.parquet";
pub const REPORT_HTML: &str = "report.html";

/// Everything configurable about the reports (CLI options of `convqa report`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    pub queue: QueueOptions,
    /// Time zone for periods (day / week / month boundaries).
    pub tz: Tz,
    pub targets: Targets,
    /// A contact by the same customer within this many days (about the same thing: a shared tag,
    /// or no tags on either side) means the earlier conversation did not resolve the matter.
    pub repeat_window_days: u32,
    pub gaps: GapOptions,
    /// Only the conversations that started in the last this many days of the data (UTC days
    /// back from the newest one not after the last run); `None`: all.
    pub days: Option<u32>,
    /// Placeholder customer ids that count as no id for FCR and follow-ups (any case).
    pub unknown_customer_ids: Vec<String>,
    /// How long to wait for the folder's lock while a `convqa score` run holds it; `None`
    /// fails at once.
    pub wait_lock: Option<std::time::Duration>,
}

/// Placeholder customer ids that exports use for anonymous contacts.
pub const UNKNOWN_CUSTOMER_IDS: &[&str] =
    &["", "-", "0", "anonymous", "guest", "n/a", "na", "none", "null", "unknown", "visitor"];

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            queue: QueueOptions::default(),
            tz: Tz::UTC,
            targets: Targets::default(),
            repeat_window_days: 7,
            gaps: GapOptions::default(),
            days: None,
            unknown_customer_ids: UNKNOWN_CUSTOMER_IDS.iter().map(|s| s.to_string()).collect(),
            wait_lock: None,
        }
    }
}

/// How the review queue is filled.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueOptions {
    /// At most this many conversations chosen by priority.
    pub top_n: usize,
    /// At most this many priority entries per agent (0: no limit), so one bad agent's day does not
    /// fill the whole queue.
    pub per_agent: usize,
    /// Share (percent) of *passed* conversations added at random for calibration audits.
    pub sample_percent: f64,
    /// At most this many sampled conversations (0: no limit): 5 % of a big night is more than a
    /// QA team audits. The ones with the lowest sample hash are kept, so the choice is as stable.
    pub sample_max: usize,
    /// Seed of that sample; a conversation's membership depends only on its id and the seed.
    pub seed: u64,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions { top_n: 50, per_agent: 10, sample_percent: 5.0, sample_max: 50, seed: 0 }
    }
}

/// The service targets the report measures against. Reply times are judged per conversation
/// against the rubric's limits for its channel; these two are the headline (chat) figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    pub first_response_secs: f64,
    pub mean_reply_secs: f64,
    /// First-contact resolution rate (0–1).
    pub fcr: f64,
    /// Pass threshold of a dimension mean (same scale as qa_score).
    pub dimension: f64,
}

impl Default for Targets {
    fn default() -> Self {
        // the built-in rubric's chat limits
        let limits = crate::timing::FALLBACK_LIMITS;
        Targets {
            first_response_secs: limits.first_response_secs,
            mean_reply_secs: limits.reply_secs,
            fcr: 0.70,
            dimension: 70.0,
        }
    }
}

/// The skill-gap test: an agent with at least `min_conversations` scored in a dimension in a
/// period has a gap there when their mean is below the team's lower quartile of agent means
/// *and* at least `min_points` below the team median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapOptions {
    pub min_conversations: usize,
    pub min_points: f64,
}

impl Default for GapOptions {
    fn default() -> Self {
        GapOptions { min_conversations: 3, min_points: 10.0 }
    }
}

// ---- input records (one row of conversations.parquet / flags.parquet) ----

/// What the reports need of one scored conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvRecord {
    pub conversation_id: String,
    pub agent_id: Arc<str>,
    pub channel: Arc<str>,
    pub customer_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub language: Arc<str>,
    pub first_response_secs: Option<f64>,
    pub mean_agent_reply_secs: Option<f64>,
    /// The rubric's limits for this conversation's channel (e-mail is judged in hours, chat in
    /// minutes): "within target" compares against these.
    pub first_response_limit_secs: f64,
    pub reply_limit_secs: f64,
    pub sla_breaches: u32,
    /// Subscores indexed by `Dimension as usize`.
    pub subscores: [Option<f64>; 5],
    pub sentiment_end: Option<f64>,
    pub politeness_min: Option<f64>,
    pub qa_score: f64,
    pub passed: bool,
    pub signals: Vec<Arc<str>>,
    pub resolved: Option<bool>,
    pub csat: Option<u8>,
    pub tags: Vec<Arc<str>>,
}

/// One flag, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRecord {
    /// Index into the conversations the flags were loaded with.
    pub conv: usize,
    pub flag: Arc<str>,
    pub dimension: Arc<str>,
    pub severity: Arc<str>,
    pub rule_id: Option<Arc<str>>,
    pub turn_index: Option<u32>,
    pub speaker: Option<Arc<str>>,
    pub evidence: String,
    pub detail: String,
}

/// What a report is built from.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub conversations: Vec<ConvRecord>,
    pub flags: Vec<FlagRecord>,
    /// Model flag thresholds, for "borderline model score" in the queue (None without a model).
    pub model_thresholds: Option<crate::model::Thresholds>,
    /// Pass threshold of the rubric the run used.
    pub pass_threshold: f64,
}

// ---- the report ----

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub overview: Overview,
    pub queue: Vec<QueueEntry>,
    /// Agent rows and team rows for every period kind, sorted by kind, period, scope, agent.
    pub agents: Vec<AgentPeriod>,
    pub skill_gaps: Vec<SkillGap>,
    pub team_gaps: Vec<TeamGap>,
    pub follow_ups: Vec<FollowUp>,
    /// The options it was built with (the HTML footnote quotes them).
    pub options: ReportOptions,
    /// Pass threshold of the rubric the run used.
    pub pass_threshold: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub conversations: usize,
    pub passed: usize,
    pub agents: usize,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub qa_mean: Option<f64>,
    /// Conversations per qa_score decile: `[0, 10)`, `[10, 20)`, … `[90, 100]`.
    pub score_histogram: [usize; 10],
    pub dimension_means: [Option<f64>; 5],
    /// Share of conversations with a first response within the target (of those with one).
    pub first_response_within: Option<f64>,
    pub mean_reply_within: Option<f64>,
    pub fcr: Option<f64>,
    pub csat_mean: Option<f64>,
    /// Pearson correlation of qa_score and CSAT, with the number of conversations having both.
    pub qa_csat_correlation: Option<(f64, usize)>,
    pub targets: Targets,
}

/// A piece of evidence for a queue entry: the turn a flag points at.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub turn_index: Option<u32>,
    pub speaker: Option<String>,
    pub text: String,
    /// Why: the flag's plain-words detail.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    pub rank: usize,
    pub conversation_id: String,
    pub agent_id: String,
    /// The conversation's language (the page marks the row with it).
    pub language: String,
    pub started_at: DateTime<Utc>,
    pub qa_score: f64,
    pub passed: bool,
    pub priority: f64,
    /// `priority` (chosen by its flags) or `sample` (random calibration sample of passed ones).
    pub selection: &'static str,
    pub reasons: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// Mean and quartiles of one dimension over a set of conversations.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dist {
    pub n: usize,
    pub mean: Option<f64>,
    pub p25: Option<f64>,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentPeriod {
    /// `agent` or `team`.
    pub scope: &'static str,
    /// None on team rows.
    pub agent_id: Option<String>,
    pub period: PeriodKind,
    /// First day of the period (local date in the report's time zone); the whole range for `all`.
    pub period_start: NaiveDate,
    pub conversations: usize,
    pub passed: usize,
    pub qa: Dist,
    /// Indexed by `Dimension as usize`.
    pub dimensions: [Dist; 5],
    pub first_response_mean_secs: Option<f64>,
    pub first_response_within: Option<f64>,
    pub mean_reply_mean_secs: Option<f64>,
    pub mean_reply_within: Option<f64>,
    pub fcr: Option<f64>,
    pub csat_mean: Option<f64>,
    /// Rules (or flag kinds without a rule) most often behind this scope's flags, most frequent
    /// first, as `rule (count)`.
    pub top_failing_rules: Vec<String>,
    /// Change against the previous period of the same kind (null when that had no conversations).
    pub delta_qa_mean: Option<f64>,
    pub delta_pass_rate: Option<f64>,
    pub delta_dimensions: [Option<f64>; 5],
}

impl AgentPeriod {
    pub fn pass_rate(&self) -> f64 {
        if self.conversations == 0 { 0.0 } else { self.passed as f64 / self.conversations as f64 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkillGap {
    pub agent_id: String,
    pub period: PeriodKind,
    pub period_start: NaiveDate,
    pub dimension: Dimension,
    pub conversations: usize,
    pub agent_mean: f64,
    pub team_p25: f64,
    pub team_median: f64,
    /// The agent's lowest-scoring conversations in this dimension (at most 3), to read first.
    pub examples: Vec<String>,
}

/// A skill most of the team lacks (over the whole range).
#[derive(Debug, Clone, PartialEq)]
pub struct TeamGap {
    pub dimension: Dimension,
    pub team_mean: f64,
    /// Agents (with enough conversations) whose mean is below the dimension target.
    pub agents_below: Vec<String>,
    pub agents_counted: usize,
}

/// A customer to follow up: repeated contacts, repeated negative endings, complaints or churn
/// risk.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    pub customer_id: String,
    pub contacts: usize,
    /// Contacts that came within the repeat window of an earlier one about the same thing.
    pub repeat_contacts: usize,
    pub negative_endings: usize,
    pub complaints: usize,
    pub churn_risk: usize,
    pub last_contact: DateTime<Utc>,
    pub conversations: Vec<String>,
    pub agents: Vec<String>,
    pub reasons: Vec<String>,
}

/// Failures of `convqa report`.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// Builds the report (pure).
pub fn build(input: &ReportInput, opts: &ReportOptions) -> Report {
    let fcr = contacts::first_contact_resolution(
        &input.conversations,
        opts.repeat_window_days,
        &opts.unknown_customer_ids,
    );
    let days = agents::Days::new(input, opts);
    let agents = agents::agent_periods(input, &fcr, &days);
    let (skill_gaps, team_gaps) = agents::skill_gaps(input, &agents, &days, opts);
    Report {
        overview: agents::overview(input, &fcr, &days, opts),
        queue: queue::review_queue(input, &opts.queue),
        agents,
        skill_gaps,
        team_gaps,
        follow_ups: contacts::follow_ups(input, &fcr),
        options: opts.clone(),
        pass_threshold: input.pass_threshold,
    }
}

/// The report of every conversation stored in `dir` (flat or `--incremental`), streamed: the
/// same [`Report`] as [`build`] of [`load`], without holding the records (see the `stream`
/// module for what it keeps).
pub fn build_from_store(dir: &Path, opts: &ReportOptions) -> Result<Report, LoadError> {
    stream::report(dir, opts)
}

/// Reads `dir`'s outputs and writes the report files next to them, holding the folder's lock
/// (so it reads one run's outputs, not a commit in progress) and putting the files in place
/// together with one journaled commit: all the new reports, or the old ones.
pub fn write_report(dir: &Path, opts: &ReportOptions) -> Result<Vec<PathBuf>, ReportError> {
    write_report_with(dir, opts, |_| Ok::<_, ReportError>((Vec::new(), Vec::new())))
}

/// [`write_report`], plus what `extra` stages into the same commit under the same lock (other
/// modules' files) and the page sections it returns (e.g. "Did training work?").
pub fn write_report_with<E: From<ReportError>>(
    dir: &Path,
    opts: &ReportOptions,
    extra: impl FnOnce(&mut crate::output::Transaction) -> Result<(Vec<html::Extra>, Vec<PathBuf>), E>,
) -> Result<Vec<PathBuf>, E> {
    if !dir.is_dir() {
        let source = std::io::ErrorKind::NotFound.into();
        return Err(ReportError::from(LoadError::Read { path: dir.to_path_buf(), source }).into());
    }
    let _lock = crate::output::open_store(dir, opts.wait_lock).map_err(ReportError::from)?;
    let mut tx = crate::output::Transaction::new(dir);
    let (sections, mut extra_written) = extra(&mut tx)?;
    let mut written = stage_and_commit(dir, opts, &sections, tx)?;
    written.append(&mut extra_written);
    Ok(written)
}

/// Builds the report, stages its files into `tx` and commits (the folder's lock is held).
fn stage_and_commit(
    dir: &Path,
    opts: &ReportOptions,
    sections: &[html::Extra],
    mut tx: crate::output::Transaction,
) -> Result<Vec<PathBuf>, ReportError> {
    let report = match opts.days {
        None => stream::report(dir, opts)?,
        Some(days) => build(&load_window(dir, Some(days))?, opts),
    };
    let mut written = tables::stage_all(dir, &report, &mut tx)?;
    let html = html::render_with(&report, sections);
    let path = dir.join(REPORT_HTML);
    let mut file = crate::output::AtomicFile::create(&path)?;
    std::io::Write::write_all(&mut file, html.as_bytes())
        .map_err(|source| crate::output::OutputError::Io { path: path.clone(), source })?;
    tx.add(file.finish()?);
    tx.commit()?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn conv(id: &str, agent: &str, qa: f64, passed: bool) -> ConvRecord {
        ConvRecord {
            conversation_id: id.into(),
            agent_id: agent.into(),
            channel: "chat".into(),
            customer_id: None,
            started_at: "2026-11-02T09:00:00Z".parse().unwrap(),
            language: "en".into(),
            first_response_secs: None,
            mean_agent_reply_secs: None,
            first_response_limit_secs: 300.0,
            reply_limit_secs: 180.0,
            sla_breaches: 0,
            subscores: [None; 5],
            sentiment_end: None,
            politeness_min: None,
            qa_score: qa,
            passed,
            signals: vec![],
            resolved: None,
            csat: None,
            tags: vec![],
        }
    }

    pub fn flag(
        conv: usize,
        kind: &str,
        dimension: &str,
        severity: &str,
        rule: Option<&str>,
        turn: Option<u32>,
    ) -> FlagRecord {
        FlagRecord {
            conv,
            flag: kind.into(),
            dimension: dimension.into(),
            severity: severity.into(),
            rule_id: rule.map(Into::into),
            turn_index: turn,
            speaker: turn.map(|_| "agent".into()),
            evidence: turn.map(|t| format!("text of turn {t}")).unwrap_or_default(),
            detail: format!("{kind} detail"),
        }
    }
}
