//! Arrow record batches for the three tables (their columns defined in [`super::schema`]), and
//! their Parquet writers.
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
use arrow_schema::{DataType, Field, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{AtomicFile, OutputError, Staged, schema};
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

pub static CONVERSATIONS_SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| schema::CONVERSATIONS.arrow_schema());
pub static TURNS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| schema::TURNS.arrow_schema());
pub static FLAGS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| schema::FLAGS.arrow_schema());

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
    table_batch(&schema::CONVERSATIONS, &CONVERSATIONS_SCHEMA, scores)
}

/// One row per turn.
pub fn turns_batch(scores: &[ConversationScore]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    table_batch(&schema::TURNS, &TURNS_SCHEMA, scores)
}

/// One row per flag.
pub fn flags_batch(scores: &[ConversationScore]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    table_batch(&schema::FLAGS, &FLAGS_SCHEMA, scores)
}

/// A record batch of `table`'s columns, each built from `scores`.
fn table_batch(
    table: &schema::Table<[ConversationScore]>,
    arrow: &SchemaRef,
    scores: &[ConversationScore],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    batch(arrow, table.columns.iter().map(|c| c.build(scores)).collect())
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
