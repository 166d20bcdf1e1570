//! WeCom chat archive (`wecom-archive`, 企业微信会话内容存档): the decrypted message stream, one
//! message per JSONL line (`msgid, action, from, tolist, roomid, msgtime, msgtype, text`), as
//! the Finance SDK's `GetChatData` + `DecryptData` give it.
//!
//! The archive has no conversation unit, so messages are grouped: by group chat (`roomid`), or
//! for 1:1 chats by the pair (staff member, external contact); a silence longer than `--gap`
//! (default 30 min) between two messages of a group starts a new conversation.
//!
//! - Speaker: external contacts (ids starting `wo` / `wm`) → customer; bots (`wb…`) → system;
//!   staff (any other userid) → agent. agent_id = the first staff member who writes;
//!   customer_id = the external contact.
//! - `msgtime` (Unix ms, UTC) → ts. Only `text` (and `markdown`) messages are turns; images,
//!   voice, files … are dropped (counted). `action: recall` removes the recalled message
//!   (`pre_msgid`); `switch` (a staff member's device switch) is not a message.
//! - conversation_id = `wecom:<roomid or staff~external>:<first msgtime>` — stable across
//!   re-runs of the same archive.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::{
    Adapted, AdapterCounts, Builder, Format, Piece, WrongFormat, id_at, str_at, time, wrong,
};
use crate::conversation::{Channel, Origin, Speaker};

/// One archived message, as far as grouping needs it.
#[derive(Debug, Clone)]
pub struct Message {
    pub msgid: String,
    /// The group: `room:<roomid>` or `<staff>~<external>`.
    pub key: String,
    pub from: String,
    pub speaker: Speaker,
    /// The external contact of a 1:1 chat.
    pub customer: Option<String>,
    pub ts: DateTime<FixedOffset>,
    pub kind: Kind,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Text(String),
    /// A message that is not text (image, voice, file, …): counted, not a turn.
    Other,
    /// Removes the message with this id.
    Recall(String),
}

/// Whether a WeCom id is an external contact (a customer) rather than a staff userid.
fn is_external(id: &str) -> bool {
    id.starts_with("wo") || id.starts_with("wm")
}

fn is_bot(id: &str) -> bool {
    id.starts_with("wb")
}

pub fn adapt(unit: &Value, origin: &Origin, out: &mut Adapted) -> Result<(), WrongFormat> {
    for key in ["msgid", "from", "msgtime"] {
        if unit.get(key).is_none() {
            return Err(wrong(Format::WecomArchive, origin, unit, key));
        }
    }
    let action = str_at(unit, "action").unwrap_or("send");
    if action == "switch" {
        out.counts.events_dropped += 1;
        return Ok(());
    }
    let from = id_at(unit, "from").unwrap_or_default();
    let to: Vec<String> =
        super::array_at(unit, "tolist").iter().filter_map(super::id_text).collect();
    let ts = match time::epoch_millis_at(unit, "msgtime", "msgtime") {
        Ok(ts) => ts,
        Err(r) => {
            out.counts.rejected += 1;
            out.pieces.push(Piece::Rejected(r));
            return Ok(());
        }
    };
    let room = str_at(unit, "roomid").filter(|r| !r.is_empty());
    let (key, customer) = match room {
        Some(room) => (format!("room:{room}"), None),
        None => {
            let external = std::iter::once(&from).chain(&to).find(|id| is_external(id)).cloned();
            let staff = std::iter::once(&from)
                .chain(&to)
                .find(|id| !is_external(id) && !is_bot(id))
                .cloned()
                .unwrap_or_default();
            (format!("{staff}~{}", external.clone().unwrap_or_default()), external)
        }
    };
    let speaker = if is_external(&from) {
        Speaker::Customer
    } else if is_bot(&from) {
        Speaker::System
    } else {
        Speaker::Agent
    };
    let kind = if action == "recall" {
        Kind::Recall(str_at(unit, "pre_msgid").unwrap_or("").to_string())
    } else {
        match str_at(unit, "msgtype") {
            Some("text") => {
                unit.pointer("/text/content").and_then(Value::as_str).map(str::to_string)
            }
            Some("markdown") => {
                unit.pointer("/markdown/content").and_then(Value::as_str).map(str::to_string)
            }
            _ => None,
        }
        .map_or(Kind::Other, Kind::Text)
    };
    let msgid = id_at(unit, "msgid").unwrap_or_default();
    out.pieces.push(Piece::Message(Box::new(Message {
        msgid,
        key,
        from,
        speaker,
        customer,
        ts,
        kind,
        origin: origin.clone(),
    })));
    Ok(())
}

/// Groups the message stream into conversations: one open conversation per key, closed by a
/// gap or at the end of the input.
pub struct Grouper {
    gap: chrono::Duration,
    open: HashMap<String, Group>,
    /// The latest message time seen, to close idle groups as the stream moves on.
    now: Option<DateTime<FixedOffset>>,
    since_sweep: usize,
}

struct Group {
    messages: Vec<Message>,
    last: DateTime<FixedOffset>,
}

/// Idle groups are looked for every this many messages.
const SWEEP_EVERY: usize = 4096;

impl Grouper {
    pub fn new(gap: Duration) -> Grouper {
        let gap = chrono::Duration::from_std(gap).unwrap_or(chrono::Duration::MAX);
        Grouper { gap, open: HashMap::new(), now: None, since_sweep: 0 }
    }

    pub fn push(&mut self, mut m: Message, out: &mut Adapted) {
        self.now = Some(self.now.map_or(m.ts, |n| n.max(m.ts)));
        if m.key.starts_with('~') {
            // A bot writing to an external contact: it belongs to that contact's open chat.
            if let Some((key, _)) = self
                .open
                .iter()
                .filter(|(k, _)| k.ends_with(m.key.as_str()))
                .max_by_key(|(_, g)| g.last)
            {
                m.key = key.clone();
            }
        }
        if let Some(group) = self.open.get_mut(&m.key)
            && m.ts - group.last > self.gap
        {
            let group = self.open.remove(&m.key).expect("present");
            close(group, out);
        }
        let group = self
            .open
            .entry(m.key.clone())
            .or_insert_with(|| Group { messages: Vec::new(), last: m.ts });
        group.last = group.last.max(m.ts);
        group.messages.push(m);
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            let now = self.now.expect("set above");
            let idle: Vec<String> = self
                .open
                .iter()
                .filter(|(_, g)| now - g.last > self.gap)
                .map(|(k, _)| k.clone())
                .collect();
            let mut idle: Vec<Group> = idle.iter().filter_map(|k| self.open.remove(k)).collect();
            idle.sort_by_key(|g| g.messages[0].ts);
            for g in idle {
                close(g, out);
            }
        }
    }

    /// Closes every open conversation (end of input), oldest first.
    pub fn finish(&mut self, out: &mut Adapted) {
        let mut groups: Vec<Group> = self.open.drain().map(|(_, g)| g).collect();
        groups.sort_by(|a, b| {
            (a.messages[0].ts, &a.messages[0].key).cmp(&(b.messages[0].ts, &b.messages[0].key))
        });
        for g in groups {
            close(g, out);
        }
    }
}

fn close(group: Group, out: &mut Adapted) {
    let mut messages = group.messages;
    messages.sort_by_key(|m| m.ts); // stable: equal times keep archive order
    let first = &messages[0];
    let origin = first.origin.clone();
    let id =
        format!("wecom:{}:{}", first.key.trim_start_matches("room:"), first.ts.timestamp_millis());
    let mut b = Builder::new(id, Channel::Chat, &origin);
    let recalled: std::collections::HashSet<&str> = messages
        .iter()
        .filter_map(|m| match &m.kind {
            Kind::Recall(id) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let counts: &mut AdapterCounts = &mut out.counts;
    for m in &messages {
        match &m.kind {
            Kind::Recall(_) => counts.events_dropped += 1,
            Kind::Other => counts.events_dropped += 1,
            Kind::Text(_) if recalled.contains(m.msgid.as_str()) => counts.events_dropped += 1,
            Kind::Text(text) => {
                if m.speaker == Speaker::Agent && b.conversation.agent_id.is_empty() {
                    b.conversation.agent_id = m.from.clone();
                }
                if m.speaker == Speaker::Customer && b.conversation.customer_id.is_none() {
                    b.conversation.customer_id =
                        m.customer.clone().or_else(|| Some(m.from.clone()));
                }
                if m.speaker == Speaker::System {
                    counts.bot_turns += 1;
                }
                b.turn(Some(&m.msgid), m.speaker, text.clone(), m.ts, counts);
            }
        }
    }
    if b.conversation.turns.is_empty() {
        return; // only recalled or non-text messages: counted above, nothing to score
    }
    b.conversation.started_at = b.conversation.turns.first().map(|t| t.ts);
    match b.finish(counts) {
        Ok(c) => {
            counts.converted += 1;
            out.pieces.push(Piece::Conversation(Box::new(c)));
        }
        Err(r) => {
            counts.rejected += 1;
            out.pieces.push(Piece::RejectedAt(origin, r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(id: &str, from: &str, to: &str, ms: i64, text: &str) -> Value {
        json!({"msgid": id, "action": "send", "from": from, "tolist": [to], "roomid": "",
               "msgtime": ms, "msgtype": "text", "text": {"content": text}})
    }

    fn group(lines: &[Value], gap_min: u64) -> Adapted {
        let mut g = Grouper::new(Duration::from_secs(gap_min * 60));
        let mut out = Adapted::default();
        for (i, l) in lines.iter().enumerate() {
            let origin = Origin { file: "w.jsonl".into(), line: i as u64 + 1 };
            let mut one = Adapted::default();
            adapt(l, &origin, &mut one).unwrap();
            out.counts += one.counts;
            for p in one.pieces {
                if let Piece::Message(m) = p {
                    g.push(*m, &mut out);
                }
            }
        }
        g.finish(&mut out);
        out
    }

    fn conversations(out: &Adapted) -> Vec<&crate::Conversation> {
        out.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Conversation(c) => Some(&**c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_gap_splits_the_pair_and_speakers_follow_the_ids() {
        let t = 1_741_140_000_000i64;
        let min = 60_000;
        let out = group(
            &[
                msg("1", "wmCust", "zhangsan", t, "退款到了吗？"),
                msg("2", "zhangsan", "wmCust", t + min, "您好，已经处理。"),
                msg("3", "wmCust", "zhangsan", t + 45 * min, "又有问题"),
                msg("4", "lisi", "wmOther", t + 2 * min, "您好"),
            ],
            30,
        );
        let convs = conversations(&out);
        assert_eq!(convs.len(), 3);
        let first = convs
            .iter()
            .find(|c| c.conversation_id == format!("wecom:zhangsan~wmCust:{t}"))
            .unwrap();
        assert_eq!(first.turns.len(), 2);
        assert_eq!(
            (first.turns[0].speaker, first.turns[1].speaker),
            (Speaker::Customer, Speaker::Agent)
        );
        assert_eq!(first.agent_id, "zhangsan");
        assert_eq!(first.customer_id.as_deref(), Some("wmCust"));
        assert_eq!(first.turns[0].ts.to_rfc3339(), "2025-03-05T02:00:00+00:00");
    }

    #[test]
    fn recalls_remove_the_message_and_non_text_is_counted() {
        let t = 1_741_140_000_000i64;
        let mut recall = msg("9", "zhangsan", "wmCust", t + 2_000, "");
        recall["action"] = json!("recall");
        recall["pre_msgid"] = json!("2");
        let mut image = msg("3", "wmCust", "zhangsan", t + 3_000, "");
        image["msgtype"] = json!("image");
        let out = group(
            &[
                msg("1", "wmCust", "zhangsan", t, "在吗"),
                msg("2", "zhangsan", "wmCust", t + 1_000, "发错了"),
                recall,
                image,
            ],
            30,
        );
        let convs = conversations(&out);
        assert_eq!(convs[0].turns.len(), 1);
        assert_eq!(convs[0].agent_id, "unknown");
        assert_eq!((out.counts.events_dropped, out.counts.unknown_agents), (3, 1));
    }
}
