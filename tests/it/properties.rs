//! Property tests (issue 8): the text stages, PII redaction and the JSONL reader on arbitrary
//! input — CJK, full-width forms, Traditional characters, emoji sequences, combining marks,
//! right-to-left text and bidi controls, control characters, NUL, long runs, NFKC expansions,
//! rubric phrases glued to all of these — never panic and keep their offset guarantees:
//!
//! - segmentation: every token's original span slices the original on char boundaries, and the
//!   normalized → original map is monotone, in bounds and covers the whole text;
//! - scoring: `score_batch` never panics, every rubric hit and every flag span slices its turn;
//! - redaction: spans on char boundaries, idempotent (nothing left to redact), `map_span` lands
//!   on char boundaries of the redacted text;
//! - input: any bytes as a line give a conversation (which then scores) or a reject with a
//!   reason code, and any bytes as a file account for every line (read = scored + rejected +
//!   blank), with generous and with tight limits;
//! - rubric: the default rubric with numbers swapped for edge values (`nan`, `1e307`, `-1`, ...)
//!   loads and scores within 0–100, or is refused naming the file.
//!
//! The checks themselves are `fuzz/src/lib.rs`, shared with the fuzz targets. Case counts are
//! modest (256 a property, 48 for rubrics) so `cargo test` stays fast; `PROPTEST_CASES=5000`
//! hunts longer, and `fuzz/` runs the same checks for much longer (see `fuzz/README.md`).

use std::sync::{LazyLock, Mutex, PoisonError};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

use convqa::redact::{PiiKind, Redactor};
use convqa::{Channel, Conversation, Engine, Speaker};

/// The invariants, shared with the fuzz targets (`fuzz/`): each check panics with what broke,
/// which proptest reports and shrinks like a failed `prop_assert!`.
#[path = "../../fuzz/src/lib.rs"]
mod checks;

use checks::{check_file, check_line, check_redaction, check_scoring, check_segmentation};

static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::with_default_rubric().expect("the built-in rubric loads"));

/// Every phrase of the default rubric, so generated text fires rules next to hostile characters.
static PHRASES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut p: Vec<String> =
        ENGINE.rubric.rules.iter().flat_map(|r| r.phrases.iter().cloned()).collect();
    p.extend(["不", "没有", "not", "never", "don't"].map(String::from));
    p
});

/// `cases` per property, or `PROPTEST_CASES` from the environment for a longer hunt. Failures are
/// kept as named regression tests below, not in a persistence file.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

// ---------------------------------------------------------------------------------------------
// strategies
// ---------------------------------------------------------------------------------------------

fn chars_in(ranges: &[std::ops::RangeInclusive<char>]) -> BoxedStrategy<char> {
    prop::char::ranges(ranges.to_vec().into()).boxed()
}

fn run_of(c: BoxedStrategy<char>, len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    prop::collection::vec(c, len).prop_map(|v| v.into_iter().collect()).boxed()
}

fn pick(items: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(items.to_vec()).prop_map(String::from).boxed()
}

/// Traditional characters and zh-Hant words whose conversion is phrase-aware or may change length.
const TRADITIONAL: &[&str] = &[
    "請",
    "謝謝",
    "說話",
    "們",
    "這個",
    "國",
    "學",
    "還",
    "會",
    "時間",
    "對不起",
    "應該",
    "麼",
    "樣",
    "歡迎",
    "愛",
    "聽",
    "讓",
    "覺得",
    "麵",
    "頭髮",
    "後",
    "裡",
    "著",
    "鬱",
    "臺灣",
    "號碼",
    "帳單",
    "訂單",
    "錢",
    "銀行",
    "員",
    "問題",
    "幫忙",
    "記憶體",
    "滑鼠",
    "軟體",
    "網路",
    "資訊",
    "計程車",
    "部落格",
    "螢幕",
    "乾淨",
    "乾隆",
    "瞭解",
    "於是",
    "隻",
    "隱私",
    "請放心",
    "很抱歉",
    "造成您的不便",
    "唔該",
    "冇",
    "佢哋",
    "係咪",
];

/// Single characters whose case mapping or NFKC expands, contracts or changes script.
const EXPANDING: &[&str] = &[
    "İ",
    "ẞ",
    "ß",
    "ﬃ",
    "ﬀ",
    "ǅ",
    "ῼ",
    "ΐ",
    "\u{345}",
    "㍻",
    "㋿",
    "㍿",
    "㍘",
    "㏠",
    "℡",
    "™",
    "½",
    "ﷺ",
    "ﷻ",
    "Ω",
    "K",
    "Å",
    "①",
    "⑴",
    "⒈",
    "㈠",
    "㊀",
    "㉑",
    "⼀",
    "⿕",
    "豈",
    "🈀",
    "🉐",
    "ｶﾞ",
    "ﾟ",
    "ㄱ",
    "\u{1100}\u{1161}\u{11a8}",
    "Σ",
    "ς",
    "ﹰ",
    "\u{fe00}",
    "\u{e0100}",
];

/// Emoji sequences that form one grapheme cluster from several chars.
const EMOJI_SEQUENCES: &[&str] = &[
    "👨‍👩‍👧‍👦",
    "👍🏽",
    "🇨🇳",
    "🇹🇼🇭🇰",
    "🇺",
    "❤️",
    "1️⃣",
    "#️⃣",
    "🏳️‍🌈",
    "🧑🏿‍💻",
    "\u{200d}",
    "☺\u{fe0f}",
    "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
];

/// One piece of hostile text.
fn piece() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z']{1,8}",
        2 => "[0-9 .,!?:;@+#$%()\\-]{1,6}",
        2 => "[ \t\n\r]{1,3}",
        4 => run_of(chars_in(&['\u{4e00}'..='\u{9fff}']), 1..6),
        1 => run_of(
            chars_in(&[
                '\u{3400}'..='\u{4dbf}',
                '\u{f900}'..='\u{faff}',
                '\u{2f00}'..='\u{2fd5}',
                '\u{3280}'..='\u{33ff}',
                '\u{20000}'..='\u{2a6df}',
                '\u{1f200}'..='\u{1f2ff}',
            ]),
            1..4,
        ),
        3 => pick(TRADITIONAL),
        2 => run_of(chars_in(&['\u{ff01}'..='\u{ff9f}', '\u{3000}'..='\u{303f}']), 1..6),
        1 => run_of(chars_in(&['\u{1f300}'..='\u{1faff}', '\u{2600}'..='\u{27bf}']), 1..4),
        1 => pick(EMOJI_SEQUENCES),
        2 => run_of(
            chars_in(&['\u{300}'..='\u{36f}', '\u{20d0}'..='\u{20ff}', '\u{1ab0}'..='\u{1aff}']),
            1..5,
        ),
        1 => run_of(
            chars_in(&[
                '\u{590}'..='\u{5ff}',
                '\u{600}'..='\u{6ff}',
                '\u{700}'..='\u{74f}',
                '\u{fb50}'..='\u{fdff}',
                '\u{fe70}'..='\u{feff}',
            ]),
            1..8,
        ),
        1 => run_of(
            chars_in(&[
                '\u{200e}'..='\u{200f}',
                '\u{202a}'..='\u{202e}',
                '\u{2066}'..='\u{2069}',
            ]),
            1..3,
        ),
        2 => run_of(
            chars_in(&[
                '\u{0}'..='\u{1f}',
                '\u{7f}'..='\u{9f}',
                '\u{200b}'..='\u{200d}',
                '\u{2028}'..='\u{2029}',
                '\u{feff}'..='\u{feff}',
                '\u{fffd}'..='\u{fffd}',
            ]),
            1..4,
        ),
        1 => Just("\0".to_string()),
        2 => pick(EXPANDING),
        1 => run_of(chars_in(&['\u{ac00}'..='\u{d7a3}', '\u{3040}'..='\u{30ff}']), 1..6),
        1 => any::<char>().prop_map(String::from),
        4 => prop::sample::select(PHRASES.clone()),
        1 => (prop_oneof![
                Just('a'), Just('好'), Just('請'), Just('！'), Just('\u{301}'), Just(' '),
                Just('\0'), Just('😀'), Just('ﷺ'), Just('ا'), Just('\u{200d}'), Just('1'),
             ], 50..800usize)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        1 => prop::sample::select(PHRASES.clone())
            .prop_flat_map(|p| (Just(p), 5..60usize))
            .prop_map(|(p, n)| p.repeat(n)),
    ]
    .boxed()
}

/// Arbitrary hostile text: pieces glued together, or any Unicode string at all.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(piece(), 0..16).prop_map(|v| v.concat()),
        1 => any::<String>(),
    ]
    .boxed()
}

/// A conversation whose turns are hostile texts, with times that may go backwards.
fn conversation() -> BoxedStrategy<Conversation> {
    let speaker = prop::sample::select(vec![
        Speaker::Customer,
        Speaker::Agent,
        Speaker::Agent,
        Speaker::System,
    ]);
    let channel = prop::sample::select(Channel::ALL.to_vec());
    let turns = prop::collection::vec((speaker, text(), -30i64..4000), 1..6);
    (channel, turns).prop_map(|(channel, turns)| checks::conversation(channel, turns)).boxed()
}

/// Digits as customers type them: ASCII or full-width, grouped with spaces or dashes.
fn typed(digits: &[u32], full_width: bool, sep: &'static str, group: usize) -> String {
    let mut s = String::new();
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && group > 0 && i % group == 0 {
            s.push_str(sep);
        }
        let base = if full_width { '０' } else { '0' };
        s.push(char::from_u32(base as u32 + d).expect("digit"));
    }
    s
}

fn luhn_complete(mut d: Vec<u32>) -> Vec<u32> {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 0 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    d.push((10 - sum % 10) % 10);
    d
}

fn prc_id(area: Vec<u32>, year: u32, month: u32, day: u32, seq: Vec<u32>) -> String {
    let mut d = area;
    d.extend([year / 1000, year / 100 % 10, year / 10 % 10, year % 10]);
    d.extend([month / 10, month % 10, day / 10, day % 10]);
    d.extend(seq);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d.iter().zip(W).map(|(a, b)| a * b).sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    let mut s: String = d.iter().map(|&x| char::from_digit(x, 10).expect("digit")).collect();
    s.push(check);
    s
}

/// A piece that is, or nearly is, personal data.
fn pii_piece() -> BoxedStrategy<String> {
    let digit = 0u32..10;
    let sep = prop::sample::select(vec![" ", "-", ""]);
    let group = prop::sample::select(vec![0usize, 3, 4]);
    prop_oneof![
        // mainland mobile, with or without +86
        (
            3u32..10,
            prop::collection::vec(digit.clone(), 9),
            any::<bool>(),
            sep.clone(),
            group.clone(),
            any::<bool>()
        )
            .prop_map(|(second, rest, fw, sep, group, plus)| {
                let mut d = vec![1, second];
                d.extend(rest);
                let number = typed(&d, fw, sep, group);
                if plus { format!("+86 {number}") } else { number }
            }),
        // Luhn-valid card numbers (13–19 digits)
        (prop::collection::vec(digit.clone(), 12..19), any::<bool>(), sep.clone(), group.clone())
            .prop_map(|(mut d, fw, sep, group)| {
                d[0] = d[0].max(1);
                typed(&luhn_complete(d), fw, sep, group)
            }),
        // PRC ids with a valid check character
        (
            prop::collection::vec(digit.clone(), 6),
            1900u32..2101,
            1u32..13,
            1u32..32,
            prop::collection::vec(digit.clone(), 3)
        )
            .prop_map(|(area, y, m, d, seq)| prc_id(area, y, m, d, seq)),
        // landlines and international numbers
        (
            prop::collection::vec(digit.clone(), 6..16),
            prop::sample::select(vec!["0", "00", "+", "＋", "(010) ", "0086-"]),
            sep.clone(),
            group.clone()
        )
            .prop_map(|(d, prefix, sep, group)| format!(
                "{prefix}{}",
                typed(&d, false, sep, group)
            )),
        "[a-z0-9._%+\\-]{1,8}@[a-z0-9\\-]{1,6}(\\.[a-z0-9\\-]{1,4}){0,2}\\.[a-z]{2,4}",
        (0u32..300, 0u32..300, 0u32..300, 0u32..300)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        "[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,8}",
        "[0-9０-９ +＋\\-xXＸ().@:]{1,24}",
        "[0-9]{1,40}",
    ]
    .boxed()
}

fn pii_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::collection::vec(prop_oneof![2 => pii_piece(), 1 => piece()], 0..10)
            .prop_map(|v| v.concat()),
        1 => text(),
    ]
    .boxed()
}

/// A JSON line of the input schema with fields dropped, mistyped or hostile.
fn json_line() -> BoxedStrategy<Vec<u8>> {
    use serde_json::{Value, json};
    fn value(valid: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
        prop_oneof![
            8 => valid.prop_map(Some),
            1 => Just(None),
            1 => Just(Some(Value::Null)),
            1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
            1 => any::<f64>().prop_map(|f| Some(json!(f))),
            1 => text().prop_map(|s| Some(Value::from(s))),
            1 => Just(Some(Value::from(""))),
            1 => Just(Some(json!([[[[[{"x": [1, {"y": null}]}]]]]]))),
            1 => Just(Some(json!({"nested": {"speaker": "agent"}}))),
        ]
        .boxed()
    }
    fn one_of(items: &[&'static str]) -> BoxedStrategy<Value> {
        prop::sample::select(items.to_vec()).prop_map(Value::from).boxed()
    }
    let ts = one_of(&[
        "2026-11-02T09:14:03+08:00",
        "2026-11-02T01:14:03Z",
        "2026-11-02T09:14:03",
        "2026-11-02 09:14:03+08:00",
        "yesterday",
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+00:00",
        "2026-02-30T09:14:03+08:00",
    ]);
    let turn = (
        value(one_of(&["customer", "agent", "system", "bot", ""])),
        value(text().prop_map(Value::from).boxed()),
        value(ts.clone()),
    )
        .prop_map(|(speaker, text, ts)| {
            let mut t = serde_json::Map::new();
            for (k, v) in [("speaker", speaker), ("text", text), ("ts", ts)] {
                if let Some(v) = v {
                    t.insert(k.into(), v);
                }
            }
            Value::Object(t)
        });
    (
        (
            value(one_of(&["c1", "c2", " ", "会话-1"])),
            value(one_of(&["agent_wang", "agent_tom"])),
            value(one_of(&["chat", "email", "phone", "fax", "CHAT"])),
        ),
        value(prop::collection::vec(turn, 0..4).prop_map(Value::Array).boxed()),
        value((-2i64..8).prop_map(Value::from).boxed()),
        value(Just(json!(["billing", "synthetic"])).boxed()),
        value(ts),
        value(any::<bool>().prop_map(Value::from).boxed()),
    )
        .prop_map(|((id, agent, channel), turns, csat, tags, started, resolved)| {
            let mut o = serde_json::Map::new();
            let fields = [
                ("conversation_id", id),
                ("agent_id", agent),
                ("channel", channel),
                ("turns", turns),
                ("csat", csat),
                ("tags", tags),
                ("started_at", started),
                ("resolved", resolved),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            }
            serde_json::to_vec(&Value::Object(o)).expect("serializable")
        })
        .boxed()
}

/// Real lines from `data/` (the sample and the broken file) to mutate.
static SEED_LINES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut lines = Vec::new();
    for f in
        ["sample/en.jsonl", "sample/zh-hant.jsonl", "sample/mixed.jsonl", "broken/broken.jsonl"]
    {
        let bytes = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("data/{f}: {e}"));
        lines.extend(bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
    }
    lines
});

/// A real line with random bytes overwritten, inserted, or the line cut short.
fn mutated_line() -> BoxedStrategy<Vec<u8>> {
    (
        prop::sample::select(SEED_LINES.clone()),
        prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 0..6),
        prop::option::of(any::<Index>()),
    )
        .prop_map(|(mut line, edits, cut)| {
            for (at, byte, how) in edits {
                let i = at.index(line.len().max(1));
                match how {
                    0 if i < line.len() => line[i] = byte,
                    1 => line.insert(i.min(line.len()), byte),
                    _ if i < line.len() => {
                        line.remove(i);
                    }
                    _ => {}
                }
            }
            if let Some(cut) = cut {
                line.truncate(cut.index(line.len() + 1));
            }
            line
        })
        .boxed()
}

fn any_line() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..300),
        1 => any::<String>().prop_map(String::into_bytes),
        3 => json_line(),
        3 => mutated_line(),
        1 => (1usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
    ]
    .boxed()
}

fn file() -> BoxedStrategy<Vec<u8>> {
    let terminator = prop::sample::select(vec![
        &b"\n"[..],
        b"\r\n",
        b"\n\n",
        b" \t\n",
        b"\r",
        b"\n\xEF\xBB\xBF",
    ]);
    (any::<bool>(), prop::collection::vec((any_line(), terminator), 0..8), any::<bool>())
        .prop_map(|(bom, lines, last_newline)| {
            let mut out = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
            let n = lines.len();
            for (i, (line, end)) in lines.into_iter().enumerate() {
                out.extend_from_slice(&line);
                if i + 1 < n || last_newline {
                    out.extend_from_slice(end);
                }
            }
            out
        })
        .boxed()
}

/// Edge numbers for a rubric's values (space-separated).
const EDGE_NUMBERS: &str = "0 -0.0 -1 1e-320 5e-324 0.1 2 100 100.0000001 101 1e6 1e307 1e308 \
    1.7976931348623157e308 nan inf -inf 4294967296 18446744073709551616 \"3\"";

/// The default rubric with some of its numbers replaced by edge values and some lines dropped.
fn rubric_text() -> BoxedStrategy<String> {
    let lines: Vec<&'static str> = convqa::rubric::DEFAULT_RUBRIC.lines().collect();
    let numeric: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let value = lines[i].split_once('=').map(|(_, v)| v.trim_start());
            value.is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    let edge = prop::sample::select(EDGE_NUMBERS.split_whitespace().collect::<Vec<_>>());
    let edit = prop_oneof![
        4 => (prop::sample::select(numeric), edge).prop_map(|(line, value)| (line, Some(value))),
        1 => (0..lines.len()).prop_map(|line| (line, None)),
    ];
    prop::collection::vec(edit, 1..4)
        .prop_map(move |edits| {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            for (line, value) in edits {
                out[line] = match value {
                    Some(v) => format!("{} = {v}", lines[line].split_once('=').expect("key").0),
                    None => String::new(),
                };
            }
            out.join("\n")
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// the properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn segment_offsets_slice_the_original_on_char_boundaries(original in text()) {
        check_segmentation(&ENGINE, &original);
    }

    #[test]
    fn scoring_never_panics_and_spans_slice_the_turn(conv in conversation()) {
        check_scoring(&ENGINE, &conv);
    }

    #[test]
    fn redaction_is_idempotent_and_maps_spans_onto_char_boundaries(
        text in pii_text(),
        positions in prop::collection::vec(any::<usize>(), 2..16),
    ) {
        check_redaction(&Redactor::default(), &text, &positions);
    }

    #[test]
    fn any_line_is_a_conversation_or_a_reject_with_a_reason(line in any_line()) {
        if let Some(conv) = check_line(&line) {
            check_scoring(&ENGINE, &conv);
        }
    }

    #[test]
    fn any_file_accounts_for_every_line(file in file(), small in any::<bool>()) {
        let (max_line_bytes, max_turns) = if small { (64, 2) } else { (1 << 20, 10_000) };
        check_file(&file, max_line_bytes, max_turns);
    }
}

/// A second engine whose rubric the rubric property replaces (jieba loads once).
static RUBRIC_ENGINE: LazyLock<Mutex<Engine>> =
    LazyLock::new(|| Mutex::new(Engine::with_default_rubric().expect("the built-in rubric loads")));
static SAMPLE_CONVERSATIONS: LazyLock<Vec<Conversation>> =
    LazyLock::new(checks::sample_conversations);

proptest! {
    // Each case compiles a whole rubric (every phrase through jieba): fewer cases.
    #![proptest_config(config(48))]

    #[test]
    fn a_rubric_with_edge_numbers_loads_and_scores_or_names_the_field(text in rubric_text()) {
        let mut engine = RUBRIC_ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
        checks::check_rubric(&mut engine, &text, &SAMPLE_CONVERSATIONS);
    }
}

/// The generators above must produce what they claim (else the properties test little).
#[test]
fn generated_personal_data_is_recognised() {
    let redactor = Redactor::default();
    let card = luhn_complete(vec![4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    let card = typed(&card, false, " ", 4);
    assert_eq!(card, "4111 1111 1111 1111");
    let id = prc_id(vec![1, 1, 0, 1, 0, 5], 1949, 12, 31, vec![0, 0, 2]);
    assert_eq!(id, "11010519491231002X");
    let found: Vec<PiiKind> =
        redactor.find(&format!("{card} / {id}")).into_iter().map(|f| f.0).collect();
    assert_eq!(found, [PiiKind::Card, PiiKind::IdNumber]);
    assert_eq!(checks::expected_lines(b"\xEF\xBB\xBF\n a\r\n\r\nx"), (4, 2));
    assert_eq!(checks::expected_lines(b"\n\xEF\xBB\xBF"), (2, 2));
    assert_eq!(checks::expected_lines(b"a\n"), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// regressions found by these properties and the fuzz targets (issue 8)
// ---------------------------------------------------------------------------------------------

fn conversation_of(turns: &[(Speaker, &str)]) -> Conversation {
    let turns = turns.iter().map(|&(s, text)| (s, text.to_string(), 30)).collect();
    checks::conversation(Channel::Chat, turns)
}

/// A conversation whose only customer message is a closing thank-you owes no reply: its
/// responsiveness was 0 / 0 = NaN, and so was qa_score (and `passed` silently false).
#[test]
fn issue_8_closing_thanks_without_a_reply_due_scores_a_number() {
    for turns in [
        &[(Speaker::Customer, "謝謝")][..],
        &[(Speaker::Agent, "您好，您的退款已经到账了"), (Speaker::Customer, "好的，谢谢")],
        &[(Speaker::System, "transferred"), (Speaker::Customer, "thanks, that's all")],
    ] {
        let conv = conversation_of(turns);
        let score = ENGINE.score(&conv).expect("no model, no model error");
        assert!(
            score.qa_score.is_finite(),
            "qa_score {} for {turns:?}; help: a subscore divided by zero weight",
            score.qa_score
        );
        assert_eq!(score.responsiveness_score, None, "no reply was due in {turns:?}");
        check_scoring(&ENGINE, &conv);
    }
}

/// PII that competes with a neighbour for characters stayed in the output, and redacting the
/// output again found it: a phone number glued to an e-mail address (`[EMAIL]13000000000`), or
/// to another phone number, an e-mail whose local part starts inside a number, an IPv4 address
/// that takes the last digits of a number, an IPv6 address whose start is an e-mail's domain.
#[test]
fn issue_8_redacting_twice_changes_nothing() {
    let redactor = Redactor::default();
    for (text, once) in [
        ("-@0.aa13000000000", "[EMAIL][PHONE]"),
        ("mail a@b.co13812345678 please", "mail [EMAIL][PHONE] please"),
        ("13000000000+86 13000000000", "[PHONE][PHONE]"),
        ("+86 13000000000%@a.aa", "[PHONE][EMAIL]"),
        ("１３００００３０２１０0@-.aa1", "[PHONE][EMAIL]1"),
        ("１３０００００００３２22.0.0.0", "[PHONE][IP]"),
        ("x@y.cafe::1 here", "[EMAIL][IP] here"),
    ] {
        let red = redactor.redact(text);
        assert_eq!(red.text, once, "redacting {text:?}");
        assert_eq!(redactor.redact(&red.text).text, once, "redacting {text:?} twice");
        check_redaction(&redactor, text, &[0, 3, 5, 100]);
    }
    // Only phones wanted: the e-mail stays, and so does the number it hides.
    let phones = Redactor::new(&[PiiKind::Phone]);
    assert_eq!(phones.redact("a@b.co13812345678").text, "a@b.co13812345678");
}

/// A rubric whose dimension weight or first-response weight was huge but finite loaded, and
/// weight × subscore overflowed: `qa_score` came out `inf` (or NaN with two such weights). Such
/// weights are now refused, naming the field.
#[test]
fn issue_8_huge_weights_are_refused_not_scored_as_infinity() {
    let default = convqa::rubric::DEFAULT_RUBRIC;
    let mut engine = RUBRIC_ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    for (from, to, field) in [
        ("responsiveness = 0.30", "responsiveness = 1e307", "weights.responsiveness"),
        ("empathy = 0.25", "empathy = 1.7976931348623157e308", "weights.empathy"),
        ("first_response_weight = 2.0", "first_response_weight = 1e308", "first_response_weight"),
        ("compliance = 0.25", "compliance = nan", "weights.compliance"),
    ] {
        assert!(default.contains(from), "help: rubric/default.toml no longer has {from:?}");
        let text = default.replacen(from, to, 1);
        let err = convqa::rubric::Rubric::parse(&text, "t.toml", &engine.segmenter)
            .err()
            .unwrap_or_else(|| panic!("{to:?} loaded; help: bound the weight in rubric/file.rs"));
        assert!(err.to_string().contains(field), "{to:?}: {err}");
        assert!(!checks::check_rubric(&mut engine, &text, &SAMPLE_CONVERSATIONS));
    }
    // The largest allowed weights still score within 0–100.
    let text = default.replacen("responsiveness = 0.30", "responsiveness = 100", 1).replacen(
        "first_response_weight = 2.0",
        "first_response_weight = 100",
        1,
    );
    assert!(checks::check_rubric(&mut engine, &text, &SAMPLE_CONVERSATIONS));
}
