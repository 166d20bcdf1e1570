//! Arbitrary bytes as an input file → the line reader and the parser → the scoring of every
//! conversation that came out. No panic; every line accounted for (read = scored + rejected +
//! blank) with generous and with tight limits; each conversation passes the scoring checks.

#![no_main]

use std::sync::LazyLock;

use convqa::Engine;
use convqa_fuzz::{check_file, check_scoring};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::with_default_rubric().expect("the built-in rubric loads"));

fuzz_target!(|data: &[u8]| {
    for conv in check_file(data, 1 << 20, 10_000) {
        check_scoring(&ENGINE, &conv);
    }
    // Tight limits: long lines and many-turn conversations are rejected, and still counted.
    check_file(data, 64, 2);
});
