//! `convqa._convqa`: the convqa engine as a Python extension (the `convqa` package wraps it).
//!
//! Arrow in, Arrow out, through the library's own code: table rows become JSON records for the
//! same parser and checks as `convqa score`'s JSONL lines ([`convqa::tables::Admission`]), files
//! are read by the CLI's own reader, batches are scored, redacted and turned into the Parquet
//! writer's record batches by [`convqa::tables::score_tables`]. Nothing about columns or scores
//! is decided here. The GIL is released while loading and scoring; scoring runs on the engine's
//! own rayon pool.

mod bridge;

use std::path::PathBuf;

use arrow_array::RecordBatch;
use convqa::input::{InputReader, Record, Reject, expand_inputs};
use convqa::redact::Redactor;
use convqa::tables::{self, Admission, ScoredTables};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::AnyRecordBatch;

create_exception!(
    _convqa,
    ConvqaError,
    PyException,
    "The engine could not load (rubric, model, ONNX Runtime) or an input could not be read."
);

fn error(e: impl std::fmt::Display) -> PyErr {
    ConvqaError::new_err(e.to_string())
}

/// Conversations scored per batch, as `convqa score` does (bounds memory; same results).
const BATCH: usize = convqa::job::DEFAULT_BATCH_SIZE;

/// The loaded engine: segmenter, rubric, model sessions (one per pool thread) and the pool.
#[pyclass(frozen, module = "convqa._convqa")]
struct Engine {
    engine: convqa::Engine,
    pool: rayon::ThreadPool,
    redactor: Option<Redactor>,
    max_turns: usize,
}

/// What a call produced, before it becomes Python tables.
#[derive(Default)]
struct Collected {
    conversations: Vec<RecordBatch>,
    turns: Vec<RecordBatch>,
    flags: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    pending: Vec<convqa::Conversation>,
}

impl Engine {
    fn flush(&self, out: &mut Collected) -> Result<(), tables::TablesError> {
        if out.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut out.pending);
        let ScoredTables { conversations, turns, flags, .. } = self
            .pool
            .install(|| tables::score_tables(&self.engine, &batch, self.redactor.as_ref()))?;
        out.conversations.push(conversations);
        out.turns.push(turns);
        out.flags.push(flags);
        Ok(())
    }

    fn push(
        &self,
        out: &mut Collected,
        item: Result<convqa::Conversation, Reject>,
    ) -> Result<(), tables::TablesError> {
        match item {
            Ok(conv) => out.pending.push(conv),
            Err(reject) => out.rejects.push(reject),
        }
        if out.pending.len() >= BATCH { self.flush(out) } else { Ok(()) }
    }

    /// The four pyarrow tables (conversations, turns, flags, rejects).
    fn python_tables<'py>(
        &self,
        py: Python<'py>,
        out: Collected,
    ) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let rejects = tables::rejects_batch(&out.rejects, self.redactor.as_ref()).map_err(error)?;
        let [conv_schema, turn_schema, flag_schema] = tables::output_schemas();
        let table = |batches: Vec<RecordBatch>, schema| -> PyResult<Bound<'py, PyAny>> {
            let (batches, schema) = bridge::to_pyo3_arrow(batches, schema).map_err(error)?;
            PyTable::try_new(batches, schema)?.into_pyarrow(py)
        };
        let rejects_schema = rejects.schema();
        pyo3::types::PyTuple::new(
            py,
            [
                table(out.conversations, conv_schema)?,
                table(out.turns, turn_schema)?,
                table(out.flags, flag_schema)?,
                table(vec![rejects], rejects_schema)?,
            ],
        )
    }
}

#[pymethods]
impl Engine {
    /// Loads the engine once: `rubric_path` or `rubric_text` (else the built-in rubric),
    /// `model_dir` (None: no model stage), ONNX Runtime's library `ort_lib`, PII redaction
    /// `redact` (`all`, `none` or a comma list), `threads` (0: one per core), `max_turns`.
    /// The `convqa.Engine` class resolves the defaults; use that.
    #[new]
    #[allow(clippy::too_many_arguments)] // the keyword arguments of the Python constructor
    #[pyo3(signature = (rubric_path=None, rubric_text=None, model_dir=None, ort_lib=None, redact="all", threads=0, max_turns=convqa::input::DEFAULT_MAX_TURNS))]
    fn new(
        py: Python<'_>,
        rubric_path: Option<PathBuf>,
        rubric_text: Option<String>,
        model_dir: Option<PathBuf>,
        ort_lib: Option<PathBuf>,
        redact: &str,
        threads: usize,
        max_turns: usize,
    ) -> PyResult<Engine> {
        let redactor = Redactor::from_spec(redact).map_err(PyValueError::new_err)?;
        py.detach(|| -> Result<Engine, String> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("convqa-worker-{i}"))
                .build()
                .map_err(|e| format!("cannot start {threads} worker threads: {e}"))?;
            let engine = convqa::Engine::load(&convqa::EngineOptions {
                rubric: rubric_path,
                rubric_text,
                model: model_dir,
                ort_lib,
                workers: pool.current_num_threads(),
                example_thresholds: convqa::rubric::ExampleThresholds::Required,
            })
            .map_err(|e| e.to_string())?;
            Ok(Engine { engine, pool, redactor, max_turns })
        })
        .map_err(ConvqaError::new_err)
    }

    /// Scores the rows of an Arrow table, record batch or stream (anything with
    /// `__arrow_c_stream__` / `__arrow_c_array__`); returns the tuple (conversations, turns,
    /// flags, rejects) of pyarrow Tables. `source` names the input in rejects (`file` column;
    /// `line` is the row number from 1).
    #[pyo3(signature = (data, source="table"))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        data: AnyRecordBatch,
        source: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let reader = data.into_reader()?;
        let out = py
            .detach(|| -> Result<Collected, String> {
                let mut out = Collected::default();
                let mut admission = Admission::new(source, self.max_turns);
                let mut row = 0u64;
                for batch in reader {
                    let batch = batch.map_err(|e| format!("reading the input table: {e}"))?;
                    for json in bridge::json_records(&batch).map_err(|e| e.to_string())? {
                        row += 1;
                        let item = admission.admit(json.as_bytes(), row);
                        self.push(&mut out, item).map_err(|e| e.to_string())?;
                    }
                }
                self.flush(&mut out).map_err(|e| e.to_string())?;
                Ok(out)
            })
            .map_err(ConvqaError::new_err)?;
        self.python_tables(py, out)
    }

    /// Scores JSONL files or folders (every *.jsonl below, also .gz / .zst) with the CLI's own
    /// reader; returns (conversations, turns, flags, rejects) as pyarrow Tables.
    fn score_jsonl<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
    ) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let out = py
            .detach(|| -> Result<Collected, String> {
                let format = convqa::input::adapters::Format::Jsonl;
                let sources =
                    expand_inputs(&paths, format.extensions()).map_err(|e| e.to_string())?;
                let mut reader = InputReader::new(sources, convqa::input::DEFAULT_MAX_LINE_BYTES)
                    .with_max_turns(self.max_turns);
                let mut out = Collected::default();
                while let Some(record) = reader.next().map_err(|e| e.to_string())? {
                    let item = match record {
                        Record::Conversation(conv) => Ok(*conv),
                        Record::Rejected(reject) => Err(reject),
                    };
                    self.push(&mut out, item).map_err(|e| e.to_string())?;
                }
                self.flush(&mut out).map_err(|e| e.to_string())?;
                Ok(out)
            })
            .map_err(ConvqaError::new_err)?;
        self.python_tables(py, out)
    }

    /// What was loaded: rubric (name, version, sha256, source), model (name, version or None),
    /// threads, and the rules that run on their phrases only.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let r = &self.engine.rubric;
        d.set_item("rubric_name", &r.name)?;
        d.set_item("rubric_version", &r.version)?;
        d.set_item("rubric_sha256", &r.sha256)?;
        d.set_item("rubric_source", &r.source)?;
        let model = self.engine.model.as_ref().map(|m| &m.manifest);
        d.set_item("model_name", model.map(|m| &m.name))?;
        d.set_item("model_version", model.map(|m| &m.version))?;
        d.set_item("threads", self.pool.current_num_threads())?;
        d.set_item("rules_phrases_only", &r.binding.phrases_only)?;
        Ok(d)
    }
}

/// The output schemas (conversations, turns, flags, rejects) as pyarrow Schemas, without loading
/// an engine (Spark needs them on the driver).
#[pyfunction]
fn output_schemas(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyAny>>> {
    let [c, t, f] = tables::output_schemas();
    [c, t, f, tables::REJECTS_SCHEMA.clone()]
        .into_iter()
        .map(|schema| {
            let (_, schema) = bridge::to_pyo3_arrow(Vec::new(), schema).map_err(error)?;
            pyo3_arrow::PySchema::new(schema).into_pyarrow(py)
        })
        .collect()
}

#[pymodule]
fn _convqa(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(output_schemas, m)?)?;
    m.add("ConvqaError", m.py().get_type::<ConvqaError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
