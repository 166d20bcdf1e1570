//! Issue 18: `convqa convert FORMAT` and `convqa score --from FORMAT` on the vendor fixtures in
//! `data/adapters/` (written from each vendor's documented fields). Each test is one rule a
//! user relies on: who is the customer, what is dropped, what comes out of the ticket fields,
//! and that scoring an export directly equals converting it first.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{convqa, stderr};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Converts `inputs` and returns the conversations (by id), the rejects and the closing line.
fn convert(format: &str, inputs: &[PathBuf], extra: &[&str]) -> (Vec<Value>, Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let mut args = vec!["convert", format];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--out", s(&out)]);
    args.extend(extra);
    let o = convqa(&args);
    assert!(o.status.success(), "convert {format} failed: {}", stderr(&o));
    let lines = |p: PathBuf| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (lines(out.clone()), lines(dir.path().join("out.rejects.jsonl")), stderr(&o))
}

fn by_id<'a>(convs: &'a [Value], id: &str) -> &'a Value {
    convs.iter().find(|c| c["conversation_id"] == id).unwrap_or_else(|| {
        panic!(
            "no conversation {id}; have {:?}",
            convs.iter().map(|c| &c["conversation_id"]).collect::<Vec<_>>()
        )
    })
}

fn speakers(c: &Value) -> Vec<&str> {
    c["turns"].as_array().unwrap().iter().map(|t| t["speaker"].as_str().unwrap()).collect()
}

#[test]
fn connect_chat_maps_roles_drops_events_and_names_the_agent() {
    let (convs, rejects, line) =
        convert("connect-chat", &[crate::common::data("adapters/connect-chat")], &[]);
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(convs.len(), 4);
    let zh = by_id(&convs, "6f1c2a90-0b7e-4a51-9d1e-2c4f0a7b3e11");
    // SYSTEM → system; events (joined, typing, ended) gone; the repeated item id kept once.
    assert_eq!(
        speakers(zh),
        ["system", "customer", "agent", "customer", "agent", "customer", "agent"]
    );
    assert_eq!(zh["agent_id"], "Lily", "the AGENT participant's DisplayName");
    assert_eq!(
        zh["turns"][2]["text"], "您好，我是 **Lily**，非常抱歉让您久等了，我马上帮您查询。",
        "markdown kept"
    );
    assert_eq!(zh["turns"][1]["ts"], "2025-03-04T08:15:09.530Z", "AbsoluteTime in UTC");
    let en = by_id(&convs, "9a7e5c31-44d2-4f0b-8e6a-5b1d2c3e4f50");
    assert_eq!(
        speakers(en)[..4],
        ["customer", "system", "customer", "agent"],
        "CUSTOM_BOT → system"
    );
    assert_eq!(
        en["turns"][2]["text"], "Yes, a payment problem",
        "an interactive reply keeps its title"
    );
    let no_agent = by_id(&convs, "c3d4e5f6-0000-4aaa-8bbb-0123456789ab");
    assert_eq!(no_agent["agent_id"], "unknown");
    let lens = by_id(&convs, "d7e8f9a0-1111-4ccc-9ddd-abcdefabcdef");
    assert_eq!(
        (lens["language"].as_str(), lens["agent_id"].as_str()),
        (Some("en-US"), Some("Marco"))
    );
    assert_eq!(lens["tags"], serde_json::json!(["cancellation", "retention-offer"]));
    assert!(line.contains("1 conversations without an agent id"), "{line}");
    assert!(line.contains("1 repeated messages"), "{line}");
}

#[test]
fn zendesk_joins_authors_to_users_and_maps_the_ticket() {
    let (convs, rejects, line) =
        convert("zendesk", &[crate::common::data("adapters/zendesk")], &[]);
    assert_eq!(convs.len(), 4);
    let t = by_id(&convs, "35436");
    // requester → customer, automation (not in users) → system, internal note dropped.
    assert_eq!(speakers(t), ["customer", "system", "agent", "customer"]);
    assert_eq!(
        (t["agent_id"].as_str(), t["customer_id"].as_str()),
        (Some("235323"), Some("20978392"))
    );
    assert_eq!(
        (t["csat"].as_u64(), t["resolved"].as_bool(), t["channel"].as_str()),
        (Some(5), Some(true), Some("email"))
    );
    assert_eq!(t["tags"], serde_json::json!(["refund", "vip"]));
    let chat = by_id(&convs, "35501");
    assert_eq!(
        (chat["channel"].as_str(), chat["csat"].as_u64(), chat["resolved"].as_bool()),
        (Some("chat"), None, Some(false))
    );
    assert_eq!(
        speakers(chat),
        ["customer", "agent"],
        "the repeated comment id kept once, the note dropped"
    );
    let voice = by_id(&convs, "35612");
    assert_eq!((voice["channel"].as_str(), voice["csat"].as_u64()), (Some("phone"), Some(1)));
    assert_eq!(speakers(voice), ["customer", "agent"], "an admin writes as the agent");
    let html = by_id(&convs, "35800");
    assert_eq!(
        html["turns"][0]["text"],
        "I can't log in since the update.\nReset link says expired."
    );
    // A ticket without comments is rejected in score's rejects format, with file and line.
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["code"], "empty_turns");
    assert_eq!(rejects[0]["line"], 4);
    assert!(rejects[0]["file"].as_str().unwrap().ends_with("tickets.jsonl"));
    assert!(
        rejects[0]["raw"].as_str().unwrap().contains("\"id\":35700"),
        "raw shows the ticket: {}",
        rejects[0]
    );
    assert!(line.contains("dropped 2 internal notes"), "{line}");

    let (kept, _, _) = convert(
        "zendesk",
        &[crate::common::data("adapters/zendesk/tickets.jsonl")],
        &["--keep-notes"],
    );
    let t = by_id(&kept, "35436");
    assert_eq!(
        speakers(t),
        ["customer", "system", "system", "agent", "customer"],
        "--keep-notes: notes as system turns"
    );
}

#[test]
fn wecom_archive_groups_by_participants_and_gap_and_applies_recalls() {
    let input = [crate::common::data("adapters/wecom-archive")];
    let (convs, rejects, line) = convert("wecom-archive", &input, &[]);
    assert!(rejects.is_empty(), "{rejects:?}");
    let ids: Vec<&str> = convs.iter().map(|c| c["conversation_id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "wecom:zhangsan~wmErxtDgAA9Ak1Xx:1741140000000",
            "wecom:lisi~wmKk88aaBB01:1741140480000",
            "wecom:wrRoom0001:1741140900000",
            "wecom:zhangsan~wmErxtDgAA9Ak1Xx:1741144200000",
        ],
        "a 64-minute silence splits the pair at the default 30-minute gap"
    );
    let first = &convs[0];
    assert_eq!(
        speakers(first),
        ["customer", "agent", "agent", "customer"],
        "the recalled message and the image are gone"
    );
    assert!(!first.to_string().contains("操作不当"), "recalled text never reaches scoring");
    assert_eq!(
        (first["agent_id"].as_str(), first["customer_id"].as_str()),
        (Some("zhangsan"), Some("wmErxtDgAA9Ak1Xx"))
    );
    assert_eq!(
        first["turns"][0]["ts"], "2025-03-05T02:00:00Z",
        "msgtime is Unix milliseconds, UTC"
    );
    assert_eq!(
        speakers(&convs[1]),
        ["customer", "system", "agent"],
        "the wb… bot joins the contact's chat as system"
    );
    assert_eq!(convs[2]["agent_id"], "wangwu", "a group chat: the first staff member who writes");
    assert!(line.contains("1 bot turns"), "{line}");

    let (merged, _, _) = convert("wecom-archive", &input, &["--gap", "2h"]);
    assert_eq!(merged.len(), 3, "with a 2-hour gap the pair's two chats are one");
}

/// `score --from FORMAT` must give exactly what `convert` + `score` gives: every table, every
/// column.
#[test]
fn scoring_an_export_directly_equals_converting_it_first() {
    for (format, input) in [
        ("connect-chat", "adapters/connect-chat"),
        ("zendesk", "adapters/zendesk"),
        ("wecom-archive", "adapters/wecom-archive"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("converted.jsonl");
        let input = crate::common::data(input);
        let o = convqa(&["convert", format, s(&input), "--out", s(&jsonl), "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (direct, via) = (dir.path().join("direct"), dir.path().join("via"));
        let o = convqa(&[
            "score",
            "--from",
            format,
            s(&input),
            "--out",
            s(&direct),
            "--no-models",
            "--quiet",
        ]);
        assert!(o.status.success(), "score --from {format}: {}", stderr(&o));
        let o = convqa(&["score", s(&jsonl), "--out", s(&via), "--no-models", "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        for table in ["conversations.parquet", "turns.parquet", "flags.parquet"] {
            let (a, b) = (
                crate::common::read_table(&direct.join(table)),
                crate::common::read_table(&via.join(table)),
            );
            assert!(a.num_rows() > 0 || table == "flags.parquet", "{format} {table} is empty");
            assert_eq!(a, b, "{format}: {table} differs between score --from and convert + score");
        }
        let summary: Value =
            serde_json::from_slice(&std::fs::read(direct.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["adapter"]["format"], format);
        assert_eq!(
            summary["counts"]["read"],
            summary["counts"]["scored"].as_u64().unwrap()
                + summary["counts"]["rejected"].as_u64().unwrap()
        );
    }
}

#[test]
fn a_bot_reply_is_never_the_agents_first_response() {
    let dir = tempfile::tempdir().unwrap();
    let input = crate::common::data(
        "adapters/connect-chat/2025/03/04/9a7e5c31-44d2-4f0b-8e6a-5b1d2c3e4f50_20250304T2102_UTC.json",
    );
    let o = convqa(&[
        "score",
        "--from",
        "connect-chat",
        s(&input),
        "--out",
        s(dir.path()),
        "--no-models",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let convs = crate::common::read_table(&dir.path().join("conversations.parquet"));
    // The bot answered 0.9 s after the customer; Priya 114.49 s after.
    let first = crate::common::f64s(&convs, "first_response_secs")[0].unwrap();
    assert!(
        (first - 114.49).abs() < 0.01,
        "first response {first} s, expected the human agent's 114.49 s"
    );
}

#[test]
fn compressed_exports_read_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let plain = crate::common::data("adapters/zendesk/tickets.jsonl");
    let bytes = std::fs::read(&plain).unwrap();
    let gz = dir.path().join("tickets.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let connect = crate::common::data(
        "adapters/connect-chat/2025/03/04/6f1c2a90-0b7e-4a51-9d1e-2c4f0a7b3e11_20250304T0815_UTC.json",
    );
    let zst = dir.path().join("contact.json.zst");
    std::fs::write(&zst, zstd::encode_all(&std::fs::read(&connect).unwrap()[..], 3).unwrap())
        .unwrap();

    let strip_file = |rejects: Vec<Value>| -> Vec<Value> {
        rejects
            .into_iter()
            .map(|mut r| {
                r["file"] = Value::Null;
                r
            })
            .collect()
    };
    let (a, ra, _) = convert("zendesk", &[plain], &[]);
    let (b, rb, _) = convert("zendesk", &[gz], &[]);
    assert_eq!(a, b, ".jsonl.gz converts to the same conversations");
    assert_eq!(strip_file(ra), strip_file(rb));
    let (c, _, _) = convert("connect-chat", &[connect], &[]);
    let (d, _, _) = convert("connect-chat", &[zst], &[]);
    assert_eq!(c, d, ".json.zst converts to the same conversation");

    // convqa score reads compressed JSONL too, also found in a folder.
    let sample = std::fs::read(crate::common::data("sample/zh-hant.jsonl")).unwrap();
    let folder = dir.path().join("in");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("sample.jsonl.zst"), zstd::encode_all(&sample[..], 3).unwrap())
        .unwrap();
    let out = dir.path().join("scored");
    let o = convqa(&["score", s(&folder), "--out", s(&out), "--no-models", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let lines =
        sample.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count();
    assert_eq!(summary["counts"]["read"], lines as u64);
}

#[test]
fn a_file_of_another_format_stops_naming_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let input = crate::common::data("adapters/zendesk/ticket-35800.json");
    let o =
        convqa(&["convert", "connect-chat", s(&input), "--out", s(&dir.path().join("x.jsonl"))]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("ticket-35800.json:1: not a connect-chat export"), "{e}");
    assert!(e.contains("\"Transcript\""), "says what was expected: {e}");
    assert!(!dir.path().join("x.jsonl").exists(), "no partial output is left");
}

#[test]
fn json_without_a_mapping_and_a_bad_gap_are_argument_errors() {
    let o = convqa(&["convert", "json", "x.json", "--out", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--mapping"), "{}", stderr(&o));
    let o = convqa(&["convert", "wecom-archive", "x.jsonl", "--out", "-", "--gap", "5 days"]);
    assert_eq!(o.status.code(), Some(2));
}
