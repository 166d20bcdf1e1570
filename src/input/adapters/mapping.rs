//! The `json` format: any tool's JSON export, read through a mapping file
//! (`convqa convert json --mapping FILE.toml`), so a user maps an export without writing code.
//!
//! A mapping names, with JSON Pointers (RFC 6901: `/transcripts/0/phrases`), where a unit's
//! conversations, each conversation's fields and messages, and each message's speaker, text and
//! time are; constants stand in for what an export lacks (`channel_value = "phone"`), and value
//! maps turn the tool's words into convqa's (`[speakers] "agent:*" = "agent"`). A field may also
//! be *found* in an array: `{ in = "/participants", where = { "/participantPurpose" =
//! "internal" }, take = "/userId" }` (the first matching item).
//!
//! Guarantees: a mapping file with an unknown key, a path that is not a JSON Pointer, a speaker
//! or channel that is not convqa's, or a time pattern without a zone is refused when loaded,
//! naming the file and the key. A unit whose messages path points at nothing is a
//! [`WrongFormat`] (the run stops on a file's first unit). A conversation with a missing
//! required field, a speaker not in `[speakers]` (unless `unknown_speaker` is set) or an
//! unreadable time is rejected with the field's JSON Pointer from the unit. Messages the `keep`
//! filter leaves out and messages without text are counted as events; repeated message ids are
//! counted; numeric ids are read as text.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::time::TimeFormat;
use super::{
    Adapted, AdapterCounts, Builder, Format, WrongFormat, html, invalid, kind_of, missing,
};
use crate::conversation::{Channel, Conversation, Origin, Speaker};
use crate::input::RejectReason;

/// A mapping file that cannot be used: the file, the key and what to write.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{file}: cannot read the mapping file: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, a missing key or a value of the wrong type (toml's message
    /// names the key, its line and what was expected).
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: {key}: {message}")]
    Invalid { file: String, key: String, message: String },
}

/// A declarative mapping of another tool's JSON export.
#[derive(Debug)]
pub struct Mapping {
    /// The mapping file's name, for messages.
    name: String,
    conversations: Option<String>,
    conversation: ConversationFields,
    messages: MessageFields,
    /// Exact role values, and prefixes (keys that ended in `*`), longest first.
    speakers: BTreeMap<String, Speaker>,
    speaker_prefixes: Vec<(String, Speaker)>,
    channel_values: BTreeMap<String, Channel>,
    resolved_values: BTreeMap<String, bool>,
    csat_values: BTreeMap<String, u8>,
    time: TimeFormat,
}

#[derive(Debug)]
struct ConversationFields {
    id: Selector,
    agent_id: Option<Selector>,
    agent_id_value: Option<String>,
    customer_id: Option<Selector>,
    customer_id_value: Option<String>,
    channel: Option<Selector>,
    channel_value: Option<Channel>,
    started_at: Option<Selector>,
    language: Option<Selector>,
    language_value: Option<String>,
    resolved: Option<Selector>,
    resolved_value: Option<bool>,
    csat: Option<Selector>,
    tags: Option<Selector>,
    tags_value: Vec<String>,
}

#[derive(Debug)]
struct MessageFields {
    path: String,
    speaker: Selector,
    text: Selector,
    ts: Selector,
    id: Option<Selector>,
    html: bool,
    unknown_speaker: Option<Speaker>,
    /// (pointer, accepted values as text): a message is kept when every pointer matches.
    keep: Vec<(String, Vec<String>)>,
}

/// Where a value is: a JSON Pointer, or the first item of an array that matches.
#[derive(Debug, Clone)]
enum Selector {
    Pointer(String),
    Find { array: String, matches: Vec<(String, String)>, take: String },
}

impl Selector {
    fn resolve<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        match self {
            Selector::Pointer(p) => v.pointer(p),
            Selector::Find { array, matches, take } => v
                .pointer(array)?
                .as_array()?
                .iter()
                .find(|item| {
                    matches.iter().all(|(p, want)| {
                        item.pointer(p).and_then(scalar_text).as_deref() == Some(want.as_str())
                    })
                })?
                .pointer(take),
        }
    }

    /// The field's name in a reject: its JSON Pointer from the unit.
    fn field(&self, base: &str) -> String {
        match self {
            Selector::Pointer(p) => format!("{base}{p}"),
            Selector::Find { array, matches, take } => {
                let cond: Vec<String> = matches.iter().map(|(p, v)| format!("{p}={v}")).collect();
                format!("{base}{array}[{}]{take}", cond.join(","))
            }
        }
    }
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| MappingError::Read { file: name.clone(), source })?;
        Mapping::parse(&text, &name)
    }

    /// Checks a mapping given as text; `name` names it in messages.
    pub fn parse(text: &str, name: &str) -> Result<Mapping, MappingError> {
        let raw: RawMapping = toml::from_str(text).map_err(|e| MappingError::Toml {
            file: name.to_string(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        let err = |key: &str, message: String| MappingError::Invalid {
            file: name.to_string(),
            key: key.to_string(),
            message,
        };
        let pointer = |key: &str, p: String| -> Result<String, MappingError> {
            if p.is_empty() || p.starts_with('/') {
                Ok(p)
            } else {
                Err(err(
                    key,
                    format!(
                        "{p:?} is not a JSON Pointer: write \"/{p}\" (RFC 6901: each step starts \
                         with /, array items by index as in \"/items/0/text\")"
                    ),
                ))
            }
        };
        let selector = |key: &str, s: RawSelector| -> Result<Selector, MappingError> {
            Ok(match s {
                RawSelector::Pointer(p) => Selector::Pointer(pointer(key, p)?),
                RawSelector::Find(f) => Selector::Find {
                    array: pointer(&format!("{key}.in"), f.array)?,
                    matches: f
                        .matches
                        .into_iter()
                        .map(|(p, v)| Ok((pointer(&format!("{key}.where"), p)?, v.text())))
                        .collect::<Result<_, MappingError>>()?,
                    take: pointer(&format!("{key}.take"), f.take)?,
                },
            })
        };
        let opt = |key: &str, s: Option<RawSelector>| s.map(|s| selector(key, s)).transpose();
        let speaker = |key: &str, v: &str| {
            Speaker::parse(v).ok_or_else(|| {
                err(
                    key,
                    format!("{v:?} is not a speaker: write \"customer\", \"agent\" or \"system\""),
                )
            })
        };
        let channel = |key: &str, v: &str| {
            Channel::parse(v).ok_or_else(|| {
                err(key, format!("{v:?} is not a channel: write \"chat\", \"email\" or \"phone\""))
            })
        };

        let c = raw.conversation;
        if c.channel.is_none() && c.channel_value.is_none() {
            return Err(err(
                "conversation.channel",
                "say where the channel is (channel = \"/channel\") or give it \
                 (channel_value = \"chat\", \"email\" or \"phone\")"
                    .to_string(),
            ));
        }
        let conversation = ConversationFields {
            id: selector("conversation.id", c.id)?,
            agent_id: opt("conversation.agent_id", c.agent_id)?,
            agent_id_value: c.agent_id_value,
            customer_id: opt("conversation.customer_id", c.customer_id)?,
            customer_id_value: c.customer_id_value,
            channel: opt("conversation.channel", c.channel)?,
            channel_value: c
                .channel_value
                .as_deref()
                .map(|v| channel("conversation.channel_value", v))
                .transpose()?,
            started_at: opt("conversation.started_at", c.started_at)?,
            language: opt("conversation.language", c.language)?,
            language_value: c.language_value,
            resolved: opt("conversation.resolved", c.resolved)?,
            resolved_value: c.resolved_value,
            csat: opt("conversation.csat", c.csat)?,
            tags: opt("conversation.tags", c.tags)?,
            tags_value: c.tags_value,
        };
        let m = raw.messages;
        let messages = MessageFields {
            path: pointer("messages.path", m.path)?,
            speaker: selector("messages.speaker", m.speaker)?,
            text: selector("messages.text", m.text)?,
            ts: selector("messages.ts", m.ts)?,
            id: opt("messages.id", m.id)?,
            html: m.html,
            unknown_speaker: m
                .unknown_speaker
                .as_deref()
                .map(|v| speaker("messages.unknown_speaker", v))
                .transpose()?,
            keep: m
                .keep
                .into_iter()
                .map(|(p, values)| {
                    let p = pointer("messages.keep", p)?;
                    Ok((p, values.into_iter().map(Scalar::text).collect()))
                })
                .collect::<Result<_, MappingError>>()?,
        };
        let mut speakers = BTreeMap::new();
        let mut speaker_prefixes = Vec::new();
        for (k, v) in &raw.speakers {
            let s = speaker(&format!("speakers.{k:?}"), v)?;
            match k.strip_suffix('*') {
                Some(prefix) => speaker_prefixes.push((prefix.to_string(), s)),
                None => {
                    speakers.insert(k.clone(), s);
                }
            }
        }
        speaker_prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let channel_values = raw
            .channel_values
            .iter()
            .map(|(k, v)| Ok((k.clone(), channel(&format!("channel_values.{k:?}"), v)?)))
            .collect::<Result<_, MappingError>>()?;
        let csat_values = raw
            .csat_values
            .into_iter()
            .map(|(k, v)| match u8::try_from(v) {
                Ok(n @ 1..=5) => Ok((k, n)),
                _ => Err(err(&format!("csat_values.{k:?}"), format!("{v} is not from 1 to 5"))),
            })
            .collect::<Result<_, MappingError>>()?;
        let time = TimeFormat::parse(&raw.time.format, raw.time.zone.as_deref())
            .map_err(|m| err("time.format", m))?;
        if raw.time.zone.is_some() && !matches!(time, TimeFormat::Pattern { .. }) {
            return Err(err(
                "time.zone",
                format!(
                    "a zone applies only to a strftime pattern; {:?} times carry their own \
                     offset (or are UTC): remove zone",
                    raw.time.format
                ),
            ));
        }
        Ok(Mapping {
            name: name.to_string(),
            conversations: raw.conversations.map(|p| pointer("conversations", p)).transpose()?,
            conversation,
            messages,
            speakers,
            speaker_prefixes,
            channel_values,
            resolved_values: raw.resolved_values,
            csat_values,
            time,
        })
    }

    /// Adapts one unit: its conversations (one, or each item of the `conversations` array).
    pub fn adapt(
        &self,
        unit: &Value,
        origin: &Origin,
        out: &mut Adapted,
    ) -> Result<(), WrongFormat> {
        let conversations: Vec<(String, &Value)> = match &self.conversations {
            None => vec![(String::new(), unit)],
            Some(p) => match unit.pointer(p) {
                Some(Value::Array(items)) => {
                    items.iter().enumerate().map(|(i, c)| (format!("{p}/{i}"), c)).collect()
                }
                found => {
                    let what = found.map_or("nothing", kind_of);
                    return Err(self.wrong(origin, unit, "conversations", p, what));
                }
            },
        };
        let path = &self.messages.path;
        let has_messages = |c: &Value| c.pointer(path).is_some_and(Value::is_array);
        if let Some((_, first)) = conversations.first()
            && !conversations.iter().any(|(_, c)| has_messages(c))
        {
            let what = first.pointer(path).map_or("nothing", kind_of);
            return Err(self.wrong(origin, first, "messages.path", path, what));
        }
        for (base, c) in conversations {
            let result = self.conversation(c, &base, origin, &mut out.counts);
            out.push(result);
        }
        Ok(())
    }

    fn wrong(&self, origin: &Origin, v: &Value, key: &str, path: &str, what: &str) -> WrongFormat {
        let keys = match v {
            Value::Object(m) => {
                let keys: Vec<&str> = m.keys().take(8).map(String::as_str).collect();
                format!("; the object's keys: {}", keys.join(", "))
            }
            other => format!("; found {}", kind_of(other)),
        };
        WrongFormat {
            origin: origin.to_string(),
            format: Format::Json,
            found: format!("{}'s {key} {path:?} points at {what}, not an array{keys}", self.name),
        }
    }

    fn conversation(
        &self,
        c: &Value,
        base: &str,
        origin: &Origin,
        counts: &mut AdapterCounts,
    ) -> Result<Conversation, RejectReason> {
        let f = &self.conversation;
        let id = text_at(c, &f.id, base)?.ok_or_else(|| missing(f.id.field(base)))?;
        let channel = self.channel(c, base)?;
        let mut b = Builder::new(id, channel, origin);
        let messages_field = format!("{base}{}", self.messages.path);
        let items = match c.pointer(&self.messages.path) {
            None | Some(Value::Null) => return Err(missing(messages_field)),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(invalid(
                    messages_field,
                    format!("expected an array of messages, got {}", kind_of(other)),
                ));
            }
        };
        let m = &self.messages;
        for (i, item) in items.iter().enumerate() {
            let at = format!("{messages_field}/{i}");
            if !self.keep(item) {
                counts.events_dropped += 1;
                continue;
            }
            let role =
                text_at(item, &m.speaker, &at)?.ok_or_else(|| missing(m.speaker.field(&at)))?;
            let speaker = match (self.speaker_of(&role), m.unknown_speaker) {
                (Some(s), _) | (None, Some(s)) => s,
                (None, None) => {
                    return Err(invalid(
                        m.speaker.field(&at),
                        format!(
                            "speaker {role:?} is not in the mapping's [speakers]: add \"{role}\" = \
                             \"agent\" (or \"customer\", \"system\") there, or set unknown_speaker \
                             under [messages]"
                        ),
                    ));
                }
            };
            let text = match m.text.resolve(item) {
                None | Some(Value::Null) => return Err(missing(m.text.field(&at))),
                Some(Value::String(s)) if m.html => html::html_to_text(s),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => {
                    return Err(invalid(
                        m.text.field(&at),
                        format!("expected text, got {}", kind_of(other)),
                    ));
                }
            };
            if text.trim().is_empty() {
                counts.events_dropped += 1; // an attachment, a sticker, an empty phrase
                continue;
            }
            let ts = self.time_at(item, &m.ts, &at)?.ok_or_else(|| missing(m.ts.field(&at)))?;
            let msg_id = m.id.as_ref().map(|s| text_at(item, s, &at)).transpose()?.flatten();
            if speaker == Speaker::System {
                counts.bot_turns += 1;
            }
            b.turn(msg_id.as_deref(), speaker, text, ts, counts);
        }
        let conv = &mut b.conversation;
        conv.agent_id = self.text_or(c, &f.agent_id, &f.agent_id_value, base)?.unwrap_or_default();
        conv.customer_id = self.text_or(c, &f.customer_id, &f.customer_id_value, base)?;
        conv.declared_language = self.text_or(c, &f.language, &f.language_value, base)?;
        conv.started_at = match &f.started_at {
            Some(s) => self.time_at(c, s, base)?,
            None => None,
        };
        conv.resolved = self.resolved(c, base)?.or(f.resolved_value);
        conv.csat = self.csat(c, base)?;
        conv.tags = self.tags(c, base)?.unwrap_or_else(|| f.tags_value.clone());
        b.finish(counts)
    }

    /// Whether a message passes every `[messages.keep]` condition.
    fn keep(&self, item: &Value) -> bool {
        self.messages.keep.iter().all(|(p, values)| {
            item.pointer(p).and_then(scalar_text).is_some_and(|v| values.contains(&v))
        })
    }

    /// An exact `[speakers]` key, else the longest matching prefix key, else convqa's own word.
    fn speaker_of(&self, role: &str) -> Option<Speaker> {
        self.speakers
            .get(role)
            .or_else(|| {
                self.speaker_prefixes.iter().find(|(p, _)| role.starts_with(p)).map(|(_, s)| s)
            })
            .copied()
            .or_else(|| Speaker::parse(role))
    }

    fn channel(&self, c: &Value, base: &str) -> Result<Channel, RejectReason> {
        let f = &self.conversation;
        let Some(sel) = &f.channel else {
            return Ok(f.channel_value.expect("checked when loaded: channel or channel_value"));
        };
        match text_at(c, sel, base)? {
            Some(v) => self
                .channel_values
                .get(&v)
                .copied()
                .or_else(|| Channel::parse(&v))
                .ok_or_else(|| {
                    invalid(
                        sel.field(base),
                        format!(
                            "channel {v:?} is not chat, email or phone: add \"{v}\" = \"chat\" (or \
                             \"email\", \"phone\") under [channel_values]"
                        ),
                    )
                }),
            None => f.channel_value.ok_or_else(|| missing(sel.field(base))),
        }
    }

    /// The value at `sel` as text, else the constant.
    fn text_or(
        &self,
        c: &Value,
        sel: &Option<Selector>,
        constant: &Option<String>,
        base: &str,
    ) -> Result<Option<String>, RejectReason> {
        let found = match sel {
            Some(s) => text_at(c, s, base)?,
            None => None,
        };
        Ok(found.or_else(|| constant.clone()))
    }

    fn time_at(
        &self,
        v: &Value,
        sel: &Selector,
        base: &str,
    ) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>, RejectReason> {
        match sel.resolve(v) {
            None | Some(Value::Null) => Ok(None),
            Some(t) => self.time.read(t).map(Some).map_err(|m| invalid(sel.field(base), m)),
        }
    }

    fn resolved(&self, c: &Value, base: &str) -> Result<Option<bool>, RejectReason> {
        let Some(sel) = &self.conversation.resolved else { return Ok(None) };
        match sel.resolve(c) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => {
                let text = scalar_text(v).unwrap_or_else(|| kind_of(v).to_string());
                self.resolved_values.get(&text).copied().map(Some).ok_or_else(|| {
                    invalid(
                        sel.field(base),
                        format!(
                            "{text:?} is not true or false: add \"{text}\" = true (or false) \
                             under [resolved_values]"
                        ),
                    )
                })
            }
        }
    }

    fn csat(&self, c: &Value, base: &str) -> Result<Option<u8>, RejectReason> {
        let Some(sel) = &self.conversation.csat else { return Ok(None) };
        let v = match sel.resolve(c) {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v,
        };
        let text = scalar_text(v).unwrap_or_else(|| kind_of(v).to_string());
        if let Some(n) = self.csat_values.get(&text) {
            return Ok(Some(*n));
        }
        match v.as_f64().or_else(|| text.trim().parse::<f64>().ok()) {
            Some(n) if n.fract() == 0.0 && (1.0..=5.0).contains(&n) => Ok(Some(n as u8)),
            _ => Err(invalid(
                sel.field(base),
                format!(
                    "{text:?} is not a rating from 1 to 5: add \"{text}\" = 5 (or 1 to 4) under \
                     [csat_values]"
                ),
            )),
        }
    }

    fn tags(&self, c: &Value, base: &str) -> Result<Option<Vec<String>>, RejectReason> {
        let Some(sel) = &self.conversation.tags else { return Ok(None) };
        match sel.resolve(c) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|t| {
                    scalar_text(t).ok_or_else(|| {
                        invalid(
                            sel.field(base),
                            format!("expected an array of texts, found {} in it", kind_of(t)),
                        )
                    })
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(v) => match scalar_text(v) {
                Some(t) if !t.trim().is_empty() => Ok(Some(vec![t])),
                Some(_) => Ok(None),
                None => Err(invalid(
                    sel.field(base),
                    format!("expected an array of texts, got {}", kind_of(v)),
                )),
            },
        }
    }
}

/// The value at `sel` as text (a string, or a number or boolean written as text); `None` when
/// absent, null or empty.
fn text_at(v: &Value, sel: &Selector, base: &str) -> Result<Option<String>, RejectReason> {
    match sel.resolve(v) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => match scalar_text(x) {
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => Ok(Some(t)),
            None => Err(invalid(
                sel.field(base),
                format!("expected a text or a number, got {}", kind_of(x)),
            )),
        },
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---- the file's shape -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    conversations: Option<String>,
    conversation: RawConversation,
    messages: RawMessages,
    #[serde(default)]
    speakers: BTreeMap<String, String>,
    #[serde(default)]
    channel_values: BTreeMap<String, String>,
    #[serde(default)]
    resolved_values: BTreeMap<String, bool>,
    #[serde(default)]
    csat_values: BTreeMap<String, i64>,
    #[serde(default)]
    time: RawTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConversation {
    id: RawSelector,
    agent_id: Option<RawSelector>,
    agent_id_value: Option<String>,
    customer_id: Option<RawSelector>,
    customer_id_value: Option<String>,
    channel: Option<RawSelector>,
    channel_value: Option<String>,
    started_at: Option<RawSelector>,
    language: Option<RawSelector>,
    language_value: Option<String>,
    resolved: Option<RawSelector>,
    resolved_value: Option<bool>,
    csat: Option<RawSelector>,
    tags: Option<RawSelector>,
    #[serde(default)]
    tags_value: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessages {
    path: String,
    speaker: RawSelector,
    text: RawSelector,
    ts: RawSelector,
    id: Option<RawSelector>,
    #[serde(default)]
    html: bool,
    unknown_speaker: Option<String>,
    #[serde(default)]
    keep: BTreeMap<String, Vec<Scalar>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTime {
    format: String,
    zone: Option<String>,
}

impl Default for RawTime {
    fn default() -> Self {
        RawTime { format: "rfc3339".to_string(), zone: None }
    }
}

enum RawSelector {
    Pointer(String),
    Find(RawFind),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFind {
    #[serde(rename = "in")]
    array: String,
    #[serde(rename = "where", default)]
    matches: BTreeMap<String, Scalar>,
    take: String,
}

impl<'de> Deserialize<'de> for RawSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawSelector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a JSON Pointer such as \"/id\", or a table such as { in = \"/participants\", \
                     where = { \"/purpose\" = \"agent\" }, take = \"/userId\" }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawSelector, E> {
                Ok(RawSelector::Pointer(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawSelector, A::Error> {
                RawFind::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawSelector::Find)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A value to compare with (`keep`, `where`): text, an integer or a boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Bool(bool),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::adapters::Piece;
    use serde_json::json;

    fn shipped(name: &str) -> Mapping {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/adapters/mappings").join(name);
        Mapping::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/adapters").join(name);
        std::fs::read_to_string(path).unwrap()
    }

    fn origin() -> Origin {
        Origin { file: "x.json".into(), line: 1 }
    }

    fn run(m: &Mapping, unit: &Value) -> Adapted {
        let mut out = Adapted::default();
        m.adapt(unit, &origin(), &mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    fn conversations(out: &Adapted) -> Vec<&Conversation> {
        out.pieces
            .iter()
            .map(|p| match p {
                Piece::Conversation(c) => &**c,
                other => panic!("expected a conversation, got {other:?}"),
            })
            .collect()
    }

    fn rejected(out: &Adapted) -> &RejectReason {
        match &out.pieces[..] {
            [Piece::Rejected(r)] => r,
            other => panic!("expected one reject, got {other:?}"),
        }
    }

    fn speakers(c: &Conversation) -> Vec<Speaker> {
        c.turns.iter().map(|t| t.speaker).collect()
    }

    use Speaker::{Agent, Customer, System};

    #[test]
    fn the_genesys_mapping_reads_a_transcript_with_its_agent_from_participants() {
        let m = shipped("genesys-transcript.toml");
        let unit: Value = serde_json::from_str(&fixture("genesys/call-en.json")).unwrap();
        let out = run(&m, &unit);
        let c = conversations(&out)[0];
        assert_eq!(c.conversation_id, "c7a1e5d2-4b6f-4e0a-9c1d-2f3e4a5b6c7d");
        assert_eq!(c.agent_id, "u-314", "the internal participant's userId");
        assert_eq!((c.channel, c.declared_language.as_deref()), (Channel::Phone, Some("en-US")));
        assert_eq!(speakers(c), [System, Agent, Customer, Agent, Customer]);
        assert_eq!(c.turns[1].text, "thanks for calling how can I help");
        assert_eq!(c.turns[1].ts.to_rfc3339(), "2025-03-04T04:00:03.120+00:00");
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2025-03-04T04:00:00+00:00");
        assert_eq!((out.counts.duplicate_messages, out.counts.bot_turns), (1, 1));

        let unit: Value = serde_json::from_str(&fixture("genesys/call-zh.json")).unwrap();
        let out = run(&m, &unit);
        let c = conversations(&out)[0];
        assert_eq!((c.agent_id.as_str(), c.declared_language.as_deref()), ("u-520", Some("zh-CN")));
        assert_eq!(speakers(c), [System, Agent, Customer, Agent]);
        assert_eq!(c.turns[2].text, "我的空调不制冷了");
        assert_eq!(c.turns[3].ts.timestamp_millis(), 1741140020250);
    }

    #[test]
    fn the_zendesk_chat_mapping_keeps_chat_messages_and_maps_nick_prefixes() {
        let m = shipped("zendesk-chat.toml");
        let text = fixture("zendesk-chat/chats.jsonl");
        let units: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

        let out = run(&m, &units[0]);
        let c = conversations(&out)[0];
        assert_eq!(c.conversation_id, "2503.1234.QWERTY");
        assert_eq!((c.agent_id.as_str(), c.customer_id.as_deref()), ("361", Some("1.2345")));
        assert_eq!(
            (c.channel, c.csat, &c.tags[..]),
            (Channel::Chat, Some(5), &["shipping".to_string()][..])
        );
        assert_eq!(speakers(c), [Customer, Agent, Customer]);
        assert_eq!(c.turns[1].text, "抱歉！我马上联系快递。");
        assert_eq!(c.turns[1].ts.to_rfc3339(), "2025-03-05T02:01:02+00:00");
        assert_eq!(out.counts.events_dropped, 3, "memberjoin, rating, memberleave");

        let out = run(&m, &units[1]);
        let c = conversations(&out)[0];
        assert_eq!(c.agent_id, "361", "a numeric id is read as text");
        assert_eq!((c.csat, c.tags.len()), (None, 2));
        assert_eq!(
            speakers(c),
            [System, Customer, Agent, Customer],
            "trigger, visitor:…, agent:…, visitor"
        );
        assert_eq!(c.turns[2].ts.timestamp_subsec_millis(), 500);
        assert_eq!((out.counts.events_dropped, out.counts.bot_turns), (2, 1));
    }

    const BASE: &str = r#"
        conversations = "/data"
        [conversation]
        id = "/id"
        agent_id = "/agent"
        channel = "/channel"
        channel_value = "chat"
        [messages]
        path = "/msgs"
        speaker = "/from"
        text = "/body"
        ts = "/at"
        id = "/mid"
    "#;

    fn mapping(extra: &str) -> Mapping {
        Mapping::parse(&format!("{BASE}\n{extra}"), "m.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn unit(msgs: Value) -> Value {
        json!({"data": [{"id": 7, "agent": "ann", "msgs": msgs}]})
    }

    #[test]
    fn prefix_keys_map_roles_and_the_longest_prefix_and_exact_keys_win() {
        let m = mapping(
            r#"[speakers]
               "agent:*" = "agent"
               "agent:bot*" = "system"
               "agent:bot-7" = "customer"
               "visitor*" = "customer""#,
        );
        let msgs = json!([
            {"from": "visitor:9", "body": "hi", "at": "2025-01-01T00:00:00Z"},
            {"from": "agent:12", "body": "hello", "at": "2025-01-01T00:00:05Z"},
            {"from": "agent:bot-1", "body": "menu", "at": "2025-01-01T00:00:06Z"},
            {"from": "agent:bot-7", "body": "odd", "at": "2025-01-01T00:00:07Z"},
            {"from": "system", "body": "closed", "at": "2025-01-01T00:00:08Z"}
        ]);
        let out = run(&m, &unit(msgs));
        let c = conversations(&out)[0];
        assert_eq!(c.conversation_id, "7");
        assert_eq!(speakers(c), [Customer, Agent, System, Customer, System]);
    }

    #[test]
    fn an_unknown_role_rejects_the_conversation_naming_the_field_unless_unknown_speaker_is_set() {
        let msgs = json!([
            {"from": "customer", "body": "hi", "at": "2025-01-01T00:00:00Z"},
            {"from": "supervisor", "body": "hello", "at": "2025-01-01T00:00:05Z"}
        ]);
        let out = run(&mapping(""), &unit(msgs.clone()));
        let r = rejected(&out);
        assert_eq!(r.field(), Some("/data/0/msgs/1/from"));
        assert!(r.to_string().contains("\"supervisor\" is not in the mapping's [speakers]"), "{r}");
        assert_eq!(out.counts.rejected, 1);

        let m = mapping(r#"unknown_speaker = "system""#);
        let out = run(&m, &unit(msgs));
        assert_eq!(speakers(conversations(&out)[0]), [Customer, System]);
    }

    #[test]
    fn the_keep_filter_drops_other_messages_and_counts_them_as_events() {
        let m = mapping(
            r#"[messages.keep]
               "/kind" = ["msg", 3]"#,
        );
        let msgs = json!([
            {"kind": "msg", "from": "customer", "body": "hi", "at": "2025-01-01T00:00:00Z", "mid": 1},
            {"kind": "join", "from": "agent", "at": "2025-01-01T00:00:01Z"},
            {"from": "agent", "body": "no kind", "at": "2025-01-01T00:00:02Z"},
            {"kind": 3, "from": "agent", "body": "hello", "at": "2025-01-01T00:00:03Z", "mid": 2},
            {"kind": "msg", "from": "agent", "body": "hello", "at": "2025-01-01T00:00:03Z", "mid": 2},
            {"kind": "msg", "from": "agent", "body": "  ", "at": "2025-01-01T00:00:04Z", "mid": 3}
        ]);
        let out = run(&m, &unit(msgs));
        let c = conversations(&out)[0];
        assert_eq!(c.turns.len(), 2);
        assert_eq!(out.counts.events_dropped, 3, "join, no kind, empty text");
        assert_eq!(out.counts.duplicate_messages, 1);
    }

    #[test]
    fn a_pattern_time_is_read_in_the_mapping_zone_and_value_maps_and_html_apply() {
        let m = Mapping::parse(
            r#"
            [conversation]
            id = "/ticket"
            channel = "/via"
            started_at = "/opened"
            resolved = "/state"
            csat = "/score"
            tags = "/label"
            [messages]
            path = "/thread"
            speaker = "/who"
            text = "/html"
            ts = "/when"
            html = true
            [channel_values]
            web = "chat"
            [resolved_values]
            closed = true
            [time]
            format = "%Y-%m-%d %H:%M:%S"
            zone = "Asia/Shanghai"
            "#,
            "m.toml",
        )
        .unwrap();
        let unit = json!({"ticket": "T1", "via": "web", "opened": "2025-03-04 16:00:00",
            "state": "closed", "score": "4", "label": "退款",
            "thread": [{"who": "customer", "html": "<p>您好</p><p>订单<b>没到</b></p>", "when": "2025-03-04 16:15:02"}]});
        let out = run(&m, &unit);
        let c = conversations(&out)[0];
        assert_eq!(c.turns[0].text, "您好\n订单没到");
        assert_eq!(c.turns[0].ts.to_rfc3339(), "2025-03-04T16:15:02+08:00");
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2025-03-04T16:00:00+08:00");
        assert_eq!((c.channel, c.resolved, c.csat), (Channel::Chat, Some(true), Some(4)));
        assert_eq!(c.tags, ["退款"]);
        assert_eq!(c.agent_id, crate::input::adapters::UNKNOWN_AGENT);
        assert_eq!(out.counts.unknown_agents, 1);

        let mut bad = unit.clone();
        bad["thread"][0]["when"] = json!("2025-03-04T16:15:02Z");
        let r = rejected(&run(&m, &bad)).clone();
        assert_eq!(r.field(), Some("/thread/0/when"));
        assert!(r.to_string().contains("does not match the pattern"), "{r}");
        bad["via"] = json!("fax");
        let r = rejected(&run(&m, &bad)).clone();
        assert!(r.to_string().contains("add \"fax\" = \"chat\""), "{r}");
    }

    #[test]
    fn missing_fields_reject_with_their_pointer_and_a_unit_without_messages_is_the_wrong_format() {
        let m = mapping("");
        let out = run(
            &m,
            &json!({"data": [{"agent": "a", "msgs": [{"from": "agent", "at": "2025-01-01T00:00:00Z"}]}]}),
        );
        assert_eq!(rejected(&out).field(), Some("/data/0/id"));
        let out = run(
            &m,
            &json!({"data": [{"id": "x", "msgs": [{"from": "agent", "at": "2025-01-01T00:00:00Z"}]}]}),
        );
        assert_eq!(rejected(&out).field(), Some("/data/0/msgs/0/body"));
        assert_eq!(
            *rejected(&out),
            RejectReason::MissingField { field: "/data/0/msgs/0/body".into() }
        );

        let mut out = Adapted::default();
        let e = m
            .adapt(&json!({"data": [{"id": 1, "messages": []}]}), &origin(), &mut out)
            .unwrap_err();
        let e = e.to_string();
        assert!(e.starts_with("x.json:1: not a json export"), "{e}");
        assert!(
            e.contains("m.toml's messages.path \"/msgs\" points at nothing")
                && e.contains("keys: id, messages"),
            "{e}"
        );
        let e = m.adapt(&json!({"items": []}), &origin(), &mut out).unwrap_err().to_string();
        assert!(e.contains("conversations \"/data\" points at nothing"), "{e}");
    }

    #[test]
    fn a_bad_mapping_file_names_the_file_the_key_and_what_to_write() {
        let err = |text: &str| Mapping::parse(text, "tool.toml").unwrap_err().to_string();
        let e = err(&format!("{BASE}\nspeeker = \"/x\""));
        assert!(e.starts_with("tool.toml: ") && e.contains("unknown field `speeker`"), "{e}");
        let e = err(&BASE.replace(r#"text = "/body""#, r#"text = "body""#));
        assert!(
            e.contains("tool.toml: messages.text: \"body\" is not a JSON Pointer: write \"/body\""),
            "{e}"
        );
        let e = err(&format!("{BASE}\n[speakers]\ninternal = \"staff\""));
        assert!(e.contains("speakers.\"internal\": \"staff\" is not a speaker"), "{e}");
        let e = err(&format!("{BASE}\n[time]\nformat = \"%Y-%m-%d %H:%M\""));
        assert!(e.contains("time.format") && e.contains("has no zone"), "{e}");
        let e = err(&BASE
            .replace(r#"channel = "/channel""#, "")
            .replace(r#"channel_value = "chat""#, ""));
        assert!(e.contains("conversation.channel: say where the channel is"), "{e}");
        let e = Mapping::load(Path::new("/nope/m.toml")).unwrap_err().to_string();
        assert!(e.starts_with("/nope/m.toml: cannot read the mapping file"), "{e}");
    }

    #[test]
    fn the_input_reader_reads_the_fixtures_through_a_mapping_and_stops_on_the_wrong_file() {
        use crate::input::{InputReader, Record, Source};
        use std::sync::Arc;
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/adapters");
        let read = |mapping: &str, files: &[&str]| {
            let opts = super::super::AdapterOptions {
                mapping: Some(Arc::new(shipped(mapping))),
                ..Default::default()
            };
            let sources = files.iter().map(|f| Source::File(data.join(f))).collect();
            let mut r = InputReader::new(sources, 1 << 20).with_format(Format::Json, opts);
            let mut ids = Vec::new();
            loop {
                match r.next() {
                    Ok(Some(Record::Conversation(c))) => ids.push(c.conversation_id),
                    Ok(Some(Record::Rejected(rej))) => panic!("{rej:?}"),
                    Ok(None) => return Ok((ids, r.adapter_counts())),
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        let (ids, counts) =
            read("genesys-transcript.toml", &["genesys/call-en.json", "genesys/call-zh.json"])
                .unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!((counts.converted, counts.bot_turns), (2, 2));
        let (ids, _) = read("zendesk-chat.toml", &["zendesk-chat/chats.jsonl"]).unwrap();
        assert_eq!(ids, ["2503.1234.QWERTY", "2503.5678.ASDFGH"]);
        let e = read("zendesk-chat.toml", &["genesys/call-en.json"]).unwrap_err();
        assert!(e.contains("call-en.json:1: not a json export"), "{e}");
        assert!(
            e.contains("zendesk-chat.toml's messages.path \"/history\" points at nothing"),
            "{e}"
        );
    }
}
