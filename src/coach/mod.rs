//! Coaching sheets for a 1:1: `convqa coach DIR --agent ID [--month YYYY-MM]` (or `--all`, one
//! sheet per agent with conversations that month) writes `DIR/coaching/<agent>_<month>.html` and
//! `.md`.
//!
//! A sheet holds, for one agent and month (UTC), the two dimensions where the agent sits
//! furthest below the team's mean that month (below it, with at least 3 conversations judged); for each
//! the two clearest examples to discuss — the most severe flags of that dimension in two
//! different conversations, lowest dimension score first, each with the flagged turn, the turns
//! around it and why it was flagged — and one conversation where the agent did it well (their
//! best score in that dimension, no flag of it), with the turns showing it; and what changed
//! since the previous month, per dimension.
//!
//! The numbers are the `month` rows of `agents.parquet` (the report's own computation, not a
//! second one); examples come from `flags.parquet` and `turns.parquet`. Files are committed
//! together under the folder's lock, like every output.

mod render;
mod turns;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Datelike, NaiveDate};

use crate::output::OutputError;
use crate::report::{AgentPeriod, LoadError, PeriodKind, Report, ReportInput, ReportOptions};
use crate::rubric::Dimension;

pub use render::{html, markdown, md_escape};

/// The folder (inside the scored folder) the sheets go to.
pub const COACHING_DIR: &str = "coaching";

/// Weakest dimensions per sheet, examples per dimension.
pub const WEAKEST: usize = 2;
pub const EXAMPLES: usize = 2;

/// Which sheets.
#[derive(Debug, Clone, PartialEq)]
pub struct CoachOptions {
    /// One agent; `None`: every agent with conversations in the month (`--all`).
    pub agent: Option<String>,
    /// The month's first day; `None`: the newest month with conversations (of the agent).
    pub month: Option<NaiveDate>,
    pub wait_lock: Option<Duration>,
}

/// `YYYY-MM` → the month's first day (clap's value parser).
pub fn parse_month(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map_err(|_| format!("{s:?}: expected a month as YYYY-MM, e.g. 2026-11"))
}

/// One turn shown on a sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownTurn {
    pub index: u32,
    pub speaker: String,
    pub text: String,
    /// The turn the example is about.
    pub focus: bool,
}

/// A conversation excerpt with why it is on the sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub conversation_id: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The conversation's score in the dimension.
    pub score: Option<f64>,
    pub why: String,
    pub turns: Vec<ShownTurn>,
}

/// A weak dimension with its examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Weakness {
    pub dimension: Dimension,
    pub conversations: usize,
    pub agent_mean: f64,
    pub team_mean: f64,
    pub team_median: Option<f64>,
    pub to_discuss: Vec<Example>,
    pub done_well: Option<Example>,
}

/// A dimension's change since the previous month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub dimension: Dimension,
    pub now: Option<f64>,
    pub delta: Option<f64>,
}

/// One coaching sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub agent_id: String,
    pub month: NaiveDate,
    pub conversations: usize,
    pub qa_mean: Option<f64>,
    pub team_qa_mean: Option<f64>,
    pub delta_qa_mean: Option<f64>,
    pub weakest: Vec<Weakness>,
    pub changes: Vec<Change>,
}

#[derive(Debug, thiserror::Error)]
pub enum CoachError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("agent {agent:?} has no conversations in this folder (agents: {known})")]
    UnknownAgent { agent: String, known: String },
    #[error("{agent} has no conversations in {month} (months with conversations: {known})")]
    NoConversations { agent: String, month: String, known: String },
}

fn month_label(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn month_row<'a>(
    report: &'a Report,
    scope: &str,
    agent: Option<&str>,
    month: NaiveDate,
) -> Option<&'a AgentPeriod> {
    report.agents.iter().find(|r| {
        r.period == PeriodKind::Month
            && r.scope == scope
            && r.period_start == month
            && r.agent_id.as_deref() == agent
    })
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "major" => 1,
        "minor" => 2,
        _ => 3,
    }
}

/// The sheets (pure but for reading the turns of the chosen examples through `turns_of`).
pub fn sheets(
    input: &ReportInput,
    report: &Report,
    opts: &CoachOptions,
    turns_of: &mut dyn FnMut(&HashSet<String>) -> Result<turns::Turns, LoadError>,
) -> Result<Vec<Sheet>, CoachError> {
    let mut agents: Vec<&str> = input.conversations.iter().map(|c| &*c.agent_id).collect();
    agents.sort_unstable();
    agents.dedup();
    let chosen: Vec<&str> = match &opts.agent {
        Some(a) => {
            if !agents.contains(&a.as_str()) {
                let known = agents.iter().take(20).copied().collect::<Vec<_>>().join(", ");
                return Err(CoachError::UnknownAgent { agent: a.clone(), known });
            }
            vec![a.as_str()]
        }
        None => agents.clone(),
    };
    let newest = |agent: Option<&str>| {
        input
            .conversations
            .iter()
            .filter(|c| agent.is_none_or(|a| &*c.agent_id == a))
            .map(|c| month_of(c.started_at.date_naive()))
            .max()
    };
    // which rules belong to which dimension, from the flags (the scored folder keeps no rubric)
    let mut rule_dimension: BTreeMap<&str, &str> = BTreeMap::new();
    for f in &input.flags {
        if let Some(r) = &f.rule_id {
            rule_dimension.insert(r, &f.dimension);
        }
    }
    let mut plans = Vec::new();
    for agent in chosen {
        let month = match opts.month.or_else(|| newest(opts.agent.as_deref())) {
            Some(m) => m,
            None => continue,
        };
        let Some(row) = month_row(report, "agent", Some(agent), month) else {
            if opts.agent.is_some() {
                let mut known: Vec<String> = report
                    .agents
                    .iter()
                    .filter(|r| {
                        r.period == PeriodKind::Month && r.agent_id.as_deref() == Some(agent)
                    })
                    .map(|r| month_label(r.period_start))
                    .collect();
                known.dedup();
                return Err(CoachError::NoConversations {
                    agent: agent.to_string(),
                    month: month_label(month),
                    known: known.join(", "),
                });
            }
            continue; // --all: agents without conversations that month get no sheet
        };
        let team = month_row(report, "team", None, month);
        plans.push(plan(input, row, team, agent, month, &rule_dimension));
    }
    // the turns of every example, read once
    let wanted: HashSet<String> = plans
        .iter()
        .flat_map(|p| {
            p.examples.iter().map(|e| input.conversations[e.conv].conversation_id.clone())
        })
        .collect();
    let turns = turns_of(&wanted)?;
    Ok(plans.into_iter().map(|p| p.into_sheet(input, &turns)).collect())
}

/// An example chosen before the turns are read.
struct Pick {
    conv: usize,
    dimension: Dimension,
    /// The flagged turn, or the turns showing it done well (rule hits of the dimension).
    focus: Option<u32>,
    good_rules: Vec<String>,
    why: String,
    good: bool,
}

struct Plan {
    sheet: Sheet,
    examples: Vec<Pick>,
}

fn plan(
    input: &ReportInput,
    row: &AgentPeriod,
    team: Option<&AgentPeriod>,
    agent: &str,
    month: NaiveDate,
    rule_dimension: &BTreeMap<&str, &str>,
) -> Plan {
    let in_month: Vec<usize> = (0..input.conversations.len())
        .filter(|&i| {
            let c = &input.conversations[i];
            &*c.agent_id == agent && month_of(c.started_at.date_naive()) == month
        })
        .collect();
    let in_month_set: HashSet<usize> = in_month.iter().copied().collect();
    // the dimensions furthest below the team's mean
    let mut gaps: Vec<(f64, Dimension)> = Dimension::ALL
        .iter()
        .filter_map(|&d| {
            let mine = row.dimensions[d as usize];
            let team = team?.dimensions[d as usize].mean?;
            let gap = mine.mean? - team;
            (mine.n >= 3 && gap < 0.0).then_some((gap, d))
        })
        .collect();
    gaps.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1 as usize).cmp(&(b.1 as usize))));
    let mut weakest = Vec::new();
    let mut examples = Vec::new();
    for &(_, d) in gaps.iter().take(WEAKEST) {
        let score = |i: usize| input.conversations[i].subscores[d as usize];
        // the clearest flags: most severe, lowest score, earliest conversation
        let mut flags: Vec<&crate::report::FlagRecord> = input
            .flags
            .iter()
            .filter(|f| in_month_set.contains(&f.conv) && &*f.dimension == d.as_str())
            .collect();
        flags.sort_by(|a, b| {
            severity_rank(&a.severity)
                .cmp(&severity_rank(&b.severity))
                .then(score(a.conv).unwrap_or(100.0).total_cmp(&score(b.conv).unwrap_or(100.0)))
                .then(a.conv.cmp(&b.conv))
        });
        let mut seen = HashSet::new();
        for f in flags {
            if seen.len() == EXAMPLES {
                break;
            }
            if seen.insert(f.conv) {
                examples.push(Pick {
                    conv: f.conv,
                    dimension: d,
                    focus: f.turn_index,
                    good_rules: Vec::new(),
                    why: f.detail.clone(),
                    good: false,
                });
            }
        }
        // done well: the best score in the dimension without a flag of it
        let flagged: HashSet<usize> = input
            .flags
            .iter()
            .filter(|f| in_month_set.contains(&f.conv) && &*f.dimension == d.as_str())
            .map(|f| f.conv)
            .collect();
        let best = in_month
            .iter()
            .filter(|i| !flagged.contains(i))
            .filter_map(|&i| Some((score(i)?, i)))
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        if let Some((s, i)) = best {
            let rules: Vec<String> = rule_dimension
                .iter()
                .filter(|(_, dim)| **dim == d.as_str())
                .map(|(r, _)| r.to_string())
                .collect();
            examples.push(Pick {
                conv: i,
                dimension: d,
                focus: None,
                good_rules: rules,
                why: format!("{} {s:.0} in this conversation, no {} flag", d.as_str(), d.as_str()),
                good: true,
            });
        }
        let team_row = team.expect("gaps need the team row");
        weakest.push(Weakness {
            dimension: d,
            conversations: row.dimensions[d as usize].n,
            agent_mean: row.dimensions[d as usize].mean.unwrap_or_default(),
            team_mean: team_row.dimensions[d as usize].mean.unwrap_or_default(),
            team_median: team_row.dimensions[d as usize].p50,
            to_discuss: Vec::new(),
            done_well: None,
        });
    }
    let changes = Dimension::ALL
        .iter()
        .map(|&d| Change {
            dimension: d,
            now: row.dimensions[d as usize].mean,
            delta: row.delta_dimensions[d as usize],
        })
        .collect();
    Plan {
        sheet: Sheet {
            agent_id: agent.to_string(),
            month,
            conversations: row.conversations,
            qa_mean: row.qa.mean,
            team_qa_mean: team.and_then(|t| t.qa.mean),
            delta_qa_mean: row.delta_qa_mean,
            weakest,
            changes,
        },
        examples,
    }
}

impl Plan {
    fn into_sheet(mut self, input: &ReportInput, turns: &turns::Turns) -> Sheet {
        for p in self.examples {
            let c = &input.conversations[p.conv];
            let all = turns.get(&c.conversation_id).map(Vec::as_slice).unwrap_or_default();
            let shown = if p.good {
                turns::showing(all, &p.good_rules)
            } else {
                turns::around(all, p.focus)
            };
            let example = Example {
                conversation_id: c.conversation_id.clone(),
                started_at: c.started_at,
                score: c.subscores[p.dimension as usize],
                why: p.why,
                turns: shown,
            };
            let w = self
                .sheet
                .weakest
                .iter_mut()
                .find(|w| w.dimension == p.dimension)
                .expect("planned with its weakness");
            if p.good {
                w.done_well = Some(example);
            } else {
                w.to_discuss.push(example);
            }
        }
        self.sheet
    }
}

/// The file stem of a sheet: the agent id with anything but letters, digits, `-`, `_` and `.`
/// replaced by `_`, then the month.
pub fn file_stem(sheet: &Sheet) -> String {
    let agent: String = sheet
        .agent_id
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    format!("{}_{}", agent.trim_start_matches('.'), month_label(sheet.month))
}

/// `convqa coach`: reads the folder under its lock, writes every sheet as HTML and Markdown in
/// one commit; returns the sheets and the files written.
pub fn write_sheets(
    dir: &Path,
    opts: &CoachOptions,
) -> Result<(Vec<Sheet>, Vec<PathBuf>), CoachError> {
    if !dir.is_dir() {
        let source = std::io::ErrorKind::NotFound.into();
        return Err(LoadError::Read { path: dir.to_path_buf(), source }.into());
    }
    let _lock = crate::output::open_store(dir, opts.wait_lock)?;
    let input = crate::report::load(dir)?;
    let report = crate::report::build(&input, &ReportOptions::default());
    let sheets = sheets(&input, &report, opts, &mut |ids| turns::read(dir, ids))?;
    let mut tx = crate::output::Transaction::new(dir);
    let mut written = Vec::new();
    for s in &sheets {
        let stem = file_stem(s);
        for (ext, text) in [("html", html(s)), ("md", markdown(s))] {
            let path = dir.join(COACHING_DIR).join(format!("{stem}.{ext}"));
            let mut file = crate::output::create_with_parents(&path)?;
            std::io::Write::write_all(&mut file, text.as_bytes())
                .map_err(|source| OutputError::Io { path: path.clone(), source })?;
            tx.add(file.finish()?);
            written.push(path);
        }
    }
    tx.commit()?;
    Ok((sheets, written))
}

/// `convqa coach` for the binary: prints where the sheets went (or the error); returns the
/// exit code.
pub fn command(dir: &Path, opts: &CoachOptions, quiet: bool) -> u8 {
    match write_sheets(dir, opts) {
        Ok((sheets, written)) => {
            if !quiet {
                eprintln!(
                    "convqa: wrote {} coaching sheets ({} files) -> {}",
                    sheets.len(),
                    written.len(),
                    dir.join(COACHING_DIR).display()
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

#[cfg(test)]
mod tests;
