//! Zendesk Support (`zendesk`): one ticket per JSON object or JSONL line, shaped
//! `{"ticket": {...}, "comments": [...], "users": [...]}` — the ticket, plus
//! `GET /api/v2/tickets/{id}/comments.json?include=users`.
//!
//! - Speaker: `author_id` joined to `users[].role` (end-user → customer, agent / admin →
//!   agent); an author equal to `ticket.requester_id` → customer whatever the sideload says; an
//!   author not in `users` (automations, triggers) → system.
//! - `public: false` comments (internal notes) are dropped (counted); `--keep-notes` keeps them
//!   as system turns. Text from `plain_body`, else `body`, else `html_body` as text.
//! - agent_id = `assignee_id`, customer_id = `requester_id`, tags = `ticket.tags`,
//!   resolved = status solved or closed, `satisfaction_rating.score` good → csat 5, bad → 1,
//!   else none; channel from `via.channel` (email / web / api → email, voice → phone, chat and
//!   messaging channels → chat); conversation_id = the ticket id; `created_at` → ts (UTC).

use std::collections::HashMap;

use serde_json::Value;

use super::{
    Adapted, AdapterCounts, AdapterOptions, Builder, Format, WrongFormat, array_at, html, id_at,
    id_text, invalid, missing, str_at, ticket_with, time,
};
use crate::conversation::{Channel, Conversation, Origin, Speaker};
use crate::input::RejectReason;

pub fn adapt(
    unit: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    out: &mut Adapted,
) -> Result<(), WrongFormat> {
    let ticket = ticket_with(Format::Zendesk, unit, origin, "comments")?;
    let result = convert(unit, ticket, origin, opts, &mut out.counts);
    out.push(result);
    Ok(())
}

/// `via.channel` → convqa's channel.
pub fn channel_of(via: Option<&str>) -> Channel {
    match via {
        Some("voice" | "phone" | "phone_call_inbound" | "phone_call_outbound") => Channel::Phone,
        Some("email" | "web" | "web_form" | "api" | "mail") | None => Channel::Email,
        Some(_) => Channel::Chat, // chat, native_messaging, whatsapp, sms, facebook, …
    }
}

fn convert(
    unit: &Value,
    ticket: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    counts: &mut AdapterCounts,
) -> Result<Conversation, RejectReason> {
    let id = id_at(ticket, "id").ok_or_else(|| missing("ticket.id"))?;
    let channel = channel_of(ticket.pointer("/via/channel").and_then(Value::as_str));
    let mut b = Builder::new(id, channel, origin);
    let requester = ticket.get("requester_id").and_then(id_text);
    let roles: HashMap<String, &str> = array_at(unit, "users")
        .iter()
        .filter_map(|u| Some((id_at(u, "id")?, str_at(u, "role").unwrap_or(""))))
        .collect();
    for (i, comment) in array_at(unit, "comments").iter().enumerate() {
        let field = |name: &str| format!("comments[{i}].{name}");
        let note = comment.get("public").and_then(Value::as_bool) == Some(false);
        if note && !opts.keep_notes {
            counts.notes_dropped += 1;
            continue;
        }
        let author = comment.get("author_id").and_then(id_text);
        let speaker = if note {
            Speaker::System
        } else {
            match author.as_deref() {
                Some(a) if Some(a) == requester.as_deref() => Speaker::Customer,
                Some(a) => match roles.get(a).copied() {
                    Some("end-user") => Speaker::Customer,
                    Some("agent" | "admin") => Speaker::Agent,
                    Some(other) => {
                        return Err(invalid(
                            field("author_id"),
                            format!(
                                "user {a} has role {other:?}; expected end-user, agent or admin"
                            ),
                        ));
                    }
                    None => {
                        counts.bot_turns += 1;
                        Speaker::System
                    }
                },
                None => {
                    counts.bot_turns += 1;
                    Speaker::System
                }
            }
        };
        let text = str_at(comment, "plain_body")
            .or_else(|| str_at(comment, "body"))
            .map(str::to_string)
            .or_else(|| str_at(comment, "html_body").map(html::html_to_text));
        let Some(text) = text else {
            return Err(missing(field("plain_body")));
        };
        let ts = time::rfc3339_at(comment, "created_at", &field("created_at"))?;
        let msg_id = comment.get("id").and_then(id_text);
        b.turn(msg_id.as_deref(), speaker, text, ts, counts);
    }
    let c = &mut b.conversation;
    c.agent_id = ticket.get("assignee_id").and_then(id_text).unwrap_or_default();
    c.customer_id = requester;
    c.tags =
        array_at(ticket, "tags").iter().filter_map(Value::as_str).map(str::to_string).collect();
    c.resolved = str_at(ticket, "status").map(|s| matches!(s, "solved" | "closed"));
    c.csat = match ticket.pointer("/satisfaction_rating/score").and_then(Value::as_str) {
        Some("good") => Some(5),
        Some("bad") => Some(1),
        _ => None,
    };
    c.started_at = match ticket.get("created_at") {
        Some(Value::String(s)) => {
            Some(time::rfc3339(s).map_err(|m| invalid("ticket.created_at", m))?)
        }
        _ => None,
    };
    b.finish(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::adapters::Piece;
    use serde_json::json;

    fn unit() -> Value {
        json!({"ticket": {"id": 35436, "requester_id": 20978392, "assignee_id": 235323, "status": "solved",
                "tags": ["refund"], "via": {"channel": "email"}, "created_at": "2025-02-10T09:12:44Z",
                "satisfaction_rating": {"score": "good"}},
               "comments": [
                 {"id": 1, "author_id": 20978392, "plain_body": "charged twice", "public": true, "created_at": "2025-02-10T09:12:44Z"},
                 {"id": 2, "author_id": 235323, "plain_body": "checking with billing", "public": false, "created_at": "2025-02-10T09:30:00Z"},
                 {"id": 3, "author_id": 999, "body": "Auto-reply: we got your message", "public": true, "created_at": "2025-02-10T09:12:50Z"},
                 {"id": 4, "author_id": 235323, "plain_body": "Refund issued", "public": true, "created_at": "2025-02-10T10:01:03Z"}],
               "users": [{"id": 20978392, "role": "end-user"}, {"id": 235323, "role": "agent"}]})
    }

    fn run(unit: &Value, keep_notes: bool) -> Adapted {
        let mut out = Adapted::default();
        let opts = AdapterOptions { keep_notes, ..AdapterOptions::default() };
        adapt(unit, &Origin { file: "z.jsonl".into(), line: 1 }, &opts, &mut out).unwrap();
        out
    }

    #[test]
    fn speakers_join_users_notes_drop_and_ticket_fields_map() {
        let out = run(&unit(), false);
        let Piece::Conversation(c) = &out.pieces[0] else { panic!("{:?}", out.pieces) };
        let speakers: Vec<_> = c.turns.iter().map(|t| t.speaker).collect();
        assert_eq!(speakers, [Speaker::Customer, Speaker::System, Speaker::Agent]);
        assert_eq!((c.conversation_id.as_str(), c.agent_id.as_str()), ("35436", "235323"));
        assert_eq!((c.csat, c.resolved, c.channel), (Some(5), Some(true), Channel::Email));
        assert_eq!(out.counts.notes_dropped, 1);
        let kept = run(&unit(), true);
        let Piece::Conversation(c) = &kept.pieces[0] else { panic!() };
        assert_eq!(c.turns[1].speaker, Speaker::System);
        assert_eq!(c.turns[1].text, "checking with billing");
    }
}
