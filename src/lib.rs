//! convqa: quality assurance for customer-service conversations in Chinese and English.
//!
//! The pipeline, one module a stage:
//! `input` (JSONL or another tool's export → [`Conversation`]) → `normalize` → `segment`
//! (tokens, + `segment::language`) → `model` (sentiment, politeness, acts) → `rubric` (phrase
//! matching and rule scopes) / `timing` (reply-time KPIs) → `score` (subscores, qa_score,
//! flags) → `output` (Parquet, rejects, summary) → `report` (for people).
//!
//! Two modules wire them: [`engine`] is the pure core ([`Engine`] loaded once;
//! [`score_batch`]: a batch of conversations in, a batch of scores out, no I/O), and [`job`] is
//! the streaming batch job around it that `convqa score` runs (read, score, write, commit).
//! The other commands: `convert`, `eval`, `generate`, `report`, `output::verify`; their exit
//! codes are in `exit`. Leaves: `conversation` (the records), `digest`, `redact`, `progress`.

pub mod coach;
pub mod conversation;
pub mod convert;
pub(crate) mod digest;
pub mod engine;
pub mod eval;
pub mod exit;
pub mod generate;
pub mod impact;
pub mod input;
pub mod job;
pub mod model;
pub mod normalize;
pub mod output;
pub mod progress;
pub mod redact;
pub mod report;
pub mod rubric;
pub mod score;
pub mod segment;
pub mod tables;
pub mod timing;

pub use conversation::{Channel, Conversation, Speaker, Turn};
/// The old names of [`engine`] (`pipeline`) and [`job`] (`run`).
pub use engine as pipeline;
pub use engine::{Engine, EngineOptions, score_batch};
pub use job as run;
pub use score::{ConversationScore, Flag};
/// Language detection is part of the segment stage; the old path still works.
pub use segment::language;
