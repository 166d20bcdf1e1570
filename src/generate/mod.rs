//! A deterministic synthetic corpus: realistic customer-service conversations in the input JSONL
//! schema, at any size, for benches and for checking reports against a known truth
//! (`convqa generate`).
//!
//! Guarantees:
//! - **Deterministic**: the same options (seed, size, dates, team) give the same bytes on any
//!   machine (one ChaCha8 stream, no platform math; see `random`).
//! - **Streaming**: one line at a time into the writer; memory stays bounded (a few kilobytes of
//!   buffers and the queue of customers due to come back) for any number of conversations.
//! - **Labeled**: every conversation id, customer id and agent id starts with `syn-`, and every
//!   conversation is tagged `synthetic`.
//! - **Known truth**: agents follow the skill profiles of [`profiles::PROFILES`] (slow, cold,
//!   rude, scriptless, improver, …); [`Truth`] says which weaknesses a report should find.
//!
//! The mix: zh-Hans 30 %, zh-Hant 20 %, en 30 %, code-switched zh/en 20 %; topics billing, login,
//! refund, bug, delivery, subscription, account; 4–16 turns (70 % 6–10); chat 75 %, e-mail 12 %,
//! phone 13 %, each with its own reply times; about 10 % of conversations are a customer coming
//! back 1–4 days later about the same thing; `csat` on about 40 %, lower when the conversation
//! went badly. The text comes from the phrase banks in `phrases`.

mod jsonl;
mod phrases;
pub mod plant;
pub mod profiles;
mod random;
mod script;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

pub use phrases::Lang;
pub use plant::{Plant, PlantError};
pub use profiles::{AgentSpec, AgentSpecError, PROFILES, Profile, Truth};
pub use script::{Generator, Written};

use crate::output::OutputError;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub conversations: u64,
    pub seed: u64,
    /// First day (local, UTC+8); conversations spread evenly over `days` days from it.
    pub start_date: NaiveDate,
    pub days: u32,
    /// The team; empty means [`profiles::DEFAULT_TEAM`] (12 agents).
    pub team: Vec<AgentSpec>,
    /// Planted training effects and drifts ([`plant`]); empty: none.
    pub plants: Vec<Plant>,
}

/// The default first day: Monday 2 November 2026, like the sample data.
pub const DEFAULT_START_DATE: &str = "2026-11-02";
pub const DEFAULT_DAYS: u32 = 28;

impl GenerateOptions {
    pub fn new(conversations: u64, seed: u64) -> GenerateOptions {
        GenerateOptions {
            conversations,
            seed,
            start_date: DEFAULT_START_DATE.parse().expect("valid date"),
            days: DEFAULT_DAYS,
            team: Vec::new(),
            plants: Vec::new(),
        }
    }
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateStats {
    pub conversations: u64,
    pub turns: u64,
    pub bytes: u64,
    /// Conversations by declared language, indexed by [`Lang`] (zh-Hans, zh-Hant, en, mixed).
    pub by_language: [u64; 4],
    /// Conversations that are a customer coming back about the same thing.
    pub returning: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("--days must be at least 1")]
    NoDays,
    #[error("the team has no agents (help: --agents good:5,slow,cold)")]
    NoAgents,
    #[error(transparent)]
    Plant(#[from] PlantError),
    /// `to`: the file, `stdout`, or `the writer` when [`write_corpus`] is given any writer.
    #[error(
        "{to}: cannot write the corpus: {source}; check the disk space and that the folder is writable"
    )]
    Write { to: String, source: io::Error },
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl Generator {
    /// A generator for `opts`, after checking them.
    pub fn from_options(opts: &GenerateOptions) -> Result<Generator, GenerateError> {
        if opts.days == 0 {
            return Err(GenerateError::NoDays);
        }
        let team = if opts.team.is_empty() { profiles::default_team() } else { opts.team.clone() };
        let agents = profiles::agents(&team);
        if agents.is_empty() {
            return Err(GenerateError::NoAgents);
        }
        plant::check(&opts.plants, &agents)?;
        Ok(Generator::new(opts.clone(), agents))
    }
}

/// The ground truth of a corpus: its parameters and every agent's profile and expected
/// weaknesses.
pub fn truth(opts: &GenerateOptions) -> Result<Truth, GenerateError> {
    let g = Generator::from_options(opts)?;
    Ok(Truth {
        generator: "convqa generate",
        synthetic: true,
        seed: opts.seed,
        conversations: opts.conversations,
        start_date: opts.start_date.to_string(),
        days: opts.days,
        note: profiles::TRUTH_NOTE,
        agents: g.agents().iter().map(profiles::agent_truth).collect(),
        plants: opts.plants.clone(),
    })
}

/// Writes the corpus to `out`, one conversation a line.
pub fn write_corpus(
    opts: &GenerateOptions,
    out: &mut dyn Write,
) -> Result<GenerateStats, GenerateError> {
    let mut g = Generator::from_options(opts)?;
    let mut stats = GenerateStats::default();
    let mut buf = Vec::with_capacity(8 << 10);
    while let Some(w) = g.next_line(&mut buf) {
        stats.conversations += 1;
        stats.turns += w.turns as u64;
        stats.by_language[w.lang as usize] += 1;
        stats.returning += u64::from(w.returning);
        stats.bytes += buf.len() as u64;
        out.write_all(&buf).map_err(write_error)?;
        buf.clear();
    }
    out.flush().map_err(write_error)?;
    Ok(stats)
}

/// `convqa generate`: writes the corpus to `out` (`-` for stdout) and, if asked, the truth as
/// JSON. Files are written atomically (a temporary file renamed into place when complete);
/// missing parent directories are created.
pub fn generate_files(
    opts: &GenerateOptions,
    out: &Path,
    truth_path: Option<&Path>,
) -> Result<GenerateStats, GenerateError> {
    let truth_value = truth(opts)?; // checks the options before anything is written
    let to_stdout = out == Path::new("-");
    let stats = crate::output::write_file_or_stdout(out, |w| {
        write_corpus(opts, w).map_err(|e| with_destination(e, out, to_stdout))
    })?;
    if let Some(path) = truth_path {
        let mut file = crate::output::create_with_parents(path)?;
        let mut text = serde_json::to_string_pretty(&truth_value).expect("truth serializes");
        text.push('\n');
        file.write_all(text.as_bytes())
            .map_err(|source| OutputError::Io { path: path.to_path_buf(), source })?;
        file.commit()?;
    }
    Ok(stats)
}

fn write_error(source: io::Error) -> GenerateError {
    GenerateError::Write { to: "the writer".into(), source }
}

/// A write error of [`write_corpus`] named by where it wrote: the file (an output error, as for
/// the truth file) or `stdout`.
fn with_destination(e: GenerateError, path: &Path, to_stdout: bool) -> GenerateError {
    match e {
        GenerateError::Write { source, .. } if to_stdout => {
            GenerateError::Write { to: "stdout".into(), source }
        }
        GenerateError::Write { source, .. } => {
            GenerateError::Output(OutputError::Io { path: PathBuf::from(path), source })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::conversation::{Conversation, Origin, Speaker};
    use crate::input::parse_line;

    fn corpus(n: u64, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_corpus(&GenerateOptions::new(n, seed), &mut out).unwrap();
        out
    }

    fn parse_all(bytes: &[u8]) -> Vec<Conversation> {
        let origin = Origin { file: "generated".into(), line: 0 };
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                parse_line(l, origin.clone()).unwrap_or_else(|e| {
                    panic!("line {}: {e:?}: {}", i + 1, String::from_utf8_lossy(l))
                })
            })
            .collect()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = corpus(300, 7);
        assert_eq!(a, corpus(300, 7));
        assert_ne!(a, corpus(300, 8));
        assert_eq!(a.iter().filter(|b| **b == b'\n').count(), 300);
    }

    #[test]
    fn every_line_is_valid_input_and_labeled_synthetic() {
        let convs = parse_all(&corpus(2000, 1));
        assert_eq!(convs.len(), 2000);
        let mut ids = HashSet::new();
        for c in &convs {
            assert!(c.conversation_id.starts_with("syn-"), "{}", c.conversation_id);
            assert!(c.agent_id.starts_with("syn-"), "{}", c.agent_id);
            assert!(c.customer_id.as_deref().unwrap().starts_with("syn-"));
            assert!(c.tags.iter().any(|t| t == "synthetic"), "{:?}", c.tags);
            assert!(ids.insert(c.conversation_id.clone()), "duplicate id {}", c.conversation_id);
            assert_eq!(c.started_at, Some(c.turns[0].ts));
        }
    }

    #[test]
    fn timestamps_increase_within_each_conversation() {
        for c in parse_all(&corpus(2000, 2)) {
            for w in c.turns.windows(2) {
                assert!(w[1].ts > w[0].ts, "{}: {} then {}", c.conversation_id, w[0].ts, w[1].ts);
            }
        }
    }

    fn share(n: usize, of: usize) -> f64 {
        n as f64 / of as f64
    }

    #[test]
    fn the_mix_matches_the_documented_shares() {
        let convs = parse_all(&corpus(5000, 3));
        let n = convs.len();
        let lang = |l: &str| {
            share(convs.iter().filter(|c| c.declared_language.as_deref() == Some(l)).count(), n)
        };
        for (l, want) in [("zh-Hans", 0.30), ("zh-Hant", 0.20), ("en", 0.30), ("mixed", 0.20)] {
            let got = lang(l);
            assert!((got - want).abs() < 0.03, "{l}: {got:.3}, want {want}");
        }
        let chat = share(convs.iter().filter(|c| c.channel == crate::Channel::Chat).count(), n);
        assert!((chat - 0.75).abs() < 0.03, "chat {chat}");
        let turns: Vec<usize> = convs.iter().map(|c| c.turns.len()).collect();
        assert!(turns.iter().all(|t| (4..=16).contains(t)), "turn counts outside 4..=16");
        let typical = share(turns.iter().filter(|t| (6..=10).contains(*t)).count(), n);
        assert!(typical > 0.6, "6–10 turns: {typical}");
        let csat = share(convs.iter().filter(|c| c.csat.is_some()).count(), n);
        assert!((csat - 0.4).abs() < 0.03, "csat {csat}");
        // returning customers: same customer id and topic tag, 1–4 days later
        let mut seen: std::collections::HashMap<&str, &Conversation> = Default::default();
        let mut returns = 0;
        for c in &convs {
            if let Some(first) = seen.insert(c.customer_id.as_deref().unwrap(), c) {
                returns += 1;
                assert_eq!(first.tags, c.tags, "a return is about the same thing");
                let days = (c.turns[0].ts - first.turns[0].ts).num_hours() as f64 / 24.0;
                assert!((0.0..5.5).contains(&days), "came back after {days} days");
            }
        }
        let r = share(returns, n);
        assert!((0.06..0.14).contains(&r), "returning share {r}");
        // system turns and double customer turns happen
        let sys =
            convs.iter().filter(|c| c.turns.iter().any(|t| t.speaker == Speaker::System)).count();
        assert!((0.04..0.2).contains(&share(sys, n)), "system turns in {sys} conversations");
        let double = convs
            .iter()
            .filter(|c| {
                c.turns
                    .windows(2)
                    .any(|w| w[0].speaker == Speaker::Customer && w[1].speaker == Speaker::Customer)
            })
            .count();
        assert!(share(double, n) > 0.1, "double customer turns in {double}");
    }

    #[test]
    fn turn_lengths_are_realistic() {
        let convs = parse_all(&corpus(2000, 4));
        let (mut zh, mut zh_ok, mut en, mut en_ok) = (0, 0, 0, 0);
        for c in &convs {
            for t in c.turns.iter().filter(|t| t.speaker != Speaker::System) {
                match c.declared_language.as_deref() {
                    Some("zh-Hans" | "zh-Hant") => {
                        zh += 1;
                        zh_ok += usize::from((5..=60).contains(&t.text.chars().count()));
                    }
                    Some("en") => {
                        en += 1;
                        en_ok += usize::from((3..=40).contains(&t.text.split_whitespace().count()));
                    }
                    _ => {}
                }
            }
        }
        assert!(share(zh_ok, zh) > 0.9, "Chinese turns of 5–60 characters: {zh_ok} of {zh}");
        assert!(share(en_ok, en) > 0.9, "English turns of 3–40 words: {en_ok} of {en}");
    }

    #[test]
    fn bad_options_are_errors() {
        let mut o = GenerateOptions::new(10, 1);
        o.days = 0;
        assert!(matches!(write_corpus(&o, &mut Vec::new()), Err(GenerateError::NoDays)));
    }

    #[test]
    fn a_plant_changes_nothing_before_its_day() {
        let write = |plant: &str| {
            let mut o = GenerateOptions::new(2000, 9);
            o.plants = vec![Plant::parse_training(plant).unwrap()];
            let mut out = Vec::new();
            write_corpus(&o, &mut out).unwrap();
            out
        };
        let base = corpus(2000, 9);
        // a plant after the corpus draws nothing: the same bytes as without plants
        assert_eq!(write("syn-cold:empathy:2027-01-01:15"), base);
        // from day 14 of 28: the first half is unchanged, the second is not
        let planted = write("syn-cold:empathy:2026-11-16:15");
        let lines = |b: &[u8]| b.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect::<Vec<_>>();
        let (a, b) = (lines(&base), lines(&planted));
        assert_eq!(a[..990], b[..990]);
        assert_ne!(a[1000..], b[1000..]);
    }

    #[test]
    fn zero_conversations_is_an_empty_file() {
        assert!(corpus(0, 1).is_empty());
    }
}
