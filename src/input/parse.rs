//! Turns one JSONL line of our documented schema into a validated [`Conversation`], or says
//! exactly why it cannot: which field, and what was wrong with it.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::conversation::{Channel, Conversation, Origin, Speaker, Turn};

/// Why an input record was rejected. The `Display` text is what `rejects.jsonl` carries.
#[derive(Debug, Clone, PartialEq)]
pub enum RejectReason {
    InvalidUtf8 {
        byte: usize,
    },
    InvalidJson {
        column: usize,
        message: String,
    },
    NotAnObject,
    MissingField {
        field: String,
    },
    InvalidField {
        field: String,
        message: String,
    },
    EmptyTurns,
    LineTooLong {
        bytes: u64,
        limit: usize,
    },
    TooManyTurns {
        turns: usize,
        limit: usize,
    },
    DuplicateId {
        first_seen: String,
    },
    /// A unit of another tool's export that is not that tool's shape (after the first unit of
    /// a file, which stops the run instead).
    WrongFormat {
        found: String,
        expected: &'static str,
    },
}

impl RejectReason {
    /// The offending field path (`turns[3].ts`), when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            RejectReason::MissingField { field } | RejectReason::InvalidField { field, .. } => {
                Some(field)
            }
            RejectReason::EmptyTurns | RejectReason::TooManyTurns { .. } => Some("turns"),
            RejectReason::DuplicateId { .. } => Some("conversation_id"),
            _ => None,
        }
    }

    /// A short stable code for grouping rejects (`invalid_field`, `duplicate_id`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 { .. } => "invalid_utf8",
            RejectReason::InvalidJson { .. } => "invalid_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::MissingField { .. } => "missing_field",
            RejectReason::InvalidField { .. } => "invalid_field",
            RejectReason::EmptyTurns => "empty_turns",
            RejectReason::LineTooLong { .. } => "line_too_long",
            RejectReason::TooManyTurns { .. } => "too_many_turns",
            RejectReason::DuplicateId { .. } => "duplicate_id",
            RejectReason::WrongFormat { .. } => "wrong_format",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::InvalidUtf8 { byte } => {
                write!(f, "invalid UTF-8 at byte {byte}; re-export the file as UTF-8")
            }
            RejectReason::InvalidJson { column, message } => {
                write!(f, "invalid JSON at column {column}: {message}")
            }
            RejectReason::NotAnObject => f.write_str("expected one JSON object per line"),
            RejectReason::MissingField { field } => write!(f, "{field}: required field is missing"),
            RejectReason::InvalidField { field, message } => write!(f, "{field}: {message}"),
            RejectReason::EmptyTurns => {
                f.write_str("turns: a conversation needs at least one turn")
            }
            RejectReason::LineTooLong { bytes, limit } => {
                write!(f, "line is {bytes} bytes, over the limit of {limit} (--max-line-bytes)")
            }
            RejectReason::TooManyTurns { turns, limit } => {
                write!(f, "turns: {turns} turns, over the limit of {limit} (--max-turns)")
            }
            RejectReason::DuplicateId { first_seen } => {
                write!(f, "conversation_id: duplicate of the conversation at {first_seen}")
            }
            RejectReason::WrongFormat { found, expected } => {
                write!(f, "not the named format: expected {expected}; {found}")
            }
        }
    }
}

#[derive(Deserialize)]
struct RawConversation {
    conversation_id: Option<String>,
    agent_id: Option<String>,
    channel: Option<String>,
    turns: Option<Vec<RawTurn>>,
    customer_id: Option<String>,
    started_at: Option<String>,
    language: Option<String>,
    resolved: Option<bool>,
    csat: Option<i64>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawTurn {
    speaker: Option<String>,
    text: Option<String>,
    ts: Option<String>,
}

/// Parses and validates one line. `origin` is recorded in the conversation for later messages.
pub fn parse_line(bytes: &[u8], origin: Origin) -> Result<Conversation, RejectReason> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| RejectReason::InvalidUtf8 { byte: e.valid_up_to() })?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        // Tell "valid JSON but not an object" apart from "not JSON".
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => RejectReason::NotAnObject,
            Err(e) => json_error(e),
        });
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let raw: RawConversation = match serde_path_to_error::deserialize(de) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_data() && path != "." {
                return Err(RejectReason::InvalidField {
                    field: path,
                    message: type_message(&inner),
                });
            }
            return Err(json_error(inner));
        }
    };
    validate(raw, origin)
}

fn json_error(e: serde_json::Error) -> RejectReason {
    RejectReason::InvalidJson { column: e.column(), message: type_message(&e) }
}

/// serde_json's message without its trailing " at line 1 column N".
fn type_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

fn required(value: Option<String>, field: &str) -> Result<String, RejectReason> {
    match value {
        None => Err(RejectReason::MissingField { field: field.to_string() }),
        Some(v) if v.trim().is_empty() => Err(RejectReason::InvalidField {
            field: field.to_string(),
            message: "must not be empty".to_string(),
        }),
        Some(v) => Ok(v),
    }
}

fn parse_ts(value: &str, field: &str) -> Result<DateTime<FixedOffset>, RejectReason> {
    DateTime::parse_from_rfc3339(value).map_err(|_| RejectReason::InvalidField {
        field: field.to_string(),
        message: format!(
            "expected an RFC 3339 time with offset such as \"2026-11-02T09:14:03+08:00\", got {value:?}"
        ),
    })
}

fn validate(raw: RawConversation, origin: Origin) -> Result<Conversation, RejectReason> {
    let conversation_id = required(raw.conversation_id, "conversation_id")?;
    let agent_id = required(raw.agent_id, "agent_id")?;
    let channel_text = required(raw.channel, "channel")?;
    let channel = Channel::parse(&channel_text).ok_or_else(|| RejectReason::InvalidField {
        field: "channel".to_string(),
        message: format!("expected \"chat\", \"email\" or \"phone\", got {channel_text:?}"),
    })?;
    let raw_turns =
        raw.turns.ok_or_else(|| RejectReason::MissingField { field: "turns".into() })?;
    if raw_turns.is_empty() {
        return Err(RejectReason::EmptyTurns);
    }
    let mut turns = Vec::with_capacity(raw_turns.len());
    for (i, t) in raw_turns.into_iter().enumerate() {
        let field = |name: &str| format!("turns[{i}].{name}");
        let speaker_text =
            t.speaker.ok_or_else(|| RejectReason::MissingField { field: field("speaker") })?;
        let speaker = Speaker::parse(&speaker_text).ok_or_else(|| RejectReason::InvalidField {
            field: field("speaker"),
            message: format!(
                "expected \"customer\", \"agent\" or \"system\", got {speaker_text:?}"
            ),
        })?;
        let text = t.text.ok_or_else(|| RejectReason::MissingField { field: field("text") })?;
        let ts_text = t.ts.ok_or_else(|| RejectReason::MissingField { field: field("ts") })?;
        let ts = parse_ts(&ts_text, &field("ts"))?;
        turns.push(Turn { speaker, text, ts });
    }
    let started_at = raw.started_at.as_deref().map(|s| parse_ts(s, "started_at")).transpose()?;
    let csat = match raw.csat {
        None => None,
        Some(v @ 1..=5) => Some(v as u8),
        Some(v) => {
            return Err(RejectReason::InvalidField {
                field: "csat".to_string(),
                message: format!("expected an integer from 1 to 5, got {v}"),
            });
        }
    };
    Ok(Conversation {
        conversation_id,
        agent_id,
        channel,
        customer_id: raw.customer_id,
        started_at,
        declared_language: raw.language,
        resolved: raw.resolved,
        csat,
        tags: raw.tags.unwrap_or_default(),
        turns,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin { file: "t.jsonl".into(), line: 1 }
    }

    const OK: &str = r#"{"conversation_id":"c1","agent_id":"a1","channel":"chat","csat":4,"tags":["x"],
        "turns":[{"speaker":"customer","text":"你好","ts":"2026-11-02T09:14:03+08:00"},
                 {"speaker":"agent","text":"您好","ts":"2026-11-02T09:15:03+08:00"}]}"#;

    fn reject(line: &str) -> RejectReason {
        parse_line(line.as_bytes(), origin()).unwrap_err()
    }

    #[test]
    fn parses_a_valid_conversation() {
        let c = parse_line(OK.as_bytes(), origin()).unwrap();
        assert_eq!(c.conversation_id, "c1");
        assert_eq!(c.turns.len(), 2);
        assert_eq!(c.turns[1].speaker, Speaker::Agent);
        assert_eq!((c.turns[1].ts - c.turns[0].ts).num_seconds(), 60);
        assert_eq!(c.csat, Some(4));
    }

    #[test]
    fn names_the_bad_turn_field() {
        let line = OK.replace("2026-11-02T09:15:03+08:00", "yesterday");
        let r = reject(&line);
        assert_eq!(r.field(), Some("turns[1].ts"));
        assert!(r.to_string().contains("\"yesterday\""), "{r}");
    }

    #[test]
    fn names_a_wrongly_typed_field_by_path() {
        let line = OK.replace(r#""text":"您好""#, r#""text":42"#);
        assert_eq!(reject(&line).field(), Some("turns[1].text"));
    }

    #[test]
    fn rejects_missing_and_invalid_fields() {
        assert_eq!(reject(&OK.replace(r#""agent_id":"a1","#, "")).code(), "missing_field");
        assert_eq!(reject(&OK.replace("chat", "fax")).field(), Some("channel"));
        assert_eq!(reject(&OK.replace(r#""csat":4"#, r#""csat":9"#)).field(), Some("csat"));
        assert_eq!(
            reject(&OK.replace(r#""speaker":"agent""#, r#""speaker":"bot""#)).field(),
            Some("turns[1].speaker")
        );
    }

    #[test]
    fn rejects_non_objects_bad_json_and_bad_utf8() {
        assert_eq!(reject("[1,2]"), RejectReason::NotAnObject);
        assert_eq!(reject(r#"{"conversation_id": "x""#).code(), "invalid_json");
        assert_eq!(
            parse_line(b"{\"a\":\"\xff\"}", origin()).unwrap_err(),
            RejectReason::InvalidUtf8 { byte: 6 }
        );
    }

    #[test]
    fn rejects_empty_turns() {
        let line = r#"{"conversation_id":"c","agent_id":"a","channel":"chat","turns":[]}"#;
        assert_eq!(reject(line), RejectReason::EmptyTurns);
    }
}
