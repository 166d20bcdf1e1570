//! Reading transcripts: files, directories and stdin, streamed one line at a time.
//!
//! Guarantees: the whole input is never held in memory (one line at a time, each bounded by
//! `max_line_bytes`); every non-blank line comes out either as a [`Conversation`] or as a
//! [`Reject`] naming file, line and reason; conversation ids are unique across the whole run
//! (a repeat is rejected and points at the first).

pub mod adapters;
mod checks;
mod lines;
pub mod messages_csv;
mod parse;
mod reader;
pub mod sources;

use std::io;
use std::path::PathBuf;

pub use checks::RunChecks;
pub use lines::{Line, LineReader};
pub use parse::{RejectReason, parse_line};
pub use reader::InputReader;
pub use sources::{Source, expand_inputs};

use crate::conversation::{Conversation, Origin};

/// Default limit for one input line (one conversation): 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
/// Conversations with more turns are rejected (`--max-turns`).
pub const DEFAULT_MAX_TURNS: usize = 10_000;
/// How much of a rejected line is kept in `rejects.jsonl`.
const RAW_PREFIX_CHARS: usize = 300;

/// Failures that stop the run: the input cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot open input: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: read failed after line {line}: {source}")]
    Read { path: String, line: u64, source: io::Error },
    #[error("{path}: no input files in this directory (looked for {expected}, also .gz / .zst)")]
    EmptyDir { path: PathBuf, expected: String },
    #[error("stdin (-) can be given only once")]
    StdinTwice,
    #[error(transparent)]
    WrongFormat(#[from] adapters::WrongFormat),
    /// A CSV export without a required column, or not CSV at all.
    #[error(transparent)]
    Csv(messages_csv::CsvError),
}

/// An input line that could not be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub origin: Origin,
    pub reason: RejectReason,
    /// The start of the line (lossy UTF-8), so a person can find and fix it.
    pub raw: String,
}

/// One line of `rejects.jsonl`, as [`Reject::write_line`] writes it.
#[derive(serde::Serialize)]
struct RejectRow<'a> {
    file: &'a str,
    line: u64,
    code: &'a str,
    field: Option<&'a str>,
    reason: String,
    raw: &'a str,
}

impl Reject {
    /// Writes the reject as a line of `rejects.jsonl` (file, line, reason code, field, message
    /// and `raw`: the start of the line, redacted or not by the caller).
    pub fn write_line(&self, out: &mut (impl io::Write + ?Sized), raw: &str) -> io::Result<()> {
        let row = RejectRow {
            file: &self.origin.file,
            line: self.origin.line,
            code: self.reason.code(),
            field: self.reason.field(),
            reason: self.reason.to_string(),
            raw,
        };
        serde_json::to_writer(&mut *out, &row)?;
        out.write_all(b"\n")
    }
}

/// What the reader produced from one line.
#[derive(Debug)]
pub enum Record {
    Conversation(Box<Conversation>),
    Rejected(Reject),
}

/// Per-source counts for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceStats {
    pub path: String,
    /// Lines read (JSONL), or records produced (adapted formats): conversations + rejects +
    /// blank lines.
    pub lines: u64,
    pub blank_lines: u64,
    pub conversations: u64,
    pub rejected: u64,
    pub bytes: u64,
    /// SHA-256 of the bytes read (the whole file once it is read to the end): the run manifest's
    /// record of exactly which input produced the outputs.
    pub sha256: String,
}

fn raw_prefix(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(RAW_PREFIX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    const LINE: &str = r#"{"conversation_id":"ID","agent_id":"a","channel":"chat","turns":[{"speaker":"customer","text":"hi","ts":"2026-11-02T09:00:00Z"}]}"#;

    #[test]
    fn directory_expands_to_sorted_jsonl_files_only() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "b.jsonl", b"");
        write(dir.path(), "a.jsonl", b"");
        write(dir.path(), "notes.txt", b"");
        let got = expand_inputs(&[dir.path().to_path_buf()], &["jsonl"]).unwrap();
        let names: Vec<_> = got.iter().map(|s| s.name()).collect();
        assert!(names[0].ends_with("a.jsonl") && names[1].ends_with("b.jsonl"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn missing_input_is_an_error_naming_the_path() {
        let err = expand_inputs(&[PathBuf::from("/nope/x.jsonl")], &["jsonl"]).unwrap_err();
        assert!(err.to_string().starts_with("/nope/x.jsonl: cannot open input"), "{err}");
    }

    #[test]
    fn duplicate_ids_across_files_are_rejected_with_the_first_location() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.jsonl", format!("{}\n\n", LINE.replace("ID", "x")).as_bytes());
        let b = write(dir.path(), "b.jsonl", LINE.replace("ID", "x").as_bytes());
        let mut r = InputReader::new(vec![Source::File(a), Source::File(b)], 1 << 20);
        assert!(matches!(r.next().unwrap(), Some(Record::Conversation(_))));
        match r.next().unwrap() {
            Some(Record::Rejected(rej)) => {
                assert_eq!(rej.origin.line, 1);
                assert!(
                    matches!(&rej.reason, RejectReason::DuplicateId { first_seen } if first_seen.ends_with("a.jsonl:1"))
                );
            }
            other => panic!("expected a duplicate reject, got {other:?}"),
        }
        assert!(r.next().unwrap().is_none());
        let stats = r.stats();
        assert_eq!((stats[0].lines, stats[0].blank_lines, stats[0].conversations), (2, 1, 1));
        assert_eq!((stats[1].lines, stats[1].rejected), (1, 1));
        let on_disk: u64 =
            dir.path().read_dir().unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        assert_eq!(r.bytes_read(), on_disk);
    }
}
