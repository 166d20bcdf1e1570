//! The incremental nightly layout (`convqa score --incremental`): Hive-style partitions by the
//! conversation's start date (UTC), so DuckDB, Spark and pandas read a table's folder as one table:
//!
//! ```text
//! OUT/conversations/date=2026-11-02/part-20261126T180102123Z.parquet
//! OUT/turns/date=2026-11-02/part-20261126T180102123Z.parquet
//! OUT/flags/date=2026-11-02/part-20261126T180102123Z.parquet
//! ```
//!
//! Each run adds at most one part file per table and date. Before writing a conversation the
//! run looks it up in its date partition (by `conversation_id`, comparing `content_hash`):
//! - not there: it is new and goes into this run's part file;
//! - there with the same hash: unchanged, nothing is written (so a re-run over the same input
//!   changes no file at all);
//! - there with another hash: it changed; the new version goes into this run's part file and the
//!   old rows (its conversation, turns and flags) are removed from the older part files, which
//!   are rewritten (or deleted when empty).
//!
//! A run's new part files, the rewritten older ones and the removals of emptied ones are put in
//! place by one journaled [`Transaction`]: a killed or failed run leaves the store as it was
//! before the run or, once the journal is written, as it is after it (the next run finishes the
//! journal first), so a changed conversation is never missing nor stored twice. A conversation
//! whose start date changed lands in its new date partition and the old partition keeps the old
//! version (lookups are per partition, to keep memory bounded by the dates a run touches).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow_array::BooleanArray;
use arrow_array::cast::AsArray;
use chrono::NaiveDate;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::parquet::{
    CONVERSATIONS_SCHEMA, FLAGS_SCHEMA, ParquetOutputs, TURNS_SCHEMA, TableWriter,
};
use super::{OutputError, Transaction};
use crate::score::ConversationScore;

/// The three tables' folder names under the output directory.
pub const TABLES: [&str; 3] = ["conversations", "turns", "flags"];

/// At most this many bytes of row groups in progress across all open part files: a run over
/// many dates (a backfill) keeps three writers open per date, and each would otherwise hold up
/// to a full row group. Above it the biggest writers write their row groups out early.
const WRITERS_BUDGET_BYTES: usize = 128 << 20;

/// What an incremental run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IncrementalInfo {
    pub run_id: String,
    /// Conversations written for the first time.
    pub new: u64,
    /// Conversations whose content changed: new version written, old rows removed.
    pub replaced: u64,
    /// Conversations already stored with the same content: nothing written.
    pub unchanged: u64,
    /// Part files this run added (relative to the output directory).
    pub files_added: Vec<String>,
    /// Older part files rewritten without replaced conversations, or removed when empty.
    pub files_rewritten: Vec<String>,
    pub files_removed: Vec<String>,
}

struct Partition {
    /// conversation_id → (content_hash, part file name) of what is stored.
    stored: HashMap<String, (String, String)>,
    writer: Option<ParquetOutputs>,
    /// Part file name → ids whose old rows must go.
    remove: BTreeMap<String, HashSet<String>>,
}

pub struct PartitionedOutputs {
    root: PathBuf,
    part_name: String,
    partitions: BTreeMap<NaiveDate, Partition>,
    info: IncrementalInfo,
    /// See [`WRITERS_BUDGET_BYTES`].
    budget: usize,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

fn pq_err(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> OutputError + '_ {
    move |source| OutputError::Parquet { path: path.to_path_buf(), source }
}

fn partition_dir(root: &Path, table: &str, date: NaiveDate) -> PathBuf {
    root.join(table).join(format!("date={date}"))
}

/// `part-*.parquet` files of a folder (none if it does not exist), sorted.
fn part_files(dir: &Path) -> Result<Vec<String>, OutputError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.map_err(io_err(dir))?.file_name().to_string_lossy().into_owned();
        if name.starts_with("part-") && name.ends_with(".parquet") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Reads the named string columns of a Parquet file.
pub(crate) fn read_columns(path: &Path, columns: &[&str]) -> Result<Vec<Vec<String>>, OutputError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let mut out = vec![Vec::new(); columns.len()];
    for batch in builder.with_projection(mask).build().map_err(pq_err(path))? {
        let batch =
            batch.map_err(|source| OutputError::Arrow { path: path.to_path_buf(), source })?;
        for (k, name) in columns.iter().enumerate() {
            let col = batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>());
            let Some(col) = col else {
                return Err(OutputError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::other(format!(
                        "column `{name}` missing: not a convqa part file of this version"
                    )),
                });
            };
            out[k].extend(col.iter().map(|v| v.unwrap_or_default().to_string()));
        }
    }
    Ok(out)
}

impl PartitionedOutputs {
    /// `run_id` names this run's part files (`part-{run_id}.parquet`); it must sort after earlier
    /// runs' ids (a UTC timestamp does).
    pub fn create(root: &Path, run_id: &str) -> Result<PartitionedOutputs, OutputError> {
        for table in TABLES {
            std::fs::create_dir_all(root.join(table)).map_err(io_err(&root.join(table)))?;
        }
        Ok(PartitionedOutputs {
            root: root.to_path_buf(),
            part_name: format!("part-{run_id}.parquet"),
            partitions: BTreeMap::new(),
            info: IncrementalInfo { run_id: run_id.to_string(), ..Default::default() },
            budget: WRITERS_BUDGET_BYTES,
        })
    }

    /// Another budget for the row groups in progress (bytes) than the default 128 MiB.
    pub fn with_writers_budget(mut self, bytes: usize) -> PartitionedOutputs {
        self.budget = bytes;
        self
    }

    fn partition(&mut self, date: NaiveDate) -> Result<&mut Partition, OutputError> {
        if !self.partitions.contains_key(&date) {
            let dir = partition_dir(&self.root, "conversations", date);
            let mut stored = HashMap::new();
            for name in part_files(&dir)? {
                let cols = read_columns(&dir.join(&name), &["conversation_id", "content_hash"])?;
                for (id, hash) in cols[0].iter().zip(&cols[1]) {
                    stored.insert(id.clone(), (hash.clone(), name.clone()));
                }
            }
            self.partitions
                .insert(date, Partition { stored, writer: None, remove: BTreeMap::new() });
        }
        Ok(self.partitions.get_mut(&date).expect("inserted above"))
    }

    /// Stores a batch of scored conversations: new and changed ones are written, unchanged ones
    /// skipped.
    pub fn write(&mut self, scores: Vec<ConversationScore>) -> Result<(), OutputError> {
        let mut by_date: BTreeMap<NaiveDate, Vec<ConversationScore>> = BTreeMap::new();
        for s in scores {
            by_date.entry(s.started_at.date_naive()).or_default().push(s);
        }
        let (root, part_name) = (self.root.clone(), self.part_name.clone());
        for (date, scores) in by_date {
            let mut counts = (0u64, 0u64, 0u64);
            let p = self.partition(date)?;
            let mut keep = Vec::with_capacity(scores.len());
            for s in scores {
                match p.stored.get(&s.conversation_id) {
                    Some((hash, _)) if *hash == s.content_hash => counts.2 += 1,
                    Some((_, file)) => {
                        counts.1 += 1;
                        p.remove.entry(file.clone()).or_default().insert(s.conversation_id.clone());
                        p.stored.insert(
                            s.conversation_id.clone(),
                            (s.content_hash.clone(), part_name.clone()),
                        );
                        keep.push(s);
                    }
                    None => {
                        counts.0 += 1;
                        p.stored.insert(
                            s.conversation_id.clone(),
                            (s.content_hash.clone(), part_name.clone()),
                        );
                        keep.push(s);
                    }
                }
            }
            if !keep.is_empty() {
                if p.writer.is_none() {
                    let path = |t: &str| partition_dir(&root, t, date).join(&part_name);
                    for t in TABLES {
                        let dir = partition_dir(&root, t, date);
                        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                    }
                    p.writer = Some(ParquetOutputs::create_at(
                        &path("conversations"),
                        &path("turns"),
                        &path("flags"),
                    )?);
                }
                p.writer.as_mut().expect("created above").write(&keep)?;
            }
            self.info.new += counts.0;
            self.info.replaced += counts.1;
            self.info.unchanged += counts.2;
        }
        self.keep_within_budget(self.budget)
    }

    /// Flushes the biggest open writers until their row groups in progress fit in `budget`.
    fn keep_within_budget(&mut self, budget: usize) -> Result<(), OutputError> {
        let mut writers: Vec<&mut ParquetOutputs> =
            self.partitions.values_mut().filter_map(|p| p.writer.as_mut()).collect();
        let mut total: usize = writers.iter().map(|w| w.buffered_bytes()).sum();
        if total <= budget {
            return Ok(());
        }
        writers.sort_by_key(|w| std::cmp::Reverse(w.buffered_bytes()));
        for w in writers {
            if total <= budget / 2 {
                break;
            }
            total -= w.buffered_bytes();
            w.flush()?;
        }
        Ok(())
    }

    /// Stages this run's part files and the older part files rewritten without the replaced
    /// conversations (or their removal, when nothing is left) into `tx`: nothing final changes
    /// until `tx` commits.
    pub fn stage(mut self, tx: &mut Transaction) -> Result<IncrementalInfo, OutputError> {
        let root = self.root.clone();
        let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
        for (date, p) in &mut self.partitions {
            for (file, ids) in &p.remove {
                for table in TABLES {
                    let path = partition_dir(&root, table, *date).join(file);
                    if !path.exists() {
                        continue;
                    }
                    match rewrite_without(&path, table, ids)? {
                        Some(staged) => {
                            tx.add(staged);
                            self.info.files_rewritten.push(rel(&path));
                        }
                        None => {
                            tx.remove(path.clone());
                            self.info.files_removed.push(rel(&path));
                        }
                    }
                }
            }
        }
        for (date, p) in std::mem::take(&mut self.partitions) {
            if let Some(w) = p.writer {
                for staged in w.finish()? {
                    tx.add(staged);
                }
                for table in TABLES {
                    self.info
                        .files_added
                        .push(rel(&partition_dir(&root, table, date).join(&self.part_name)));
                }
            }
        }
        Ok(self.info)
    }

    /// [`PartitionedOutputs::stage`] and commit on its own (no summary, no run manifest).
    pub fn commit(self) -> Result<IncrementalInfo, OutputError> {
        let mut tx = Transaction::new(&self.root.clone());
        let info = self.stage(&mut tx)?;
        tx.commit()?;
        Ok(info)
    }
}

/// Writes a part file without the rows of `ids` to a staged temporary file, batch by batch
/// (bounded memory); `None` when nothing is left (the file is to be removed).
fn rewrite_without(
    path: &Path,
    table: &str,
    ids: &HashSet<String>,
) -> Result<Option<super::Staged>, OutputError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq_err(path))?
        .build()
        .map_err(pq_err(path))?;
    let arrow = |source| OutputError::Arrow { path: path.to_path_buf(), source };
    let schema = match table {
        "conversations" => CONVERSATIONS_SCHEMA.clone(),
        "turns" => TURNS_SCHEMA.clone(),
        _ => FLAGS_SCHEMA.clone(),
    };
    // created at the first row kept: a file left empty gets no temporary file at all
    let mut writer: Option<TableWriter> = None;
    for batch in reader {
        let batch = batch.map_err(arrow)?;
        let col = batch.column_by_name("conversation_id").and_then(|c| c.as_string_opt::<i32>());
        let Some(col) = col else {
            return Err(io_err(path)(std::io::Error::other("column `conversation_id` missing")));
        };
        let mask: BooleanArray =
            col.iter().map(|v| Some(!ids.contains(v.unwrap_or_default()))).collect();
        let batch = arrow_select::filter::filter_record_batch(&batch, &mask).map_err(arrow)?;
        if batch.num_rows() > 0 {
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(TableWriter::create(path.to_path_buf(), &schema)?),
            };
            w.write(Ok(batch))?;
        }
    }
    writer.map(TableWriter::finish).transpose()
}

/// Every part file of one table, for readers (the reports) of an incremental folder.
pub fn table_files(root: &Path, table: &str) -> Result<Vec<PathBuf>, OutputError> {
    Ok(dated_table_files(root, table)?.into_iter().map(|(_, f)| f).collect())
}

/// [`table_files`] with each file's partition date (`None` if the folder name is not a date).
pub fn dated_table_files(
    root: &Path,
    table: &str,
) -> Result<Vec<(Option<chrono::NaiveDate>, PathBuf)>, OutputError> {
    let dir = root.join(table);
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut dates: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(&dir))?;
        if entry.file_name().to_string_lossy().starts_with("date=") {
            dates.push(entry.path());
        }
    }
    dates.sort();
    for d in dates {
        let date = d
            .file_name()
            .and_then(|n| n.to_str()?.strip_prefix("date="))
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        files.extend(part_files(&d)?.into_iter().map(|n| (date, d.join(n))));
    }
    Ok(files)
}
