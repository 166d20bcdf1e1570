//! Arbitrary text (bytes read as lossy UTF-8) → normalize → segment → rubric → score, and PII
//! redaction of the same text. The text is split into turns at U+001E (record separator),
//! speakers alternating customer / agent, replies 40 s apart. No panic; token offsets slice the
//! original on char boundaries; hits and flag spans slice their turns; redaction is idempotent
//! and maps spans onto char boundaries.

#![no_main]

use std::sync::LazyLock;

use convqa::redact::Redactor;
use convqa::{Channel, Engine, Speaker};
use convqa_fuzz::{check_redaction, check_scoring, check_segmentation, conversation};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::with_default_rubric().expect("the built-in rubric loads"));
static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::default);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_segmentation(&ENGINE, &text);
    let turns: Vec<_> = text
        .split('\u{1e}')
        .take(12)
        .enumerate()
        .map(|(i, t)| {
            let speaker = if i % 2 == 0 { Speaker::Customer } else { Speaker::Agent };
            (speaker, t.to_string(), 40)
        })
        .collect();
    if turns.len() > 1 {
        for (_, t, _) in &turns {
            check_segmentation(&ENGINE, t);
        }
    }
    check_scoring(&ENGINE, &conversation(Channel::Chat, turns));
    let positions: Vec<usize> = data.iter().take(8).map(|&b| b as usize).collect();
    check_redaction(&REDACTOR, &text, &positions);
});
