//! Reads a run's output folder into report records: `conversations.parquet`, `flags.parquet`
//! and `summary.json` (the rubric's pass threshold and the model's flag thresholds). [`load`]
//! returns them all (for `--days N`, the window's); [`Source`] hands them out one record batch at
//! a time, for the streamed whole-store report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{ConvRecord, FlagRecord, ReportInput};
use crate::output::schema::{self, ColumnType, Table};
use crate::output::{CONVERSATIONS, FLAGS, SUMMARY};
use crate::rubric::Dimension;
use crate::score::ConversationScore;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "{path}: cannot read: {source}; run `convqa score … --out DIR` first and pass that DIR"
    )]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a readable Parquet file: {source}")]
    Parquet { path: PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("{path}: cannot list the date partitions: {source}")]
    Partitions { path: PathBuf, source: crate::output::OutputError },
    #[error(
        "{path}: column `{column}` {problem}; the folder was written by another convqa version, re-run `convqa score`"
    )]
    Column { path: PathBuf, column: String, problem: String },
    #[error("{path}: {message}")]
    Summary { path: PathBuf, message: String },
}

/// Reads the report input from a `convqa score` output folder: the three flat files, or, when
/// the last run was `--incremental`, every part file of the date partitions (all dates stored).
pub fn load(dir: &Path) -> Result<ReportInput, LoadError> {
    load_window(dir, None)
}

/// [`load`], keeping only the conversations (and their flags) that started in the last `days`
/// days of the data: UTC days counted back from the newest conversation's that is not after the
/// last run's day, so the same data gives the same report whenever it runs. An `--incremental`
/// store is read only from the date partitions in the window, so memory follows the window, not
/// the store's whole history.
pub fn load_window(dir: &Path, days: Option<u32>) -> Result<ReportInput, LoadError> {
    let SummaryFacts { pass_threshold, model_thresholds, limits, incremental, run_date } =
        summary(&dir.join(SUMMARY))?;
    // the newest of these days not after the run (future dates are input mistakes), or the
    // newest of all when every one is after it
    let newest = |days: &mut dyn Iterator<Item = chrono::NaiveDate>| {
        let (mut upto_run, mut any) = (None, None);
        for d in days {
            any = any.max(Some(d));
            if run_date.is_none_or(|r| d <= r) {
                upto_run = upto_run.max(Some(d));
            }
        }
        upto_run.or(any)
    };
    let mut conversations = Vec::new();
    let mut flag_files = Vec::new();
    let mut intern = Interner::default();
    if incremental {
        let dated = |table: &str| {
            crate::output::partitioned::dated_table_files(dir, table)
                .map_err(|source| LoadError::Partitions { path: dir.join(table), source })
        };
        let conv_files = dated("conversations")?;
        let first = days.and_then(|d| {
            let newest = newest(&mut conv_files.iter().filter_map(|(date, _)| *date))?;
            Some(newest - chrono::Days::new(u64::from(d.max(1) - 1)))
        });
        // Undated folders (not written by convqa) are read whatever the window.
        let keep = |date: &Option<chrono::NaiveDate>| match (first, date) {
            (Some(first), Some(date)) => *date >= first,
            _ => true,
        };
        for (_, f) in conv_files.iter().filter(|(date, _)| keep(date)) {
            conversations.extend(self::conversations(f, &limits, &mut intern)?);
        }
        flag_files =
            dated("flags")?.into_iter().filter(|(date, _)| keep(date)).map(|(_, f)| f).collect();
    } else {
        conversations = self::conversations(&dir.join(CONVERSATIONS), &limits, &mut intern)?;
        flag_files.push(dir.join(FLAGS));
    }
    if let Some(d) = days {
        // Exact to the day also within a partition or a flat file.
        if let Some(newest) = newest(&mut conversations.iter().map(|c| c.started_at.date_naive())) {
            let first = newest - chrono::Days::new(u64::from(d.max(1) - 1));
            conversations.retain(|c| c.started_at.date_naive() >= first);
        }
    }
    let index: std::collections::HashMap<&str, usize> =
        conversations.iter().enumerate().map(|(i, c)| (c.conversation_id.as_str(), i)).collect();
    let mut flags = Vec::new();
    for f in &flag_files {
        flags.extend(self::flags(f, &index, days.is_some(), &mut intern)?);
    }
    Ok(ReportInput { conversations, flags, model_thresholds, pass_threshold })
}

/// One shared copy of each distinct value of the low-cardinality columns (agent, channel,
/// language, tags, signals, flag kind, dimension, severity, rule, speaker): a report over a
/// million conversations holds a few thousand such strings instead of millions.
#[derive(Default)]
struct Interner(std::collections::HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(v) = self.0.get(s) {
            return v.clone();
        }
        let v: Arc<str> = Arc::from(s);
        self.0.insert(v.clone());
        v
    }

    fn all(&mut self, xs: Vec<String>) -> Vec<Arc<str>> {
        xs.iter().map(|x| self.get(x)).collect()
    }
}

/// Per channel: (first response limit, reply limit) in seconds.
type ChannelLimits = std::collections::HashMap<String, (f64, f64)>;

/// What the report needs from `summary.json`.
struct SummaryFacts {
    pass_threshold: f64,
    model_thresholds: Option<crate::model::Thresholds>,
    limits: ChannelLimits,
    incremental: bool,
    /// The (UTC) day the last run started: a window of days is counted back from the newest
    /// conversation not after it, so one mistyped future date does not empty the report.
    run_date: Option<chrono::NaiveDate>,
}

fn summary(path: &Path) -> Result<SummaryFacts, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    let err = |message: String| LoadError::Summary { path: path.to_path_buf(), message };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let pass = v["rubric"]["pass_threshold"].as_f64().ok_or_else(|| {
        err("rubric.pass_threshold missing; re-run `convqa score` with this version".into())
    })?;
    let thresholds = match v["models"].as_array().and_then(|m| m.first()) {
        Some(m) => Some(
            serde_json::from_value(m["thresholds"].clone())
                .map_err(|e| err(format!("models[0].thresholds: {e}")))?,
        ),
        None => None,
    };
    let mut limits = ChannelLimits::new();
    if let Some(map) = v["rubric"]["limits"].as_object() {
        for (channel, l) in map {
            let secs = |k: &str| {
                l[k].as_f64()
                    .ok_or_else(|| err(format!("rubric.limits.{channel}.{k}: not a number")))
            };
            limits.insert(channel.clone(), (secs("first_response_secs")?, secs("reply_secs")?));
        }
    }
    Ok(SummaryFacts {
        pass_threshold: pass,
        model_thresholds: thresholds,
        limits,
        incremental: v.get("incremental").is_some_and(|i| !i.is_null()),
        run_date: v["started_at"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
            .map(|t| t.date_naive()),
    })
}

/// Record batches of a Parquet file, all columns, read one at a time (a batch is turned into
/// records and dropped before the next is decoded).
pub(crate) fn batches(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RecordBatch, LoadError>> + use<>, LoadError> {
    let pq = |e: parquet::errors::ParquetError| LoadError::Parquet {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let file = std::fs::File::open(path)
        .map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?.build().map_err(pq)?;
    let path = path.to_path_buf();
    Ok(reader.map(move |b| {
        b.map_err(|e| LoadError::Parquet { path: path.clone(), source: Box::new(e) })
    }))
}

/// Typed column access with errors that name the file and column. Each column is read by its
/// name and type in the table's schema (`output/schema.rs`), the one the writers use.
struct Columns<'a> {
    path: &'a Path,
    batch: &'a RecordBatch,
    table: &'a Table<[ConversationScore]>,
}

impl<'a> Columns<'a> {
    /// The column `name` of the batch, which the schema says is of type `ty` (a mismatch is a
    /// bug in the loader, caught by any test that loads a folder).
    fn col_of(&self, name: &str, ty: ColumnType) -> Result<&'a ArrayRef, LoadError> {
        let column = self.table.column(name);
        assert_eq!(column.ty, ty, "{}: the loader reads {name} as {ty:?}", self.table.name);
        self.col(name)
    }

    fn col(&self, name: &str) -> Result<&'a ArrayRef, LoadError> {
        self.batch.column_by_name(name).ok_or_else(|| LoadError::Column {
            path: self.path.to_path_buf(),
            column: name.into(),
            problem: "is missing".into(),
        })
    }

    fn wrong(&self, name: &str, expected: &str) -> LoadError {
        LoadError::Column {
            path: self.path.to_path_buf(),
            column: name.into(),
            problem: format!("is not {expected}"),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<Option<String>>, LoadError> {
        let a = self
            .col_of(name, ColumnType::Utf8)?
            .as_string_opt::<i32>()
            .ok_or_else(|| self.wrong(name, "UTF-8"))?;
        Ok(a.iter().map(|v| v.map(str::to_string)).collect())
    }

    fn required_strings(&self, name: &str) -> Result<Vec<String>, LoadError> {
        self.strings(name)?
            .into_iter()
            .map(|v| v.ok_or_else(|| self.wrong(name, "free of nulls")))
            .collect()
    }

    fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>, LoadError> {
        let a = self
            .col_of(name, ColumnType::Float64)?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| self.wrong(name, "float64"))?;
        Ok(a.iter().collect())
    }

    fn i32s(&self, name: &str) -> Result<Vec<Option<i32>>, LoadError> {
        let a = self
            .col_of(name, ColumnType::Int32)?
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| self.wrong(name, "int32"))?;
        Ok(a.iter().collect())
    }

    fn bools(&self, name: &str) -> Result<Vec<Option<bool>>, LoadError> {
        let a = self
            .col_of(name, ColumnType::Boolean)?
            .as_boolean_opt()
            .ok_or_else(|| self.wrong(name, "boolean"))?;
        Ok(a.iter().collect())
    }

    fn timestamps(&self, name: &str) -> Result<Vec<chrono::DateTime<chrono::Utc>>, LoadError> {
        let a = self
            .col_of(name, ColumnType::Timestamp)?
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or_else(|| self.wrong(name, "a microsecond timestamp"))?;
        a.iter()
            .map(|v| {
                v.and_then(chrono::DateTime::from_timestamp_micros)
                    .ok_or_else(|| self.wrong(name, "a valid, non-null timestamp"))
            })
            .collect()
    }

    fn string_lists(&self, name: &str) -> Result<Vec<Vec<String>>, LoadError> {
        let a = self
            .col_of(name, ColumnType::Utf8List)?
            .as_list_opt::<i32>()
            .ok_or_else(|| self.wrong(name, "a list"))?;
        (0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    return Ok(vec![]);
                }
                let v = a.value(i);
                let s =
                    v.as_string_opt::<i32>().ok_or_else(|| self.wrong(name, "a list of UTF-8"))?;
                Ok(s.iter().flatten().map(str::to_string).collect())
            })
            .collect()
    }
}

fn conversations(
    path: &Path,
    limits: &ChannelLimits,
    intern: &mut Interner,
) -> Result<Vec<ConvRecord>, LoadError> {
    let mut out = Vec::new();
    for batch in batches(path)? {
        conversation_batch(path, &batch?, limits, intern, &mut out)?;
    }
    Ok(out)
}

/// Appends the records of one batch of a conversations file to `out`.
fn conversation_batch(
    path: &Path,
    batch: &RecordBatch,
    limits: &ChannelLimits,
    intern: &mut Interner,
    out: &mut Vec<ConvRecord>,
) -> Result<(), LoadError> {
    let default = super::Targets::default();
    let default = (default.first_response_secs, default.mean_reply_secs);
    {
        let c = Columns { path, batch, table: &schema::CONVERSATIONS };
        let ids = c.required_strings("conversation_id")?;
        let agents = c.required_strings("agent_id")?;
        let channels = c.required_strings("channel")?;
        let customers = c.strings("customer_id")?;
        let started = c.timestamps("started_at")?;
        let languages = c.required_strings("language")?;
        let first = c.f64s("first_response_secs")?;
        let mean_reply = c.f64s("mean_agent_reply_secs")?;
        let breaches = c.i32s("sla_breaches")?;
        let dims: Vec<Vec<Option<f64>>> = Dimension::ALL
            .iter()
            .map(|d| c.f64s(&format!("{}_score", d.as_str())))
            .collect::<Result<_, _>>()?;
        let sentiment_end = c.f64s("sentiment_end")?;
        let politeness_min = c.f64s("politeness_min")?;
        let qa = c.f64s("qa_score")?;
        let passed = c.bools("passed")?;
        let signals = c.string_lists("signals")?;
        let resolved = c.bools("resolved")?;
        let csat = c.i32s("csat")?;
        let tags = c.string_lists("tags")?;
        let mut signals = signals.into_iter();
        let mut tags = tags.into_iter();
        for (i, ((((id, agent_id), channel), customer_id), language)) in
            ids.into_iter().zip(agents).zip(channels).zip(customers).zip(languages).enumerate()
        {
            let (first_limit, reply_limit) = limits.get(&channel).copied().unwrap_or(default);
            out.push(ConvRecord {
                first_response_limit_secs: first_limit,
                reply_limit_secs: reply_limit,
                conversation_id: id,
                agent_id: intern.get(&agent_id),
                channel: intern.get(&channel),
                customer_id,
                started_at: started[i],
                language: intern.get(&language),
                first_response_secs: first[i],
                mean_agent_reply_secs: mean_reply[i],
                sla_breaches: breaches[i].unwrap_or(0).max(0) as u32,
                subscores: std::array::from_fn(|d| dims[d][i]),
                sentiment_end: sentiment_end[i],
                politeness_min: politeness_min[i],
                qa_score: qa[i].ok_or_else(|| c.wrong("qa_score", "free of nulls"))?,
                passed: passed[i].ok_or_else(|| c.wrong("passed", "free of nulls"))?,
                signals: intern.all(signals.next().unwrap_or_default()),
                resolved: resolved[i],
                csat: csat[i].and_then(|v| u8::try_from(v).ok()),
                tags: intern.all(tags.next().unwrap_or_default()),
            });
        }
    }
    Ok(())
}

/// The flags of `path` whose conversation is in `index`; with `windowed`, a flag of another
/// conversation (one outside the report's window) is skipped, otherwise it is an error.
fn flags(
    path: &Path,
    index: &std::collections::HashMap<&str, usize>,
    windowed: bool,
    intern: &mut Interner,
) -> Result<Vec<FlagRecord>, LoadError> {
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for batch in batches(path)? {
        flag_batch(path, &batch?, intern, &mut rows)?;
        for (id, mut flag) in rows.drain(..) {
            flag.conv = match index.get(id.as_str()) {
                Some(&conv) => conv,
                None if windowed => continue,
                None => {
                    return Err(LoadError::Column {
                        path: path.to_path_buf(),
                        column: "conversation_id".into(),
                        problem: format!("has `{id}`, which is not in {CONVERSATIONS}"),
                    });
                }
            };
            out.push(flag);
        }
    }
    Ok(out)
}

/// Appends the flags of one batch of a flags file to `out`, each with its conversation id (and
/// `conv` 0, for the caller to set).
fn flag_batch(
    path: &Path,
    batch: &RecordBatch,
    intern: &mut Interner,
    out: &mut Vec<(String, FlagRecord)>,
) -> Result<(), LoadError> {
    let c = Columns { path, batch, table: &schema::FLAGS };
    let ids = c.required_strings("conversation_id")?;
    let kinds = c.required_strings("flag")?;
    let dims = c.required_strings("dimension")?;
    let severities = c.required_strings("severity")?;
    let rules = c.strings("rule_id")?;
    let turns = c.i32s("turn_index")?;
    let speakers = c.strings("speaker")?;
    let evidence = c.required_strings("evidence")?;
    let details = c.required_strings("detail")?;
    let rows = ids.into_iter().zip(kinds).zip(dims).zip(severities).zip(rules).zip(evidence);
    for (i, (((((id, flag), dimension), severity), rule_id), evidence)) in rows.enumerate() {
        out.push((
            id,
            FlagRecord {
                conv: 0,
                flag: intern.get(&flag),
                dimension: intern.get(&dimension),
                severity: intern.get(&severity),
                rule_id: rule_id.map(|r| intern.get(&r)),
                turn_index: turns[i].map(|t| t.max(0) as u32),
                speaker: speakers[i].as_deref().map(|s| intern.get(s)),
                evidence,
                detail: details[i].clone(),
            },
        ));
    }
    Ok(())
}

/// A store opened for streaming ([`super::stream`]): what `summary.json` says and the files of
/// both tables, in the order [`load`] reads them.
pub(super) struct Source {
    pub pass_threshold: f64,
    pub model_thresholds: Option<crate::model::Thresholds>,
    limits: Arc<ChannelLimits>,
    conversation_files: Vec<PathBuf>,
    flag_files: Vec<PathBuf>,
}

/// Opens `dir` (flat or `--incremental`, every date) for streaming.
pub(super) fn open(dir: &Path) -> Result<Source, LoadError> {
    let facts = summary(&dir.join(SUMMARY))?;
    let (conversation_files, flag_files) = if facts.incremental {
        let dated = |table: &str| {
            crate::output::partitioned::dated_table_files(dir, table)
                .map(|files| files.into_iter().map(|(_, f)| f).collect::<Vec<_>>())
                .map_err(|source| LoadError::Partitions { path: dir.join(table), source })
        };
        (dated("conversations")?, dated("flags")?)
    } else {
        (vec![dir.join(CONVERSATIONS)], vec![dir.join(FLAGS)])
    };
    Ok(Source {
        pass_threshold: facts.pass_threshold,
        model_thresholds: facts.model_thresholds,
        limits: Arc::new(facts.limits),
        conversation_files,
        flag_files,
    })
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, LoadError>>>;

type Decode<T> = Box<dyn FnMut(&Path, &RecordBatch, &mut Vec<T>) -> Result<(), LoadError>>;

/// The rows of a table's files, decoded one record batch at a time: at most one batch is held.
pub(super) struct Rows<T> {
    files: std::vec::IntoIter<PathBuf>,
    // (the file being read, its batches)
    current: Option<(PathBuf, Batches)>,
    buf: std::collections::VecDeque<T>,
    scratch: Vec<T>,
    decode: Decode<T>,
}

impl<T> Rows<T> {
    fn new(files: Vec<PathBuf>, decode: Decode<T>) -> Rows<T> {
        Rows {
            files: files.into_iter(),
            current: None,
            buf: Default::default(),
            scratch: Vec::new(),
            decode,
        }
    }

    /// The next row, without taking it.
    pub fn peek(&mut self) -> Result<Option<&T>, LoadError> {
        while self.buf.is_empty() {
            if self.current.is_none() {
                let Some(path) = self.files.next() else { return Ok(None) };
                let it = batches(&path)?;
                self.current = Some((path, Box::new(it)));
            }
            let (path, it) = self.current.as_mut().expect("set above");
            match it.next() {
                Some(batch) => {
                    (self.decode)(path, &batch?, &mut self.scratch)?;
                    self.buf.extend(self.scratch.drain(..));
                }
                None => self.current = None,
            }
        }
        Ok(self.buf.front())
    }

    pub fn next_row(&mut self) -> Result<Option<T>, LoadError> {
        self.peek()?;
        Ok(self.buf.pop_front())
    }
}

impl Source {
    /// The conversations, in [`load`]'s order.
    pub fn conversations(&self) -> Rows<ConvRecord> {
        let limits = self.limits.clone();
        let mut intern = Interner::default();
        Rows::new(
            self.conversation_files.clone(),
            Box::new(move |path, batch, out| {
                conversation_batch(path, batch, &limits, &mut intern, out)
            }),
        )
    }

    /// The flags with their conversation ids (`conv` is 0), in file order: the order of their
    /// conversations, as `convqa score` writes them.
    pub fn flags(&self) -> Rows<(String, FlagRecord)> {
        let mut intern = Interner::default();
        Rows::new(
            self.flag_files.clone(),
            Box::new(move |path, batch, out| flag_batch(path, batch, &mut intern, out)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_parquet_file_names_its_path_and_keeps_the_parquet_error_as_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conversations.parquet");
        std::fs::write(&path, b"not parquet at all").unwrap();
        let Err(e) = batches(&path) else { panic!("a text file read as Parquet") };
        assert!(matches!(&e, LoadError::Parquet { path: p, .. } if *p == path), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}: not a readable Parquet file: ", path.display()))
        );
        let source = std::error::Error::source(&e).expect("the Parquet error is kept");
        assert!(e.to_string().ends_with(&source.to_string()), "{e} / {source}");
    }
}
