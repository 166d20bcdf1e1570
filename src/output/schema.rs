//! One schema per Parquet table, defined once: each column's name, type, nullability, one-line
//! meaning, and how its values come out of the scores.
//!
//! The writers build their Arrow schema and record batches from these tables
//! (`output/parquet.rs`), the report loader reads columns by the names and types given here
//! (`report/load.rs`), and the README's column reference is generated from them: a unit test
//! fails when the README differs (`CONVQA_BLESS=1 cargo test --lib output::schema` rewrites it).
//! A column is added, renamed or documented here and nowhere else.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::parquet::{
    bools, float_lists, floats, ints, string_lists, string_lists_of, strings, timestamps,
};
use crate::score::{ConversationScore, Flag, TurnResult};

/// A column's type: the plain ones every reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Utf8,
    Int32,
    Float64,
    Boolean,
    /// Microseconds, UTC.
    Timestamp,
    /// A list of UTF-8 strings (never null itself; empty when there is nothing).
    Utf8List,
    /// A list of float64 values, each possibly null (never null itself).
    Float64List,
}

impl ColumnType {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::Utf8List => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
            }
            ColumnType::Float64List => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
            }
        }
    }

    /// As the README and the loader's errors name it.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Utf8 => "string",
            ColumnType::Int32 => "int32",
            ColumnType::Float64 => "float64",
            ColumnType::Boolean => "bool",
            ColumnType::Timestamp => "timestamp[µs, UTC]",
            ColumnType::Utf8List => "list<string>",
            ColumnType::Float64List => "list<float64>",
        }
    }
}

/// One column of a table; `R` is what a batch is built from.
pub struct Column<R: ?Sized> {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    /// One line for the README.
    pub meaning: &'static str,
    build: fn(&R) -> ArrayRef,
}

impl<R: ?Sized> Column<R> {
    /// The column's values for `rows`.
    pub fn build(&self, rows: &R) -> ArrayRef {
        (self.build)(rows)
    }

    pub fn field(&self) -> Field {
        Field::new(self.name, self.ty.data_type(), self.nullable)
    }
}

/// A Parquet table: its file name, what a row is, and its columns in order.
pub struct Table<R: ?Sized + 'static> {
    pub name: &'static str,
    pub row: &'static str,
    pub columns: &'static [Column<R>],
}

impl<R: ?Sized> Table<R> {
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(self.columns.iter().map(Column::field).collect::<Vec<_>>()))
    }

    /// The column called `name`. Panics when the table has none: code that reads a column this
    /// table does not define is a bug, found by the first test that runs it.
    pub fn column(&self, name: &str) -> &Column<R> {
        self.columns.iter().find(|c| c.name == name).unwrap_or_else(|| {
            panic!("{} has no column {name:?} (see src/output/schema.rs)", self.name)
        })
    }
}

/// The rows of `turns.parquet`: each turn with its conversation.
fn turns(s: &[ConversationScore]) -> impl Iterator<Item = (&ConversationScore, &TurnResult)> {
    s.iter().flat_map(|c| c.turns.iter().map(move |t| (c, t)))
}

/// The rows of `flags.parquet`: each flag with its conversation.
fn flags(s: &[ConversationScore]) -> impl Iterator<Item = (&ConversationScore, &Flag)> {
    s.iter().flat_map(|c| c.flags.iter().map(move |f| (c, f)))
}

/// A column (its values from the batch's scores `s`), by macro so the value closure coerces to
/// the column's function type.
macro_rules! column {
    ($name:literal, $ty:ident, $nullable:literal, $meaning:literal, $build:expr) => {
        Column {
            name: $name,
            ty: ColumnType::$ty,
            nullable: $nullable,
            meaning: $meaning,
            build: $build,
        }
    };
}

fn count(s: &[ConversationScore], f: fn(&ConversationScore) -> u32) -> ArrayRef {
    ints(s.iter().map(|c| Some(f(c) as i32)))
}

pub static CONVERSATIONS: Table<[ConversationScore]> = Table {
    name: "conversations.parquet",
    row: "one row per conversation",
    columns: &[
        column!("conversation_id", Utf8, false, "from the input", |s| {
            strings(s.iter().map(|c| Some(c.conversation_id.as_str())))
        }),
        column!("agent_id", Utf8, false, "from the input", |s| {
            strings(s.iter().map(|c| Some(c.agent_id.as_str())))
        }),
        column!("channel", Utf8, false, "from the input: `chat`, `email` or `phone`", |s| {
            strings(s.iter().map(|c| Some(c.channel.as_str())))
        }),
        column!("customer_id", Utf8, true, "from the input", |s| {
            strings(s.iter().map(|c| c.customer_id.as_deref()))
        }),
        column!(
            "started_at",
            Timestamp,
            false,
            "from the input, else the first turn's time (UTC)",
            |s| timestamps(s.iter().map(|c| c.started_at))
        ),
        column!("ended_at", Timestamp, false, "the latest turn's time (UTC)", |s| {
            timestamps(s.iter().map(|c| c.ended_at))
        }),
        column!(
            "language",
            Utf8,
            false,
            "detected: `zh-Hans`, `zh-Hant`, `en`, `mixed`, `other`, `none` (see below)",
            |s| strings(s.iter().map(|c| Some(c.language.as_str())))
        ),
        column!("declared_language", Utf8, true, "the input's `language`, if any", |s| {
            strings(s.iter().map(|c| c.declared_language.as_deref()))
        }),
        column!("n_turns", Int32, false, "all turns, system turns included", |s| count(s, |c| c
            .n_turns)),
        column!("n_customer_turns", Int32, false, "the customer's turns", |s| count(s, |c| {
            c.n_customer_turns
        })),
        column!("n_agent_turns", Int32, false, "the agent's turns", |s| count(s, |c| {
            c.n_agent_turns
        })),
        column!(
            "first_response_secs",
            Float64,
            true,
            "first customer turn → first agent turn after it; null if the agent never answered",
            |s| floats(s.iter().map(|c| c.timing.first_response_secs))
        ),
        column!(
            "mean_agent_reply_secs",
            Float64,
            true,
            "mean over all replies (see timing definitions); null without replies",
            |s| floats(s.iter().map(|c| c.timing.mean_agent_reply_secs))
        ),
        column!(
            "max_agent_reply_secs",
            Float64,
            true,
            "slowest reply; null without replies",
            |s| floats(s.iter().map(|c| c.timing.max_agent_reply_secs))
        ),
        column!("handling_secs", Float64, false, "first turn → last turn", |s| {
            floats(s.iter().map(|c| Some(c.timing.handling_secs)))
        }),
        column!(
            "sla_breaches",
            Int32,
            false,
            "replies slower than their limit (first reply 300 s, later replies 180 s; e-mail 4 h)",
            |s| count(s, |c| c.timing.sla_breaches)
        ),
        column!(
            "unanswered_customer",
            Boolean,
            false,
            "the conversation ends with customer messages no agent answered",
            |s| bools(s.iter().map(|c| Some(c.timing.unanswered_turn.is_some())))
        ),
        column!(
            "responsiveness_score",
            Float64,
            true,
            "subscore 0–100; null when there was nothing to judge",
            |s| floats(s.iter().map(|c| c.responsiveness_score))
        ),
        column!(
            "empathy_score",
            Float64,
            true,
            "subscore 0–100; null when there was nothing to judge",
            |s| floats(s.iter().map(|c| c.empathy_score))
        ),
        column!(
            "compliance_score",
            Float64,
            true,
            "subscore 0–100; null when there was nothing to judge",
            |s| floats(s.iter().map(|c| c.compliance_score))
        ),
        column!(
            "sentiment_start",
            Float64,
            true,
            "the model's sentiment (−1 negative … 1 positive) of the customer's first turn",
            |s| floats(s.iter().map(|c| c.model.sentiment_start))
        ),
        column!(
            "sentiment_end",
            Float64,
            true,
            "the model's sentiment of the customer's last turn",
            |s| floats(s.iter().map(|c| c.model.sentiment_end))
        ),
        column!("sentiment_delta", Float64, true, "`sentiment_end − sentiment_start`", |s| {
            floats(s.iter().map(|c| c.model.sentiment_delta))
        }),
        column!(
            "politeness_mean",
            Float64,
            true,
            "the model's P(polite) over agent turns: the mean",
            |s| floats(s.iter().map(|c| c.model.politeness_mean))
        ),
        column!(
            "politeness_min",
            Float64,
            true,
            "the model's P(polite) of the worst agent turn",
            |s| floats(s.iter().map(|c| c.model.politeness_min))
        ),
        column!(
            "sentiment_score",
            Float64,
            true,
            "model subscore 0–100 (see scoring); null with `--no-models` or without customer turns",
            |s| floats(s.iter().map(|c| c.model.sentiment_score))
        ),
        column!(
            "politeness_score",
            Float64,
            true,
            "model subscore 0–100 (see scoring); null with `--no-models` or without agent turns",
            |s| floats(s.iter().map(|c| c.model.politeness_score))
        ),
        column!(
            "qa_score",
            Float64,
            false,
            "weighted mean of the non-null subscores, 0–100",
            |s| { floats(s.iter().map(|c| Some(c.qa_score))) }
        ),
        column!(
            "passed",
            Boolean,
            false,
            "`qa_score ≥ pass_threshold` (70) and no critical flag",
            |s| bools(s.iter().map(|c| Some(c.passed)))
        ),
        column!("flag_count", Int32, false, "rows of this conversation in `flags.parquet`", |s| {
            count(s, |c| c.flags.len() as u32)
        }),
        column!(
            "signals",
            Utf8List,
            false,
            "customer signals that fired: `customer_distress`, `complaint`, `churn_risk`, `escalation_request`, `repeat_contact`, `resolution`",
            |s| string_lists(s.iter().map(|c| c.signals.as_slice()))
        ),
        column!("resolved", Boolean, true, "from the input", |s| {
            bools(s.iter().map(|c| c.resolved))
        }),
        column!("csat", Int32, true, "from the input (1–5)", |s| {
            ints(s.iter().map(|c| c.csat.map(i32::from)))
        }),
        column!("tags", Utf8List, false, "from the input", |s| {
            string_lists(s.iter().map(|c| c.tags.as_slice()))
        }),
        column!(
            "content_hash",
            Utf8,
            false,
            "SHA-256 of the conversation's content: an `--incremental` run skips a conversation whose hash it has stored",
            |s| strings(s.iter().map(|c| Some(c.content_hash.as_str())))
        ),
    ],
};

pub static TURNS: Table<[ConversationScore]> = Table {
    name: "turns.parquet",
    row: "one row per turn",
    columns: &[
        column!("conversation_id", Utf8, false, "from the input", |s| {
            strings(turns(s).map(|(c, _)| Some(c.conversation_id.as_str())))
        }),
        column!("turn_index", Int32, false, "0-based over all turns", |s| {
            ints(turns(s).map(|(_, t)| Some(t.turn_index as i32)))
        }),
        column!("speaker", Utf8, false, "`customer`, `agent` or `system`", |s| {
            strings(turns(s).map(|(_, t)| Some(t.speaker.as_str())))
        }),
        column!("ts", Timestamp, false, "from the input, in UTC", |s| {
            timestamps(turns(s).map(|(_, t)| t.ts))
        }),
        column!("language", Utf8, false, "the turn's detected language", |s| {
            strings(turns(s).map(|(_, t)| Some(t.language.as_str())))
        }),
        column!(
            "text",
            Utf8,
            false,
            "from the input as written, not normalized (personal data redacted unless `--redact none`)",
            |s| { strings(turns(s).map(|(_, t)| Some(t.text.as_str()))) }
        ),
        column!(
            "n_tokens",
            Int32,
            false,
            "words after segmentation (jieba words for Chinese, Unicode words otherwise)",
            |s| ints(turns(s).map(|(_, t)| Some(t.n_tokens as i32)))
        ),
        column!(
            "rule_hits",
            Utf8List,
            false,
            "rubric rules whose phrases count in this turn (after speaker/position scope)",
            |s| string_lists(turns(s).map(|(_, t)| t.rule_hits.as_slice()))
        ),
        column!(
            "negated_hits",
            Utf8List,
            false,
            "rules whose phrase appeared but was cancelled by a negator (「我不生气」, \"not upset\")",
            |s| string_lists(turns(s).map(|(_, t)| t.negated_hits.as_slice()))
        ),
        column!(
            "reply_secs",
            Float64,
            true,
            "for an agent reply: how long the customer had waited",
            |s| floats(turns(s).map(|(_, t)| t.reply_secs))
        ),
        column!(
            "sentiment",
            Float64,
            true,
            "customer turns: the model's sentiment, −1 (negative) … 1 (positive)",
            |s| floats(turns(s).map(|(_, t)| t.sentiment))
        ),
        column!("politeness", Float64, true, "agent turns: the model's P(polite), 0 … 1", |s| {
            floats(turns(s).map(|(_, t)| t.politeness))
        }),
        column!(
            "detected",
            Utf8List,
            false,
            "what the detectors saw in this turn, **whether or not a rule's scope made it count**: each act the model detected (`apology`, `distress`, …), each example rule that matched and each phrase rule that fired (rule id). An apology before the customer was upset, or distress with no agent turn after it, still shows here",
            |s| string_lists_of(turns(s).map(|(_, t)| t.detected.iter().map(|d| d.name.as_str())))
        ),
        column!(
            "detected_by",
            Utf8List,
            false,
            "parallel to `detected`: which detector saw it, `model`, `examples` or `phrase`",
            |s| string_lists_of(turns(s).map(|(_, t)| t.detected.iter().map(|d| d.detector)))
        ),
        column!(
            "detected_score",
            Float64List,
            false,
            "parallel to `detected`: the model's probability, the example's similarity, null for a phrase",
            |s| float_lists(turns(s).map(|(_, t)| t.detected.iter().map(|d| d.score).collect()))
        ),
    ],
};

pub static FLAGS: Table<[ConversationScore]> = Table {
    name: "flags.parquet",
    row: "one row per finding, each with its evidence",
    columns: &[
        column!("conversation_id", Utf8, false, "the conversation", |s| {
            strings(flags(s).map(|(c, _)| Some(c.conversation_id.as_str())))
        }),
        column!("agent_id", Utf8, false, "its agent", |s| {
            strings(flags(s).map(|(c, _)| Some(c.agent_id.as_str())))
        }),
        column!(
            "flag",
            Utf8,
            false,
            "`missing_phrase`, `forbidden_phrase`, `customer_signal`, `slow_first_response`, `slow_reply`, `unanswered_customer`, `timestamps_out_of_order`, and from the model `impolite_turn`, `customer_ends_negative`, `sentiment_dropped`",
            |s| strings(flags(s).map(|(_, f)| Some(f.kind.as_str())))
        ),
        column!(
            "dimension",
            Utf8,
            false,
            "`responsiveness`, `empathy`, `compliance`, `sentiment`, `politeness`, `signal` or `data`",
            |s| strings(flags(s).map(|(_, f)| Some(f.dimension)))
        ),
        column!("severity", Utf8, false, "`info`, `minor`, `major`, `critical`", |s| {
            strings(flags(s).map(|(_, f)| Some(f.severity.as_str())))
        }),
        column!("rule_id", Utf8, true, "the rubric rule, for phrase flags", |s| {
            strings(flags(s).map(|(_, f)| f.rule_id.as_deref()))
        }),
        column!(
            "turn_index",
            Int32,
            true,
            "the turn it is about (0-based over all turns): the turn with the phrase, the slow reply, the unanswered message, or where a missing phrase was expected (first agent turn for a greeting, last for a closing, the customer's upset message for empathy)",
            |s| ints(flags(s).map(|(_, f)| f.turn_index.map(|t| t as i32)))
        ),
        column!(
            "speaker",
            Utf8,
            true,
            "who wrote that turn: `customer`, `agent` or `system` (null when no turn applies)",
            |s| strings(flags(s).map(|(_, f)| f.speaker.map(|s| s.as_str())))
        ),
        column!("evidence", Utf8, false, "that turn's original text", |s| {
            strings(flags(s).map(|(_, f)| Some(f.evidence.as_str())))
        }),
        column!(
            "matched",
            Utf8,
            true,
            "for phrase flags: the phrase exactly as written in `evidence`",
            |s| strings(flags(s).map(|(_, f)| f.matched.as_deref()))
        ),
        column!(
            "span_start",
            Int32,
            true,
            "its byte span in `evidence`: `evidence[span_start:span_end] == matched`",
            |s| ints(flags(s).map(|(_, f)| f.span.map(|s| s.0 as i32)))
        ),
        column!("span_end", Int32, true, "end of that span", |s| {
            ints(flags(s).map(|(_, f)| f.span.map(|s| s.1 as i32)))
        }),
        column!(
            "detail",
            Utf8,
            false,
            "the reason in plain words, e.g. `reply after 3 min 50 s (limit 3 min), counted from the customer's message at turn 5`; for a rule the model or an example found: `…; model: P(blame_customer) 0.93 (threshold 0.71)` or `…; nearest example \"That part was on you.\" (similarity 0.94, threshold 0.91); nearest counter-example \"…\" (0.88)`",
            |s| strings(flags(s).map(|(_, f)| Some(f.detail.as_str())))
        ),
        column!(
            "detector",
            Utf8,
            true,
            "for a rule's flag: what found it, `phrase`, `model` (the act head) or `examples` (nearest example sentence); null for other flags",
            |s| strings(flags(s).map(|(_, f)| f.detector))
        ),
        column!(
            "detector_score",
            Float64,
            true,
            "the model's probability of the act, or the nearest example's similarity (null for a phrase)",
            |s| floats(flags(s).map(|(_, f)| f.detector_score))
        ),
    ],
};

/// The README's column reference of `table`: a heading and a table of name, type, null and
/// meaning.
pub fn markdown<R: ?Sized>(table: &Table<R>) -> String {
    let mut out = format!(
        "### `{}` — {}\n\n| column | type | null | meaning |\n|---|---|---|---|\n",
        table.name, table.row
    );
    for c in table.columns {
        let null = if c.nullable { "yes" } else { "" };
        out += &format!("| `{}` | {} | {null} | {} |\n", c.name, c.ty.name(), c.meaning);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- output columns: generated from src/output/schema.rs -->\n";
    const END: &str = "<!-- end of generated output columns -->\n";

    fn reference() -> String {
        [markdown(&CONVERSATIONS), markdown(&FLAGS), markdown(&TURNS)].join("\n")
    }

    #[test]
    fn the_readme_column_reference_is_generated_from_the_schemas() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (Some(a), Some(b)) = (readme.find(BEGIN), readme.find(END)) else {
            panic!("README.md lacks the markers {BEGIN:?} … {END:?} around the column reference");
        };
        let current = &readme[a + BEGIN.len()..b];
        let expected = reference();
        if current != expected {
            if std::env::var_os("CONVQA_BLESS").is_some() {
                let new = format!("{}{expected}{}", &readme[..a + BEGIN.len()], &readme[b..]);
                std::fs::write(&path, new).unwrap();
                return;
            }
            panic!(
                "README.md's column reference differs from src/output/schema.rs;\n\
                 help: run `CONVQA_BLESS=1 cargo test --lib output::schema` to regenerate it"
            );
        }
    }

    #[test]
    fn every_table_names_each_column_once() {
        fn names<R: ?Sized>(t: &Table<R>) -> Vec<&'static str> {
            t.columns.iter().map(|c| c.name).collect()
        }
        for names in [names(&CONVERSATIONS), names(&TURNS), names(&FLAGS)] {
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{names:?}");
        }
    }
}
