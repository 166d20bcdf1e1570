//! Adapter for the most common export shape of chat and ticket tools: a CSV file with one row
//! per message (`convqa convert messages-csv`). It writes conversations in convqa's JSONL schema,
//! one a line, so `convqa score` reads them as they are.
//!
//! - Columns are found by header name (any case; spaces and `-` read as `_`; a UTF-8 byte order
//!   mark is ignored) under the usual names (see [`COLUMNS`]); `conversation_id`, `speaker`, `text` and `ts` are required.
//! - A conversation's rows must be next to each other (exports sort by conversation, then
//!   time): one conversation is in memory at a time. Rows of a conversation that already ended
//!   are rejected with a reason saying to sort the export.
//! - Roles are mapped to customer / agent / system (`end-user`, `visitor` → customer; `operator`,
//!   `staff` → agent; `bot`, `automated` → system).
//! - Timestamps are RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC.
//! - A conversation with a row that cannot be used (unknown role, bad timestamp, empty text) is
//!   rejected whole, with the row's line and the reason: scoring it without the message would
//!   judge a different conversation. Every reject is one JSON line in the rejects output.

use std::io::{Read, Write};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

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
pub enum ConvertError {
    #[error("{source_name}: not a readable CSV file: {message}")]
    Csv { source_name: String, message: String },
    #[error(
        "{source_name}: no {field} column (accepted headers: {accepted}); rename the column or export it"
    )]
    MissingColumn { source_name: String, field: &'static str, accepted: String },
    #[error("writing the converted output: {0}")]
    Write(#[from] std::io::Error),
    #[error("{path}: cannot open input: {source}")]
    Open { path: std::path::PathBuf, source: std::io::Error },
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

impl ConvertError {
    /// Whether the input is at fault (not the output side).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            ConvertError::Csv { .. }
                | ConvertError::MissingColumn { .. }
                | ConvertError::Open { .. }
        )
    }
}

/// Where [`convert_path`] put the rejects.
pub fn default_rejects_path(out: &std::path::Path) -> std::path::PathBuf {
    out.with_extension("rejects.jsonl")
}

/// `convqa convert messages-csv INPUT --out OUT [--rejects FILE]`: `-` is stdin / stdout. The
/// output and the rejects file are written atomically; with `--out -` and no rejects file the
/// rejects go to stderr, otherwise beside the output ([`default_rejects_path`]).
pub fn convert_path(
    input: &std::path::Path,
    out: &std::path::Path,
    rejects: Option<&std::path::Path>,
) -> Result<(ConvertCounts, String), ConvertError> {
    let dash = |p: &std::path::Path| p.as_os_str() == "-";
    let reader: Box<dyn Read> = if dash(input) {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(input)
                .map_err(|source| ConvertError::Open { path: input.to_path_buf(), source })?,
        )
    };
    let name = if dash(input) { "-".to_string() } else { input.display().to_string() };
    let rejects_path = match (rejects, dash(out)) {
        (Some(r), _) => Some(r.to_path_buf()),
        (None, true) => None,
        (None, false) => Some(default_rejects_path(out)),
    };
    let mut rejects_file =
        rejects_path.as_deref().map(crate::output::create_with_parents).transpose()?;
    let mut rejects_stderr = std::io::stderr().lock();
    let rejects_out: &mut dyn Write = match &mut rejects_file {
        Some(f) => f,
        None => &mut rejects_stderr,
    };
    let mut rejects_out = std::io::BufWriter::new(rejects_out);
    let counts = crate::output::write_file_or_stdout(out, |mut w| {
        convert(std::io::BufReader::new(reader), &name, &mut w, &mut rejects_out)
    })?;
    rejects_out.flush()?;
    drop(rejects_out);
    if let Some(f) = rejects_file {
        f.commit()?;
    }
    let where_ = rejects_path.map_or("stderr".to_string(), |p| p.display().to_string());
    Ok((counts, where_))
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConvertCounts {
    pub rows: u64,
    pub conversations: u64,
    pub rejected_conversations: u64,
    /// Rows that belong to rejected conversations (or came after their conversation ended).
    pub rejected_rows: u64,
}

/// One message row's speaker role, from the usual role names of export tools.
pub fn speaker_of(role: &str) -> Option<&'static str> {
    match role.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
        "customer" | "user" | "end_user" | "enduser" | "visitor" | "client" | "contact"
        | "requester" | "lead" | "guest" => Some("customer"),
        "agent" | "operator" | "staff" | "support" | "admin" | "rep" | "assignee"
        | "human_agent" => Some("agent"),
        "system" | "bot" | "automated" | "auto" | "note" => Some("system"),
        _ => None,
    }
}

/// RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]` (also with `T`) as UTC; normalized to RFC 3339.
pub fn timestamp(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"].iter().find_map(|f| {
        NaiveDateTime::parse_from_str(s, f).ok().map(|t| {
            DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
        })
    })
}

/// The conversation being collected.
struct Pending {
    id: String,
    first_line: u64,
    rows: u64,
    turns: Vec<Value>,
    fields: Map<String, Value>,
    /// The agent id, and whether it came from an agent's own row (preferred over other rows).
    agent: Option<(String, bool)>,
    /// The first row that cannot be used: (line, reason).
    problem: Option<(u64, String)>,
}

/// Converts a messages CSV (`source_name` names it in rejects and errors) to JSONL conversations
/// on `out`, one JSON reject per line on `rejects`.
pub fn convert<R: Read>(
    input: R,
    source_name: &str,
    out: &mut impl Write,
    rejects: &mut impl Write,
) -> Result<ConvertCounts, ConvertError> {
    let csv_err = |e: csv::Error| ConvertError::Csv {
        source_name: source_name.to_string(),
        message: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    // "Ticket ID", "created-at" and "ticket_id" are the same column
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase().replace([' ', '-'], "_"))
        .collect();
    let column = |field: &str| {
        let names = COLUMNS.iter().find(|(f, _)| *f == field).expect("known field").1;
        names.iter().find_map(|n| headers.iter().position(|h| h == n))
    };
    let idx: Vec<(&'static str, Option<usize>)> =
        COLUMNS.iter().map(|(f, _)| (*f, column(f))).collect();
    for field in REQUIRED {
        if idx.iter().any(|(f, i)| *f == field && i.is_none()) {
            let accepted = COLUMNS.iter().find(|(f, _)| *f == field).expect("known").1.join(", ");
            return Err(ConvertError::MissingColumn {
                source_name: source_name.to_string(),
                field,
                accepted,
            });
        }
    }
    let get = |record: &csv::StringRecord, field: &str| -> Option<String> {
        let i = idx.iter().find(|(f, _)| *f == field)?.1?;
        record.get(i).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    };

    let mut counts = ConvertCounts::default();
    let mut pending: Option<Pending> = None;
    let mut finished: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut bytes = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut bytes) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(csv_err(e)),
            Err(e) => {
                // a row the CSV parser could not read: left out, said so, and on we go
                let line = e.position().map_or(0, |p| p.line());
                counts.rows += 1;
                counts.rejected_rows += 1;
                reject(rejects, source_name, line, None, &format!("unreadable CSV row: {e}"))?;
                continue;
            }
        }
        counts.rows += 1;
        let line = bytes.position().map_or(0, |p| p.line());
        // invalid UTF-8 in a field rejects the row's conversation (found by its lossy id)
        let (record, utf8) = match csv::StringRecord::from_byte_record(bytes.clone()) {
            Ok(record) => (record, true),
            Err(e) => (csv::StringRecord::from_byte_record_lossy(e.into_byte_record()), false),
        };
        let Some(id) = get(&record, "conversation_id") else {
            counts.rejected_rows += 1;
            reject(rejects, source_name, line, None, "no conversation_id in this row")?;
            continue;
        };
        if pending.as_ref().is_none_or(|p| p.id != id) {
            if let Some(done) = pending.take() {
                finished.insert(done.id.clone());
                emit(done, source_name, out, rejects, &mut counts)?;
            }
            if finished.contains(&id) {
                counts.rejected_rows += 1;
                reject(
                    rejects,
                    source_name,
                    line,
                    Some(&id),
                    "a row of a conversation that ended earlier in the file: sort the export by \
                     conversation, then time (this row was left out)",
                )?;
                continue;
            }
            pending = Some(Pending {
                id: id.clone(),
                first_line: line,
                rows: 0,
                turns: Vec::new(),
                fields: Map::new(),
                agent: None,
                problem: None,
            });
        }
        let p = pending.as_mut().expect("set above");
        p.rows += 1;
        if !utf8 {
            p.problem.get_or_insert((line, "invalid UTF-8 in this row".to_string()));
            continue;
        }
        add_row(p, &record, line, &get);
    }
    if let Some(done) = pending.take() {
        emit(done, source_name, out, rejects, &mut counts)?;
    }
    Ok(counts)
}

fn add_row(
    p: &mut Pending,
    record: &csv::StringRecord,
    line: u64,
    get: &dyn Fn(&csv::StringRecord, &str) -> Option<String>,
) {
    let role = get(record, "speaker").unwrap_or_default();
    let speaker = speaker_of(&role);
    let ts = get(record, "ts").and_then(|t| timestamp(&t));
    let text = get(record, "text");
    let problem = match (speaker, &ts, &text) {
        (None, _, _) => Some(format!(
            "speaker {role:?} is not a known role (customer, agent, system or their usual names)"
        )),
        (_, None, _) => Some(format!(
            "timestamp {:?} is neither RFC 3339 nor YYYY-MM-DD HH:MM:SS",
            get(record, "ts").unwrap_or_default()
        )),
        (_, _, None) => Some("empty message text".to_string()),
        _ => None,
    };
    if let Some(reason) = problem {
        p.problem.get_or_insert((line, reason));
        return;
    }
    let speaker = speaker.expect("checked");
    p.turns.push(json!({"speaker": speaker, "text": text, "ts": ts}));
    // conversation fields: the first value seen; the agent id from the first agent row that has
    // one, else from the first row that has one
    if let Some(agent) = get(record, "agent_id") {
        let from_agent = speaker == "agent";
        if p.agent.as_ref().is_none_or(|(_, had_agent_row)| from_agent && !had_agent_row) {
            p.agent = Some((agent, from_agent));
        }
    }
    for field in ["customer_id", "channel", "language"] {
        if !p.fields.contains_key(field)
            && let Some(v) = get(record, field)
        {
            p.fields.insert(field.into(), Value::String(v));
        }
    }
    if !p.fields.contains_key("tags")
        && let Some(v) = get(record, "tags")
    {
        let tags: Vec<Value> = v
            .split([',', ';', '|'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_string()))
            .collect();
        p.fields.insert("tags".into(), Value::Array(tags));
    }
    if !p.fields.contains_key("resolved")
        && let Some(v) = get(record, "resolved")
    {
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "y" => p.fields.insert("resolved".into(), Value::Bool(true)),
            "false" | "no" | "0" | "n" => p.fields.insert("resolved".into(), Value::Bool(false)),
            _ => None,
        };
    }
    if !p.fields.contains_key("csat")
        && let Some(v) = get(record, "csat").and_then(|v| v.parse::<u8>().ok())
    {
        p.fields.insert("csat".into(), json!(v));
    }
}

fn emit(
    p: Pending,
    source_name: &str,
    out: &mut impl Write,
    rejects: &mut impl Write,
    counts: &mut ConvertCounts,
) -> Result<(), ConvertError> {
    if let Some((line, reason)) = &p.problem {
        counts.rejected_conversations += 1;
        counts.rejected_rows += p.rows;
        let reason = format!("{reason} (the whole conversation was left out: {} rows)", p.rows);
        return Ok(reject(rejects, source_name, *line, Some(&p.id), &reason)?);
    }
    let mut fields = p.fields;
    let Some((agent, _)) = p.agent else {
        counts.rejected_conversations += 1;
        counts.rejected_rows += p.rows;
        return Ok(reject(
            rejects,
            source_name,
            p.first_line,
            Some(&p.id),
            "no agent_id on any row: add an agent_id (or agent, assignee) column",
        )?);
    };
    let mut conv = Map::new();
    conv.insert("conversation_id".into(), Value::String(p.id));
    conv.insert("agent_id".into(), Value::String(agent));
    conv.insert(
        "channel".into(),
        fields.remove("channel").unwrap_or_else(|| Value::String("chat".into())),
    );
    conv.extend(fields);
    conv.insert("turns".into(), Value::Array(p.turns));
    serde_json::to_writer(&mut *out, &Value::Object(conv)).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    counts.conversations += 1;
    Ok(())
}

fn reject(
    rejects: &mut impl Write,
    source_name: &str,
    line: u64,
    conversation_id: Option<&str>,
    reason: &str,
) -> std::io::Result<()> {
    let r = json!({"file": source_name, "line": line, "conversation_id": conversation_id, "reason": reason});
    serde_json::to_writer(&mut *rejects, &r).map_err(std::io::Error::from)?;
    rejects.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(rej[1]["conversation_id"], "t2");
        assert!(rej[1]["reason"].as_str().unwrap().contains("\"yesterday\""));
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
        let rej = String::from_utf8(rej).unwrap();
        assert!(
            rej.contains("\"t1\"") && rej.contains("invalid UTF-8") && rej.contains("\"line\":3"),
            "{rej}"
        );
    }

    #[test]
    fn a_conversation_without_any_agent_id_is_rejected() {
        let csv = format!("{HEADER}t1,customer,,hi,2026-11-02 09:00:00,\n");
        let (out, rej, _) = run(&csv);
        assert!(out.is_empty());
        assert!(rej[0]["reason"].as_str().unwrap().contains("no agent_id"));
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
}
