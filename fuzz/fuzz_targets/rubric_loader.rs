//! Arbitrary bytes as a rubric file → `Rubric::parse`: a rubric or a typed error whose message
//! names the file, never a panic. A rubric that loads must score: a few fixed conversations
//! (zh, zh-Hant, en, mixed; chat and e-mail; slow replies, rude and empathic phrases) pass the
//! scoring checks with it (qa_score from 0 to 100, spans slice their turns).

#![no_main]

use std::sync::{LazyLock, Mutex, PoisonError};

use convqa::{Conversation, Engine};
use convqa_fuzz::{check_rubric, sample_conversations};
use libfuzzer_sys::fuzz_target;

/// The default engine, whose rubric each input replaces (jieba loads once).
static ENGINE: LazyLock<Mutex<Engine>> =
    LazyLock::new(|| Mutex::new(Engine::with_default_rubric().expect("the built-in rubric loads")));

static CONVERSATIONS: LazyLock<Vec<Conversation>> = LazyLock::new(sample_conversations);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // `Rubric::load` reads with read_to_string: not UTF-8 is a Read error
    };
    let mut engine = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    check_rubric(&mut engine, text, &CONVERSATIONS);
});
