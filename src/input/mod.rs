//! Reading transcripts: files, directories and stdin, streamed one line at a time.
//!
//! Guarantees: the whole input is never held in memory (one line at a time, each bounded by
//! `max_line_bytes`); every non-blank line comes out either as a [`Conversation`] or as a
//! [`Reject`] naming file, line and reason; conversation ids are unique across the whole run
//! (a repeat is rejected and points at the first).

mod lines;
pub mod messages_csv;
mod parse;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use lines::{Line, LineReader};
pub use parse::{RejectReason, parse_line};

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
    #[error("{path}: no *.jsonl files in this directory")]
    EmptyDir { path: PathBuf },
    #[error("stdin (-) can be given only once")]
    StdinTwice,
}

/// One place to read conversations from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Expands the command-line inputs: `-` is stdin, a directory stands for the `*.jsonl` files
/// below it (recursively, in sorted order, so runs are reproducible), anything else is a file.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<Source>, InputError> {
    let mut sources = Vec::new();
    let mut stdin_seen = false;
    for input in inputs {
        if input.as_os_str() == "-" {
            if stdin_seen {
                return Err(InputError::StdinTwice);
            }
            stdin_seen = true;
            sources.push(Source::Stdin);
        } else if input.is_dir() {
            let mut files = Vec::new();
            collect_jsonl(input, &mut files)?;
            if files.is_empty() {
                return Err(InputError::EmptyDir { path: input.clone() });
            }
            files.sort();
            sources.extend(files.into_iter().map(Source::File));
        } else if input.is_file() {
            sources.push(Source::File(input.clone()));
        } else {
            return Err(InputError::Open {
                path: input.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "no such file or directory"),
            });
        }
    }
    Ok(sources)
}

fn collect_jsonl(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let open_err = |source| InputError::Open { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(open_err)? {
        let path = entry.map_err(open_err)?.path();
        if path.is_dir() {
            collect_jsonl(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
    Ok(())
}

/// An input line that could not be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub origin: Origin,
    pub reason: RejectReason,
    /// The start of the line (lossy UTF-8), so a person can find and fix it.
    pub raw: String,
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
    pub lines: u64,
    pub blank_lines: u64,
    pub conversations: u64,
    pub rejected: u64,
    pub bytes: u64,
    /// SHA-256 of the bytes read (the whole file once it is read to the end): the run manifest's
    /// record of exactly which input produced the outputs.
    pub sha256: String,
}

struct CountingRead<R> {
    inner: R,
    bytes: u64,
    hash: sha2::Sha256,
}

impl<R: Read> Read for CountingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

type Open = LineReader<BufReader<CountingRead<Box<dyn Read + Send>>>>;

/// Streams [`Record`]s from a list of sources, one line at a time.
pub struct InputReader {
    sources: std::vec::IntoIter<Source>,
    current: Option<(Arc<str>, Open)>,
    max_line_bytes: usize,
    max_turns: usize,
    /// Every conversation id read so far, as a 128-bit digest, with where it was first read
    /// (source index, line): 32 bytes an id whatever its length, so a million-conversation night
    /// keeps a few tens of MB for duplicate detection. Two different ids share a digest with a
    /// probability of about n² / 2¹²⁹ (1e-27 for a billion ids).
    seen: HashMap<u128, (u32, u64)>,
    stats: Vec<SourceStats>,
    bytes_done: u64,
}

impl InputReader {
    pub fn new(sources: Vec<Source>, max_line_bytes: usize) -> Self {
        InputReader {
            sources: sources.into_iter(),
            current: None,
            max_line_bytes,
            max_turns: DEFAULT_MAX_TURNS,
            seen: HashMap::new(),
            stats: Vec::new(),
            bytes_done: 0,
        }
    }

    /// Conversations with more turns than this are rejected (`too_many_turns`).
    pub fn with_max_turns(mut self, max_turns: usize) -> Self {
        self.max_turns = max_turns;
        self
    }

    /// Bytes consumed so far across all sources (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_done + self.current.as_ref().map_or(0, |(_, r)| r.get_ref().get_ref().bytes)
    }

    /// Per-source counts so far.
    pub fn stats(&self) -> &[SourceStats] {
        &self.stats
    }

    /// The next record, or `Ok(None)` when every source is exhausted. Blank lines are counted in
    /// the stats, not returned.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>, InputError> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let (name, reader) = self.current.as_mut().expect("a source is open");
            let current = self.stats.len() - 1;
            let line_no = reader.line_no() + 1;
            let line = reader.next_line().map_err(|source| InputError::Read {
                path: name.to_string(),
                line: line_no - 1,
                source,
            })?;
            let origin = Origin { file: name.clone(), line: line_no };
            let record = match line {
                None => {
                    self.stats[current].bytes = reader.get_ref().get_ref().bytes;
                    self.stats[current].sha256 = {
                        use sha2::Digest;
                        crate::hex(&reader.get_ref().get_ref().hash.clone().finalize())
                    };
                    self.bytes_done += self.stats[current].bytes;
                    self.current = None;
                    continue;
                }
                Some(Line::TooLong { bytes }) => Record::Rejected(Reject {
                    origin,
                    reason: RejectReason::LineTooLong { bytes, limit: self.max_line_bytes },
                    raw: String::new(),
                }),
                Some(Line::Text(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => {
                    self.stats[current].lines += 1;
                    self.stats[current].blank_lines += 1;
                    continue;
                }
                Some(Line::Text(bytes)) => match parse_line(bytes, origin.clone()) {
                    Ok(conv) if conv.turns.len() > self.max_turns => Record::Rejected(Reject {
                        origin,
                        reason: RejectReason::TooManyTurns {
                            turns: conv.turns.len(),
                            limit: self.max_turns,
                        },
                        raw: raw_prefix(bytes),
                    }),
                    Ok(conv) => match self.seen.entry(id_digest(&conv.conversation_id)) {
                        Entry::Occupied(first) => {
                            let (source, line) = *first.get();
                            let first_seen = format!("{}:{line}", self.stats[source as usize].path);
                            Record::Rejected(Reject {
                                origin,
                                reason: RejectReason::DuplicateId { first_seen },
                                raw: raw_prefix(bytes),
                            })
                        }
                        Entry::Vacant(slot) => {
                            slot.insert((current as u32, line_no));
                            Record::Conversation(Box::new(conv))
                        }
                    },
                    Err(reason) => {
                        Record::Rejected(Reject { origin, reason, raw: raw_prefix(bytes) })
                    }
                },
            };
            let stats = &mut self.stats[current];
            stats.lines += 1;
            match &record {
                Record::Conversation(_) => stats.conversations += 1,
                Record::Rejected(_) => stats.rejected += 1,
            }
            return Ok(Some(record));
        }
    }

    fn open_next(&mut self) -> Result<bool, InputError> {
        let Some(source) = self.sources.next() else {
            return Ok(false);
        };
        let read: Box<dyn Read + Send> = match &source {
            Source::Stdin => Box::new(io::stdin()),
            Source::File(path) => Box::new(
                File::open(path)
                    .map_err(|source| InputError::Open { path: path.clone(), source })?,
            ),
        };
        let name: Arc<str> = source.name().into();
        let buffered = BufReader::with_capacity(
            256 << 10,
            CountingRead { inner: read, bytes: 0, hash: Default::default() },
        );
        self.stats.push(SourceStats { path: name.to_string(), ..SourceStats::default() });
        self.current = Some((name, LineReader::new(buffered, self.max_line_bytes)));
        Ok(true)
    }
}

/// The first 128 bits of the id's SHA-256.
fn id_digest(id: &str) -> u128 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    u128::from_le_bytes(digest[..16].try_into().expect("SHA-256 has 32 bytes"))
}

fn raw_prefix(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(RAW_PREFIX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let got = expand_inputs(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = got.iter().map(|s| s.name()).collect();
        assert!(names[0].ends_with("a.jsonl") && names[1].ends_with("b.jsonl"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn missing_input_is_an_error_naming_the_path() {
        let err = expand_inputs(&[PathBuf::from("/nope/x.jsonl")]).unwrap_err();
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
