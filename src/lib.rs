//! convqa: quality assurance for customer-service conversations in Chinese and English.
//!
//! The pipeline, one module a stage:
//! `input` (JSONL → [`Conversation`]) → `normalize` → `segment` (+ `language`) →
//! `rubric` (phrase matching and rule scopes) / `timing` (reply-time KPIs) → `score`
//! (subscores, qa_score, flags) → `output` (Parquet, rejects, summary).
//!
//! [`pipeline::score_batch`] is the pure core (a batch of conversations in, a batch of scores
//! out); [`run::run`] is the streaming batch job around it that the CLI calls.

pub mod conversation;
pub mod convert;
pub(crate) mod digest;
pub mod eval;
pub mod exit;
pub mod generate;
pub mod input;
pub mod model;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod report;
pub mod rubric;
pub mod run;
pub mod score;
pub mod segment;
pub mod timing;

pub use conversation::{Channel, Conversation, Speaker, Turn};
pub use pipeline::{Engine, score_batch};
pub use score::{ConversationScore, Flag};
/// Language detection is part of the segment stage; the old path still works.
pub use segment::language;
