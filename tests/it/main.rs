//! The integration tests, one test binary (one link of the crate and its dependencies): each
//! module is one former `tests/*.rs` file, on files in `data/` and the real `convqa` binary;
//! [`common`] has the shared helpers and the one way to run `convqa`.
//!
//! Run one module with `cargo test --test it MODULE::` (e.g. `cargo test --test it cli::`).

mod common;

mod adapters;
mod behaviour_detection;
mod broken_input;
mod cli;
mod coaching;
mod crash_safety;
mod eval;
mod generate;
mod hostile_input;
mod incremental;
mod model_parity;
mod model_stage;
mod properties;
mod redaction;
mod report_html;
mod reports;
mod sample_data;
mod snapshots;
mod store_faults;
mod training_impact;
