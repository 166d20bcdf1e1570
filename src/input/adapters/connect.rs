//! Amazon Connect chat transcripts (`connect-chat`): the JSON file Connect writes to S3 for each
//! chat contact, and Contact Lens chat analysis output (same `Transcript` items, the contact id
//! under `CustomerMetadata`).
//!
//! - `ParticipantRole` CUSTOMER → customer, AGENT → agent, SUPERVISOR (barge-in) → agent,
//!   SYSTEM and CUSTOM_BOT → system (bots: counted, never the agent's first response).
//! - Only `Type` MESSAGE items with text are turns; `application/vnd.amazonaws.connect.event.*`
//!   items (joined, left, typing, read receipts) and attachments without text are dropped
//!   (counted). Markdown is kept as written. Interactive messages (list pickers) keep their title.
//! - `AbsoluteTime` → ts (UTC); `ContactId` → conversation_id; channel chat.
//! - agent_id: an agent id joined in from the contact record (`Agent.Username`, `Agent.Id` or
//!   `AgentId` beside `Transcript`), else the AGENT participant's `DisplayName` (the file as
//!   Connect writes it has no agent user id), `"unknown"` when no agent took part (counted).
//! - Contact Lens `LanguageCode` → language, `Categories.MatchedCategories` → tags.

use serde_json::Value;

use super::{
    Adapted, AdapterCounts, Builder, Format, WrongFormat, array_at, id_at, invalid, missing,
    str_at, time, wrong,
};
use crate::conversation::{Channel, Origin, Speaker};

const EVENT_PREFIX: &str = "application/vnd.amazonaws.connect.event.";
const INTERACTIVE_PREFIX: &str = "application/vnd.amazonaws.connect.message.interactive";

pub fn adapt(unit: &Value, origin: &Origin, out: &mut Adapted) -> Result<(), WrongFormat> {
    let Some(items) = unit.get("Transcript").and_then(Value::as_array) else {
        return Err(wrong(Format::ConnectChat, origin, unit, "Transcript"));
    };
    let contact_id = id_at(unit, "ContactId")
        .or_else(|| unit.get("CustomerMetadata").and_then(|m| id_at(m, "ContactId")));
    let result = contact(unit, items, contact_id, origin, &mut out.counts);
    out.push(result);
    Ok(())
}

fn contact(
    unit: &Value,
    items: &[Value],
    contact_id: Option<String>,
    origin: &Origin,
    counts: &mut AdapterCounts,
) -> Result<crate::Conversation, crate::input::RejectReason> {
    let contact_id = contact_id.ok_or_else(|| missing("ContactId"))?;
    let mut b = Builder::new(contact_id, Channel::Chat, origin);
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| format!("Transcript[{i}].{name}");
        let content_type = str_at(item, "ContentType").unwrap_or("");
        let kind = str_at(item, "Type").unwrap_or("MESSAGE");
        if content_type.starts_with(EVENT_PREFIX) || kind == "EVENT" {
            counts.events_dropped += 1;
            continue;
        }
        let role =
            str_at(item, "ParticipantRole").ok_or_else(|| missing(field("ParticipantRole")))?;
        let speaker = match role {
            "CUSTOMER" => Speaker::Customer,
            "AGENT" | "SUPERVISOR" => Speaker::Agent,
            "SYSTEM" | "CUSTOM_BOT" => Speaker::System,
            other => {
                return Err(invalid(
                    field("ParticipantRole"),
                    format!(
                        "expected AGENT, CUSTOMER, SUPERVISOR, SYSTEM or CUSTOM_BOT, got {other:?}"
                    ),
                ));
            }
        };
        let text = match str_at(item, "Content") {
            Some(c) if content_type.starts_with(INTERACTIVE_PREFIX) => interactive_title(c),
            Some(c) => Some(c.to_string()),
            None => None,
        };
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            counts.events_dropped += 1; // an attachment or a typing item without text
            continue;
        };
        let ts = time::rfc3339_at(item, "AbsoluteTime", &field("AbsoluteTime"))?;
        if speaker == Speaker::Agent && b.conversation.agent_id.is_empty() && role == "AGENT" {
            b.conversation.agent_id = str_at(item, "DisplayName").unwrap_or("").trim().to_string();
        }
        if speaker == Speaker::System {
            counts.bot_turns += 1;
        }
        b.turn(str_at(item, "Id"), speaker, text, ts, counts);
    }
    // An agent id joined in from the contact record (`Agent.Username` / `Agent.Id`, as in the
    // contact trace record) wins over the display name.
    if let Some(id) = ["/Agent/Username", "/Agent/Id", "/AgentId"]
        .iter()
        .find_map(|p| unit.pointer(p).and_then(super::id_text))
    {
        b.conversation.agent_id = id;
    }
    if b.conversation.agent_id.is_empty() {
        // An agent who only joined (no message) is still named in Participants (Contact Lens).
        b.conversation.agent_id = array_at(unit, "Participants")
            .iter()
            .find(|p| str_at(p, "ParticipantRole") == Some("AGENT"))
            .and_then(|p| str_at(p, "DisplayName"))
            .unwrap_or("")
            .trim()
            .to_string();
    }
    b.conversation.declared_language = str_at(unit, "LanguageCode").map(str::to_string);
    b.conversation.tags = unit
        .pointer("/Categories/MatchedCategories")
        .and_then(Value::as_array)
        .map(|cats| cats.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    b.finish(counts)
}

/// The title of an interactive message (a list picker or time picker), which is JSON text.
fn interactive_title(content: &str) -> Option<String> {
    let v: Value = serde_json::from_str(content).ok()?;
    v.pointer("/data/content/title")
        .or_else(|| v.pointer("/data/content/title/text"))
        .or_else(|| v.get("title"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::adapters::Piece;
    use serde_json::json;

    fn origin() -> Origin {
        Origin { file: "c.json".into(), line: 1 }
    }

    fn item(id: &str, role: &str, content: Option<&str>, ctype: &str, t: &str) -> Value {
        let mut v = json!({"Id": id, "Type": "MESSAGE", "ParticipantRole": role, "DisplayName": role.to_lowercase(),
                           "ContentType": ctype, "AbsoluteTime": t});
        if let Some(c) = content {
            v["Content"] = json!(c);
        }
        v
    }

    fn run(unit: Value) -> Adapted {
        let mut out = Adapted::default();
        adapt(&unit, &origin(), &mut out).unwrap();
        out
    }

    #[test]
    fn events_are_dropped_and_roles_mapped() {
        let out = run(json!({"ContactId": "c-1", "Transcript": [
            item("e1", "CUSTOMER", None, "application/vnd.amazonaws.connect.event.participant.joined", "2025-03-04T08:15:02.114Z"),
            item("m0", "SYSTEM", Some("正在为您转接"), "text/plain", "2025-03-04T08:15:04Z"),
            item("m1", "CUSTOMER", Some("还没发货"), "text/plain", "2025-03-04T08:15:09Z"),
            item("m2", "AGENT", Some("您好，我是 **Lily**"), "text/markdown", "2025-03-04T08:16:40Z"),
            item("m3", "CUSTOM_BOT", Some("Survey?"), "text/plain", "2025-03-04T08:17:40Z"),
        ]}));
        let Piece::Conversation(c) = &out.pieces[0] else { panic!("{:?}", out.pieces) };
        let speakers: Vec<_> = c.turns.iter().map(|t| t.speaker).collect();
        use Speaker::*;
        assert_eq!(speakers, [System, Customer, Agent, System]);
        assert_eq!(c.turns[2].text, "您好，我是 **Lily**");
        assert_eq!(c.agent_id, "agent");
        assert_eq!((out.counts.events_dropped, out.counts.bot_turns), (1, 2));
    }

    #[test]
    fn an_agent_id_joined_from_the_contact_record_wins_over_the_display_name() {
        let out = run(json!({"ContactId": "c-2", "Agent": {"Username": "lily.w"}, "Transcript": [
            item("m1", "AGENT", Some("您好"), "text/plain", "2025-03-04T08:15:09Z"),
        ]}));
        let Piece::Conversation(c) = &out.pieces[0] else { panic!("{:?}", out.pieces) };
        assert_eq!(c.agent_id, "lily.w");
        assert_eq!(out.counts.unknown_agents, 0);
    }

    #[test]
    fn a_file_without_transcript_is_the_wrong_format() {
        let mut out = Adapted::default();
        let e = adapt(&json!({"ticket": {}}), &origin(), &mut out).unwrap_err();
        assert!(e.to_string().contains("not a connect-chat export"), "{e}");
        assert!(e.to_string().contains("keys: ticket"), "{e}");
    }
}
