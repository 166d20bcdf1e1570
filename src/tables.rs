//! Scoring in memory, for embedders (the Python package, Spark's `mapInArrow`, Ray): records in,
//! Arrow record batches out, with no files.
//!
//! Guarantees: a record goes through the same parsing and checks as a JSONL line of `convqa
//! score` ([`parse_line`], `--max-turns`, one conversation per id), is scored by the same
//! [`score_batch`], redacted by the same [`redact_score`], and comes out as the same record
//! batches the Parquet writer writes ([`conversations_batch`], [`turns_batch`], [`flags_batch`]):
//! the values are those of the CLI's files. A bad record becomes a [`Reject`] (a row of
//! [`rejects_batch`], the columns of `rejects.jsonl`); it never fails the call.

use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::conversation::{Conversation, Origin};
use crate::engine::{Engine, StageTimes, score_batch};
use crate::input::{Reject, RunChecks, parse_line};
use crate::model::ModelError;
use crate::output::{conversations_batch, flags_batch, turns_batch};
use crate::redact::{Redactor, redact_score};

/// How much of a rejected record is kept in its `raw` column (as in `rejects.jsonl`).
const RAW_CHARS: usize = 300;

/// The rejects table: `rejects.jsonl`'s fields as columns.
pub static REJECTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("code", DataType::Utf8, false),
        Field::new("field", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
    ]))
});

/// Why scoring in memory failed (a bad record never does: it is a reject).
#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("building the output tables: {0}")]
    Arrow(#[from] ArrowError),
}

/// The three output tables of one batch of conversations, as `convqa score` writes them.
#[derive(Debug, Clone)]
pub struct ScoredTables {
    pub conversations: RecordBatch,
    pub turns: RecordBatch,
    pub flags: RecordBatch,
    /// Personal data items replaced (the run summary's `redacted`).
    pub redacted: u64,
    pub times: StageTimes,
}

/// Scores `batch` on the current rayon pool (as the CLI does for each of its batches), redacts
/// every text written out when `redactor` is given, and builds the three tables.
pub fn score_tables(
    engine: &Engine,
    batch: &[Conversation],
    redactor: Option<&Redactor>,
) -> Result<ScoredTables, TablesError> {
    use rayon::prelude::*;
    let (mut scores, times) = score_batch(engine, batch)?;
    let redacted = match redactor {
        Some(r) => scores.par_iter_mut().map(|s| redact_score(s, r)).sum(),
        None => 0,
    };
    Ok(ScoredTables {
        conversations: conversations_batch(&scores)?,
        turns: turns_batch(&scores)?,
        flags: flags_batch(&scores)?,
        redacted,
        times,
    })
}

/// The schemas of the three output tables, in the order conversations, turns, flags.
pub fn output_schemas() -> [SchemaRef; 3] {
    let empty = |b: Result<RecordBatch, ArrowError>| b.expect("empty tables build").schema();
    [empty(conversations_batch(&[])), empty(turns_batch(&[])), empty(flags_batch(&[]))]
}

/// The run-wide checks of the JSONL reader for records that come one at a time (rows of a
/// table): each is parsed as a JSONL line, then rejected if it has more than `max_turns` turns
/// or repeats a conversation id already admitted.
pub struct Admission {
    source: Arc<str>,
    /// The reader's own checks: the turn limit and one conversation per id.
    checks: RunChecks,
}

impl Admission {
    /// `source` names where the records come from in rejects (`file` column).
    pub fn new(source: &str, max_turns: usize) -> Admission {
        Admission { source: source.into(), checks: RunChecks::new(max_turns) }
    }

    /// One record (a JSON object, as one JSONL line) numbered `line` (1-based).
    pub fn admit(&mut self, json: &[u8], line: u64) -> Result<Conversation, Reject> {
        let origin = Origin { file: self.source.clone(), line };
        let raw = || String::from_utf8_lossy(json).chars().take(RAW_CHARS).collect();
        let conv = parse_line(json, origin.clone()).map_err(|reason| Reject {
            origin: origin.clone(),
            reason,
            raw: raw(),
        })?;
        let source = &self.source;
        self.checks.admit(conv, 0, line, |_| source.to_string()).map_err(|(reason, raw)| Reject {
            origin,
            reason,
            raw,
        })
    }
}

/// Rejects as a table with `rejects.jsonl`'s columns; `raw` redacted when `redactor` is given.
pub fn rejects_batch(
    rejects: &[Reject],
    redactor: Option<&Redactor>,
) -> Result<RecordBatch, ArrowError> {
    let raw: Vec<String> = rejects
        .iter()
        .map(|r| match redactor {
            Some(red) => red.redact(&r.raw).text,
            None => r.raw.clone(),
        })
        .collect();
    let reasons: Vec<String> = rejects.iter().map(|r| r.reason.to_string()).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rejects.iter().map(|r| &*r.origin.file))),
        Arc::new(Int64Array::from_iter_values(rejects.iter().map(|r| r.origin.line as i64))),
        Arc::new(StringArray::from_iter_values(rejects.iter().map(|r| r.reason.code()))),
        Arc::new(StringArray::from_iter(rejects.iter().map(|r| r.reason.field()))),
        Arc::new(StringArray::from_iter_values(reasons)),
        Arc::new(StringArray::from_iter_values(raw)),
    ];
    RecordBatch::try_new(REJECTS_SCHEMA.clone(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    const LINE: &str = r#"{"conversation_id":"c1","agent_id":"a","channel":"chat","turns":[{"speaker":"customer","text":"my mail is x@example.com","ts":"2026-11-02T09:00:00+08:00"},{"speaker":"agent","text":"Thank you, happy to help","ts":"2026-11-02T09:00:30+08:00"}]}"#;

    #[test]
    fn admission_rejects_like_the_reader() {
        let mut a = Admission::new("table", 1);
        let too_long = a.admit(LINE.as_bytes(), 1).unwrap_err();
        assert_eq!(too_long.reason.code(), "too_many_turns");
        let mut a = Admission::new("table", 10);
        assert!(a.admit(LINE.as_bytes(), 1).is_ok());
        let dup = a.admit(LINE.as_bytes(), 2).unwrap_err();
        assert_eq!(
            dup.reason.to_string(),
            "conversation_id: duplicate of the conversation at table:1"
        );
        let bad = a.admit(br#"{"agent_id":"a"}"#, 3).unwrap_err();
        assert_eq!(
            (bad.reason.code(), bad.reason.field()),
            ("missing_field", Some("conversation_id"))
        );
        assert_eq!(bad.origin.to_string(), "table:3");
    }

    #[test]
    fn rejects_table_has_the_rejects_jsonl_fields_and_redacts_raw() {
        let mut a = Admission::new("rows", 10);
        let r = a.admit(br#"{"conversation_id":"x","note":"x@example.com"}"#, 4).unwrap_err();
        let b = rejects_batch(&[r], Some(&Redactor::default())).unwrap();
        assert_eq!(b.num_rows(), 1);
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let s = |name: &str| {
            col(name).as_any().downcast_ref::<StringArray>().unwrap().value(0).to_string()
        };
        assert_eq!(s("file"), "rows");
        assert_eq!(col("line").as_any().downcast_ref::<Int64Array>().unwrap().value(0), 4);
        assert_eq!(s("code"), "missing_field");
        assert!(!s("raw").contains("x@example.com"), "raw is redacted: {}", s("raw"));
    }

    #[test]
    fn scored_tables_are_the_parquet_writers_batches() {
        let engine = Engine::with_default_rubric().unwrap();
        let conv = Admission::new("t", 10).admit(LINE.as_bytes(), 1).unwrap();
        let plain = score_tables(&engine, std::slice::from_ref(&conv), None).unwrap();
        let (scores, _) = score_batch(&engine, std::slice::from_ref(&conv)).unwrap();
        assert_eq!(plain.conversations, conversations_batch(&scores).unwrap());
        assert_eq!(plain.turns, turns_batch(&scores).unwrap());
        assert_eq!(plain.flags, flags_batch(&scores).unwrap());
        let redacted = score_tables(&engine, &[conv], Some(&Redactor::default())).unwrap();
        assert!(redacted.redacted >= 1);
        let text = redacted.turns.column_by_name("text").unwrap();
        let text = text.as_any().downcast_ref::<StringArray>().unwrap();
        assert!(!text.value(0).contains("x@example.com"), "{}", text.value(0));
        assert_eq!(output_schemas()[1], plain.turns.schema());
        assert!(text.null_count() == 0);
    }
}
