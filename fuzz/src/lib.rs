//! The invariants that the fuzz targets and `tests/it/properties.rs` check, defined once: the
//! property tests include this file as a module (`#[path = "../fuzz/src/lib.rs"]`), the fuzz
//! targets link it as the `convqa_fuzz` library. Every check panics with what broke and on
//! which input, which is how both libFuzzer and proptest see a failure.
//!
//! - [`check_segmentation`]: normalize + segment; every token's original span slices the
//!   original on char boundaries, the normalized → original map is in bounds, monotone and
//!   covers the whole text.
//! - [`check_scoring`]: the rubric's hits and every flag's span slice their turn; `qa_score` is
//!   a number from 0 to 100.
//! - [`check_redaction`]: findings in order on char boundaries, the text between tags kept,
//!   idempotent (nothing left to redact), `map_span` on char boundaries of the redacted text.
//! - [`check_rubric`]: any rubric text loads or gives an error naming the file; a rubric that
//!   loads scores [`sample_conversations`] sanely.
//! - [`check_line`] / [`check_file`]: any bytes give a conversation or a reject with a reason
//!   code; every line of a file is scored, rejected or blank.

use std::io::Write;

use chrono::{DateTime, Duration};
use convqa::conversation::Origin;
use convqa::input::{InputReader, Record, RejectReason, Source, parse_line};
use convqa::redact::Redactor;
use convqa::rubric::{MatchScratch, Rubric};
use convqa::segment::TokenKind;
use convqa::{Channel, Conversation, Engine, Speaker, Turn};

/// Every reason code a reject may carry (`summary.json`'s `rejected_by_reason`).
pub const REASON_CODES: [&str; 9] = [
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "empty_turns",
    "line_too_long",
    "too_many_turns",
    "duplicate_id",
];

/// A conversation of `turns` (speaker, text, seconds after the previous turn; negative steps
/// make timestamps go backwards, which the input allows).
pub fn conversation(channel: Channel, turns: Vec<(Speaker, String, i64)>) -> Conversation {
    let mut ts = DateTime::parse_from_rfc3339("2026-11-02T09:14:03+08:00").expect("valid time");
    let turns = turns
        .into_iter()
        .map(|(speaker, text, step)| {
            ts += Duration::seconds(step);
            Turn { speaker, text, ts }
        })
        .collect();
    Conversation::with_turns(
        "fuzz",
        "agent",
        channel,
        turns,
        Origin { file: "fuzz".into(), line: 1 },
    )
}

/// Four fixed conversations to score with any rubric that loads: zh-Hans, zh-Hant, en and mixed;
/// chat, e-mail and phone; distress, apologies, a rude reply, slow and out-of-order replies, a
/// closing thank-you.
pub fn sample_conversations() -> Vec<Conversation> {
    use Speaker::{Agent, Customer, System};
    let turns = |t: &[(Speaker, &str, i64)]| -> Vec<(Speaker, String, i64)> {
        t.iter().map(|&(s, text, step)| (s, text.to_string(), step)).collect()
    };
    vec![
        conversation(
            Channel::Chat,
            turns(&[
                (Customer, "你好，我的账单多扣了30元，我很生气", 0),
                (Agent, "您好，很抱歉给您带来不便，我马上为您查询。", 65),
                (Customer, "好的，谢谢", 30),
                (Agent, "已经退款了，还有其他可以帮您的吗？祝您生活愉快", 400),
            ]),
        ),
        conversation(
            Channel::Email,
            turns(&[
                (Customer, "請問我的訂單什麼時候到？已經等了一個禮拜", 0),
                (System, "transferred to agent", 5),
                (Agent, "您好，不好意思讓您久等了，請放心，我們會盡快處理", 20_000),
            ]),
        ),
        conversation(
            Channel::Phone,
            turns(&[
                (Customer, "This is ridiculous, I want a refund or I'll cancel", 0),
                (Agent, "That's not my problem, calm down.", 10),
                (Customer, "I want to speak to your manager", -5),
            ]),
        ),
        conversation(
            Channel::Chat,
            turns(&[
                (Agent, "Hi! 欢迎 to our shop 😀", 0),
                (Customer, "我不生气, just check ＯＲＤＥＲ１２３ please", 30),
                (Agent, "Sorry for the wait, 我帮你 check 一下. Anything else?", 200),
                (Customer, "no, that's all, thanks", 10),
            ]),
        ),
    ]
}

/// Normalizes and segments `original`; every offset must be in bounds and on char boundaries.
pub fn check_segmentation(engine: &Engine, original: &str) {
    let seg = engine.segmenter.segment(original);
    let norm = &seg.normalized;
    let n = norm.text.as_str();
    assert_eq!(n.is_empty(), original.is_empty(), "{original:?} normalized to {n:?}");
    if !n.is_empty() {
        assert_eq!(norm.original_range(0..n.len()), 0..original.len(), "{original:?}: whole text");
    }
    // The map at every normalized char: in bounds, on char boundaries, monotone.
    let bounds: Vec<usize> = n.char_indices().map(|(i, _)| i).chain([n.len()]).collect();
    let mut last = 0..0;
    for w in bounds.windows(2) {
        let r = norm.original_range(w[0]..w[1]);
        assert!(
            r.start <= r.end && original.get(r.clone()).is_some(),
            "normalized {:?} of {n:?} maps to {r:?}, which does not slice {original:?}",
            w[0]..w[1]
        );
        assert!(
            r.start >= last.start && r.end >= last.end,
            "{original:?}: map not monotone, {last:?} then {r:?}"
        );
        last = r;
    }
    let mut prev_end = 0;
    let mut prev_orig = 0..0;
    for (i, t) in seg.tokens.iter().enumerate() {
        assert!(t.start < t.end && t.start >= prev_end, "{original:?}: token {i} {t:?}");
        assert!(n.get(t.range()).is_some(), "token {t:?} off char boundaries of {n:?}");
        let o = t.original_range();
        assert!(original.get(o.clone()).is_some(), "token {t:?} does not slice {original:?}");
        assert_eq!(o, norm.original_range(t.range()), "{original:?}: token {t:?} and the map");
        assert!(
            o.start >= prev_orig.start && o.end >= prev_orig.end,
            "{original:?}: token {t:?} before the previous one"
        );
        if t.kind == TokenKind::Word {
            // Non-Chinese text is normalized per grapheme cluster, without context: the original
            // span of a word, normalized on its own, contains the word.
            let alone = convqa::normalize::normalize(&original[o.clone()]);
            assert!(
                alone.text.contains(seg.token_text(i)),
                "word {:?} from {:?} (normalized alone: {:?})",
                seg.token_text(i),
                &original[o.clone()],
                alone.text
            );
        }
        prev_end = t.end;
        prev_orig = o;
    }
    assert!(seg.inner_boundaries.is_sorted(), "{original:?}: inner boundaries unsorted");
    for &b in &seg.inner_boundaries {
        let inside = seg.tokens.iter().any(|t| t.start < b && b < t.end);
        assert!(inside && n.is_char_boundary(b as usize), "inner boundary {b} of {n:?}");
    }
}

/// Scores `conv` with `engine` (no model): hits and flag spans slice their turns, `qa_score`
/// is a number from 0 to 100.
pub fn check_scoring(engine: &Engine, conv: &Conversation) {
    let mut scratch = MatchScratch::default();
    for turn in &conv.turns {
        let seg = engine.segmenter.segment(&turn.text);
        let mut hits = Vec::new();
        engine.rubric.matcher.find(&seg, &mut scratch, &mut hits);
        for h in hits {
            let r = h.orig_start as usize..h.orig_end as usize;
            assert!(
                r.start < r.end && turn.text.get(r).is_some(),
                "hit {h:?} does not slice {:?}",
                turn.text
            );
            assert!(h.first_token <= h.last_token && (h.last_token as usize) < seg.tokens.len());
        }
    }
    let (scores, _) = convqa::score_batch(engine, std::slice::from_ref(conv))
        .unwrap_or_else(|e| panic!("score_batch without a model failed: {e}"));
    assert_eq!(scores.len(), 1);
    let score = &scores[0];
    assert_eq!(score.turns.len(), conv.turns.len());
    assert!(
        score.qa_score.is_finite() && (0.0..=100.0).contains(&score.qa_score),
        "qa_score {} for {conv:?}",
        score.qa_score
    );
    for f in &score.flags {
        let Some(turn) = f.turn_index else { continue };
        let text = &conv.turns[turn as usize].text;
        assert_eq!(&f.evidence, text, "a flag's evidence is its turn's text");
        if let Some((s, e)) = f.span {
            let slice = text.get(s as usize..e as usize);
            assert!(slice.is_some(), "flag {f:?}: span does not slice {text:?}");
            assert_eq!(f.matched.as_deref(), slice, "flag {f:?}: matched is the span");
        }
    }
}

/// Redacts `text`: findings in order on char boundaries with their tags in place and the text
/// between them kept, nothing left to redact, and spans (`positions` taken in pairs, each
/// rounded to a char boundary) mapped onto char boundaries of the redacted text.
pub fn check_redaction(redactor: &Redactor, text: &str, positions: &[usize]) {
    let once = redactor.redact(text);
    let (mut pos, mut red_pos) = (0, 0);
    for r in &once.redactions {
        assert!(r.original.start >= pos && r.original.start < r.original.end, "{text:?}: {r:?}");
        assert!(text.get(r.original.clone()).is_some(), "{text:?}: {r:?} off char boundaries");
        assert_eq!(once.text.get(r.redacted.clone()), Some(r.kind.tag()), "{text:?}: {r:?}");
        assert_eq!(
            &text[pos..r.original.start],
            &once.text[red_pos..r.redacted.start],
            "{text:?}: text between tags changed"
        );
        (pos, red_pos) = (r.original.end, r.redacted.end);
    }
    assert_eq!(&text[pos..], &once.text[red_pos..], "{text:?}: text after the last tag changed");
    let left = redactor.find(&once.text);
    assert!(
        left.is_empty(),
        "redacting {text:?} gave {:?}, which still holds {:?}",
        once.text,
        left.iter().map(|(k, r)| (k.as_str(), &once.text[r.clone()])).collect::<Vec<_>>()
    );
    assert_eq!(redactor.redact(&once.text).text, once.text, "redacting twice = once");
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    for pair in positions.chunks_exact(2) {
        let (a, b) = (bounds[pair[0] % bounds.len()], bounds[pair[1] % bounds.len()]);
        let (start, end) = (a.min(b), a.max(b));
        let (s, e) = once.map_span(start, end);
        assert!(
            s <= e && once.text.get(s..e).is_some(),
            "map_span({start}, {end}) = ({s}, {e}) does not slice {:?}",
            once.text
        );
        let touches =
            once.redactions.iter().any(|r| r.original.start < end && start < r.original.end);
        if !touches {
            assert_eq!(&once.text[s..e], &text[start..end], "an untouched span keeps its text");
        }
    }
}

/// Parses `text` as a rubric file named `fuzz.toml`: a rubric, or an error whose message names
/// the file; never a panic. A rubric that loads replaces `engine`'s and must score
/// `conversations` sanely ([`check_scoring`]). Returns whether it loaded.
pub fn check_rubric(engine: &mut Engine, text: &str, conversations: &[Conversation]) -> bool {
    match Rubric::parse(text, "fuzz.toml", &engine.segmenter) {
        Ok(rubric) => {
            engine.rubric = rubric;
            for conv in conversations {
                check_scoring(engine, conv);
            }
            true
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.toml: "), "error without the file name: {message}");
            false
        }
    }
}

fn check_reason(reason: &RejectReason) {
    assert!(REASON_CODES.contains(&reason.code()), "unknown reason code {}", reason.code());
    assert!(!reason.to_string().is_empty(), "reject without a reason: {reason:?}");
}

/// One line through the parser: a valid conversation or a reject with a reason code.
pub fn check_line(bytes: &[u8]) -> Option<Conversation> {
    match parse_line(bytes, Origin { file: "fuzz".into(), line: 1 }) {
        Ok(conv) => {
            assert!(!conv.turns.is_empty(), "a conversation without turns");
            assert!(!conv.conversation_id.trim().is_empty() && !conv.agent_id.trim().is_empty());
            assert!(conv.csat.is_none_or(|c| (1..=5).contains(&c)), "csat {:?}", conv.csat);
            Some(conv)
        }
        Err(reason) => {
            check_reason(&reason);
            None
        }
    }
}

/// Lines of a file as the reader sees them: `\n`-terminated (the last may lack it), each
/// without a leading UTF-8 BOM (concatenated exports). Returns (lines, blank lines).
pub fn expected_lines(file: &[u8]) -> (u64, u64) {
    if file.is_empty() {
        return (0, 0);
    }
    let body = file.strip_suffix(b"\n").unwrap_or(file);
    let mut lines = 0;
    let mut blank = 0;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        lines += 1;
        blank += line.iter().all(u8::is_ascii_whitespace) as u64;
    }
    (lines, blank)
}

/// A whole file through the reader: every line is a conversation, a reject or blank, line
/// numbers go up, and the counts add up. Returns the conversations.
pub fn check_file(file: &[u8], max_line_bytes: usize, max_turns: usize) -> Vec<Conversation> {
    let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
    tmp.write_all(file).expect("write temp file");
    let source = Source::File(tmp.path().to_path_buf());
    let mut reader = InputReader::new(vec![source], max_line_bytes).with_max_turns(max_turns);
    let mut conversations = Vec::new();
    let (mut rejected, mut last_line) = (0u64, 0u64);
    while let Some(record) = reader.next().unwrap_or_else(|e| panic!("reader failed: {e}")) {
        let line = match record {
            Record::Conversation(c) => {
                assert!(c.turns.len() <= max_turns, "{} turns over the limit", c.turns.len());
                let line = c.origin.line;
                conversations.push(*c);
                line
            }
            Record::Rejected(r) => {
                rejected += 1;
                check_reason(&r.reason);
                r.origin.line
            }
        };
        assert!(line > last_line, "line {line} after line {last_line}");
        last_line = line;
    }
    let stats = &reader.stats()[0];
    let scored = conversations.len() as u64;
    let (lines, blank) = expected_lines(file);
    assert_eq!(stats.lines, lines, "every line read");
    assert_eq!(stats.lines, scored + rejected + stats.blank_lines, "read = scored + rejected");
    assert_eq!((stats.conversations, stats.rejected), (scored, rejected));
    assert_eq!(stats.bytes, file.len() as u64, "bytes read");
    if max_line_bytes >= file.len() {
        assert_eq!(stats.blank_lines, blank, "blank lines");
    } else {
        assert!(stats.blank_lines <= blank, "blank lines");
    }
    conversations
}
