//! Adapters: the exports of contact-center and helpdesk tools turned into [`Conversation`]s.
//!
//! One module per vendor shape; each turns one *unit* (a whole `.json` file, or one line of a
//! `.jsonl` file, parsed) into conversations and rejects, and nothing more — the scoring core
//! never sees a vendor's field names. Shared here: the [`Format`] names of the command line, the
//! speaker / time / text helpers every adapter uses (one HTML-to-text in [`html`]), the counts
//! the closing line and `summary.json` report, and the checks every adapted conversation passes
//! (the same as a JSONL line's: an id, an agent, at least one turn, CSAT 1–5).
//!
//! Guarantees: a unit that is not the named format at all is a [`WrongFormat`] (the run stops
//! naming the file and what was expected); a conversation that cannot be used is a reject with
//! the field and reason; dropped items (internal notes, events, repeated message ids) are
//! counted, never silent.

pub mod connect;
pub mod freshdesk;
pub mod html;
pub mod intercom;
pub mod livechat;
pub mod mapping;
pub mod time;
pub mod wecom;
mod write;
pub mod zendesk;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

pub use write::write_jsonl;

use super::RejectReason;
use crate::conversation::{Channel, Conversation, Origin, Speaker, Turn};

/// The export formats of `convqa convert FORMAT` and `convqa score --from FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// convqa's own JSONL schema (what `convqa score` reads without `--from`).
    Jsonl,
    /// A CSV file with one row per message.
    MessagesCsv,
    /// Amazon Connect chat transcripts (one contact per file) and Contact Lens chat analysis.
    ConnectChat,
    /// Zendesk Support: a ticket with its comments and the users sideloaded.
    Zendesk,
    /// Intercom conversation objects (`GET /conversations/{id}`).
    Intercom,
    /// Freshdesk: a ticket with its conversations (and satisfaction ratings).
    Freshdesk,
    /// LiveChat archives (`list_archives` items: one chat thread each).
    Livechat,
    /// WeCom's decrypted chat archive (会话内容存档), one message per line.
    WecomArchive,
    /// Any JSON export, read through a mapping file (`--mapping`).
    Json,
}

impl Format {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::MessagesCsv => "messages-csv",
            Format::ConnectChat => "connect-chat",
            Format::Zendesk => "zendesk",
            Format::Intercom => "intercom",
            Format::Freshdesk => "freshdesk",
            Format::Livechat => "livechat",
            Format::WecomArchive => "wecom-archive",
            Format::Json => "json",
        }
    }

    /// The file names a folder given as input is searched for (each also `.gz` / `.zst`).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Jsonl => &["jsonl"],
            Format::MessagesCsv => &["csv"],
            _ => &["json", "jsonl"],
        }
    }

    /// What a unit of this format looks like, for the message when a file is something else.
    pub fn expected(self) -> &'static str {
        match self {
            Format::Jsonl => "one convqa conversation object per line",
            Format::MessagesCsv => "a CSV file with a header row, one row per message",
            Format::ConnectChat => {
                "an Amazon Connect chat transcript: an object with \"ContactId\" (or \
                 \"CustomerMetadata.ContactId\") and a \"Transcript\" array"
            }
            Format::Zendesk => {
                "a Zendesk ticket: an object {\"ticket\": {...}, \"comments\": [...], \"users\": [...]}"
            }
            Format::Intercom => {
                "an Intercom conversation object with \"id\", \"source\" and \"conversation_parts\""
            }
            Format::Freshdesk => {
                "a Freshdesk ticket: an object {\"ticket\": {...}, \"conversations\": [...]}"
            }
            Format::Livechat => {
                "a LiveChat archive item: an object with \"id\", \"users\" and a \"thread\" with \"events\""
            }
            Format::WecomArchive => {
                "a decrypted WeCom archive message: an object with \"msgid\", \"action\", \"from\", \
                 \"tolist\" and \"msgtime\""
            }
            Format::Json => "a JSON object the mapping file's paths point into",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Choices that change what an adapter keeps.
#[derive(Debug, Clone)]
pub struct AdapterOptions {
    /// Keep internal notes (Zendesk `public: false`, …) as system turns instead of dropping them.
    pub keep_notes: bool,
    /// WeCom: a silence longer than this between two messages of the same participants starts
    /// a new conversation.
    pub gap: Duration,
    /// The `json` format's mapping.
    pub mapping: Option<std::sync::Arc<mapping::Mapping>>,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions { keep_notes: false, gap: DEFAULT_GAP, mapping: None }
    }
}

/// `--gap`'s default: 30 minutes.
pub const DEFAULT_GAP: Duration = Duration::from_secs(30 * 60);

/// What the closing line and `summary.json` count. Summed over all units of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AdapterCounts {
    /// Conversations produced.
    pub converted: u64,
    /// Conversations (or units) rejected, each with its reason in the rejects output.
    pub rejected: u64,
    /// Internal notes / whispers dropped (kept with `--keep-notes` where the format has them).
    pub notes_dropped: u64,
    /// Events, typing indicators, attachments without text, system parts without text.
    pub events_dropped: u64,
    /// Messages whose id had been seen before in the same conversation.
    pub duplicate_messages: u64,
    /// Conversations whose agent could not be identified (`agent_id` = "unknown").
    pub unknown_agents: u64,
    /// Turns from bots and automations, kept as `system` (never the agent's first response).
    pub bot_turns: u64,
}

impl std::ops::AddAssign for AdapterCounts {
    fn add_assign(&mut self, o: Self) {
        self.converted += o.converted;
        self.rejected += o.rejected;
        self.notes_dropped += o.notes_dropped;
        self.events_dropped += o.events_dropped;
        self.duplicate_messages += o.duplicate_messages;
        self.unknown_agents += o.unknown_agents;
        self.bot_turns += o.bot_turns;
    }
}

/// The agent id used when an export names none.
pub const UNKNOWN_AGENT: &str = "unknown";

/// A unit that is not the named format at all: the run stops, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: not a {format} export: expected {}; {found}", format.expected())]
pub struct WrongFormat {
    pub origin: String,
    pub format: Format,
    /// What was found instead.
    pub found: String,
}

/// What an adapter made of one unit.
#[derive(Debug)]
pub enum Piece {
    Conversation(Box<Conversation>),
    Rejected(RejectReason),
    /// A conversation grouped from a message stream that cannot be used, at its first message.
    RejectedAt(Origin, RejectReason),
    /// One message of a stream format (WeCom), grouped into conversations by the reader.
    Message(Box<wecom::Message>),
}

/// The result of adapting one unit: pieces in order, and the counts of what was dropped.
#[derive(Debug, Default)]
pub struct Adapted {
    pub pieces: Vec<Piece>,
    pub counts: AdapterCounts,
}

impl Adapted {
    pub(crate) fn push(&mut self, result: Result<Conversation, RejectReason>) {
        match result {
            Ok(c) => {
                self.counts.converted += 1;
                self.pieces.push(Piece::Conversation(Box::new(c)));
            }
            Err(r) => {
                self.counts.rejected += 1;
                self.pieces.push(Piece::Rejected(r));
            }
        }
    }
}

/// Adapts one unit of a document format (every format but `jsonl`, `messages-csv`).
pub fn adapt(
    format: Format,
    unit: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
) -> Result<Adapted, WrongFormat> {
    let mut out = Adapted::default();
    match format {
        Format::ConnectChat => connect::adapt(unit, origin, &mut out)?,
        Format::Zendesk => zendesk::adapt(unit, origin, opts, &mut out)?,
        Format::Intercom => intercom::adapt(unit, origin, opts, &mut out)?,
        Format::Freshdesk => freshdesk::adapt(unit, origin, opts, &mut out)?,
        Format::Livechat => livechat::adapt(unit, origin, opts, &mut out)?,
        Format::WecomArchive => wecom::adapt(unit, origin, &mut out)?,
        Format::Json => {
            let mapping = opts.mapping.as_deref().expect("the json format is given a mapping");
            mapping.adapt(unit, origin, &mut out)?
        }
        Format::Jsonl | Format::MessagesCsv => {
            unreachable!("{format} is read by its own reader, not adapted")
        }
    }
    Ok(out)
}

/// Builds a [`Conversation`] from an adapter's fields, applying the checks a JSONL line passes.
/// Turns are added in order; repeated message ids are dropped and counted.
#[derive(Debug)]
pub(crate) struct Builder {
    pub conversation: Conversation,
    seen_ids: HashSet<String>,
}

impl Builder {
    pub fn new(conversation_id: String, channel: Channel, origin: &Origin) -> Builder {
        Builder {
            conversation: Conversation {
                conversation_id,
                agent_id: String::new(),
                channel,
                customer_id: None,
                started_at: None,
                declared_language: None,
                resolved: None,
                csat: None,
                tags: Vec::new(),
                turns: Vec::new(),
                origin: origin.clone(),
            },
            seen_ids: HashSet::new(),
        }
    }

    /// Adds a turn unless its message id was seen before in this conversation (then counted).
    pub fn turn(
        &mut self,
        id: Option<&str>,
        speaker: Speaker,
        text: String,
        ts: DateTime<FixedOffset>,
        counts: &mut AdapterCounts,
    ) {
        if let Some(id) = id
            && !self.seen_ids.insert(id.to_string())
        {
            counts.duplicate_messages += 1;
            return;
        }
        self.conversation.turns.push(Turn { speaker, text, ts });
    }

    /// The finished conversation, or why it cannot be scored. An empty agent id becomes
    /// [`UNKNOWN_AGENT`] (counted).
    pub fn finish(mut self, counts: &mut AdapterCounts) -> Result<Conversation, RejectReason> {
        let c = &mut self.conversation;
        if c.conversation_id.trim().is_empty() {
            return Err(RejectReason::MissingField { field: "conversation_id".into() });
        }
        if c.turns.is_empty() {
            return Err(RejectReason::EmptyTurns);
        }
        if c.agent_id.trim().is_empty() {
            c.agent_id = UNKNOWN_AGENT.to_string();
            counts.unknown_agents += 1;
        }
        if let Some(csat) = c.csat
            && !(1..=5).contains(&csat)
        {
            return Err(invalid("csat", format!("expected 1 to 5, got {csat}")));
        }
        Ok(self.conversation)
    }
}

/// A reject naming a field of the vendor's record.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> RejectReason {
    RejectReason::InvalidField { field: field.into(), message: message.into() }
}

/// A missing field of the vendor's record.
pub(crate) fn missing(field: impl Into<String>) -> RejectReason {
    RejectReason::MissingField { field: field.into() }
}

/// A string, or a number written as text (vendor ids are either).
pub(crate) fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `v[key]` as a non-empty string or number id.
pub(crate) fn id_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(id_text)
}

/// `v[key]` as a string.
pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `v[key]` as an array (an absent or null key reads as empty).
pub(crate) fn array_at<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A short description of a JSON value's kind, for [`WrongFormat`] messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A helpdesk unit's ticket object, checking that the unit also has its `list` array
/// (`{"ticket": {...}, "comments": [...]}`); otherwise the unit is the wrong format.
pub(crate) fn ticket_with<'a>(
    format: Format,
    unit: &'a Value,
    origin: &Origin,
    list: &str,
) -> Result<&'a Value, WrongFormat> {
    let Some(ticket) = unit.get("ticket").filter(|t| t.is_object()) else {
        return Err(wrong(format, origin, unit, "ticket"));
    };
    if !unit.get(list).is_some_and(Value::is_array) {
        return Err(wrong(format, origin, unit, list));
    }
    Ok(ticket)
}

/// The [`WrongFormat`] for a unit missing a key every unit of the format has.
pub(crate) fn wrong(format: Format, origin: &Origin, v: &Value, key: &str) -> WrongFormat {
    let found = match v {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(8).map(String::as_str).collect();
            format!("found an object without {key:?} (keys: {})", keys.join(", "))
        }
        other => format!("found {}", kind_of(other)),
    };
    WrongFormat { origin: origin.to_string(), format, found }
}

/// Shared by the adapters' unit tests: one unit through its adapter, by format.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Adapted, AdapterCounts, AdapterOptions, Format, Piece};
    use crate::conversation::{Conversation, Origin, Speaker};
    use serde_json::Value;

    pub fn origin() -> Origin {
        Origin { file: "t.json".into(), line: 1 }
    }

    /// Adapts `unit` as `format`; the conversation it makes (the test fails otherwise) and the
    /// counts.
    pub fn one(format: Format, unit: &Value, keep_notes: bool) -> (Conversation, AdapterCounts) {
        let opts = AdapterOptions { keep_notes, ..AdapterOptions::default() };
        let mut out: Adapted = super::adapt(format, unit, &origin(), &opts).unwrap();
        match out.pieces.pop() {
            Some(Piece::Conversation(c)) => (*c, out.counts),
            other => panic!("expected a conversation, got {other:?}"),
        }
    }

    pub fn speakers(c: &Conversation) -> Vec<Speaker> {
        c.turns.iter().map(|t| t.speaker).collect()
    }

    /// A fixture pair of `data/adapters/<format>/`: the `.json` file makes one conversation of
    /// at least four turns, each line of the `.jsonl` file one conversation; the `.jsonl`
    /// file's counts.
    pub fn fixtures(format: Format, json: &str, jsonl: &str) -> AdapterCounts {
        let (c, _) = one(format, &serde_json::from_str(json).unwrap(), false);
        assert!(c.turns.len() >= 4, "{:?}", c.turns);
        let mut counts = AdapterCounts::default();
        for line in jsonl.lines() {
            let unit = serde_json::from_str(line).unwrap();
            let out = super::adapt(format, &unit, &origin(), &AdapterOptions::default()).unwrap();
            assert!(matches!(out.pieces[..], [Piece::Conversation(_)]), "{line}: {:?}", out.pieces);
            counts += out.counts;
        }
        counts
    }
}
