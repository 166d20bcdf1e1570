//! Adapter for the most common export shape of chat and ticket tools: a CSV file with one row
//! per message (`convqa convert messages-csv`, `convqa score --from messages-csv`). Its core,
//! [`CsvReader`], yields [`Conversation`]s — built with the adapters' `Builder`, so they pass the
//! same checks as every other format's — and [`Reject`]s in the rejects format of `convqa score`.
//!
//! - Columns are found by header name (any case; spaces and `-` read as `_`; a UTF-8 byte order
//!   mark is ignored) under the usual names (see [`COLUMNS`]); `conversation_id`, `speaker`,
//!   `text` and `ts` are required. A reject's field is the column's header as the file writes it.
//! - A conversation's rows must be next to each other (exports sort by conversation, then
//!   time): one conversation is in memory at a time. Rows of a conversation that already ended
//!   are rejected with a reason saying to sort the export.
//! - Roles are mapped to customer / agent / system (`end-user`, `visitor` → customer; `operator`,
//!   `staff` → agent; `bot`, `automated` → system).
//! - Timestamps are RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC.
//! - A conversation with a row that cannot be used (unknown role, bad timestamp, empty text,
//!   invalid UTF-8) is rejected whole, at the row's line, with the reason and the row: scoring it
//!   without the message would judge a different conversation. So is a conversation no row of
//!   which names an agent, and one with a CSAT outside 1–5.

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::adapters::{AdapterCounts, Builder};
use super::{Reject, RejectReason, raw_prefix};
use crate::conversation::{Channel, Conversation, Origin, Speaker};

/// (field, accepted header names) — the first header that matches wins.
pub const COLUMNS: &[(&str, &[&str])] = &[
    (
        "conversation_id",
        &["conversation_id", "conversation", "ticket_id", "chat_id", "thread_id", "session_id"],
    ),
    ("speaker", &["speaker", "role", "sender_type", "author_type", "from"]),
    ("text", &["text", "message", "body", "content"]),
    ("ts", &["ts", "timestamp", "time", "created_at", "sent_at"]),
    ("agent_id", &["agent_id", "agent", "assignee", "agent_name"]),
    ("customer_id", &["customer_id", "customer", "requester", "user_id", "visitor_id"]),
    ("channel", &["channel"]),
    ("tags", &["tags", "tag"]),
    ("resolved", &["resolved"]),
    ("csat", &["csat", "rating", "satisfaction"]),
    ("language", &["language", "lang"]),
];

const REQUIRED: [&str; 4] = ["conversation_id", "speaker", "text", "ts"];

/// A problem with the whole file: nothing can be converted.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{source_name}: not a readable CSV file: {message}")]
    Csv { source_name: String, message: String },
    #[error(
        "{source_name}: no {field} column (accepted headers: {accepted}); rename the column or export it"
    )]
    MissingColumn { source_name: String, field: &'static str, accepted: String },
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConvertCounts {
    pub rows: u64,
    pub conversations: u64,
    pub rejected_conversations: u64,
    /// Rows that belong to rejected conversations (or came after their conversation ended, or
    /// could not be read).
    pub rejected_rows: u64,
}

/// One message row's speaker role, from the usual role names of export tools.
pub fn speaker_of(role: &str) -> Option<Speaker> {
    match role.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
        "customer" | "user" | "end_user" | "enduser" | "visitor" | "client" | "contact"
        | "requester" | "lead" | "guest" => Some(Speaker::Customer),
        "agent" | "operator" | "staff" | "support" | "admin" | "rep" | "assignee"
        | "human_agent" => Some(Speaker::Agent),
        "system" | "bot" | "automated" | "auto" | "note" => Some(Speaker::System),
        _ => None,
    }
}

/// RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]` (also with `T`) as UTC.
pub fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"].iter().find_map(|f| {
        NaiveDateTime::parse_from_str(s, f)
            .ok()
            .map(|t| DateTime::<Utc>::from_naive_utc_and_offset(t, Utc).fixed_offset())
    })
}

/// Converts a messages CSV (`source_name` names it in rejects and errors) to JSONL conversations
/// on `out`, one reject per line on `rejects` (what `convqa convert messages-csv` writes, for the
/// tests below).
#[cfg(test)]
fn convert<R: Read>(
    input: R,
    source_name: &str,
    out: &mut impl std::io::Write,
    rejects: &mut impl std::io::Write,
) -> Result<ConvertCounts, CsvError> {
    let mut reader = CsvReader::new(input, source_name.into())?;
    while let Some(item) = reader.next()? {
        match item {
            Ok(c) => super::adapters::write_jsonl(out, &c).expect("writing to memory"),
            Err(r) => r.write_line(rejects, &r.raw).expect("writing to memory"),
        }
    }
    Ok(reader.counts())
}

/// A column's place in the file and its header as written (a reject's field).
#[derive(Debug, Clone)]
struct Column {
    index: usize,
    header: String,
}

/// The columns found, by field (the order of [`COLUMNS`]).
#[derive(Debug)]
struct Columns([Option<Column>; COLUMNS.len()]);

impl Columns {
    fn slot(field: &str) -> usize {
        COLUMNS.iter().position(|(f, _)| *f == field).expect("a known field")
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, field: &str) -> Option<&'r str> {
        let c = self.0[Self::slot(field)].as_ref()?;
        record.get(c.index).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The header as the file writes it, or the field's name when there is no such column.
    fn header(&self, field: &str) -> String {
        self.0[Self::slot(field)].as_ref().map_or_else(|| field.to_string(), |c| c.header.clone())
    }

    /// The header of the column at `index`.
    fn header_at(&self, index: usize, headers: &[String]) -> String {
        headers.get(index).cloned().unwrap_or_else(|| format!("column {}", index + 1))
    }
}

/// The conversation being collected.
struct Pending {
    builder: Builder,
    rows: u64,
    /// The first row, for a reject of the whole conversation that no one row caused.
    first_raw: String,
    /// The agent id, and whether it came from an agent's own row (preferred over other rows).
    agent: Option<(String, bool)>,
    channel: bool,
    /// The first row that cannot be used: (line, column header, message, the row).
    problem: Option<(u64, String, String, String)>,
}

/// Reads a messages CSV as conversations and rejects, in file order, one conversation in
/// memory at a time. `R` is any reader (`Box<dyn Read + Send>` for a [`crate::input::Source`]).
pub struct CsvReader<R: Read = Box<dyn Read + Send>> {
    reader: csv::Reader<R>,
    source_name: Arc<str>,
    columns: Columns,
    /// The headers as written, by column index.
    headers: Vec<String>,
    pending: Option<Pending>,
    /// Ids of the conversations that ended, with the line of their first row.
    finished: HashSet<String>,
    ready: VecDeque<Result<Conversation, Reject>>,
    counts: ConvertCounts,
    adapter_counts: AdapterCounts,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: Read> CsvReader<R> {
    /// Reads the header row; a file without a required column is an error naming the accepted
    /// headers.
    pub fn new(read: R, source_name: Arc<str>) -> Result<Self, CsvError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(read);
        let csv_err = |e: csv::Error| CsvError::Csv {
            source_name: source_name.to_string(),
            message: e.to_string(),
        };
        let headers: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        // "Ticket ID", "created-at" and "ticket_id" are the same column
        let normal: Vec<String> =
            headers.iter().map(|h| h.to_lowercase().replace([' ', '-'], "_")).collect();
        let columns = Columns(std::array::from_fn(|slot| {
            let names = COLUMNS[slot].1;
            let index = names.iter().find_map(|n| normal.iter().position(|h| h == n))?;
            Some(Column { index, header: headers[index].clone() })
        }));
        for field in REQUIRED {
            if columns.0[Columns::slot(field)].is_none() {
                let accepted = COLUMNS[Columns::slot(field)].1.join(", ");
                return Err(CsvError::MissingColumn {
                    source_name: source_name.to_string(),
                    field,
                    accepted,
                });
            }
        }
        Ok(CsvReader {
            reader,
            source_name,
            columns,
            headers,
            pending: None,
            finished: HashSet::new(),
            ready: VecDeque::new(),
            counts: ConvertCounts::default(),
            adapter_counts: AdapterCounts::default(),
            record: csv::ByteRecord::new(),
            done: false,
        })
    }

    /// Rows read, conversations made, conversations and rows left out so far.
    pub fn counts(&self) -> ConvertCounts {
        self.counts
    }

    /// The adapters' counts (conversations converted and rejected; nothing else is dropped).
    pub fn adapter_counts(&self) -> AdapterCounts {
        self.adapter_counts
    }

    /// The next conversation or reject, or `Ok(None)` at the end of the file. An error is a
    /// read failure of the input.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Result<Conversation, Reject>>, CsvError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            if self.done {
                return Ok(None);
            }
            self.read_row()?;
        }
    }

    fn origin(&self, line: u64) -> Origin {
        Origin { file: self.source_name.clone(), line }
    }

    fn reject_row(&mut self, line: u64, reason: RejectReason, raw: String) {
        self.counts.rejected_rows += 1;
        let origin = self.origin(line);
        self.ready.push_back(Err(Reject { origin, reason, raw }));
    }

    /// Reads one row into the pending conversation (finishing the one before when the id
    /// changes), or everything that is left at the end of the file.
    fn read_row(&mut self) -> Result<(), CsvError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => {
                if let Some(done) = self.pending.take() {
                    self.finish(done);
                }
                self.done = true;
                return Ok(());
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(CsvError::Csv {
                    source_name: self.source_name.to_string(),
                    message: e.to_string(),
                });
            }
            Err(e) => {
                // a row the CSV parser could not read: left out, said so, and on we go
                let line = e.position().map_or(0, |p| p.line());
                self.counts.rows += 1;
                let reason = RejectReason::InvalidField {
                    field: "row".into(),
                    message: format!("unreadable CSV row: {e}"),
                };
                self.reject_row(line, reason, String::new());
                return Ok(());
            }
        }
        self.counts.rows += 1;
        let line = self.record.position().map_or(0, |p| p.line());
        let raw = raw_row(&self.record);
        // invalid UTF-8 in a field rejects the row's conversation (found by its lossy id)
        let (record, bad_utf8) = match csv::StringRecord::from_byte_record(self.record.clone()) {
            Ok(record) => (record, None),
            Err(e) => {
                let at = e.utf8_error().field();
                let byte = e.utf8_error().valid_up_to();
                (csv::StringRecord::from_byte_record_lossy(e.into_byte_record()), Some((at, byte)))
            }
        };
        let id_header = self.columns.header("conversation_id");
        let Some(id) = self.columns.get(&record, "conversation_id").map(str::to_string) else {
            let reason = RejectReason::MissingField { field: id_header };
            self.reject_row(line, reason, raw);
            return Ok(());
        };
        if self.pending.as_ref().is_none_or(|p| p.builder.conversation.conversation_id != id) {
            if let Some(done) = self.pending.take() {
                self.finished.insert(done.builder.conversation.conversation_id.clone());
                self.finish(done);
            }
            if self.finished.contains(&id) {
                let reason = RejectReason::InvalidField {
                    field: id_header,
                    message: format!(
                        "a row of conversation {id:?}, which ended earlier in the file: sort the \
                         export by conversation, then time (this row was left out)"
                    ),
                };
                self.reject_row(line, reason, raw);
                return Ok(());
            }
            let origin = self.origin(line);
            self.pending = Some(Pending {
                builder: Builder::new(id, Channel::Chat, &origin),
                rows: 0,
                first_raw: raw.clone(),
                agent: None,
                channel: false,
                problem: None,
            });
        }
        let p = self.pending.as_mut().expect("set above");
        p.rows += 1;
        if p.problem.is_some() {
            return Ok(());
        }
        if let Some((at, byte)) = bad_utf8 {
            let header = self.columns.header_at(at, &self.headers);
            let message =
                format!("invalid UTF-8 at byte {byte} of the value; re-export the file as UTF-8");
            p.problem = Some((line, header, message, raw));
            return Ok(());
        }
        if let Err((field, message)) = add_row(p, &self.columns, &record, &mut self.adapter_counts)
        {
            p.problem = Some((line, self.columns.header(field), message, raw));
        }
        Ok(())
    }

    /// The finished conversation, or its reject, onto `ready`.
    fn finish(&mut self, p: Pending) {
        let Pending { mut builder, rows, first_raw, agent, problem, .. } = p;
        let first_line = builder.conversation.origin.line;
        let id = builder.conversation.conversation_id.clone();
        let whole = |message: String| {
            format!("{message} (the whole conversation {id:?} was left out: {rows} rows)")
        };
        let rejected = match (problem, agent) {
            (Some((line, field, message, raw)), _) => {
                Some((line, RejectReason::InvalidField { field, message: whole(message) }, raw))
            }
            (None, None) => {
                let field = self.columns.header("agent_id");
                let message = whole(
                    "no row has an agent id: add an agent_id (or agent, assignee, agent_name) \
                     column"
                        .to_string(),
                );
                Some((first_line, RejectReason::InvalidField { field, message }, first_raw))
            }
            (None, Some((agent, _))) => {
                builder.conversation.agent_id = agent;
                match builder.finish(&mut self.adapter_counts) {
                    Ok(c) => {
                        self.counts.conversations += 1;
                        self.adapter_counts.converted += 1;
                        self.ready.push_back(Ok(c));
                        None
                    }
                    Err(RejectReason::InvalidField { field, message }) => {
                        let field = self.columns.header(&field);
                        Some((
                            first_line,
                            RejectReason::InvalidField { field, message: whole(message) },
                            first_raw,
                        ))
                    }
                    Err(reason) => Some((first_line, reason, first_raw)),
                }
            }
        };
        if let Some((line, reason, raw)) = rejected {
            self.counts.rejected_conversations += 1;
            self.counts.rejected_rows += rows;
            self.adapter_counts.rejected += 1;
            let origin = self.origin(line);
            self.ready.push_back(Err(Reject { origin, reason, raw }));
        }
    }
}

/// The row written back as CSV (lossy UTF-8), cut to the length rejects keep.
fn raw_row(record: &csv::ByteRecord) -> String {
    let mut w =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    if w.write_byte_record(record).is_err() {
        return String::new();
    }
    let bytes = w.into_inner().unwrap_or_default();
    raw_prefix(bytes.strip_suffix(b"\n").unwrap_or(&bytes))
}

/// Adds one row's turn and conversation fields; the error is (field, what is wrong).
fn add_row(
    p: &mut Pending,
    columns: &Columns,
    record: &csv::StringRecord,
    counts: &mut AdapterCounts,
) -> Result<(), (&'static str, String)> {
    let role = columns.get(record, "speaker").unwrap_or_default();
    let speaker = speaker_of(role).ok_or_else(|| {
        (
            "speaker",
            format!("{role:?} is not a known role (customer, agent, system or their usual names)"),
        )
    })?;
    let ts_text = columns.get(record, "ts").unwrap_or_default();
    let ts = timestamp(ts_text).ok_or_else(|| {
        ("ts", format!("{ts_text:?} is neither RFC 3339 nor YYYY-MM-DD HH:MM:SS (read as UTC)"))
    })?;
    let text = columns.get(record, "text").ok_or(("text", "empty message text".to_string()))?;
    p.builder.turn(None, speaker, text.to_string(), ts, counts);
    // conversation fields: the first value seen; the agent id from the first agent row that has
    // one, else from the first row that has one
    if let Some(agent) = columns.get(record, "agent_id") {
        let from_agent = speaker == Speaker::Agent;
        if p.agent.as_ref().is_none_or(|(_, had_agent_row)| from_agent && !had_agent_row) {
            p.agent = Some((agent.to_string(), from_agent));
        }
    }
    let c = &mut p.builder.conversation;
    if !p.channel
        && let Some(v) = columns.get(record, "channel")
    {
        c.channel = Channel::parse(&v.to_ascii_lowercase()).ok_or_else(|| {
            ("channel", format!("{v:?} is not a channel: write chat, email or phone"))
        })?;
        p.channel = true;
    }
    if c.customer_id.is_none() {
        c.customer_id = columns.get(record, "customer_id").map(str::to_string);
    }
    if c.declared_language.is_none() {
        c.declared_language = columns.get(record, "language").map(str::to_string);
    }
    if c.tags.is_empty()
        && let Some(v) = columns.get(record, "tags")
    {
        c.tags = v
            .split([',', ';', '|'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
    }
    if c.resolved.is_none()
        && let Some(v) = columns.get(record, "resolved")
    {
        c.resolved = match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "y" => Some(true),
            "false" | "no" | "0" | "n" => Some(false),
            _ => None,
        };
    }
    // a rating that is not a number ("n/a") is no rating; a number outside 1–5 rejects
    if c.csat.is_none()
        && let Some(n) = columns.get(record, "csat").and_then(|v| v.parse::<i64>().ok())
    {
        match u8::try_from(n) {
            Ok(n @ 1..=5) => c.csat = Some(n),
            _ => return Err(("csat", format!("expected a rating from 1 to 5, got {n}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn run(csv: &str) -> (Vec<Value>, Vec<Value>, ConvertCounts) {
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let counts = convert(csv.as_bytes(), "t.csv", &mut out, &mut rej).unwrap();
        let lines = |b: Vec<u8>| -> Vec<Value> {
            String::from_utf8(b)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        (lines(out), lines(rej), counts)
    }

    const HEADER: &str = "Ticket ID,Sender Type,Agent,Message,Created At,Tags\n";

    #[test]
    fn rows_become_conversations_in_the_jsonl_schema() {
        let csv = format!(
            "{HEADER}t1,end-user,,\"Hi, my order, #12\",2026-11-02 09:00:00,\"delivery;late\"\n\
             t1,Operator,ann,您好，请稍等,2026-11-02T09:01:30Z,\n\
             t2,visitor,,hello,2026-11-02T10:00:00+08:00,\n\
             t2,bot,,Connecting you to an agent,2026-11-02T10:00:01+08:00,\n\
             t2,agent,bob,Hi!,2026-11-02T10:00:40+08:00,\n"
        );
        let (out, rej, counts) = run(&csv);
        assert!(rej.is_empty(), "{rej:?}");
        assert_eq!(counts, ConvertCounts { rows: 5, conversations: 2, ..Default::default() });
        assert_eq!(out[0]["conversation_id"], "t1");
        assert_eq!(out[0]["agent_id"], "ann");
        assert_eq!(out[0]["channel"], "chat");
        assert_eq!(out[0]["tags"], json!(["delivery", "late"]));
        assert_eq!(
            out[0]["turns"][0],
            json!({"speaker": "customer", "text": "Hi, my order, #12", "ts": "2026-11-02T09:00:00Z"})
        );
        assert_eq!(out[0]["turns"][1]["speaker"], "agent");
        assert_eq!(out[1]["turns"][1]["speaker"], "system");
        assert_eq!(out[1]["turns"][0]["ts"], "2026-11-02T10:00:00+08:00");
        assert_eq!(out[1]["agent_id"], "bob");
    }

    #[test]
    fn a_bad_row_rejects_its_conversation_whole_and_says_which_line() {
        let csv = format!(
            "{HEADER}t1,customer,,hi,2026-11-02 09:00:00,\n\
             t1,robot,ann,hello,2026-11-02 09:01:00,\n\
             t2,customer,,hi,yesterday,\n\
             t3,customer,,hi,2026-11-02 09:00:00,\n\
             t3,agent,cy,hello,2026-11-02 09:00:10,\n"
        );
        let (out, rej, counts) = run(&csv);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["conversation_id"], "t3");
        assert_eq!(counts.rejected_conversations, 2);
        assert_eq!(counts.rejected_rows, 3);
        assert_eq!(rej[0]["line"], 3);
        assert!(rej[0]["reason"].as_str().unwrap().contains("\"robot\" is not a known role"));
        assert_eq!(
            (rej[0]["code"].as_str(), rej[0]["field"].as_str()),
            (Some("invalid_field"), Some("Sender Type"))
        );
        assert!(
            rej[0]["reason"]
                .as_str()
                .unwrap()
                .contains("whole conversation \"t1\" was left out: 2 rows")
        );
        assert_eq!(rej[0]["raw"], "t1,robot,ann,hello,2026-11-02 09:01:00,");
        assert_eq!(rej[1]["field"], "Created At");
        assert!(rej[1]["reason"].as_str().unwrap().contains("\"yesterday\""));
        assert!(rej[1]["raw"].as_str().unwrap().starts_with("t2,"));
    }

    #[test]
    fn rows_after_their_conversation_ended_are_rejected_with_what_to_do() {
        let csv = format!(
            "{HEADER}t1,customer,,hi,2026-11-02 09:00:00,\n\
             t1,agent,ann,hello,2026-11-02 09:00:10,\n\
             t2,customer,,hi,2026-11-02 09:00:00,\n\
             t2,agent,ann,hello,2026-11-02 09:00:10,\n\
             t1,customer,,thanks,2026-11-02 09:05:00,\n"
        );
        let (out, rej, counts) = run(&csv);
        assert_eq!(out.len(), 2);
        assert_eq!(counts.rejected_rows, 1);
        assert_eq!(rej[0]["line"], 6);
        assert_eq!(rej[0]["field"], "Ticket ID");
        assert!(rej[0]["reason"].as_str().unwrap().contains("sort the export"));
    }

    #[test]
    fn invalid_utf8_in_a_row_rejects_its_conversation() {
        let mut csv = format!("{HEADER}t1,customer,,hi,2026-11-02 09:00:00,\n").into_bytes();
        csv.extend_from_slice(b"t1,agent,ann,caf\xe9,2026-11-02 09:00:10,\n");
        csv.extend_from_slice(
            b"t2,customer,,hi,2026-11-02 09:00:00,\nt2,agent,ann,yo,2026-11-02 09:00:10,\n",
        );
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let counts = convert(&csv[..], "t.csv", &mut out, &mut rej).unwrap();
        assert_eq!((counts.conversations, counts.rejected_conversations), (1, 1));
        let rej: Value = serde_json::from_slice(&rej).unwrap();
        assert_eq!((rej["line"].as_u64(), rej["field"].as_str()), (Some(3), Some("Message")));
        let reason = rej["reason"].as_str().unwrap();
        assert!(
            reason.contains("invalid UTF-8 at byte 3") && reason.contains("\"t1\""),
            "{reason}"
        );
    }

    #[test]
    fn a_conversation_without_any_agent_id_is_rejected() {
        let csv = format!("{HEADER}t1,customer,,hi,2026-11-02 09:00:00,\n");
        let (out, rej, _) = run(&csv);
        assert!(out.is_empty());
        assert_eq!(rej[0]["field"], "Agent");
        assert!(rej[0]["reason"].as_str().unwrap().contains("no row has an agent id"));
    }

    #[test]
    fn a_missing_required_column_names_the_accepted_headers() {
        let e = convert(
            "Ticket ID,Role,Message\n".as_bytes(),
            "t.csv",
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.csv: no ts column") && e.contains("created_at"), "{e}");
    }

    #[test]
    fn the_reader_yields_conversations_and_score_rejects_in_file_order() {
        let csv = format!(
            "{HEADER}t1,customer,,hi,2026-11-02 09:00:00,\n\
             t1,agent,ann,hello,2026-11-02 09:00:10,\n\
             t2,customer,,hi,2026-11-02 09:00:00,\n\
             t2,agent,ann,hello,2026-11-02 09:00:10,\n\
             t1,customer,,again,2026-11-02 09:05:00,\n\
             ,customer,,no id,2026-11-02 09:05:00,\n"
        );
        let mut r = CsvReader::new(csv.as_bytes(), "t.csv".into()).unwrap();
        let mut items = Vec::new();
        while let Some(item) = r.next().unwrap() {
            items.push(item);
        }
        let c = items[0].as_ref().unwrap();
        assert_eq!((c.conversation_id.as_str(), c.agent_id.as_str()), ("t1", "ann"));
        assert_eq!(c.turns[1].speaker, Speaker::Agent);
        assert_eq!(c.origin, Origin { file: "t.csv".into(), line: 2 });
        assert_eq!(items[1].as_ref().unwrap().conversation_id, "t2");
        // the late t1 row is rejected as soon as it is read, before t2 ends with the file
        let late = items[2].as_ref().unwrap_err();
        assert_eq!(late.origin.line, 6);
        assert_eq!(late.reason.field(), Some("Ticket ID"));
        assert_eq!(late.raw, "t1,customer,,again,2026-11-02 09:05:00,");
        let no_id = items[3].as_ref().unwrap_err();
        assert_eq!(no_id.reason, RejectReason::MissingField { field: "Ticket ID".into() });
        assert_eq!(items.len(), 4);
        assert_eq!(
            r.counts(),
            ConvertCounts {
                rows: 6,
                conversations: 2,
                rejected_conversations: 0,
                rejected_rows: 2
            }
        );
        assert_eq!((r.adapter_counts().converted, r.adapter_counts().rejected), (2, 0));
    }

    #[test]
    fn a_csat_outside_1_to_5_rejects_and_a_word_is_no_rating() {
        let csv = "id,role,agent,text,ts,rating\n\
                   a,customer,,hi,2026-11-02 09:00:00,n/a\n\
                   a,agent,x,yo,2026-11-02 09:00:05,\n\
                   b,customer,,hi,2026-11-02 09:00:00,9\n\
                   b,agent,x,yo,2026-11-02 09:00:05,\n";
        let csv = csv.replace("id,", "conversation_id,");
        let (out, rej, _) = run(&csv);
        assert_eq!(out.len(), 1);
        assert!(out[0].get("csat").is_none());
        assert_eq!((rej[0]["line"].as_u64(), rej[0]["field"].as_str()), (Some(4), Some("rating")));
        assert!(rej[0]["reason"].as_str().unwrap().contains("got 9"), "{}", rej[0]);
    }

    #[test]
    fn converted_lines_parse_back_as_the_conversations_the_reader_yields() {
        let csv = format!(
            "{HEADER}t1,customer,,\"a \"\"quote\"\"\",2026-11-02 09:00:00,x|y\nt1,agent,ann,ok,2026-11-02T09:00:10+08:00,\n"
        );
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        convert(csv.as_bytes(), "t.csv", &mut out, &mut rej).unwrap();
        assert!(rej.is_empty());
        let line = out.strip_suffix(b"\n").unwrap();
        let back =
            crate::input::parse_line(line, Origin { file: "t.csv".into(), line: 2 }).unwrap();
        let mut r = CsvReader::new(csv.as_bytes(), "t.csv".into()).unwrap();
        let read = r.next().unwrap().unwrap().unwrap();
        assert_eq!(back, read);
        assert_eq!(read.turns[0].text, "a \"quote\"");
        assert_eq!(read.tags, ["x", "y"]);
    }
}
