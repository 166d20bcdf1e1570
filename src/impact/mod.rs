//! Did training work? `convqa impact DIR --trainings trainings.csv` compares, for each training
//! (agent, skill, date[, course]), the targeted skill before and after it, against the agents of
//! the same team (every agent in the folder: the input has no team field) not trained in that
//! skill in the window, and says in plain words whether it changed.
//!
//! - **Windows**: before = the `before_days` days up to the day before the training; after =
//!   `after_days` days starting `gap_days` after it (time to apply what was learnt). Days are
//!   UTC days of `started_at`.
//! - **Score of a skill** in one conversation: a dimension's subscore (null ones are left out:
//!   empathy is judged only after customer distress), or for a rule id 0 when the conversation
//!   has that rule's flag and 100 otherwise.
//! - **Estimates** ([`bootstrap`]): after − before with a 95 % percentile bootstrap interval, and
//!   the difference-in-differences (trained change − control change) with its own. The verdict
//!   reads the difference-in-differences when there is a control group, else the difference.
//! - **Courses**: the trainings of one course (those with enough conversations) pooled with equal
//!   weights, replicate by replicate, so the course's interval is a bootstrap interval too.
//! - **Bad rows** of the CSV go to `training_rejects.jsonl` with line and reason ([`trainings`]),
//!   counted in [`ImpactRun`]; they never stop the command.
//! - **Outputs** (`training_impact.parquet`, `training_rejects.jsonl`) are committed together
//!   under the folder's lock, like every other output ([`crate::output::commit`]).

pub mod bootstrap;
pub mod html;
mod table;
pub mod trainings;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Days, NaiveDate};

pub use bootstrap::{Estimates, Groups, Interval};
pub use trainings::{Skill, Training, TrainingReject};

use crate::output::OutputError;
use crate::report::{ConvRecord, LoadError, ReportInput};

/// Output files (in the scored folder).
pub const TRAINING_IMPACT: &str = "training_impact.parquet";
pub const TRAINING_REJECTS: &str = "training_rejects.jsonl";

/// How trainings are measured (options of `convqa impact`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactOptions {
    pub before_days: u32,
    pub after_days: u32,
    /// Days between the training and the start of the after window.
    pub gap_days: u32,
    /// Fewest scored conversations of the trained agent in each window for a verdict.
    pub min_conversations: usize,
    pub replicates: usize,
    /// Seed of the bootstrap (each training's stream is seeded by this and its line).
    pub seed: u64,
    pub wait_lock: Option<Duration>,
}

impl Default for ImpactOptions {
    fn default() -> Self {
        ImpactOptions {
            before_days: 28,
            after_days: 28,
            gap_days: 7,
            min_conversations: 20,
            replicates: 2000,
            seed: 0,
            wait_lock: None,
        }
    }
}

/// The plain-words outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The interval lies above 0.
    Improved,
    /// The interval lies below 0.
    GotWorse,
    /// The interval covers 0.
    NoChange,
    /// Fewer than `need` scored conversations in a window.
    TooFew { need: usize },
}

impl Verdict {
    /// The `verdict` column.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::GotWorse => "got_worse",
            Verdict::NoChange => "no_change",
            Verdict::TooFew { .. } => "too_few",
        }
    }

    /// For people: "improved", "no measurable change", "too few conversations: need 20".
    pub fn words(self) -> String {
        match self {
            Verdict::Improved => "improved".into(),
            Verdict::GotWorse => "got worse".into(),
            Verdict::NoChange => "no measurable change".into(),
            Verdict::TooFew { need } => format!("too few conversations: need {need}"),
        }
    }

    fn of(interval: Interval) -> Verdict {
        if interval.low > 0.0 {
            Verdict::Improved
        } else if interval.high < 0.0 {
            Verdict::GotWorse
        } else {
            Verdict::NoChange
        }
    }
}

/// Inclusive first and last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Window {
    fn contains(&self, d: NaiveDate) -> bool {
        self.first <= d && d <= self.last
    }
}

/// One training's result.
#[derive(Debug, Clone)]
pub struct TrainingImpact {
    pub training: Training,
    pub before: Window,
    pub after: Window,
    pub n_before: usize,
    pub n_after: usize,
    pub mean_before: Option<f64>,
    pub mean_after: Option<f64>,
    /// after − before; `None` when a window has no scored conversation.
    pub difference: Option<Interval>,
    /// Agents in the control group (with a scored conversation in either window).
    pub control_agents: usize,
    pub control_n_before: usize,
    pub control_n_after: usize,
    pub control_difference: Option<f64>,
    pub did: Option<Interval>,
    pub verdict: Verdict,
    /// Bootstrap replicates of the effect the verdict reads (empty with too few conversations).
    replicates: Vec<f64>,
}

impl TrainingImpact {
    /// `" (no control group)"` when the effect is the plain before/after change.
    pub fn no_control_note(&self) -> &'static str {
        if self.did.is_none() && self.difference.is_some() { " (no control group)" } else { "" }
    }

    /// The effect the verdict reads: the difference-in-differences, or the difference without
    /// a control group.
    pub fn effect(&self) -> Option<Interval> {
        self.did.or(self.difference)
    }
}

/// A course's pooled effect.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseImpact {
    pub course: String,
    /// Its trainings, and how many had enough conversations to be pooled.
    pub trainings: usize,
    pub pooled: usize,
    pub effect: Option<Interval>,
    pub verdict: Verdict,
}

/// Everything `convqa impact` found.
#[derive(Debug, Clone, Default)]
pub struct Impact {
    pub trainings: Vec<TrainingImpact>,
    pub courses: Vec<CourseImpact>,
    pub rejects: Vec<TrainingReject>,
}

/// Failures of `convqa impact` (a bad CSV row is not one: it is a reject).
#[derive(Debug, thiserror::Error)]
pub enum ImpactError {
    #[error("{path}: cannot read the trainings: {source}")]
    Trainings { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

/// What a `convqa impact` run wrote.
#[derive(Debug, Clone)]
pub struct ImpactRun {
    pub impact: Impact,
    pub written: Vec<PathBuf>,
}

/// The skill's score in each conversation (`None`: not judged there).
fn scores(input: &ReportInput, skill: &Skill) -> Vec<Option<f64>> {
    match skill {
        Skill::Dimension(d) => {
            input.conversations.iter().map(|c| c.subscores[*d as usize]).collect()
        }
        Skill::Rule(rule) => {
            let flagged: HashSet<usize> = input
                .flags
                .iter()
                .filter(|f| f.rule_id.as_deref() == Some(rule.as_str()))
                .map(|f| f.conv)
                .collect();
            (0..input.conversations.len())
                .map(|i| Some(if flagged.contains(&i) { 0.0 } else { 100.0 }))
                .collect()
        }
    }
}

fn day(c: &ConvRecord) -> NaiveDate {
    c.started_at.date_naive()
}

/// Measures every training on the scored conversations (pure; deterministic for a seed).
pub fn measure(input: &ReportInput, trainings: &[Training], opts: &ImpactOptions) -> Impact {
    // each skill's scores once
    let mut by_skill: Vec<(&Skill, Vec<Option<f64>>)> = Vec::new();
    for t in trainings {
        if !by_skill.iter().any(|(s, _)| **s == t.skill) {
            by_skill.push((&t.skill, scores(input, &t.skill)));
        }
    }
    let scores_of = |s: &Skill| &by_skill.iter().find(|(k, _)| *k == s).expect("computed above").1;
    let results: Vec<TrainingImpact> = trainings
        .iter()
        .map(|t| measure_one(input, scores_of(&t.skill), trainings, t, opts))
        .collect();
    let courses = pool_courses(&results, opts.min_conversations);
    Impact { trainings: results, courses, rejects: Vec::new() }
}

fn measure_one(
    input: &ReportInput,
    scores: &[Option<f64>],
    all: &[Training],
    t: &Training,
    opts: &ImpactOptions,
) -> TrainingImpact {
    let before = Window {
        first: t.date - Days::new(u64::from(opts.before_days.max(1))),
        last: t.date - Days::new(1),
    };
    let first_after = t.date + Days::new(u64::from(opts.gap_days));
    let after = Window {
        first: first_after,
        last: first_after + Days::new(u64::from(opts.after_days.max(1) - 1)),
    };
    // agents trained in this skill at any time from the before window's start to the after
    // window's end are no controls
    let trained: BTreeSet<&str> = all
        .iter()
        .filter(|o| o.skill == t.skill && before.first <= o.date && o.date <= after.last)
        .map(|o| o.agent_id.as_str())
        .collect();
    let mut g = Groups::default();
    let mut controls: BTreeSet<&str> = BTreeSet::new();
    for (c, score) in input.conversations.iter().zip(scores) {
        let Some(score) = *score else { continue };
        let d = day(c);
        let (is_before, is_after) = (before.contains(d), after.contains(d));
        if !is_before && !is_after {
            continue;
        }
        let agent: &str = &c.agent_id;
        if agent == t.agent_id {
            if is_before { g.before.push(score) } else { g.after.push(score) }
        } else if !trained.contains(agent) {
            controls.insert(agent);
            if is_before { g.control_before.push(score) } else { g.control_after.push(score) }
        }
    }
    let need = opts.min_conversations.max(1);
    let enough = g.before.len() >= need && g.after.len() >= need;
    let estimates = (!g.before.is_empty() && !g.after.is_empty()).then(|| {
        bootstrap::estimate(&g, opts.replicates.max(1), opts.seed ^ t.line.rotate_left(32))
    });
    let verdict = match &estimates {
        Some(e) if enough => Verdict::of(e.did.unwrap_or(e.difference)),
        _ => Verdict::TooFew { need },
    };
    TrainingImpact {
        training: t.clone(),
        before,
        after,
        n_before: g.before.len(),
        n_after: g.after.len(),
        mean_before: bootstrap::mean(&g.before),
        mean_after: bootstrap::mean(&g.after),
        difference: estimates.as_ref().map(|e| e.difference),
        control_agents: controls.len(),
        control_n_before: g.control_before.len(),
        control_n_after: g.control_after.len(),
        control_difference: estimates.as_ref().and_then(|e| e.control_difference),
        did: estimates.as_ref().and_then(|e| e.did),
        verdict,
        replicates: match estimates {
            Some(e) if enough => e.replicates,
            _ => Vec::new(),
        },
    }
}

/// Per course: the mean effect of its trainings with enough conversations, and the interval of
/// that mean from their replicates (averaged replicate by replicate).
fn pool_courses(results: &[TrainingImpact], need: usize) -> Vec<CourseImpact> {
    let mut by_course: BTreeMap<&str, Vec<&TrainingImpact>> = BTreeMap::new();
    for r in results {
        if let Some(c) = &r.training.course {
            by_course.entry(c).or_default().push(r);
        }
    }
    by_course
        .into_iter()
        .map(|(course, rs)| {
            let usable: Vec<&&TrainingImpact> =
                rs.iter().filter(|r| !r.replicates.is_empty()).collect();
            let effect = (!usable.is_empty()).then(|| {
                let k = usable.len() as f64;
                let estimate =
                    usable.iter().map(|r| r.effect().expect("measured").estimate).sum::<f64>() / k;
                let n = usable.iter().map(|r| r.replicates.len()).min().unwrap_or(0);
                let reps: Vec<f64> = (0..n)
                    .map(|b| usable.iter().map(|r| r.replicates[b]).sum::<f64>() / k)
                    .collect();
                Interval::from_replicates(estimate, &reps)
            });
            CourseImpact {
                course: course.to_string(),
                trainings: rs.len(),
                pooled: usable.len(),
                verdict: effect.map_or(Verdict::TooFew { need: need.max(1) }, Verdict::of),
                effect,
            }
        })
        .collect()
}

/// Reads the trainings file against the folder's data: known agents, dimension names and the
/// rule ids of its flags; rows naming an agent without conversations are rejects too.
pub fn read_trainings(
    path: &Path,
    input: &ReportInput,
) -> Result<(Vec<Training>, Vec<TrainingReject>), ImpactError> {
    let text = std::fs::read(path)
        .map_err(|source| ImpactError::Trainings { path: path.to_path_buf(), source })?;
    let rules: HashSet<&str> = input.flags.iter().filter_map(|f| f.rule_id.as_deref()).collect();
    let agents: HashSet<&str> = input.conversations.iter().map(|c| &*c.agent_id).collect();
    let (rows, mut rejects) = trainings::read(path, &text, &|s| rules.contains(s));
    let mut ok = Vec::with_capacity(rows.len());
    for t in rows {
        if agents.contains(t.agent_id.as_str()) {
            ok.push(t);
        } else {
            rejects.push(TrainingReject {
                file: path.display().to_string(),
                line: t.line,
                code: "unknown_agent",
                reason: format!("agent {:?} has no conversations in this folder", t.agent_id),
                raw: format!(
                    "{},{},{}{}",
                    t.agent_id,
                    t.skill.name(),
                    t.date,
                    t.course.as_deref().map(|c| format!(",{c}")).unwrap_or_default()
                ),
            });
        }
    }
    rejects.sort_by_key(|r| r.line);
    Ok((ok, rejects))
}

/// Measures the trainings of `trainings_csv` on the scored folder `dir` (its records as
/// [`crate::report::load`] reads them).
pub fn measure_store(
    dir: &Path,
    trainings_csv: &Path,
    opts: &ImpactOptions,
) -> Result<Impact, ImpactError> {
    let input = crate::report::load(dir)?;
    let (trainings, rejects) = read_trainings(trainings_csv, &input)?;
    let mut impact = measure(&input, &trainings, opts);
    impact.rejects = rejects;
    Ok(impact)
}

/// Stages `training_impact.parquet` and `training_rejects.jsonl` into `tx`.
pub fn stage(
    dir: &Path,
    impact: &Impact,
    tx: &mut crate::output::Transaction,
) -> Result<Vec<PathBuf>, OutputError> {
    table::stage(dir, impact, tx)
}

/// `convqa impact`: holds the folder's lock, measures, and commits both files together.
pub fn write_impact(
    dir: &Path,
    trainings_csv: &Path,
    opts: &ImpactOptions,
) -> Result<ImpactRun, ImpactError> {
    if !dir.is_dir() {
        let source = std::io::ErrorKind::NotFound.into();
        return Err(LoadError::Read { path: dir.to_path_buf(), source }.into());
    }
    let _lock = crate::output::open_store(dir, opts.wait_lock)?;
    let impact = measure_store(dir, trainings_csv, opts)?;
    let mut tx = crate::output::Transaction::new(dir);
    let written = stage(dir, &impact, &mut tx)?;
    tx.commit()?;
    Ok(ImpactRun { impact, written })
}

/// The report with a "Did training work?" section (`convqa report DIR --trainings FILE`): the
/// report files, `training_impact.parquet` and `training_rejects.jsonl` in one commit.
pub fn write_report_with_impact(
    dir: &Path,
    report_opts: &crate::report::ReportOptions,
    trainings_csv: &Path,
    opts: &ImpactOptions,
) -> Result<(Vec<PathBuf>, Impact), ImpactError> {
    let mut measured = None;
    let written = crate::report::write_report_with(dir, report_opts, |tx| {
        let impact = measure_store(dir, trainings_csv, opts)?;
        let paths = stage(dir, &impact, tx)?;
        let mut body = String::new();
        html::section(&mut body, &impact);
        measured = Some(impact);
        let section = crate::report::html::Extra {
            id: "training",
            nav: "Training",
            title: "Did training work?",
            body,
        };
        Ok::<_, ImpactError>((vec![section], paths))
    })?;
    Ok((written, measured.expect("measured under the lock")))
}

/// `convqa impact` for the binary: writes the outputs, prints one line per training and
/// course on stdout and the closing line (or the error) on stderr; returns the exit code.
pub fn command(dir: &Path, trainings_csv: &Path, opts: &ImpactOptions, quiet: bool) -> u8 {
    match write_impact(dir, trainings_csv, opts) {
        Ok(run) => {
            if !quiet {
                print!("{}", render_text(&run.impact));
                let rejected = run.impact.rejects.len();
                eprintln!(
                    "convqa: measured {} trainings ({} courses), rejected {} rows{} -> {}",
                    run.impact.trainings.len(),
                    run.impact.courses.len(),
                    rejected,
                    if rejected > 0 {
                        format!(" (why: {})", dir.join(TRAINING_REJECTS).display())
                    } else {
                        String::new()
                    },
                    dir.join(TRAINING_IMPACT).display()
                );
            }
            0
        }
        Err(e) => {
            eprintln!("convqa: error: {e}");
            e.exit_code()
        }
    }
}

/// `convqa report DIR --trainings FILE` for the binary: the report with "Did training work?";
/// returns the exit code.
pub fn report_command(
    dir: &Path,
    report_opts: &crate::report::ReportOptions,
    trainings_csv: &Path,
    quiet: bool,
) -> u8 {
    let opts = ImpactOptions { wait_lock: report_opts.wait_lock, ..ImpactOptions::default() };
    match write_report_with_impact(dir, report_opts, trainings_csv, &opts) {
        Ok((written, impact)) => {
            if !quiet {
                eprintln!(
                    "convqa: wrote {} report files ({} trainings measured, {} rows rejected), open {}",
                    written.len(),
                    impact.trainings.len(),
                    impact.rejects.len(),
                    dir.join(crate::report::REPORT_HTML).display()
                );
            }
            0
        }
        Err(e) => {
            eprintln!("convqa: error: {e}");
            e.exit_code()
        }
    }
}

/// The closing lines of `convqa impact`: one per training and course.
pub fn render_text(impact: &Impact) -> String {
    let mut out = String::new();
    for r in &impact.trainings {
        let t = &r.training;
        out.push_str(&format!(
            "{} {} {}: {} (before {} conv. mean {}, after {} mean {}, effect {})\n",
            t.agent_id,
            t.skill.name(),
            t.date,
            r.verdict.words(),
            r.n_before,
            opt(r.mean_before),
            r.n_after,
            opt(r.mean_after),
            r.effect().map_or("n/a".into(), |e| interval(&e)) + r.no_control_note(),
        ));
    }
    for c in &impact.courses {
        out.push_str(&format!(
            "course {}: {} ({} of {} trainings pooled, effect {})\n",
            c.course,
            c.verdict.words(),
            c.pooled,
            c.trainings,
            c.effect.map_or("n/a".into(), |e| interval(&e)),
        ));
    }
    out
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}"))
}

/// `+15.2 [+9.8, +20.1]`
pub fn interval(i: &Interval) -> String {
    format!("{:+.1} [{:+.1}, {:+.1}]", i.estimate, i.low, i.high)
}

#[cfg(test)]
mod tests;
