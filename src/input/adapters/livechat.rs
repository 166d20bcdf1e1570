//! LiveChat (`livechat`): the items of the Agent Chat API's `list_archives` (`chats[]`), one
//! chat thread each, one per JSON file or JSONL line (a JSON file may hold an array of them).
//! A LiveChat "chat" is the long-lived relationship with a customer; its threads are the
//! sessions, so each thread is one conversation.
//!
//! - conversation_id = `thread.id`; started_at = `thread.created_at`; channel chat; resolved
//!   none (the export does not say).
//! - Turns: `thread.events[]` of `type` message, and rich_message / file only when they carry
//!   `text`. Speaker from `author_id` joined to `users[].type`: customer → customer, agent →
//!   agent; an author not in `users` (or of another type, or none) → system (counted as a bot,
//!   never the agent's first response).
//! - `system_message` events (routing, "chat transferred", "customer left") and every other
//!   event type (filled_form, form, custom, a message without text) are dropped (counted) — never
//!   turns. `visibility: "agents"` (a whisper between agents) is an internal note: dropped
//!   (counted), or a system turn with `--keep-notes`. An event id seen before is dropped
//!   (counted).
//! - `created_at` (RFC 3339, microseconds, UTC) → ts.
//! - customer_id = the id of the user of type customer; agent_id = the agent user who wrote the
//!   most turns (a tie goes to the one who wrote first), else the first agent in `users`, else
//!   `"unknown"` (counted).
//! - tags = `thread.tags`; csat from `thread.properties.rating.score`: 1 or "good" → 5, 0 or
//!   "bad" → 1, anything else → none (LiveChat's rating is binary).
//! - A unit without `id`, `users` or a `thread` with `events` is not a LiveChat archive item
//!   ([`WrongFormat`]).

use std::collections::HashMap;

use serde_json::Value;

use super::{
    Adapted, AdapterCounts, AdapterOptions, Builder, Format, WrongFormat, array_at, id_at, missing,
    str_at, time, wrong,
};
use crate::conversation::{Channel, Conversation, Origin, Speaker};
use crate::input::RejectReason;

/// Adapts one unit; `keep_notes` keeps whispers (`visibility: "agents"`) as system turns.
pub fn adapt(
    unit: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    out: &mut Adapted,
) -> Result<(), WrongFormat> {
    if unit.get("id").is_none_or(Value::is_null) {
        return Err(wrong(Format::Livechat, origin, unit, "id"));
    }
    if !unit.get("users").is_some_and(Value::is_array) {
        return Err(wrong(Format::Livechat, origin, unit, "users"));
    }
    let Some(thread) = unit.get("thread").filter(|t| t.is_object()) else {
        return Err(wrong(Format::Livechat, origin, unit, "thread"));
    };
    if !thread.get("events").is_some_and(Value::is_array) {
        return Err(WrongFormat {
            origin: origin.to_string(),
            format: Format::Livechat,
            found: "found a \"thread\" without an \"events\" array".into(),
        });
    }
    let result = convert(unit, thread, origin, opts, &mut out.counts);
    out.push(result);
    Ok(())
}

/// `thread.properties.rating.score` → csat: good (1) → 5, bad (0) → 1.
pub fn csat_of(score: Option<&Value>) -> Option<u8> {
    match score? {
        Value::Number(n) => match n.as_i64()? {
            1 => Some(5),
            0 => Some(1),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "good" => Some(5),
            "0" | "bad" => Some(1),
            _ => None,
        },
        _ => None,
    }
}

fn convert(
    unit: &Value,
    thread: &Value,
    origin: &Origin,
    opts: &AdapterOptions,
    counts: &mut AdapterCounts,
) -> Result<Conversation, RejectReason> {
    let id = id_at(thread, "id").ok_or_else(|| missing("thread.id"))?;
    let mut b = Builder::new(id, Channel::Chat, origin);
    let users = array_at(unit, "users");
    let types: HashMap<String, &str> = users
        .iter()
        .filter_map(|u| Some((id_at(u, "id")?, str_at(u, "type").unwrap_or(""))))
        .collect();
    // Agents in the order they first wrote, with their number of turns.
    let mut agents: Vec<(String, usize)> = Vec::new();

    for (i, event) in array_at(thread, "events").iter().enumerate() {
        let field = |name: &str| format!("thread.events[{i}].{name}");
        let text = str_at(event, "text").filter(|t| !t.trim().is_empty());
        let is_turn = match str_at(event, "type") {
            Some("message") | Some("rich_message") | Some("file") => text.is_some(),
            _ => false, // system_message, filled_form, form, custom, …
        };
        let Some(text) = text.filter(|_| is_turn) else {
            counts.events_dropped += 1;
            continue;
        };
        let whisper = str_at(event, "visibility") == Some("agents");
        if whisper && !opts.keep_notes {
            counts.notes_dropped += 1;
            continue;
        }
        let author = id_at(event, "author_id");
        let speaker = if whisper {
            Speaker::System
        } else {
            match author.as_ref().and_then(|a| types.get(a)).copied() {
                Some("customer") => Speaker::Customer,
                Some("agent") => Speaker::Agent,
                _ => Speaker::System,
            }
        };
        let ts = time::rfc3339_at(event, "created_at", &field("created_at"))?;
        let before = b.conversation.turns.len();
        b.turn(id_at(event, "id").as_deref(), speaker, text.to_string(), ts, counts);
        if b.conversation.turns.len() == before {
            continue; // a repeated event id
        }
        if speaker == Speaker::System && !whisper {
            counts.bot_turns += 1;
        }
        if let (Speaker::Agent, Some(author)) = (speaker, author) {
            match agents.iter_mut().find(|(a, _)| *a == author) {
                Some((_, n)) => *n += 1,
                None => agents.push((author, 1)),
            }
        }
    }

    let first_of = |kind: &str| {
        users.iter().find(|u| str_at(u, "type") == Some(kind)).and_then(|u| id_at(u, "id"))
    };
    let mut most: Option<(String, usize)> = None;
    for (agent, n) in agents {
        if most.as_ref().is_none_or(|(_, best)| n > *best) {
            most = Some((agent, n));
        }
    }
    let c = &mut b.conversation;
    c.agent_id = most.map(|(a, _)| a).or_else(|| first_of("agent")).unwrap_or_default();
    c.customer_id = first_of("customer");
    c.tags = array_at(thread, "tags").iter().filter_map(super::id_text).collect();
    c.csat = csat_of(thread.pointer("/properties/rating/score"));
    c.started_at = match thread.get("created_at") {
        None | Some(Value::Null) => None,
        Some(_) => Some(time::rfc3339_at(thread, "created_at", "thread.created_at")?),
    };
    b.finish(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::adapters::testing::{self, speakers};
    use serde_json::json;

    fn origin() -> Origin {
        Origin { file: "l.jsonl".into(), line: 1 }
    }

    fn ev(id: &str, kind: &str, author: Option<&str>, text: Option<&str>, t: &str) -> Value {
        let mut e = json!({"id": id, "type": kind, "created_at": t, "visibility": "all"});
        if let Some(a) = author {
            e["author_id"] = json!(a);
        }
        if let Some(x) = text {
            e["text"] = json!(x);
        }
        e
    }

    fn msg(id: &str, author: &str, text: &str, t: &str) -> Value {
        ev(id, "message", Some(author), Some(text), t)
    }

    const TOM: &str = "b7ef0a2c-1d3e-4f5a-8b9c-0d1e2f3a4b5c";
    const LILY: &str = "lily@shop.example";
    const MAX: &str = "max@shop.example";

    fn unit(events: Vec<Value>) -> Value {
        json!({"id": "PJ0MRSHTDG",
               "users": [{"id": TOM, "type": "customer", "name": "Tom"},
                         {"id": LILY, "type": "agent", "name": "Lily"},
                         {"id": MAX, "type": "agent", "name": "Max"}],
               "thread": {"id": "QA37PVJ75B", "created_at": "2025-05-12T11:42:47.383000Z", "active": false,
                          "tags": ["return", "vip"], "properties": {"rating": {"score": 1, "comment": "nice"}},
                          "events": events}})
    }

    fn run_with(unit: &Value, keep_notes: bool) -> (Conversation, AdapterCounts) {
        testing::one(Format::Livechat, unit, keep_notes)
    }

    fn run(unit: &Value) -> (Conversation, AdapterCounts) {
        run_with(unit, false)
    }

    #[test]
    fn authors_join_users_and_unknown_authors_are_bots() {
        let (c, counts) = run(&unit(vec![
            msg("e1", TOM, "Where is my parcel?", "2025-05-12T11:42:47.383001Z"),
            msg(
                "e2",
                "chatbot-17",
                "Hi! I'm the shop bot. Let me find an agent.",
                "2025-05-12T11:42:48Z",
            ),
            msg("e3", LILY, "Let me check 🙂", "2025-05-12T11:43:05.004200Z"),
        ]));
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::System, Speaker::Agent]);
        assert_eq!(counts.bot_turns, 1);
        // A user of another type, or an event without an author, is a bot too.
        let mut u = unit(vec![
            msg("e1", "bot@shop.example", "Hi! How can I help?", "2025-05-12T11:42:46Z"),
            ev("e2", "message", None, Some("Chat rated"), "2025-05-12T11:42:47Z"),
            msg("e3", TOM, "Where is my parcel?", "2025-05-12T11:42:48Z"),
        ]);
        u["users"].as_array_mut().unwrap().push(json!({"id": "bot@shop.example", "type": "bot"}));
        let (c, counts) = run(&u);
        assert_eq!(speakers(&c), [Speaker::System, Speaker::System, Speaker::Customer]);
        assert_eq!(counts.bot_turns, 2);
    }

    #[test]
    fn system_messages_and_textless_events_are_dropped_not_turns() {
        let mut sys = ev(
            "e2",
            "system_message",
            None,
            Some("Chat assigned to Lily"),
            "2025-05-12T11:42:50.1Z",
        );
        sys["system_message_type"] = json!("routing.assigned");
        let (c, counts) = run(&unit(vec![
            msg("e1", TOM, "Where is my parcel?", "2025-05-12T11:42:47.383001Z"),
            sys,
            ev("e3", "file", Some(TOM), None, "2025-05-12T11:42:55Z"),
            ev("e4", "file", Some(TOM), Some("receipt.png"), "2025-05-12T11:42:56Z"),
            ev("e5", "rich_message", Some(LILY), None, "2025-05-12T11:43:00Z"),
            ev("e6", "rich_message", Some(LILY), Some("Pick a time"), "2025-05-12T11:43:01Z"),
            ev("e7", "filled_form", Some(TOM), None, "2025-05-12T11:43:02Z"),
            ev("e8", "message", Some(LILY), Some("  "), "2025-05-12T11:43:03Z"),
        ]));
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Customer, Speaker::Agent]);
        assert_eq!(c.turns[1].text, "receipt.png");
        assert_eq!((counts.events_dropped, counts.bot_turns), (5, 0));
    }

    #[test]
    fn whispers_are_notes_dropped_or_kept_as_system_turns() {
        let mut whisper = msg("e2", LILY, "Max, can you take this one?", "2025-05-12T11:43:00Z");
        whisper["visibility"] = json!("agents");
        let events = vec![
            msg("e1", TOM, "Hello?", "2025-05-12T11:42:47Z"),
            whisper,
            msg("e3", MAX, "Hi Tom!", "2025-05-12T11:43:30Z"),
        ];
        let (c, counts) = run(&unit(events.clone()));
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::Agent]);
        assert_eq!(counts.notes_dropped, 1);
        let (c, counts) = run_with(&unit(events), true);
        assert_eq!(speakers(&c), [Speaker::Customer, Speaker::System, Speaker::Agent]);
        assert_eq!((counts.notes_dropped, counts.bot_turns), (0, 0));
        // The whisper does not make Lily the agent.
        assert_eq!(c.agent_id, MAX);
    }

    #[test]
    fn created_at_with_microseconds_is_the_ts() {
        let (c, _) = run(&unit(vec![msg("e1", TOM, "hi", "2025-05-12T11:42:47.383001Z")]));
        assert_eq!(c.turns[0].ts.to_rfc3339(), "2025-05-12T11:42:47.383001+00:00");
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2025-05-12T11:42:47.383+00:00");
    }

    #[test]
    fn thread_fields_map() {
        let (c, counts) = run(&unit(vec![msg("e1", TOM, "hi", "2025-05-12T11:42:47Z")]));
        assert_eq!(c.conversation_id, "QA37PVJ75B");
        assert_eq!(c.customer_id.as_deref(), Some(TOM));
        assert_eq!(c.tags, ["return", "vip"]);
        assert_eq!((c.csat, c.resolved, c.channel), (Some(5), None, Channel::Chat));
        // No agent wrote: the first agent in users.
        assert_eq!((c.agent_id.as_str(), counts.unknown_agents), (LILY, 0));
    }

    #[test]
    fn the_agent_is_the_one_who_wrote_most_ties_to_the_first() {
        let events = vec![
            msg("e1", TOM, "hi", "2025-05-12T11:42:47Z"),
            msg("e2", LILY, "hello", "2025-05-12T11:42:50Z"),
            msg("e3", MAX, "taking over", "2025-05-12T11:43:00Z"),
            msg("e4", MAX, "done", "2025-05-12T11:44:00Z"),
        ];
        assert_eq!(run(&unit(events.clone())).0.agent_id, MAX);
        let tie = vec![events[0].clone(), events[2].clone(), events[1].clone()];
        assert_eq!(run(&unit(tie)).0.agent_id, MAX);
        let mut no_agents = unit(vec![msg("e1", TOM, "hi", "2025-05-12T11:42:47Z")]);
        no_agents["users"] = json!([{"id": TOM, "type": "customer"}]);
        let (c, counts) = run(&no_agents);
        assert_eq!((c.agent_id.as_str(), counts.unknown_agents), ("unknown", 1));
    }

    #[test]
    fn rating_score_good_is_five_bad_is_one() {
        for (score, csat) in [
            (json!(1), Some(5)),
            (json!(0), Some(1)),
            (json!("good"), Some(5)),
            (json!("bad"), Some(1)),
            (json!("rated"), None),
            (json!(3), None),
            (Value::Null, None),
        ] {
            let mut u = unit(vec![msg("e1", TOM, "hi", "2025-05-12T11:42:47Z")]);
            u["thread"]["properties"]["rating"]["score"] = score.clone();
            assert_eq!(run(&u).0.csat, csat, "{score}");
        }
        let mut u = unit(vec![msg("e1", TOM, "hi", "2025-05-12T11:42:47Z")]);
        u["thread"]["properties"] = json!({});
        assert_eq!(run(&u).0.csat, None);
    }

    #[test]
    fn a_repeated_event_id_is_dropped_once_and_counted() {
        let e = msg("e2", LILY, "checking", "2025-05-12T11:42:50Z");
        let (c, counts) =
            run(&unit(vec![msg("e1", TOM, "hi", "2025-05-12T11:42:47Z"), e.clone(), e]));
        assert_eq!((c.turns.len(), counts.duplicate_messages), (2, 1));
    }

    #[test]
    fn a_unit_without_id_users_or_thread_events_is_the_wrong_format() {
        for key in ["id", "users", "thread"] {
            let mut u = unit(vec![]);
            u.as_object_mut().unwrap().remove(key);
            let mut out = Adapted::default();
            let e = adapt(&u, &origin(), &AdapterOptions::default(), &mut out).unwrap_err();
            assert!(e.to_string().contains("not a livechat export"), "{e}");
            assert!(e.to_string().contains(&format!("without {key:?}")), "{e}");
        }
        let mut u = unit(vec![]);
        u["thread"].as_object_mut().unwrap().remove("events");
        let mut out = Adapted::default();
        let e = adapt(&u, &origin(), &AdapterOptions::default(), &mut out).unwrap_err();
        assert!(e.to_string().contains("\"events\""), "{e}");
    }

    #[test]
    fn the_fixtures_convert() {
        let counts = testing::fixtures(
            Format::Livechat,
            include_str!("../../../data/adapters/livechat/en.json"),
            include_str!("../../../data/adapters/livechat/zh.jsonl"),
        );
        assert_eq!(counts.converted, 4);
        assert!(
            counts.bot_turns >= 1 && counts.notes_dropped >= 1 && counts.duplicate_messages >= 1
        );
    }
}
