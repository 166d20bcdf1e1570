//! [`InputReader`]: every source of a run, streamed, as [`Record`]s — conversations or rejects.
//!
//! convqa's JSONL is read one line at a time. The other formats are read in *units* — a whole
//! `.json` file (an object, or an array of objects), or one line of a `.jsonl` file or stdin —
//! a chunk at a time (at most [`CHUNK_UNITS`] units or [`CHUNK_BYTES`] bytes), parsed and
//! adapted in parallel when asked, and handed out in input order. Memory is bounded by the chunk
//! and, for WeCom's message stream, by the conversations still open.
//!
//! For every format: each conversation id is unique across the run (a repeat is rejected and
//! points at the first), a conversation with too many turns is rejected, and the per-source
//! counts satisfy `lines - blank_lines = conversations + rejected`.

use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::sync::Arc;

use serde_json::Value;

use super::adapters::{self, AdapterCounts, AdapterOptions, Format, Piece, WrongFormat, wecom};
use super::lines::{Line, LineReader};
use super::messages_csv::CsvReader;
use super::sources::{self, Meter, Source};
use super::{
    DEFAULT_MAX_TURNS, InputError, Record, Reject, RejectReason, RunChecks, SourceStats,
    parse_line, raw_prefix,
};
use crate::conversation::{Conversation, Origin};

/// Units adapted together (in parallel when asked).
pub const CHUNK_UNITS: usize = 256;
/// Bytes of units adapted together.
pub const CHUNK_BYTES: usize = 32 << 20;

struct Current {
    name: Arc<str>,
    index: usize,
    body: Body,
    meter: Meter,
    /// A `.json` file: one document, not one per line.
    document: bool,
    /// No unit of this source has been adapted yet (a wrong format then stops the run).
    first_unit: bool,
}

/// How an open source is read: by lines (JSONL, JSON documents) or as CSV rows.
enum Body {
    Lines(LineReader<Box<dyn BufRead + Send>>),
    Csv(Box<CsvReader>),
}

impl Current {
    fn lines(&mut self) -> &mut LineReader<Box<dyn BufRead + Send>> {
        match &mut self.body {
            Body::Lines(l) => l,
            Body::Csv(_) => unreachable!("a CSV source is read by rows"),
        }
    }
}

/// One unit of an adapted format, read but not yet parsed.
struct Unit {
    source: usize,
    origin: Origin,
    bytes: Result<Vec<u8>, RejectReason>,
    document: bool,
    first: bool,
}

/// A record before the run-wide checks (unique id, turn limit).
struct Pending {
    source: usize,
    origin: Origin,
    item: Result<Conversation, (RejectReason, String)>,
}

/// Streams [`Record`]s from a list of sources.
pub struct InputReader {
    sources: std::vec::IntoIter<Source>,
    current: Option<Current>,
    format: Format,
    options: AdapterOptions,
    parallel: bool,
    max_line_bytes: usize,
    /// The turn limit and one conversation per id, across every source.
    checks: RunChecks,
    stats: Vec<SourceStats>,
    bytes_done: u64,
    pending: VecDeque<Pending>,
    grouper: Option<wecom::Grouper>,
    counts: AdapterCounts,
}

impl InputReader {
    /// A reader of convqa's JSONL; see [`InputReader::with_format`] for the other formats.
    pub fn new(sources: Vec<Source>, max_line_bytes: usize) -> Self {
        InputReader {
            sources: sources.into_iter(),
            current: None,
            format: Format::Jsonl,
            options: AdapterOptions::default(),
            parallel: false,
            max_line_bytes,
            checks: RunChecks::new(DEFAULT_MAX_TURNS),
            stats: Vec::new(),
            bytes_done: 0,
            pending: VecDeque::new(),
            grouper: None,
            counts: AdapterCounts::default(),
        }
    }

    /// Conversations with more turns than this are rejected (`too_many_turns`).
    pub fn with_max_turns(mut self, max_turns: usize) -> Self {
        self.checks = RunChecks::new(max_turns);
        self
    }

    /// Reads another tool's export through its adapter.
    pub fn with_format(mut self, format: Format, options: AdapterOptions) -> Self {
        self.grouper = (format == Format::WecomArchive).then(|| wecom::Grouper::new(options.gap));
        self.format = format;
        self.options = options;
        self
    }

    /// Adapt each chunk of units on rayon's pool (for `convqa convert`; `convqa score` keeps its
    /// cores for scoring).
    pub fn with_parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// Bytes consumed so far across all sources, as stored (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_done + self.current.as_ref().map_or(0, |c| c.meter.bytes())
    }

    /// Per-source counts so far.
    pub fn stats(&self) -> &[SourceStats] {
        &self.stats
    }

    /// What the adapter converted and dropped (all zero for convqa's JSONL).
    pub fn adapter_counts(&self) -> AdapterCounts {
        self.counts
    }

    /// The next record, or `Ok(None)` when every source is exhausted. Blank lines are counted in
    /// the stats, not returned.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>, InputError> {
        match self.format {
            Format::Jsonl => return self.next_jsonl(),
            Format::MessagesCsv => return self.next_csv(),
            _ => {}
        }
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Ok(Some(self.admit(p)));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn next_jsonl(&mut self) -> Result<Option<Record>, InputError> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let cur = self.current.as_mut().expect("a source is open");
            let line_no = cur.lines().line_no() + 1;
            let origin = Origin { file: cur.name.clone(), line: line_no };
            let index = cur.index;
            let name = cur.name.clone();
            let line = cur.lines().next_line().map_err(|source| InputError::Read {
                path: name.to_string(),
                line: line_no - 1,
                source,
            })?;
            let item = match line {
                None => {
                    self.close_current();
                    continue;
                }
                Some(Line::TooLong { bytes }) => Err((
                    RejectReason::LineTooLong { bytes, limit: self.max_line_bytes },
                    String::new(),
                )),
                Some(Line::Text(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => {
                    self.stats[index].lines += 1;
                    self.stats[index].blank_lines += 1;
                    continue;
                }
                Some(Line::Text(bytes)) => {
                    parse_line(bytes, origin.clone()).map_err(|r| (r, raw_prefix(bytes)))
                }
            };
            return Ok(Some(self.admit(Pending { source: index, origin, item })));
        }
    }

    fn next_csv(&mut self) -> Result<Option<Record>, InputError> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let cur = self.current.as_mut().expect("a source is open");
            let Body::Csv(csv) = &mut cur.body else { unreachable!("a CSV source") };
            let index = cur.index;
            let pending = match csv.next().map_err(InputError::Csv)? {
                None => {
                    self.counts += csv.adapter_counts();
                    self.close_current();
                    continue;
                }
                Some(Ok(conv)) => {
                    Pending { source: index, origin: conv.origin.clone(), item: Ok(conv) }
                }
                Some(Err(r)) => {
                    Pending { source: index, origin: r.origin, item: Err((r.reason, r.raw)) }
                }
            };
            return Ok(Some(self.admit(pending)));
        }
    }

    /// The run-wide checks every conversation passes, whatever its format; counts the record.
    fn admit(&mut self, p: Pending) -> Record {
        let Pending { source, origin, item } = p;
        let stats = &self.stats;
        let admitted = item.and_then(|conv| {
            self.checks.admit(conv, source as u32, origin.line, |s| stats[s as usize].path.clone())
        });
        let record = match admitted {
            Ok(conv) => Record::Conversation(Box::new(conv)),
            Err((reason, raw)) => Record::Rejected(Reject { origin, reason, raw }),
        };
        let stats = &mut self.stats[source];
        stats.lines += 1;
        match &record {
            Record::Conversation(_) => stats.conversations += 1,
            Record::Rejected(_) => stats.rejected += 1,
        }
        record
    }

    fn open_next(&mut self) -> Result<bool, InputError> {
        let Some(source) = self.sources.next() else {
            return Ok(false);
        };
        let opened = sources::open(&source)?;
        let name: Arc<str> = source.name().into();
        let body = if self.format == Format::MessagesCsv {
            let read: Box<dyn Read + Send> = opened.reader;
            Body::Csv(Box::new(CsvReader::new(read, name.clone()).map_err(InputError::Csv)?))
        } else {
            Body::Lines(LineReader::new(opened.reader, self.max_line_bytes))
        };
        self.stats.push(SourceStats { path: name.to_string(), ..SourceStats::default() });
        // A `.json` document is read whole, up to the same limit as a line.
        let document = self.format != Format::Jsonl && source.is_json_document();
        self.current = Some(Current {
            name,
            index: self.stats.len() - 1,
            body,
            meter: opened.meter,
            document,
            first_unit: true,
        });
        Ok(true)
    }

    fn close_current(&mut self) {
        if let Some(cur) = self.current.take() {
            let stats = &mut self.stats[cur.index];
            stats.bytes = cur.meter.bytes();
            stats.sha256 = cur.meter.sha256();
            self.bytes_done += stats.bytes;
        }
    }

    /// Reads, parses and adapts the next chunk of units into `pending`. `false` when every
    /// source is exhausted and nothing is left.
    fn fill(&mut self) -> Result<bool, InputError> {
        let mut units = Vec::new();
        let mut bytes = 0usize;
        while units.len() < CHUNK_UNITS && bytes < CHUNK_BYTES {
            if self.current.is_none() && !self.open_next()? {
                break;
            }
            match self.read_unit()? {
                Some(unit) => {
                    bytes += unit.bytes.as_ref().map_or(0, Vec::len);
                    units.push(unit);
                }
                None => self.close_current(),
            }
        }
        if units.is_empty() {
            if let Some(mut grouper) = self.grouper.take() {
                let mut out = adapters::Adapted::default();
                grouper.finish(&mut out);
                self.take_adapted(out, usize::MAX, None, "");
                return Ok(!self.pending.is_empty());
            }
            return Ok(false);
        }
        let (format, options) = (self.format, &self.options);
        let adapt = |u: &Unit| adapt_unit(format, options, u);
        let results: Vec<_> = if self.parallel && units.len() > 1 {
            use rayon::prelude::*;
            units.par_iter().map(adapt).collect()
        } else {
            units.iter().map(adapt).collect()
        };
        for (unit, result) in units.into_iter().zip(results) {
            match result {
                Err(wrong) if unit.first => return Err(wrong.into()),
                Err(wrong) => self.pending.push_back(Pending {
                    source: unit.source,
                    origin: unit.origin,
                    item: Err((
                        RejectReason::WrongFormat {
                            found: wrong.found,
                            expected: format.expected(),
                        },
                        String::new(),
                    )),
                }),
                Ok(UnitResult::Rejected(reason, raw)) => self.pending.push_back(Pending {
                    source: unit.source,
                    origin: unit.origin,
                    item: Err((reason, raw)),
                }),
                Ok(UnitResult::Adapted(parts)) => {
                    for (origin, adapted, raw) in parts {
                        self.take_adapted(adapted, unit.source, Some(origin), &raw);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Queues what an adapter made of a unit (messages go to the WeCom grouper first); `raw` is
    /// the start of the unit, for its rejects.
    fn take_adapted(
        &mut self,
        adapted: adapters::Adapted,
        source: usize,
        origin: Option<Origin>,
        raw: &str,
    ) {
        self.counts += adapted.counts;
        let mut later = adapters::Adapted::default();
        for piece in adapted.pieces {
            let (source, origin, item) = match piece {
                Piece::Message(m) => {
                    self.grouper
                        .as_mut()
                        .expect("messages come from a stream format")
                        .push(*m, &mut later);
                    continue;
                }
                Piece::Conversation(c) => {
                    let (src, origin) = locate(&c.origin, source, origin.as_ref(), &self.stats);
                    (src, origin, Ok(*c))
                }
                Piece::Rejected(reason) => {
                    let origin = origin.clone().expect("a unit's reject has the unit's origin");
                    (source, origin, Err((reason, raw.to_string())))
                }
                Piece::RejectedAt(at, reason) => {
                    let (src, origin) = locate(&at, usize::MAX, None, &self.stats);
                    (src, origin, Err((reason, String::new())))
                }
            };
            self.pending.push_back(Pending { source, origin, item });
        }
        if !later.pieces.is_empty() || later.counts != AdapterCounts::default() {
            self.take_adapted(later, usize::MAX, None, "");
        }
    }

    /// The next unit of the open source, or `None` at its end. Blank lines are counted and
    /// skipped.
    fn read_unit(&mut self) -> Result<Option<Unit>, InputError> {
        let limit = self.max_line_bytes;
        let cur = self.current.as_mut().expect("a source is open");
        let first = std::mem::replace(&mut cur.first_unit, false);
        if cur.document {
            if !first {
                return Ok(None);
            }
            let mut buf = Vec::new();
            let read = cur.lines().get_mut().by_ref().take(limit as u64 + 1).read_to_end(&mut buf);
            read.map_err(|source| InputError::Read {
                path: cur.name.to_string(),
                line: 0,
                source,
            })?;
            let origin = Origin { file: cur.name.clone(), line: 1 };
            let bytes = if buf.len() > limit {
                // Skip the rest so the source's bytes are still all counted and hashed.
                let mut rest = 0u64;
                let sink = std::io::copy(cur.lines().get_mut(), &mut std::io::sink());
                rest += sink.map_err(|source| InputError::Read {
                    path: cur.name.to_string(),
                    line: 0,
                    source,
                })?;
                Err(RejectReason::LineTooLong { bytes: buf.len() as u64 + rest, limit })
            } else {
                Ok(buf)
            };
            return Ok(Some(Unit { source: cur.index, origin, bytes, document: true, first }));
        }
        loop {
            let line_no = cur.lines().line_no() + 1;
            let origin = Origin { file: cur.name.clone(), line: line_no };
            let name = cur.name.clone();
            let line = cur.lines().next_line().map_err(|source| InputError::Read {
                path: name.to_string(),
                line: line_no - 1,
                source,
            })?;
            let bytes = match line {
                None => return Ok(None),
                Some(Line::TooLong { bytes }) => Err(RejectReason::LineTooLong { bytes, limit }),
                Some(Line::Text(b)) if b.iter().all(u8::is_ascii_whitespace) => {
                    self.stats[cur.index].lines += 1;
                    self.stats[cur.index].blank_lines += 1;
                    continue;
                }
                Some(Line::Text(b)) => Ok(b.to_vec()),
            };
            return Ok(Some(Unit { source: cur.index, origin, bytes, document: false, first }));
        }
    }
}

/// Where an adapted conversation came from: its unit, or — for a WeCom conversation grouped from
/// many lines — the line of its first message.
fn locate(
    conv_origin: &Origin,
    source: usize,
    origin: Option<&Origin>,
    stats: &[SourceStats],
) -> (usize, Origin) {
    match origin {
        Some(o) if source != usize::MAX => (source, o.clone()),
        _ => {
            let src = stats.iter().rposition(|s| *s.path == *conv_origin.file).unwrap_or(0);
            (src, conv_origin.clone())
        }
    }
}

enum UnitResult {
    /// The unit could not be parsed at all (invalid UTF-8 or JSON, too long).
    Rejected(RejectReason, String),
    /// Each JSON object of the unit (one, or each element of a top-level array), what its
    /// adapter made of it, and — when that includes a reject — the object's start for `raw`.
    Adapted(Vec<(Origin, adapters::Adapted, String)>),
}

fn adapt_unit(format: Format, opts: &AdapterOptions, u: &Unit) -> Result<UnitResult, WrongFormat> {
    let bytes = match &u.bytes {
        Ok(b) => b,
        Err(reason) => return Ok(UnitResult::Rejected(reason.clone(), String::new())),
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let reason = if std::str::from_utf8(bytes).is_err() {
                RejectReason::InvalidUtf8 {
                    byte: std::str::from_utf8(bytes).unwrap_err().valid_up_to(),
                }
            } else {
                RejectReason::InvalidJson { column: e.column(), message: e.to_string() }
            };
            return Ok(UnitResult::Rejected(reason, raw_prefix(bytes)));
        }
    };
    match value {
        Value::Array(items) if u.document => {
            let mut parts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let origin = Origin { file: u.origin.file.clone(), line: i as u64 + 1 };
                let adapted = adapters::adapt(format, item, &origin, opts)?;
                let raw = raw_if_rejected(&adapted, || raw_prefix(item.to_string().as_bytes()));
                parts.push((origin, adapted, raw));
            }
            Ok(UnitResult::Adapted(parts))
        }
        value => {
            let adapted = adapters::adapt(format, &value, &u.origin, opts)?;
            let raw = raw_if_rejected(&adapted, || raw_prefix(bytes));
            Ok(UnitResult::Adapted(vec![(u.origin.clone(), adapted, raw)]))
        }
    }
}

/// The unit's start for the rejects output, made only when the adapter rejected something.
fn raw_if_rejected(adapted: &adapters::Adapted, raw: impl FnOnce() -> String) -> String {
    let rejected = adapted.pieces.iter().any(|p| matches!(p, Piece::Rejected(_)));
    if rejected { raw() } else { String::new() }
}
