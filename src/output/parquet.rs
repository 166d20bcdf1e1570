//! Arrow record batches for the three tables, and their Parquet writers.
//!
//! The `*_batch` functions are pure (scores → Arrow), so the same tables can be handed to Spark
//! or pyarrow without files. Column types are the plain ones every reader knows: signed integers,
//! float64, bool, UTF-8, lists of UTF-8, and UTC microsecond timestamps.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{AtomicFile, OutputError, Staged};
use crate::score::ConversationScore;

/// Rows per Parquet row group (memory per open writer is bounded by this).
const ROW_GROUP_ROWS: usize = 64 * 1024;

pub(crate) fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn list_of_strings(name: &str) -> Field {
    Field::new_list(name, Field::new_list_field(DataType::Utf8, true), false)
}

pub(crate) fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

pub(crate) fn f64_col(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Float64, nullable)
}

pub(crate) fn i32_col(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Int32, nullable)
}

pub(crate) fn bool_col(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Boolean, nullable)
}

pub static CONVERSATIONS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("conversation_id", false),
        utf8("agent_id", false),
        utf8("channel", false),
        utf8("customer_id", true),
        Field::new("started_at", ts_type(), false),
        Field::new("ended_at", ts_type(), false),
        utf8("language", false),
        utf8("declared_language", true),
        i32_col("n_turns", false),
        i32_col("n_customer_turns", false),
        i32_col("n_agent_turns", false),
        f64_col("first_response_secs", true),
        f64_col("mean_agent_reply_secs", true),
        f64_col("max_agent_reply_secs", true),
        f64_col("handling_secs", false),
        i32_col("sla_breaches", false),
        bool_col("unanswered_customer", false),
        f64_col("responsiveness_score", true),
        f64_col("empathy_score", true),
        f64_col("compliance_score", true),
        f64_col("sentiment_start", true),
        f64_col("sentiment_end", true),
        f64_col("sentiment_delta", true),
        f64_col("politeness_mean", true),
        f64_col("politeness_min", true),
        f64_col("sentiment_score", true),
        f64_col("politeness_score", true),
        f64_col("qa_score", false),
        bool_col("passed", false),
        i32_col("flag_count", false),
        list_of_strings("signals"),
        bool_col("resolved", true),
        i32_col("csat", true),
        list_of_strings("tags"),
        utf8("content_hash", false),
    ]))
});

pub static TURNS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("conversation_id", false),
        i32_col("turn_index", false),
        utf8("speaker", false),
        Field::new("ts", ts_type(), false),
        utf8("language", false),
        utf8("text", false),
        i32_col("n_tokens", false),
        list_of_strings("rule_hits"),
        list_of_strings("negated_hits"),
        f64_col("reply_secs", true),
        f64_col("sentiment", true),
        f64_col("politeness", true),
        // what the detectors saw, in parallel lists: name (act or rule id), detector, score
        list_of_strings("detected"),
        list_of_strings("detected_by"),
        Field::new_list("detected_score", Field::new_list_field(DataType::Float64, true), false),
    ]))
});

pub static FLAGS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("conversation_id", false),
        utf8("agent_id", false),
        utf8("flag", false),
        utf8("dimension", false),
        utf8("severity", false),
        utf8("rule_id", true),
        i32_col("turn_index", true),
        utf8("speaker", true),
        utf8("evidence", false),
        utf8("matched", true),
        i32_col("span_start", true),
        i32_col("span_end", true),
        utf8("detail", false),
        utf8("detector", true),
        f64_col("detector_score", true),
    ]))
});

pub(crate) fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    b.extend(values);
    Arc::new(b.finish())
}

pub(crate) fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    let mut b = Float64Builder::new();
    b.extend(values);
    Arc::new(b.finish())
}

pub(crate) fn ints(values: impl Iterator<Item = Option<i32>>) -> ArrayRef {
    let mut b = Int32Builder::new();
    b.extend(values);
    Arc::new(b.finish())
}

pub(crate) fn bools(values: impl Iterator<Item = Option<bool>>) -> ArrayRef {
    let mut b = BooleanBuilder::new();
    b.extend(values);
    Arc::new(b.finish())
}

pub(crate) fn timestamps(values: impl Iterator<Item = chrono::DateTime<chrono::Utc>>) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for v in values {
        b.append_value(v.timestamp_micros());
    }
    Arc::new(b.finish())
}

pub(crate) fn string_lists<'a>(values: impl Iterator<Item = &'a [String]>) -> ArrayRef {
    string_lists_of(values.map(|l| l.iter().map(String::as_str)))
}

/// A list column of strings per row, from any iterator of string iterators.
pub(crate) fn string_lists_of<'a, L: Iterator<Item = &'a str>>(
    values: impl Iterator<Item = L>,
) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for list in values {
        for s in list {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// A list column of optional floats per row.
pub(crate) fn float_lists(values: impl Iterator<Item = Vec<Option<f64>>>) -> ArrayRef {
    let mut b = ListBuilder::new(Float64Builder::new());
    for list in values {
        for v in list {
            b.values().append_option(v);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

pub(crate) fn batch(
    schema: &SchemaRef,
    columns: Vec<ArrayRef>,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    RecordBatch::try_new(schema.clone(), columns)
}

/// One row per conversation.
pub fn conversations_batch(
    scores: &[ConversationScore],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let s = scores;
    let n = |f: fn(&ConversationScore) -> u32| ints(s.iter().map(move |c| Some(f(c) as i32)));
    batch(
        &CONVERSATIONS_SCHEMA,
        vec![
            strings(s.iter().map(|c| Some(c.conversation_id.as_str()))),
            strings(s.iter().map(|c| Some(c.agent_id.as_str()))),
            strings(s.iter().map(|c| Some(c.channel.as_str()))),
            strings(s.iter().map(|c| c.customer_id.as_deref())),
            timestamps(s.iter().map(|c| c.started_at)),
            timestamps(s.iter().map(|c| c.ended_at)),
            strings(s.iter().map(|c| Some(c.language.as_str()))),
            strings(s.iter().map(|c| c.declared_language.as_deref())),
            n(|c| c.n_turns),
            n(|c| c.n_customer_turns),
            n(|c| c.n_agent_turns),
            floats(s.iter().map(|c| c.timing.first_response_secs)),
            floats(s.iter().map(|c| c.timing.mean_agent_reply_secs)),
            floats(s.iter().map(|c| c.timing.max_agent_reply_secs)),
            floats(s.iter().map(|c| Some(c.timing.handling_secs))),
            n(|c| c.timing.sla_breaches),
            bools(s.iter().map(|c| Some(c.timing.unanswered_turn.is_some()))),
            floats(s.iter().map(|c| c.responsiveness_score)),
            floats(s.iter().map(|c| c.empathy_score)),
            floats(s.iter().map(|c| c.compliance_score)),
            floats(s.iter().map(|c| c.model.sentiment_start)),
            floats(s.iter().map(|c| c.model.sentiment_end)),
            floats(s.iter().map(|c| c.model.sentiment_delta)),
            floats(s.iter().map(|c| c.model.politeness_mean)),
            floats(s.iter().map(|c| c.model.politeness_min)),
            floats(s.iter().map(|c| c.model.sentiment_score)),
            floats(s.iter().map(|c| c.model.politeness_score)),
            floats(s.iter().map(|c| Some(c.qa_score))),
            bools(s.iter().map(|c| Some(c.passed))),
            n(|c| c.flags.len() as u32),
            string_lists(s.iter().map(|c| c.signals.as_slice())),
            bools(s.iter().map(|c| c.resolved)),
            ints(s.iter().map(|c| c.csat.map(i32::from))),
            string_lists(s.iter().map(|c| c.tags.as_slice())),
            strings(s.iter().map(|c| Some(c.content_hash.as_str()))),
        ],
    )
}

/// One row per turn.
pub fn turns_batch(scores: &[ConversationScore]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let rows: Vec<_> = scores.iter().flat_map(|c| c.turns.iter().map(move |t| (c, t))).collect();
    batch(
        &TURNS_SCHEMA,
        vec![
            strings(rows.iter().map(|(c, _)| Some(c.conversation_id.as_str()))),
            ints(rows.iter().map(|(_, t)| Some(t.turn_index as i32))),
            strings(rows.iter().map(|(_, t)| Some(t.speaker.as_str()))),
            timestamps(rows.iter().map(|(_, t)| t.ts)),
            strings(rows.iter().map(|(_, t)| Some(t.language.as_str()))),
            strings(rows.iter().map(|(_, t)| Some(t.text.as_str()))),
            ints(rows.iter().map(|(_, t)| Some(t.n_tokens as i32))),
            string_lists(rows.iter().map(|(_, t)| t.rule_hits.as_slice())),
            string_lists(rows.iter().map(|(_, t)| t.negated_hits.as_slice())),
            floats(rows.iter().map(|(_, t)| t.reply_secs)),
            floats(rows.iter().map(|(_, t)| t.sentiment)),
            floats(rows.iter().map(|(_, t)| t.politeness)),
            string_lists_of(rows.iter().map(|(_, t)| t.detected.iter().map(|d| d.name.as_str()))),
            string_lists_of(rows.iter().map(|(_, t)| t.detected.iter().map(|d| d.detector))),
            float_lists(rows.iter().map(|(_, t)| t.detected.iter().map(|d| d.score).collect())),
        ],
    )
}

/// One row per flag.
pub fn flags_batch(scores: &[ConversationScore]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let rows: Vec<_> = scores.iter().flat_map(|c| c.flags.iter().map(move |f| (c, f))).collect();
    batch(
        &FLAGS_SCHEMA,
        vec![
            strings(rows.iter().map(|(c, _)| Some(c.conversation_id.as_str()))),
            strings(rows.iter().map(|(c, _)| Some(c.agent_id.as_str()))),
            strings(rows.iter().map(|(_, f)| Some(f.kind.as_str()))),
            strings(rows.iter().map(|(_, f)| Some(f.dimension))),
            strings(rows.iter().map(|(_, f)| Some(f.severity.as_str()))),
            strings(rows.iter().map(|(_, f)| f.rule_id.as_deref())),
            ints(rows.iter().map(|(_, f)| f.turn_index.map(|t| t as i32))),
            strings(rows.iter().map(|(_, f)| f.speaker.map(|s| s.as_str()))),
            strings(rows.iter().map(|(_, f)| Some(f.evidence.as_str()))),
            strings(rows.iter().map(|(_, f)| f.matched.as_deref())),
            ints(rows.iter().map(|(_, f)| f.span.map(|s| s.0 as i32))),
            ints(rows.iter().map(|(_, f)| f.span.map(|s| s.1 as i32))),
            strings(rows.iter().map(|(_, f)| Some(f.detail.as_str()))),
            strings(rows.iter().map(|(_, f)| f.detector)),
            floats(rows.iter().map(|(_, f)| f.detector_score)),
        ],
    )
}

pub(crate) struct TableWriter {
    path: PathBuf,
    writer: ArrowWriter<AtomicFile>,
}

impl TableWriter {
    pub(crate) fn create(path: PathBuf, schema: &SchemaRef) -> Result<TableWriter, OutputError> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid zstd level")))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let file = AtomicFile::create(&path)?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|source| OutputError::Parquet { path: path.clone(), source })?;
        Ok(TableWriter { path, writer })
    }

    pub(crate) fn write(
        &mut self,
        batch: Result<RecordBatch, arrow_schema::ArrowError>,
    ) -> Result<(), OutputError> {
        let batch =
            batch.map_err(|source| OutputError::Arrow { path: self.path.clone(), source })?;
        self.writer
            .write(&batch)
            .map_err(|source| OutputError::Parquet { path: self.path.clone(), source })
    }

    /// Writes the footer and fsyncs; the final path does not change yet.
    pub(crate) fn finish(self) -> Result<Staged, OutputError> {
        let path = self.path;
        let file =
            self.writer.into_inner().map_err(|source| OutputError::Parquet { path, source })?;
        file.finish()
    }

    /// Estimated bytes held for the row group in progress.
    fn buffered_bytes(&self) -> usize {
        self.writer.memory_size()
    }

    /// Writes the row group in progress out now (a smaller row group, less memory held).
    fn flush(&mut self) -> Result<(), OutputError> {
        self.writer
            .flush()
            .map_err(|source| OutputError::Parquet { path: self.path.clone(), source })
    }
}

/// Writes one record batch as a complete Parquet temporary file, fsynced, for a
/// [`super::Transaction`] to put in place.
pub(crate) fn stage_table(path: &Path, batch: RecordBatch) -> Result<Staged, OutputError> {
    let mut w = TableWriter::create(path.to_path_buf(), batch.schema_ref())?;
    w.write(Ok(batch))?;
    w.finish()
}

/// The three Parquet tables of a run, written batch by batch, committed together.
pub struct ParquetOutputs {
    conversations: TableWriter,
    turns: TableWriter,
    flags: TableWriter,
}

impl ParquetOutputs {
    pub fn create(dir: &Path) -> Result<ParquetOutputs, OutputError> {
        Self::create_at(
            &dir.join(super::CONVERSATIONS),
            &dir.join(super::TURNS),
            &dir.join(super::FLAGS),
        )
    }

    /// The three tables at the given paths (the incremental layout's part files).
    pub fn create_at(
        conversations: &Path,
        turns: &Path,
        flags: &Path,
    ) -> Result<ParquetOutputs, OutputError> {
        Ok(ParquetOutputs {
            conversations: TableWriter::create(conversations.to_path_buf(), &CONVERSATIONS_SCHEMA)?,
            turns: TableWriter::create(turns.to_path_buf(), &TURNS_SCHEMA)?,
            flags: TableWriter::create(flags.to_path_buf(), &FLAGS_SCHEMA)?,
        })
    }

    pub fn write(&mut self, scores: &[ConversationScore]) -> Result<(), OutputError> {
        if scores.is_empty() {
            return Ok(());
        }
        self.conversations.write(conversations_batch(scores))?;
        self.turns.write(turns_batch(scores))?;
        self.flags.write(flags_batch(scores))
    }

    /// Estimated bytes the three writers hold for their row groups in progress.
    pub fn buffered_bytes(&self) -> usize {
        self.conversations.buffered_bytes()
            + self.turns.buffered_bytes()
            + self.flags.buffered_bytes()
    }

    /// Writes the three row groups in progress out now.
    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.conversations.flush()?;
        self.turns.flush()?;
        self.flags.flush()
    }

    /// Finishes all three files (footer, fsync) for a [`super::Transaction`] to put in place
    /// together.
    pub fn finish(self) -> Result<[Staged; 3], OutputError> {
        Ok([self.conversations.finish()?, self.turns.finish()?, self.flags.finish()?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(schema: &SchemaRef) -> Vec<&str> {
        schema.fields().iter().map(|f| f.name().as_str()).collect()
    }

    /// The columns the README and downstream queries promise; renaming one breaks users.
    #[test]
    fn tables_keep_their_documented_columns() {
        let promised: [(&SchemaRef, &[&str]); 3] = [
            (
                &CONVERSATIONS_SCHEMA,
                &[
                    "conversation_id",
                    "agent_id",
                    "channel",
                    "started_at",
                    "language",
                    "n_turns",
                    "first_response_secs",
                    "mean_agent_reply_secs",
                    "max_agent_reply_secs",
                    "handling_secs",
                    "sla_breaches",
                    "empathy_score",
                    "compliance_score",
                    "responsiveness_score",
                    "qa_score",
                    "passed",
                    "flag_count",
                ],
            ),
            (
                &FLAGS_SCHEMA,
                &[
                    "conversation_id",
                    "agent_id",
                    "flag",
                    "dimension",
                    "severity",
                    "rule_id",
                    "turn_index",
                    "evidence",
                ],
            ),
            (
                &TURNS_SCHEMA,
                &[
                    "conversation_id",
                    "turn_index",
                    "speaker",
                    "ts",
                    "language",
                    "text",
                    "n_tokens",
                    "rule_hits",
                ],
            ),
        ];
        for (schema, columns) in promised {
            let have = names(schema);
            for c in columns {
                assert!(have.contains(c), "column {c} missing from {have:?}");
            }
        }
    }

    #[test]
    fn an_empty_batch_is_a_valid_table() {
        assert_eq!(conversations_batch(&[]).unwrap().num_rows(), 0);
        assert_eq!(turns_batch(&[]).unwrap().num_rows(), 0);
        assert_eq!(flags_batch(&[]).unwrap().num_rows(), 0);
    }
}
