//! A [`Conversation`] written back as one line of convqa's JSONL schema (`convqa convert`'s
//! output), so `convqa score` reads exactly what `convqa score --from` scores.

use std::io::{self, Write};

use chrono::SecondsFormat;
use serde::Serialize;

use crate::conversation::Conversation;

#[derive(Serialize)]
struct Line<'a> {
    conversation_id: &'a str,
    agent_id: &'a str,
    channel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csat: Option<u8>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    turns: Vec<TurnLine<'a>>,
}

#[derive(Serialize)]
struct TurnLine<'a> {
    speaker: &'static str,
    text: &'a str,
    ts: String,
}

/// Appends `c` as one JSON line (with its `\n`).
pub fn write_jsonl(out: &mut (impl Write + ?Sized), c: &Conversation) -> io::Result<()> {
    let time = |t: &chrono::DateTime<chrono::FixedOffset>| {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, t.offset().local_minus_utc() == 0)
    };
    let line = Line {
        conversation_id: &c.conversation_id,
        agent_id: &c.agent_id,
        channel: c.channel.as_str(),
        customer_id: c.customer_id.as_deref(),
        started_at: c.started_at.as_ref().map(time),
        language: c.declared_language.as_deref(),
        resolved: c.resolved,
        csat: c.csat,
        tags: &c.tags,
        turns: c
            .turns
            .iter()
            .map(|t| TurnLine { speaker: t.speaker.as_str(), text: &t.text, ts: time(&t.ts) })
            .collect(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Channel, Origin, Speaker};
    use crate::input::parse_line;

    #[test]
    fn a_written_line_parses_back_to_the_same_conversation() {
        let origin = Origin { file: "x".into(), line: 1 };
        let mut c = crate::conversation::test_conversation(
            Channel::Email,
            &[(Speaker::Customer, 0), (Speaker::Agent, 61)],
        );
        c.origin = origin.clone();
        c.customer_id = Some("u\"1".into());
        c.csat = Some(5);
        c.tags = vec!["退款".into()];
        c.turns[1].text = "line\nbreak 您好".into();
        let mut buf = Vec::new();
        write_jsonl(&mut buf, &c).unwrap();
        assert!(buf.ends_with(b"\n"));
        let back = parse_line(&buf[..buf.len() - 1], origin).unwrap();
        assert_eq!(back, c);
    }
}
