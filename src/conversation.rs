//! The plain input records that flow into the pipeline: a [`Conversation`] and its [`Turn`]s.
//!
//! These are produced by `input` (from JSONL or any other adapter) and are the only thing the
//! scoring core needs. They hold validated data: every turn has a speaker, text and a timestamp.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

/// Who wrote a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    Customer,
    Agent,
    System,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Customer => "customer",
            Speaker::Agent => "agent",
            Speaker::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Speaker> {
        match s {
            "customer" => Some(Speaker::Customer),
            "agent" => Some(Speaker::Agent),
            "system" => Some(Speaker::System),
            _ => None,
        }
    }
}

/// The contact channel; it selects the timing limits (e-mail is answered in hours, chat in minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Chat,
    Email,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Chat, Channel::Email, Channel::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a conversation, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub speaker: Speaker,
    /// The text exactly as it was written; outputs and evidence quote this.
    pub text: String,
    pub ts: DateTime<FixedOffset>,
}

/// Where a record came from, for error messages and rejects: `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A validated conversation: the unit the scoring core works on.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub conversation_id: String,
    pub agent_id: String,
    pub channel: Channel,
    pub customer_id: Option<String>,
    pub started_at: Option<DateTime<FixedOffset>>,
    /// The language the input declared, if any (the pipeline also detects it).
    pub declared_language: Option<String>,
    pub resolved: Option<bool>,
    pub csat: Option<u8>,
    pub tags: Vec<String>,
    pub turns: Vec<Turn>,
    pub origin: Origin,
}

/// A conversation for unit tests: turns as (speaker, seconds after 2026-11-02 09:00 +08:00); turn
/// i's text is `turn {i}`.
#[cfg(test)]
pub(crate) fn test_conversation(channel: Channel, turns: &[(Speaker, i64)]) -> Conversation {
    let t0 = DateTime::parse_from_rfc3339("2026-11-02T09:00:00+08:00").expect("valid time");
    let turns = turns
        .iter()
        .enumerate()
        .map(|(i, &(speaker, s))| Turn {
            speaker,
            text: format!("turn {i}"),
            ts: t0 + chrono::Duration::seconds(s),
        })
        .collect();
    Conversation::with_turns("c", "a", channel, turns, Origin { file: "t".into(), line: 1 })
}

impl Conversation {
    /// A conversation of just these turns: no customer, start, declared language, resolution,
    /// CSAT or tags (tests and fuzz targets build them).
    pub fn with_turns(
        conversation_id: &str,
        agent_id: &str,
        channel: Channel,
        turns: Vec<Turn>,
        origin: Origin,
    ) -> Conversation {
        Conversation {
            conversation_id: conversation_id.into(),
            agent_id: agent_id.into(),
            channel,
            customer_id: None,
            started_at: None,
            declared_language: None,
            resolved: None,
            csat: None,
            tags: Vec::new(),
            turns,
            origin,
        }
    }

    /// SHA-256 (hex) of everything the conversation says — ids, channel, customer, start, declared
    /// language, resolved, csat, tags and every turn's speaker, timestamp and text — but not where
    /// it was read from. The same conversation re-exported with other whitespace or key order has
    /// the same hash; an edited one a new hash (incremental runs replace it).
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&self.conversation_id);
        field(&self.agent_id);
        field(self.channel.as_str());
        field(self.customer_id.as_deref().unwrap_or("\u{0}none"));
        field(&self.started_at.map(|t| t.to_rfc3339()).unwrap_or_default());
        field(self.declared_language.as_deref().unwrap_or("\u{0}none"));
        field(&format!("{:?}/{:?}", self.resolved, self.csat));
        field(&self.tags.len().to_string());
        for t in &self.tags {
            field(t);
        }
        for t in &self.turns {
            field(t.speaker.as_str());
            field(&t.ts.to_rfc3339());
            field(&t.text);
        }
        crate::digest::hex(&h.finalize())
    }
}
