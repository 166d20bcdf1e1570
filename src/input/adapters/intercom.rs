//! Intercom (`intercom`): one conversation object per JSON file or JSONL line, as
//! `GET /conversations/{id}` returns it (the list endpoint has no parts; fetch each).
//!
//! - The first message is `source` (author `source.author`, time the conversation's
//!   `created_at`); then `conversation_parts.conversation_parts[]` in order.
//! - Only `part_type` comment parts with a non-empty body are turns. Other part types
//!   (assignment, open, close, snoozed, quick_reply, …) are events: dropped (counted), even when
//!   they carry a body. `note` parts are internal notes: dropped (counted). A comment or `source`
//!   without text (an attachment alone) is dropped as an event (counted).
//! - Speaker from `author.type`: user / lead / contact → customer; admin / team → agent; bot →
//!   system. An admin part with `author.from_ai_agent: true` or `author.is_ai_answer: true` (Fin)
//!   → system too. Bot turns are counted and are never the agent's first response. A part
//!   without an author → system (counted as a bot); any other author type is a reject.
//! - Text: the HTML `body` through [`html::html_to_text`] (block tags → line breaks, entities
//!   decoded, tags removed, no space put between Chinese characters).
//! - `created_at` (Unix seconds) → ts (UTC). A part id seen before is dropped (counted).
//! - conversation_id = `id`; started_at = `created_at`; agent_id = `admin_assignee_id`, else
//!   the first human admin author's id, else `"unknown"` (counted); customer_id =
//!   `contacts.contacts[0].id`; csat = `conversation_rating.rating` (1–5, as given); tags =
//!   `tags.tags[].name`; resolved = `state` closed → true, any other state → false.
//! - channel from `source.type`: email → email; phone_call / phone_switch → phone; anything
//!   else (conversation, chat, push, facebook, instagram, sms, twitter, whatsapp, …) → chat.
//! - A unit without `id`, `source` or `conversation_parts` is not an Intercom conversation
//!   ([`WrongFormat`]).

use serde_json::Value;

use super::{
    Adapted, AdapterCounts, AdapterOptions, Builder, Format, WrongFormat, array_at, html, id_at,
    id_text, invalid, missing, str_at, time, wrong,
};
use crate::conversation::{Channel, Conversation, Origin, Speaker};
use crate::input::RejectReason;

/// Adapts one unit; `keep_notes` keeps `note` parts as system turns.
pub fn adapt(
    unit: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    out: &mut Adapted,
) -> Result<(), WrongFormat> {
    for key in ["id", "source", "conversation_parts"] {
        if unit.get(key).is_none_or(Value::is_null) {
            return Err(wrong(Format::Intercom, origin, unit, key));
        }
    }
    let result = convert(unit, origin, opts, &mut out.counts);
    out.push(result);
    Ok(())
}

/// `source.type` → convqa's channel.
pub fn channel_of(source_type: Option<&str>) -> Channel {
    match source_type {
        Some("email") => Channel::Email,
        Some("phone_call" | "phone_switch") => Channel::Phone,
        _ => Channel::Chat,
    }
}

/// Who wrote a part, and whether it is a human admin (a candidate agent id).
fn speaker_of(author: Option<&Value>, field: &str) -> Result<(Speaker, bool), RejectReason> {
    let Some(author) = author.filter(|a| a.is_object()) else {
        return Ok((Speaker::System, false));
    };
    let flag = |key: &str| author.get(key).and_then(Value::as_bool) == Some(true);
    match str_at(author, "type") {
        Some("user" | "lead" | "contact") => Ok((Speaker::Customer, false)),
        Some("admin") if flag("from_ai_agent") || flag("is_ai_answer") => {
            Ok((Speaker::System, false))
        }
        Some("admin") => Ok((Speaker::Agent, true)),
        Some("team") if flag("from_ai_agent") || flag("is_ai_answer") => {
            Ok((Speaker::System, false))
        }
        Some("team") => Ok((Speaker::Agent, false)),
        Some("bot") | None => Ok((Speaker::System, false)),
        Some(other) => Err(invalid(
            format!("{field}.type"),
            format!("expected user, lead, contact, admin, team or bot, got {other:?}"),
        )),
    }
}

/// The text of an HTML body; `None` when there is none.
fn body_text(v: &Value) -> Option<String> {
    let text = html::html_to_text(str_at(v, "body")?);
    (!text.trim().is_empty()).then_some(text)
}

fn convert(
    unit: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    counts: &mut AdapterCounts,
) -> Result<Conversation, RejectReason> {
    let id = id_at(unit, "id").ok_or_else(|| missing("id"))?;
    let source = &unit["source"];
    let mut b = Builder::new(id, channel_of(str_at(source, "type")), origin);
    let mut first_admin: Option<String> = None;

    // Turn 0: the message that opened the conversation.
    let started = time::epoch_seconds_at(unit, "created_at", "created_at")?;
    let (speaker, human_admin) = speaker_of(source.get("author"), "source.author")?;
    match body_text(source) {
        Some(text) => {
            if speaker == Speaker::System {
                counts.bot_turns += 1;
            }
            if human_admin {
                first_admin = source.get("author").and_then(|a| id_at(a, "id"));
            }
            b.turn(None, speaker, text, started, counts);
        }
        None => counts.events_dropped += 1,
    }

    let parts = match &unit["conversation_parts"] {
        Value::Array(parts) => parts.as_slice(), // already flattened by an export tool
        list => array_at(list, "conversation_parts"),
    };
    for (i, part) in parts.iter().enumerate() {
        let field = |name: &str| format!("conversation_parts.conversation_parts[{i}].{name}");
        let kind = str_at(part, "part_type").unwrap_or("");
        let note = kind == "note";
        if note && !opts.keep_notes {
            counts.notes_dropped += 1;
            continue;
        }
        if !note && kind != "comment" {
            counts.events_dropped += 1;
            continue;
        }
        let Some(text) = body_text(part) else {
            if note {
                counts.notes_dropped += 1;
            } else {
                counts.events_dropped += 1;
            }
            continue;
        };
        let ts = time::epoch_seconds_at(part, "created_at", &field("created_at"))?;
        let part_id = part.get("id").and_then(id_text);
        let (speaker, human_admin) = if note {
            (Speaker::System, false)
        } else {
            speaker_of(part.get("author"), &field("author"))?
        };
        let before = b.conversation.turns.len();
        b.turn(part_id.as_deref(), speaker, text, ts, counts);
        if b.conversation.turns.len() == before {
            continue; // a repeated part id
        }
        if speaker == Speaker::System && !note {
            counts.bot_turns += 1;
        }
        if human_admin && first_admin.is_none() {
            first_admin = part.get("author").and_then(|a| id_at(a, "id"));
        }
    }

    let c = &mut b.conversation;
    c.started_at = Some(started);
    c.agent_id = id_at(unit, "admin_assignee_id").or(first_admin).unwrap_or_default();
    c.customer_id = unit.pointer("/contacts/contacts/0").and_then(|contact| id_at(contact, "id"));
    c.tags = array_at(unit.get("tags").unwrap_or(&Value::Null), "tags")
        .iter()
        .filter_map(|t| str_at(t, "name"))
        .map(str::to_string)
        .collect();
    c.resolved = str_at(unit, "state").map(|s| s == "closed");
    c.csat = match unit.pointer("/conversation_rating/rating") {
        None | Some(Value::Null) => None,
        Some(r) => Some(r.as_u64().and_then(|r| u8::try_from(r).ok()).ok_or_else(|| {
            invalid("conversation_rating.rating", format!("expected 1 to 5, got {r}"))
        })?),
    };
    b.finish(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::adapters::Piece;
    use crate::input::adapters::testing::{self, speakers};
    use serde_json::json;

    fn origin() -> Origin {
        Origin { file: "i.jsonl".into(), line: 1 }
    }

    fn part(id: &str, kind: &str, body: Option<&str>, t: i64, author: Value) -> Value {
        json!({"type": "conversation_part", "id": id, "part_type": kind, "body": body,
               "created_at": t, "author": author})
    }

    fn user() -> Value {
        json!({"type": "user", "id": "c-77", "name": "Ana"})
    }

    fn admin() -> Value {
        json!({"type": "admin", "id": "814", "name": "Ben"})
    }

    /// A closed email conversation: the customer's question, then `parts`.
    fn unit(parts: Vec<Value>) -> Value {
        json!({"type": "conversation", "id": "5781", "created_at": 1741053600, "state": "closed",
               "admin_assignee_id": 814,
               "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "9", "name": "billing"},
                                                     {"type": "tag", "id": "10", "name": "vip"}]},
               "conversation_rating": {"rating": 4, "remark": ""},
               "source": {"type": "email", "body": "<p>Can I change my plan?</p>", "author": user()},
               "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "c-77"}]},
               "conversation_parts": {"type": "conversation_part.list", "total_count": parts.len(),
                                      "conversation_parts": parts}})
    }

    fn run_with(unit: &Value, keep_notes: bool) -> (Conversation, AdapterCounts) {
        testing::one(Format::Intercom, unit, keep_notes)
    }

    fn run(unit: &Value) -> (Conversation, AdapterCounts) {
        run_with(unit, false)
    }

    #[test]
    fn source_is_the_first_message_by_its_author() {
        let (c, _) =
            run(&unit(vec![part("1", "comment", Some("<p>Yes.</p>"), 1741053700, admin())]));
        assert_eq!(c.turns[0].speaker, Speaker::Customer);
        assert_eq!(c.turns[0].text, "Can I change my plan?");
        assert_eq!(c.turns[0].ts.to_rfc3339(), "2025-03-04T02:00:00+00:00");
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Agent]);
        // An outbound message opened by an admin is the agent's.
        let mut u = unit(vec![]);
        u["source"]["author"] = admin();
        let (c, _) = run(&u);
        assert_eq!(speakers(&c), [Speaker::Agent]);
    }

    #[test]
    fn only_comment_parts_with_a_body_are_turns_other_parts_are_events() {
        let (c, counts) = run(&unit(vec![
            part("1", "assignment", None, 1741053610, admin()),
            part("2", "open", None, 1741053620, admin()),
            part("3", "comment", Some("<p>Sure, one moment.</p>"), 1741053700, admin()),
            part("4", "comment", Some(""), 1741053710, user()), // an attachment alone
            part("5", "comment", None, 1741053720, user()),
            part("6", "snoozed", None, 1741053730, admin()),
            part("7", "close", Some("<p>Closing</p>"), 1741053800, admin()),
        ]));
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Agent]);
        assert_eq!(c.turns[1].text, "Sure, one moment.");
        assert_eq!((counts.events_dropped, counts.notes_dropped), (6, 0));
    }

    #[test]
    fn notes_are_dropped_and_counted_or_kept_as_system_turns() {
        let parts = vec![
            part("1", "note", Some("<p>VIP, be quick</p>"), 1741053650, admin()),
            part("2", "comment", Some("<p>Done.</p>"), 1741053700, admin()),
        ];
        let (c, counts) = run(&unit(parts.clone()));
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Agent]);
        assert_eq!((counts.notes_dropped, counts.events_dropped), (1, 0));
        let (c, counts) = run_with(&unit(parts), true);
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::System, Speaker::Agent]);
        assert_eq!(c.turns[1].text, "VIP, be quick");
        assert_eq!((counts.notes_dropped, counts.bot_turns), (0, 0));
    }

    #[test]
    fn author_types_map_to_speakers() {
        let author = |t: &str| json!({"type": t, "id": format!("{t}-1")});
        let (c, counts) = run(&unit(vec![
            part("1", "comment", Some("u"), 1741053610, author("user")),
            part("2", "comment", Some("l"), 1741053620, author("lead")),
            part("3", "comment", Some("c"), 1741053630, author("contact")),
            part("4", "comment", Some("a"), 1741053640, author("admin")),
            part("5", "comment", Some("t"), 1741053650, author("team")),
            part("6", "comment", Some("b"), 1741053660, author("bot")),
        ]));
        use Speaker::*;
        assert_eq!(speakers(&c), [Customer, Customer, Customer, Customer, Agent, Agent, System]);
        assert_eq!(counts.bot_turns, 1);
        let mut out = Adapted::default();
        let u = unit(vec![part("1", "comment", Some("x"), 1741053610, author("robot"))]);
        adapt(&u, &origin(), &AdapterOptions::default(), &mut out).unwrap();
        let Piece::Rejected(r) = &out.pieces[0] else { panic!("{:?}", out.pieces) };
        assert!(format!("{r:?}").contains("conversation_parts[0].author.type"), "{r:?}");
    }

    #[test]
    fn an_ai_agent_answer_is_a_bot_turn_not_the_agents_first_response() {
        let fin = json!({"type": "admin", "id": "1", "name": "Fin", "from_ai_agent": true});
        let ai = json!({"type": "admin", "id": "2", "name": "Ben", "is_ai_answer": true});
        let mut u = unit(vec![
            part("1", "comment", Some("<p>Hi Ana 👋 I can help.</p>"), 1741053610, fin),
            part("2", "comment", Some("<p>Suggested: see Plans.</p>"), 1741053620, ai),
            part("3", "comment", Some("<p>Done – you're on Pro now.</p>"), 1741054100, admin()),
        ]);
        u["admin_assignee_id"] = Value::Null;
        let (c, counts) = run(&u);
        assert_eq!(
            speakers(&c),
            [Speaker::Customer, Speaker::System, Speaker::System, Speaker::Agent]
        );
        assert_eq!(counts.bot_turns, 2);
        // The AI agent is an admin in Intercom, but not the agent of the conversation.
        assert_eq!(c.agent_id, "814");
    }

    #[test]
    fn html_bodies_become_plain_text_without_spaces_between_chinese_characters() {
        let (c, _) = run(&unit(vec![part(
            "1",
            "comment",
            Some(
                "<p>您好，<b>王女士</b>！</p><p>退款已经\n处理&amp;到账。<br>请查收 <a href=\"https://x\">订单</a></p><img src=\"a.png\">",
            ),
            1741053700,
            admin(),
        )]));
        assert_eq!(c.turns[1].text, "您好，王女士！\n退款已经处理&到账。\n请查收 订单");
    }

    #[test]
    fn created_at_seconds_are_utc_timestamps_and_the_start() {
        let (c, _) = run(&unit(vec![part("1", "comment", Some("ok"), 1741054100, admin())]));
        assert_eq!(c.turns[1].ts.to_rfc3339(), "2025-03-04T02:08:20+00:00");
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2025-03-04T02:00:00+00:00");
        let mut out = Adapted::default();
        let bad = unit(vec![part("1", "comment", Some("ok"), 0, admin())]);
        let mut bad = bad;
        bad["conversation_parts"]["conversation_parts"][0]["created_at"] = json!("yesterday");
        adapt(&bad, &origin(), &AdapterOptions::default(), &mut out).unwrap();
        let Piece::Rejected(r) = &out.pieces[0] else { panic!("{:?}", out.pieces) };
        assert!(format!("{r:?}").contains("conversation_parts[0].created_at"), "{r:?}");
    }

    #[test]
    fn agent_is_the_assignee_else_the_first_human_admin_author_else_unknown() {
        let (c, _) = run(&unit(vec![part("1", "comment", Some("hi"), 1741053700, admin())]));
        assert_eq!(c.agent_id, "814");
        let other = json!({"type": "admin", "id": "900", "name": "Cai"});
        let mut u = unit(vec![
            part("1", "comment", Some("hi"), 1741053700, other),
            part("2", "comment", Some("hi"), 1741053800, admin()),
        ]);
        u["admin_assignee_id"] = Value::Null;
        assert_eq!(run(&u).0.agent_id, "900");
        let mut u = unit(vec![part(
            "1",
            "comment",
            Some("bot"),
            1741053700,
            json!({"type": "bot", "id": "1"}),
        )]);
        u.as_object_mut().unwrap().remove("admin_assignee_id");
        let (c, counts) = run(&u);
        assert_eq!((c.agent_id.as_str(), counts.unknown_agents), ("unknown", 1));
    }

    #[test]
    fn conversation_fields_map() {
        let (c, _) = run(&unit(vec![part("1", "comment", Some("ok"), 1741053700, admin())]));
        assert_eq!(c.conversation_id, "5781");
        assert_eq!(c.customer_id.as_deref(), Some("c-77"));
        assert_eq!(c.csat, Some(4));
        assert_eq!(c.tags, ["billing", "vip"]);
        assert_eq!(c.resolved, Some(true));
        assert_eq!(c.channel, Channel::Email);
    }

    #[test]
    fn states_other_than_closed_are_unresolved() {
        for state in ["open", "snoozed"] {
            let mut u = unit(vec![]);
            u["state"] = json!(state);
            assert_eq!(run(&u).0.resolved, Some(false), "{state}");
        }
    }

    #[test]
    fn a_rating_outside_one_to_five_is_rejected_and_none_is_no_csat() {
        let mut u = unit(vec![]);
        u["conversation_rating"] = Value::Null;
        assert_eq!(run(&u).0.csat, None);
        u["conversation_rating"] = json!({"rating": 7});
        let mut out = Adapted::default();
        adapt(&u, &origin(), &AdapterOptions::default(), &mut out).unwrap();
        assert!(matches!(out.pieces[0], Piece::Rejected(_)), "{:?}", out.pieces);
    }

    #[test]
    fn channel_follows_the_source_type() {
        for (source_type, channel) in [
            ("email", Channel::Email),
            ("phone_call", Channel::Phone),
            ("phone_switch", Channel::Phone),
            ("conversation", Channel::Chat),
            ("whatsapp", Channel::Chat),
            ("push", Channel::Chat),
        ] {
            let mut u = unit(vec![]);
            u["source"]["type"] = json!(source_type);
            assert_eq!(run(&u).0.channel, channel, "{source_type}");
        }
    }

    #[test]
    fn a_repeated_part_id_is_dropped_once_and_counted() {
        let (c, counts) = run(&unit(vec![
            part("901", "comment", Some("<p>Checking.</p>"), 1741053700, admin()),
            part("901", "comment", Some("<p>Checking.</p>"), 1741053700, admin()),
            part("902", "comment", Some("<p>Done.</p>"), 1741053800, admin()),
        ]));
        assert_eq!(c.turns.len(), 3);
        assert_eq!(counts.duplicate_messages, 1);
    }

    #[test]
    fn parts_already_flattened_into_an_array_are_read_too() {
        let mut u = unit(vec![]);
        u["conversation_parts"] =
            json!([part("1", "comment", Some("<p>Hi</p>"), 1741053700, admin())]);
        let (c, _) = run(&u);
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Agent]);
    }

    #[test]
    fn a_unit_without_id_source_or_parts_is_the_wrong_format() {
        for key in ["id", "source", "conversation_parts"] {
            let mut u = unit(vec![]);
            u.as_object_mut().unwrap().remove(key);
            let mut out = Adapted::default();
            let e = adapt(&u, &origin(), &AdapterOptions::default(), &mut out).unwrap_err();
            assert!(e.to_string().contains("not a intercom export"), "{e}");
            assert!(e.to_string().contains(&format!("without {key:?}")), "{e}");
        }
        let mut out = Adapted::default();
        assert!(adapt(&json!([1, 2]), &origin(), &AdapterOptions::default(), &mut out).is_err());
    }

    #[test]
    fn the_fixtures_convert() {
        let counts = testing::fixtures(
            Format::Intercom,
            include_str!("../../../data/adapters/intercom/en.json"),
            include_str!("../../../data/adapters/intercom/zh.jsonl"),
        );
        assert_eq!(counts.converted, 4);
        assert!(
            counts.bot_turns >= 1 && counts.notes_dropped >= 1 && counts.duplicate_messages >= 1
        );
    }
}
