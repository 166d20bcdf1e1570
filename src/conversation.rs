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
