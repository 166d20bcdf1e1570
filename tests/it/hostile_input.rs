//! Hostile input a nightly job meets: every line either works or lands in rejects with its
//! reason, the counts add up, and nothing panics. (Property tests and fuzzing cover arbitrary
//! bytes; these are the named cases of the reliability issue, one line each.)

use crate::common::*;
use convqa::job::{RunOptions, run};
use serde_json::json;

fn conv(id: &str) -> serde_json::Value {
    json!({"conversation_id": id, "agent_id": "a", "channel": "chat", "turns": [
        {"speaker": "customer", "text": "hi, my order is late", "ts": "2026-11-02T09:00:00Z"},
        {"speaker": "agent", "text": "Hello! Sorry about that, let me check.", "ts": "2026-11-02T09:01:00Z"}]})
}

/// (line bytes, expected reject code or None when it must be scored)
fn cases() -> Vec<(Vec<u8>, Option<&'static str>)> {
    let line = |v: &serde_json::Value| serde_json::to_vec(v).unwrap();
    let mut big_turn = conv("big-turn");
    big_turn["turns"][0]["text"] = json!("投诉".repeat(200_000) + " I want a refund"); // 1.2 MB
    let mut many = conv("ten-thousand-turns");
    many["turns"] = (0..10_000)
        .map(|k| {
            let who = if k % 2 == 0 { "customer" } else { "agent" };
            json!({"speaker": who, "text": format!("message {k}"),
                   "ts": format!("2026-11-02T{:02}:{:02}:{:02}Z", 9 + k / 3600, (k / 60) % 60, k % 60)})
        })
        .collect();
    let mut nul = conv("nul-in-text");
    nul["turns"][0]["text"] = json!("before\u{0}after");
    let mut no_zone = conv("no-zone");
    no_zone["turns"][0]["ts"] = json!("2026-11-02T09:00:00");
    let mut offset = conv("offset");
    offset["turns"][0]["ts"] = json!("2026-11-02T17:00:00+08:00");
    let mut out_of_order = conv("out-of-order");
    out_of_order["turns"][0]["ts"] = json!("2026-11-02T09:05:00Z");
    let mut unknown_speaker = conv("bot");
    unknown_speaker["turns"][0]["speaker"] = json!("bot");
    let mut empty_text = conv("empty-text");
    empty_text["turns"][1]["text"] = json!("");
    let mut no_turns = conv("no-turns");
    no_turns["turns"] = json!([]);
    let mut weird = conv("weird-unicode");
    weird["turns"][0]["text"] =
        json!("\u{202e}\u{200b}\u{feff} 😡😡 \u{10FFFF} ｆｕｌｌ　ｗｉｄｔｈ");
    let nested = [b"{\"a\":".repeat(5_000), b"1".to_vec(), b"}".repeat(5_000)].concat();
    let mut invalid_utf8 = line(&conv("bad-utf8"));
    let at = invalid_utf8.windows(5).position(|w| w == b"Hello").unwrap();
    invalid_utf8[at + 2] = 0xff;
    let mut bom_mid_file = b"\xEF\xBB\xBF".to_vec();
    bom_mid_file.extend(line(&conv("bom-mid-file")));
    let mut crlf = line(&conv("crlf"));
    crlf.push(b'\r');
    vec![
        (line(&big_turn), None),
        (line(&many), None),
        (line(&nul), None),
        (line(&offset), None),
        (line(&out_of_order), None),
        (line(&empty_text), None),
        (line(&weird), None),
        (bom_mid_file, None),
        (crlf, None),
        (line(&no_zone), Some("invalid_field")),
        (line(&unknown_speaker), Some("invalid_field")),
        (line(&no_turns), Some("empty_turns")),
        (nested, Some("missing_field")),
        (invalid_utf8, Some("invalid_utf8")),
        (b"\0\0\0".to_vec(), Some("invalid_json")),
        (b"[1, 2, 3]".to_vec(), Some("not_an_object")),
        (line(&conv("offset")), Some("duplicate_id")),
    ]
}

fn write_cases(dir: &std::path::Path) -> std::path::PathBuf {
    let mut bytes = Vec::new();
    for (line, _) in cases() {
        bytes.extend(line);
        bytes.push(b'\n');
    }
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn every_hostile_line_is_scored_or_rejected_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write_cases(tmp.path());
    let mut opts = RunOptions::new(vec![input], tmp.path().join("out"));
    opts.model = None;
    let summary = run(&opts).unwrap_or_else(|e| panic!("{e}"));
    let c = &summary.counts;
    let expected = cases();
    assert_eq!(c.read, expected.len() as u64);
    assert_eq!(c.read, c.scored + c.rejected, "every line accounted for");
    let rejects: Vec<serde_json::Value> =
        std::fs::read_to_string(tmp.path().join("out/rejects.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    for (i, (_, code)) in expected.iter().enumerate() {
        let line = i as u64 + 1;
        let got = rejects.iter().find(|r| r["line"] == line).map(|r| r["code"].as_str().unwrap());
        assert_eq!(got, *code, "line {line}");
    }
    let conv = read_table(&tmp.path().join("out/conversations.parquet"));
    let ids = strings(&conv, "conversation_id");
    let turns = i32s(&conv, "n_turns");
    let at = |id: &str| ids.iter().position(|x| x.as_deref() == Some(id)).unwrap();
    assert_eq!(turns[at("ten-thousand-turns")], Some(10_000));
    // the out-of-order timestamps are scored and flagged, not rejected
    let flags = read_table(&tmp.path().join("out/flags.parquet"));
    let flagged: Vec<(Option<String>, Option<String>)> =
        strings(&flags, "conversation_id").into_iter().zip(strings(&flags, "flag")).collect();
    assert!(
        flagged.contains(&(Some("out-of-order".into()), Some("timestamps_out_of_order".into())))
    );
}

#[test]
fn max_turns_is_a_documented_limit_with_its_own_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write_cases(tmp.path());
    let mut opts = RunOptions::new(vec![input], tmp.path().join("out"));
    opts.model = None;
    opts.max_turns = 1_000;
    run(&opts).unwrap();
    let rejects = std::fs::read_to_string(tmp.path().join("out/rejects.jsonl")).unwrap();
    let line2: serde_json::Value = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .find(|r: &serde_json::Value| r["line"] == 2)
        .unwrap();
    assert_eq!(line2["code"], "too_many_turns");
    assert!(line2["reason"].as_str().unwrap().contains("--max-turns"));
}

#[test]
fn strict_stops_at_the_first_reject_with_exit_7_and_keeps_the_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sample = data("sample");
    let ok = convqa(&[
        "score",
        sample.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-models",
        "--quiet",
    ]);
    assert!(ok.status.success());
    let before = std::fs::read(out.join("conversations.parquet")).unwrap();
    let input = write_cases(tmp.path());
    let strict = convqa(&[
        "score",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-models",
        "--strict",
    ]);
    assert_eq!(strict.status.code(), Some(7));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(err.contains("hostile.jsonl:10") && err.contains("invalid_field"), "{err}");
    assert_eq!(std::fs::read(out.join("conversations.parquet")).unwrap(), before);
}

#[test]
fn progress_json_gives_schedulers_one_object_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sample = data("sample");
    let o = convqa(&[
        "score",
        sample.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-models",
        "--progress",
        "json",
    ]);
    assert!(o.status.success());
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let last = events.last().expect("at least the done event");
    assert_eq!(last["event"], "done");
    assert_eq!(last["counts"]["scored"], 50);
    assert!(events.iter().any(|e| e["event"] == "read_done" && e["total_bytes"].is_u64()));
}
