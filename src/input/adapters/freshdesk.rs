//! Freshdesk (`freshdesk`): one ticket per JSON object or JSONL line, shaped
//! `{"ticket": {...}, "conversations": [...], "satisfaction_ratings": [...]}` — the ticket
//! (`GET /api/v2/tickets/{id}`), its conversations (`…/conversations`, every page) and,
//! optionally, its satisfaction ratings (`…/satisfaction_ratings`).
//!
//! - The first message is the ticket's `description_text` (else its HTML `description` as text),
//!   by the requester (customer) at the ticket's `created_at`. A ticket without a description
//!   has no first message (counted as an event).
//! - Conversations in order: `private: true` → internal note, dropped (counted); `--keep-notes`
//!   keeps it as a system turn. Otherwise `incoming: true` → customer; else `user_id` ==
//!   `ticket.requester_id` → customer; else another `user_id` → agent; no `user_id` at all →
//!   system (an automation; counted as a bot). Text from `body_text`, else the HTML `body` as
//!   text ([`html::html_to_text`]); a conversation without text (an attachment alone) is dropped
//!   as an event (counted). A conversation id seen before is dropped (counted).
//! - `created_at` (RFC 3339, UTC) → ts. Ids may be numbers or strings.
//! - conversation_id = `ticket.id`; started_at = `ticket.created_at`; agent_id =
//!   `responder_id` (`"unknown"` when unassigned, counted); customer_id = `requester_id`; tags =
//!   `ticket.tags`; resolved = `status` 4 (resolved) or 5 (closed) → true, any other status →
//!   false, none without a status.
//! - channel from `ticket.source`:
//!
//!   | source | Freshdesk name | channel |
//!   |---|---|---|
//!   | 1, 2, 9, 10 | email, portal, feedback widget, outbound email | email |
//!   | 3 | phone | phone |
//!   | 7 and any other number | chat, social and messaging channels | chat |
//!   | absent | — | email |
//!
//!   The source and the status may also be written by name (`"Phone"`, `"Closed"`).
//!
//! - csat from the first satisfaction rating's `ratings.default_question` (Freshdesk's 7-point
//!   scale, ±103):
//!
//!   | default_question | meaning | csat |
//!   |---|---|---|
//!   | 103, 102 | extremely happy, very happy | 5 |
//!   | 101 | happy | 4 |
//!   | 100 | neutral | 3 |
//!   | -101 | unhappy | 2 |
//!   | -102, -103 | very unhappy, extremely unhappy | 1 |
//!   | anything else, or no rating | — | none |
//!
//! - A unit without `ticket` or `conversations` is not a Freshdesk export ([`WrongFormat`]).

use serde_json::Value;

use super::{
    Adapted, AdapterCounts, AdapterOptions, Builder, Format, WrongFormat, array_at, html, id_at,
    id_text, missing, str_at, ticket_with, time,
};
use crate::conversation::{Channel, Conversation, Origin, Speaker};
use crate::input::RejectReason;

pub fn adapt(
    unit: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    out: &mut Adapted,
) -> Result<(), WrongFormat> {
    let ticket = ticket_with(Format::Freshdesk, unit, origin, "conversations")?;
    let result = convert(unit, ticket, origin, opts, &mut out.counts);
    out.push(result);
    Ok(())
}

/// A whole number written as a number or as text (`4`, `"4"`).
fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `ticket.source` → convqa's channel (the table in the module header).
pub fn channel_of(source: Option<i64>) -> Channel {
    match source {
        None | Some(1 | 2 | 9 | 10) => Channel::Email,
        Some(3) => Channel::Phone,
        Some(_) => Channel::Chat,
    }
}

/// `ticket.source` written as its name (a CSV export or a connector that resolved it).
fn channel_named(name: &str) -> Channel {
    match name.trim().to_ascii_lowercase().replace('_', " ").as_str() {
        "email" | "portal" | "feedback widget" | "feedbackwidget" | "outbound email" => {
            Channel::Email
        }
        "phone" => Channel::Phone,
        _ => Channel::Chat,
    }
}

/// `ticket.status` → resolved: 4 (resolved) or 5 (closed), as a number or by name.
fn resolved_of(status: &Value) -> Option<bool> {
    match status {
        Value::String(name) if int_of(status).is_none() => {
            Some(matches!(name.trim().to_ascii_lowercase().as_str(), "resolved" | "closed"))
        }
        other => int_of(other).map(|n| matches!(n, 4 | 5)),
    }
}

/// A satisfaction rating's `default_question` (±103) → csat 1–5 (the table in the header).
pub fn csat_of(default_question: i64) -> Option<u8> {
    match default_question {
        103 | 102 => Some(5),
        101 => Some(4),
        100 => Some(3),
        -101 => Some(2),
        -102 | -103 => Some(1),
        _ => None,
    }
}

/// `v[text_key]` if it has text, else `v[html_key]` as text.
fn text_of(v: &Value, text_key: &str, html_key: &str) -> Option<String> {
    str_at(v, text_key)
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_string())
        .or_else(|| str_at(v, html_key).map(html::html_to_text))
        .filter(|t| !t.trim().is_empty())
}

fn convert(
    unit: &Value,
    ticket: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    counts: &mut AdapterCounts,
) -> Result<Conversation, RejectReason> {
    let id = id_at(ticket, "id").ok_or_else(|| missing("ticket.id"))?;
    let channel = match ticket.get("source") {
        Some(Value::String(name)) if name.trim().parse::<i64>().is_err() => channel_named(name),
        source => channel_of(source.and_then(int_of)),
    };
    let mut b = Builder::new(id, channel, origin);
    let requester = id_at(ticket, "requester_id");

    let started = time::rfc3339_at(ticket, "created_at", "ticket.created_at")?;
    match text_of(ticket, "description_text", "description") {
        Some(text) => b.turn(None, Speaker::Customer, text, started, counts),
        None => counts.events_dropped += 1,
    }

    for (i, conv) in array_at(unit, "conversations").iter().enumerate() {
        let field = |name: &str| format!("conversations[{i}].{name}");
        let flag = |key: &str| conv.get(key).and_then(Value::as_bool) == Some(true);
        let note = flag("private");
        if note && !opts.keep_notes {
            counts.notes_dropped += 1;
            continue;
        }
        let speaker = if note {
            Speaker::System
        } else if flag("incoming") {
            Speaker::Customer
        } else {
            match conv.get("user_id").and_then(id_text) {
                Some(user) if Some(&user) == requester.as_ref() => Speaker::Customer,
                Some(_) => Speaker::Agent,
                None => Speaker::System,
            }
        };
        let Some(text) = text_of(conv, "body_text", "body") else {
            counts.events_dropped += 1;
            continue;
        };
        let ts = time::rfc3339_at(conv, "created_at", &field("created_at"))?;
        if speaker == Speaker::System && !note {
            counts.bot_turns += 1;
        }
        b.turn(id_at(conv, "id").as_deref(), speaker, text, ts, counts);
    }

    let c = &mut b.conversation;
    c.started_at = Some(started);
    c.agent_id = id_at(ticket, "responder_id").unwrap_or_default();
    c.customer_id = requester;
    c.tags = array_at(ticket, "tags").iter().filter_map(id_text).collect();
    c.resolved = ticket.get("status").and_then(resolved_of);
    c.csat = array_at(unit, "satisfaction_ratings")
        .first()
        .and_then(|r| r.pointer("/ratings/default_question"))
        .and_then(int_of)
        .and_then(csat_of);
    b.finish(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::adapters::Piece;
    use crate::input::adapters::testing::{self, speakers};
    use serde_json::json;

    fn origin() -> Origin {
        Origin { file: "f.jsonl".into(), line: 1 }
    }

    fn conv(id: i64, user: i64, incoming: bool, private: bool, text: &str, t: &str) -> Value {
        json!({"id": id, "user_id": user, "incoming": incoming, "private": private, "source": 0,
               "body": format!("<div>{text}</div>"), "body_text": text, "ticket_id": 4821,
               "created_at": t})
    }

    fn unit(conversations: Vec<Value>) -> Value {
        json!({"ticket": {"id": 4821, "requester_id": 7001, "responder_id": 9002, "status": 4,
                          "source": 1, "tags": ["delivery", "invoice"],
                          "created_at": "2025-01-08T03:11:09Z",
                          "description": "<div>订单 #88 的发票抬头写错了</div>",
                          "description_text": "订单 #88 的发票抬头写错了"},
               "conversations": conversations,
               "satisfaction_ratings": [{"ticket_id": 4821, "ratings": {"default_question": 102}}]})
    }

    fn run_with(unit: &Value, keep_notes: bool) -> (Conversation, AdapterCounts) {
        testing::one(Format::Freshdesk, unit, keep_notes)
    }

    fn run(unit: &Value) -> (Conversation, AdapterCounts) {
        run_with(unit, false)
    }

    #[test]
    fn the_description_is_the_requesters_first_message() {
        let (c, _) = run(&unit(vec![]));
        assert_eq!(speakers(&c), [Speaker::Customer]);
        assert_eq!(c.turns[0].text, "订单 #88 的发票抬头写错了");
        assert_eq!(c.turns[0].ts.to_rfc3339(), "2025-01-08T03:11:09+00:00");
        let mut u = unit(vec![]);
        u["ticket"].as_object_mut().unwrap().remove("description_text");
        u["ticket"]["description"] = json!("<p>发票抬头\n写错了&amp;税号不对</p><p>请重开</p>");
        assert_eq!(run(&u).0.turns[0].text, "发票抬头写错了&税号不对\n请重开");
    }

    #[test]
    fn private_conversations_are_notes_dropped_or_kept_as_system_turns() {
        let convs = vec![
            conv(1, 9002, false, true, "财务确认可以重开", "2025-01-08T03:30:00Z"),
            conv(2, 9002, false, false, "已为您重新开具。", "2025-01-08T04:02:55Z"),
        ];
        let (c, counts) = run(&unit(convs.clone()));
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Agent]);
        assert_eq!(counts.notes_dropped, 1);
        let (c, counts) = run_with(&unit(convs), true);
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::System, Speaker::Agent]);
        assert_eq!(c.turns[1].text, "财务确认可以重开");
        assert_eq!((counts.notes_dropped, counts.bot_turns), (0, 0));
    }

    #[test]
    fn incoming_then_requester_id_decide_the_customer() {
        let mut no_user =
            conv(5, 0, false, false, "Auto: we received your ticket", "2025-01-08T03:11:10Z");
        no_user.as_object_mut().unwrap().remove("user_id");
        let (c, counts) = run(&unit(vec![
            no_user,
            // incoming wins even when the user is not the requester (a CC'd colleague).
            conv(1, 7555, true, false, "补充：税号 9131", "2025-01-08T03:20:00Z"),
            conv(2, 9002, false, false, "收到", "2025-01-08T03:25:00Z"),
            // the requester replying from the portal: not incoming, but the requester.
            conv(3, 7001, false, false, "好的", "2025-01-08T03:40:00Z"),
            conv(4, 9003, false, false, "已处理", "2025-01-08T03:50:00Z"),
        ]));
        use Speaker::*;
        assert_eq!(speakers(&c), [Customer, System, Customer, Agent, Customer, Agent]);
        assert_eq!(counts.bot_turns, 1);
    }

    #[test]
    fn ids_may_be_numbers_or_strings() {
        let mut u = unit(vec![
            json!({"id": "11", "user_id": "7001", "incoming": false, "private": false,
                                     "body_text": "还在吗", "created_at": "2025-01-08T03:20:00Z"}),
        ]);
        u["ticket"]["id"] = json!("4821");
        u["ticket"]["requester_id"] = json!(7001);
        u["ticket"]["responder_id"] = json!("9002");
        let (c, _) = run(&u);
        assert_eq!((c.conversation_id.as_str(), c.agent_id.as_str()), ("4821", "9002"));
        assert_eq!(c.customer_id.as_deref(), Some("7001"));
        assert_eq!(c.turns[1].speaker, Speaker::Customer);
    }

    #[test]
    fn body_text_else_html_body_as_text_and_empty_bodies_are_events() {
        let mut html_only = conv(1, 9002, false, false, "", "2025-01-08T04:00:00Z");
        html_only["body"] = json!("<div>您好，<b>已为您</b>重新开具。<br>请查收&nbsp;邮件</div>");
        let mut empty = conv(2, 7001, true, false, "", "2025-01-08T04:10:00Z");
        empty["body"] = json!("<div><img src=\"scan.png\"></div>");
        let (c, counts) = run(&unit(vec![html_only, empty]));
        assert_eq!(c.turns.len(), 2);
        assert_eq!(c.turns[1].text, "您好，已为您重新开具。\n请查收 邮件");
        assert_eq!(counts.events_dropped, 1);
    }

    #[test]
    fn ticket_fields_map() {
        let (c, counts) =
            run(&unit(vec![conv(2, 9002, false, false, "ok", "2025-01-08T04:02:55Z")]));
        assert_eq!(c.conversation_id, "4821");
        assert_eq!(c.agent_id, "9002");
        assert_eq!(c.customer_id.as_deref(), Some("7001"));
        assert_eq!(c.tags, ["delivery", "invoice"]);
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2025-01-08T03:11:09+00:00");
        assert_eq!((c.resolved, c.csat, c.channel), (Some(true), Some(5), Channel::Email));
        assert_eq!(counts.unknown_agents, 0);
        let mut u = unit(vec![]);
        u["ticket"]["responder_id"] = Value::Null;
        let (c, counts) = run(&u);
        assert_eq!((c.agent_id.as_str(), counts.unknown_agents), ("unknown", 1));
    }

    #[test]
    fn resolved_is_status_four_or_five() {
        for (status, resolved) in [
            (json!(2), Some(false)),
            (json!(3), Some(false)),
            (json!(4), Some(true)),
            (json!(5), Some(true)),
            (json!("5"), Some(true)),
            (json!("Closed"), Some(true)),
            (json!("Pending"), Some(false)),
            (Value::Null, None),
        ] {
            let mut u = unit(vec![]);
            u["ticket"]["status"] = status.clone();
            assert_eq!(run(&u).0.resolved, resolved, "{status}");
        }
    }

    #[test]
    fn channel_follows_the_ticket_source() {
        for (source, channel) in [
            (json!(1), Channel::Email),
            (json!(2), Channel::Email),
            (json!(9), Channel::Email),
            (json!(10), Channel::Email),
            (json!(3), Channel::Phone),
            (json!(7), Channel::Chat),
            (json!(13), Channel::Chat),
            (json!("Phone"), Channel::Phone),
            (json!("Outbound Email"), Channel::Email),
            (json!("WhatsApp"), Channel::Chat),
            (Value::Null, Channel::Email),
        ] {
            let mut u = unit(vec![]);
            u["ticket"]["source"] = source.clone();
            assert_eq!(run(&u).0.channel, channel, "{source}");
        }
    }

    #[test]
    fn csat_maps_the_plus_minus_103_scale_to_one_to_five() {
        for (q, csat) in [
            (json!(103), Some(5)),
            (json!(102), Some(5)),
            (json!(101), Some(4)),
            (json!(100), Some(3)),
            (json!(-101), Some(2)),
            (json!(-102), Some(1)),
            (json!(-103), Some(1)),
            (json!(0), None),
            (json!(104), None),
            (json!("very happy"), None),
        ] {
            let mut u = unit(vec![]);
            u["satisfaction_ratings"][0]["ratings"]["default_question"] = q.clone();
            assert_eq!(run(&u).0.csat, csat, "{q}");
        }
        let mut u = unit(vec![]);
        u.as_object_mut().unwrap().remove("satisfaction_ratings");
        assert_eq!(run(&u).0.csat, None);
        // The first rating counts.
        let mut u = unit(vec![]);
        u["satisfaction_ratings"] = json!([{"ratings": {"default_question": -103}}, {"ratings": {"default_question": 103}}]);
        assert_eq!(run(&u).0.csat, Some(1));
    }

    #[test]
    fn a_repeated_conversation_id_is_dropped_once_and_counted() {
        let reply = conv(2, 9002, false, false, "已为您重新开具。", "2025-01-08T04:02:55Z");
        let (c, counts) = run(&unit(vec![reply.clone(), reply]));
        assert_eq!((c.turns.len(), counts.duplicate_messages), (2, 1));
    }

    #[test]
    fn a_bad_time_is_a_reject_naming_the_field() {
        let mut out = Adapted::default();
        let u = unit(vec![conv(2, 9002, false, false, "ok", "08/01/2025 04:02")]);
        adapt(&u, &origin(), &AdapterOptions::default(), &mut out).unwrap();
        let Piece::Rejected(r) = &out.pieces[0] else { panic!("{:?}", out.pieces) };
        assert!(format!("{r:?}").contains("conversations[0].created_at"), "{r:?}");
    }

    #[test]
    fn a_unit_without_ticket_or_conversations_is_the_wrong_format() {
        let mut out = Adapted::default();
        let opts = AdapterOptions::default();
        let e = adapt(&json!({"conversations": []}), &origin(), &opts, &mut out).unwrap_err();
        assert!(e.to_string().contains("not a freshdesk export"), "{e}");
        assert!(e.to_string().contains("without \"ticket\""), "{e}");
        let e = adapt(&json!({"ticket": {"id": 1}}), &origin(), &opts, &mut out).unwrap_err();
        assert!(e.to_string().contains("without \"conversations\""), "{e}");
    }

    #[test]
    fn the_fixtures_convert() {
        let counts = testing::fixtures(
            Format::Freshdesk,
            include_str!("../../../data/adapters/freshdesk/en.json"),
            include_str!("../../../data/adapters/freshdesk/zh.jsonl"),
        );
        assert_eq!(counts.converted, 4);
        assert!(
            counts.bot_turns >= 1 && counts.notes_dropped >= 1 && counts.duplicate_messages >= 1
        );
    }
}
