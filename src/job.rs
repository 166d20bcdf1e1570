//! The batch job behind `convqa score`: stream input → score in parallel batches (with the pure
//! [`crate::engine`]) → write outputs → commit.
//!
//! A reader thread parses lines into batches while the rayon pool scores the previous batch and
//! the calling thread writes its rows. Memory is bounded by four batches of conversations (one
//! being read, two queued, one being scored) plus the Parquet writers' open row groups, whatever
//! the input size. Results are written in input order, so the output bytes are the same
//! for any `--threads`. Rejected lines go to `rejects.jsonl`; the summary's counts always add up
//! (`read = scored + rejected`).
//!
//! The run holds the output folder's lock from start to end, and puts all its files in place
//! with one journaled commit after checking that no input file changed while it was read
//! ([`crate::output::commit`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::conversation::Conversation;
use crate::engine::{Engine, EngineError, EngineOptions, StageTimes, score_batch};
use crate::input::{self, InputError, InputReader, Record, Source};
use crate::model::ModelError;
use crate::output::{
    self, AdapterInfo, Counts, OutputError, ParquetOutputs, RejectsWriter, RunFacts, StageSeconds,
    Summary, Transaction,
};
use crate::rubric::RubricError;
use crate::score::ConversationScore;

/// Conversations scored per parallel batch (and written per Parquet batch).
pub const DEFAULT_BATCH_SIZE: usize = 1024;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    /// A rubric file; `None` uses the built-in default.
    pub rubric: Option<PathBuf>,
    /// Worker threads; 0 means one per CPU core.
    pub threads: usize,
    pub batch_size: usize,
    pub max_line_bytes: usize,
    /// Progress on stderr: none, a bar (terminal only) or JSON lines for schedulers.
    pub progress: crate::progress::ProgressMode,
    /// Conversations with more turns are rejected (`too_many_turns`).
    pub max_turns: usize,
    /// Any rejected line stops the run: nothing is committed, the previous outputs stay.
    pub strict: bool,
    /// The model folder; `None` runs without the model stage (`--no-models`).
    pub model: Option<PathBuf>,
    /// Where ONNX Runtime's library is, if not in the default places.
    pub ort_lib: Option<PathBuf>,
    /// PII redaction of every text written out (all kinds by default); `None` writes text as is.
    pub redact: Option<crate::redact::Redactor>,
    /// The nightly layout: date partitions, unchanged conversations skipped, changed ones
    /// replaced (see [`crate::output::partitioned`]). Otherwise three flat files, replaced whole.
    pub incremental: bool,
    /// The input's format: convqa's JSONL, or another tool's export read through its adapter
    /// (`--from`).
    pub format: crate::input::adapters::Format,
    /// What the adapter keeps (`--keep-notes`, `--gap`, `--mapping`).
    pub adapter: crate::input::adapters::AdapterOptions,
    /// How long to wait for the output folder's lock when another run holds it; `None` fails at
    /// once ([`OutputError::Locked`]).
    pub wait_lock: Option<Duration>,
}

/// Where scored rows go: the flat files of one run, or the incremental partitioned store.
enum Sink {
    Flat(Box<ParquetOutputs>),
    Partitioned(crate::output::PartitionedOutputs),
}

impl Sink {
    /// The flat files of one run, or with `--incremental` the partitioned store.
    fn create(opts: &RunOptions, run_id: &str) -> Result<Sink, OutputError> {
        Ok(if opts.incremental {
            Sink::Partitioned(crate::output::PartitionedOutputs::create(&opts.out, run_id)?)
        } else {
            Sink::Flat(Box::new(ParquetOutputs::create(&opts.out)?))
        })
    }

    fn write(&mut self, scores: Vec<ConversationScore>) -> Result<(), OutputError> {
        match self {
            Sink::Flat(p) => p.write(&scores),
            Sink::Partitioned(p) => p.write(scores),
        }
    }

    fn stage(
        self,
        tx: &mut Transaction,
    ) -> Result<Option<crate::output::IncrementalInfo>, OutputError> {
        match self {
            Sink::Flat(p) => {
                for staged in p.finish()? {
                    tx.add(staged);
                }
                Ok(None)
            }
            Sink::Partitioned(p) => p.stage(tx).map(Some),
        }
    }
}

impl RunOptions {
    pub fn new(inputs: Vec<PathBuf>, out: PathBuf) -> RunOptions {
        RunOptions {
            inputs,
            out,
            rubric: None,
            threads: 0,
            batch_size: DEFAULT_BATCH_SIZE,
            max_line_bytes: input::DEFAULT_MAX_LINE_BYTES,
            progress: crate::progress::ProgressMode::None,
            max_turns: input::DEFAULT_MAX_TURNS,
            strict: false,
            model: Some(PathBuf::from(crate::model::DEFAULT_MODEL_DIR)),
            ort_lib: None,
            redact: Some(crate::redact::Redactor::default()),
            incremental: false,
            format: crate::input::adapters::Format::Jsonl,
            adapter: crate::input::adapters::AdapterOptions::default(),
            wait_lock: None,
        }
    }
}

/// Why a run stopped. Each kind maps to its own exit code in the binary.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Rubric(#[from] RubricError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
    #[error(
        "{origin}: rejected ({code}): {reason}; --strict stops at the first rejected line and keeps the previous outputs"
    )]
    Strict { origin: String, code: &'static str, reason: String },
    #[error(
        "{path}: {what} while the run read it, so the scores would match no version of it; \
         nothing was committed, the previous outputs stay: re-run once the file is complete"
    )]
    InputChanged { path: PathBuf, what: String },
}

impl From<EngineError> for RunError {
    fn from(e: EngineError) -> RunError {
        match e {
            EngineError::Rubric(e) => RunError::Rubric(e),
            EngineError::Model(e) => RunError::Model(e),
        }
    }
}

/// An input file's size and modification time (`None`: gone), to notice a change during the run.
type FileState = Option<(u64, Option<SystemTime>)>;

fn file_state(path: &Path) -> FileState {
    std::fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok()))
}

/// Fails if an input file was deleted, truncated, extended or rewritten since the run started.
fn check_inputs_unchanged(before: &[(PathBuf, FileState)]) -> Result<(), RunError> {
    for (path, was) in before {
        let what = match (was, file_state(path)) {
            (Some(_), None) => "deleted",
            (Some((a, _)), Some((b, _))) if b < *a => "truncated",
            (Some((a, _)), Some((b, _))) if b > *a => "extended",
            (Some((_, t)), Some((_, u))) if *t != u => "rewritten",
            _ => continue,
        };
        return Err(RunError::InputChanged { path: path.clone(), what: what.into() });
    }
    Ok(())
}

/// Runs the whole job and returns its summary (also written to `summary.json`).
pub fn run(opts: &RunOptions) -> Result<Summary, RunError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let sources = input::expand_inputs(&opts.inputs, opts.format.extensions())?;
    let inputs_before = input_states(&sources);
    // held until the run returns: one run per output folder
    let t = Instant::now();
    let _lock = output::open_store(&opts.out, opts.wait_lock)?;
    let lock_time = t.elapsed();
    let fsync_before = output::commit::fsync_seconds();
    let pool = worker_pool(opts.threads)?;
    let engine = load_engine(opts, pool.current_num_threads())?;

    let run_id = started_at.format("%Y%m%dT%H%M%S%3fZ").to_string();
    let sink = Sink::create(opts, &run_id)?;
    let rejects = RejectsWriter::create(&opts.out.join(output::REJECTS), opts.redact.clone())?;
    let total_bytes: Option<u64> = sources.iter().map(Source::size_on_disk).sum();
    let progress = crate::progress::Progress::new(opts.progress, total_bytes);
    log_start(&engine, pool.current_num_threads());
    let s = stream(opts, &pool, &engine, input_reader(opts, sources), rejects, sink, &progress)?;
    progress.finish(s.reader.bytes_read(), s.counts.scored, s.rejects.count());

    let t = Instant::now();
    let counts = final_counts(s.counts, &s.reader, &s.rejects);
    let mut tx = Transaction::new(&opts.out);
    let incremental = s.sink.stage(&mut tx)?;
    tx.add(s.rejects.finish()?);
    let write_time = s.write_time + t.elapsed();

    let summary = Summary::new(RunFacts {
        started_at,
        threads: pool.current_num_threads(),
        counts,
        rejects_by_code: s.rejects_by_code,
        inputs: s.reader.stats().to_vec(),
        adapter: (opts.format != crate::input::adapters::Format::Jsonl).then(|| AdapterInfo {
            format: opts.format.name().to_string(),
            counts: s.reader.adapter_counts(),
        }),
        rubric: &engine.rubric,
        model: engine.model.as_ref(),
        stage_seconds: StageSeconds {
            write: write_time.as_secs_f64(),
            fsync: output::commit::fsync_seconds() - fsync_before,
            lock: lock_time.as_secs_f64(),
            total_wall: started.elapsed().as_secs_f64(),
            ..stage_seconds(s.read_time, &s.stages)
        },
        incremental,
    });
    stage_summary(&summary, &opts.out, &mut tx)?;
    check_inputs_unchanged(&inputs_before)?;
    tx.commit()?;
    Ok(summary)
}

/// The reader of every source, through the format's adapter unless it is convqa's JSONL.
fn input_reader(opts: &RunOptions, sources: Vec<Source>) -> InputReader {
    let reader = InputReader::new(sources, opts.max_line_bytes).with_max_turns(opts.max_turns);
    if opts.format == crate::input::adapters::Format::Jsonl {
        return reader;
    }
    reader.with_format(opts.format, opts.adapter.clone())
}

/// The reading and scoring stages' seconds (the rest is filled in at the end of the run).
fn stage_seconds(read: Duration, stages: &StageTimes) -> StageSeconds {
    StageSeconds {
        read: read.as_secs_f64(),
        model: stages.model.as_secs_f64(),
        segment: stages.segment.as_secs_f64(),
        rubric: stages.rubric.as_secs_f64(),
        score: stages.score.as_secs_f64(),
        ..StageSeconds::default()
    }
}

/// The size and modification time of every input file, to notice a change during the run.
fn input_states(sources: &[Source]) -> Vec<(PathBuf, FileState)> {
    sources
        .iter()
        .filter_map(|s| match s {
            Source::File(p) => Some((p.clone(), file_state(p))),
            Source::Stdin => None,
        })
        .collect()
}

/// The rayon pool that scores; `threads` 0 means one thread per CPU core.
fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("convqa-worker-{i}"))
        .build()
        .map_err(|e| RunError::Threads { threads, message: e.to_string() })
}

/// The engine for `opts`, one model session per worker; warns about rules that run on their
/// phrases only.
fn load_engine(opts: &RunOptions, workers: usize) -> Result<Engine, RunError> {
    let engine = Engine::load(&EngineOptions {
        rubric: opts.rubric.clone(),
        rubric_text: None,
        model: opts.model.clone(),
        ort_lib: opts.ort_lib.clone(),
        workers,
        example_thresholds: crate::rubric::ExampleThresholds::Required,
    })?;
    if !engine.rubric.binding.phrases_only.is_empty() {
        log::warn!(
            "{} rules ran on their phrases only (no model acts or example matching {}): {}",
            engine.rubric.binding.phrases_only.len(),
            if engine.model.is_none() { "with --no-models" } else { "in this model" },
            engine.rubric.binding.phrases_only.join(", ")
        );
    }
    Ok(engine)
}

fn log_start(engine: &Engine, workers: usize) {
    log::info!(
        "rubric {} {} ({} rules, {} phrases); model: {}; {} worker threads",
        engine.rubric.name,
        engine.rubric.version,
        engine.rubric.rules.len(),
        engine.rubric.matcher.pattern_count(),
        engine.model.as_ref().map_or("none (--no-models)".to_string(), |m| m.manifest.name.clone()),
        workers
    );
}

/// What the three overlapping stages hand back once the input is exhausted.
struct Streamed {
    reader: InputReader,
    rejects: RejectsWriter,
    rejects_by_code: BTreeMap<String, u64>,
    read_time: Duration,
    sink: Sink,
    write_time: Duration,
    counts: Counts,
    stages: StageTimes,
}

/// Three stages overlap: the reader thread parses lines into batches (and writes rejects),
/// the pool scores a batch (and redacts it), and the writer thread builds and writes the rows
/// of the batch before. At most two batches wait before scoring and one before writing.
fn stream(
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    engine: &Engine,
    reader: InputReader,
    rejects: RejectsWriter,
    sink: Sink,
    progress: &crate::progress::Progress,
) -> Result<Streamed, RunError> {
    let (batches, received) = mpsc::sync_channel::<Vec<Conversation>>(2);
    let (to_writer, for_writer) = mpsc::sync_channel::<Vec<ConversationScore>>(1);
    let mut counts = Counts::default();
    let mut stages = StageTimes::default();
    let (read, scored, written) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || read_batches(reader, rejects, opts, batches, progress));
        let writing = scope.spawn(move || write_batches(sink, for_writer));
        // on an error the receiver is dropped here, which stops the reader
        let scored =
            score_batches(opts, pool, engine, received, to_writer, &mut counts, &mut stages);
        (
            reading.join().expect("the reader thread does not panic"),
            scored,
            writing.join().expect("the writer thread does not panic"),
        )
    });
    counts.model_turns = stages.model_texts;
    counts.model_distinct_texts = stages.model_runs;
    let ReadSide { reader, rejects, rejects_by_code, read_time } = read?;
    scored?;
    let (sink, write_time) = written?;
    Ok(Streamed { reader, rejects, rejects_by_code, read_time, sink, write_time, counts, stages })
}

/// Scores and redacts each batch on the pool and sends it to the writer, counting as it goes.
/// Stops when the writer has gone away (its error is reported by the caller).
fn score_batches(
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    engine: &Engine,
    received: mpsc::Receiver<Vec<Conversation>>,
    to_writer: mpsc::SyncSender<Vec<ConversationScore>>,
    counts: &mut Counts,
    stages: &mut StageTimes,
) -> Result<(), RunError> {
    for batch in received {
        let (mut scores, times) = pool.install(|| score_batch(engine, &batch))?;
        *stages += times;
        if let Some(r) = &opts.redact {
            use rayon::prelude::*;
            counts.redacted += pool.install(|| {
                scores.par_iter_mut().map(|s| crate::redact::redact_score(s, r)).sum::<u64>()
            });
        }
        counts.scored += scores.len() as u64;
        counts.passed += scores.iter().filter(|s| s.passed).count() as u64;
        counts.turns += scores.iter().map(|s| s.turns.len() as u64).sum::<u64>();
        counts.flags += scores.iter().map(|s| s.flags.len() as u64).sum::<u64>();
        if to_writer.send(scores).is_err() {
            break; // the writer failed: its error is reported by the caller
        }
    }
    Ok(())
}

/// Writes every scored batch to the sink; returns it with the time spent writing. On an error
/// the receiver is dropped, which stops the scoring loop.
fn write_batches(
    mut sink: Sink,
    for_writer: mpsc::Receiver<Vec<ConversationScore>>,
) -> Result<(Sink, Duration), OutputError> {
    let mut write_time = Duration::ZERO;
    for scores in for_writer {
        let t = Instant::now();
        sink.write(scores)?;
        write_time += t.elapsed();
    }
    Ok((sink, write_time))
}

/// The counts once everything is read: rejects, failures, and the lines the reader saw —
/// counted by the reader, independently of what was scored and rejected, so the summary's
/// `read = scored + rejected` is a check, not a definition.
fn final_counts(mut counts: Counts, reader: &InputReader, rejects: &RejectsWriter) -> Counts {
    counts.rejected = rejects.count();
    counts.failed = counts.scored - counts.passed;
    counts.blank_lines = reader.stats().iter().map(|s| s.blank_lines).sum();
    counts.read = reader.stats().iter().map(|s| s.lines).sum::<u64>() - counts.blank_lines;
    debug_assert_eq!(counts.read, counts.scored + counts.rejected, "every line accounted for");
    counts
}

/// Stages `summary.json`, and with `--incremental` the run manifest kept per run in `_runs/`
/// (Spark and DuckDB skip folders starting with `_`).
fn stage_summary(summary: &Summary, out: &Path, tx: &mut Transaction) -> Result<(), RunError> {
    if let Some(info) = &summary.incremental {
        let runs = out.join("_runs");
        std::fs::create_dir_all(&runs)
            .map_err(|source| OutputError::CreateDir { path: runs.clone(), source })?;
        tx.add(summary.stage(&runs.join(format!("{}.json", info.run_id)))?);
    }
    tx.add(summary.stage(&out.join(output::SUMMARY))?);
    Ok(())
}

/// What the reader thread hands back when the input is exhausted.
struct ReadSide {
    reader: InputReader,
    rejects: RejectsWriter,
    rejects_by_code: BTreeMap<String, u64>,
    read_time: Duration,
}

/// Reads every record: conversations go to `batches` in groups of `batch_size`, rejects straight
/// to `rejects.jsonl`. Stops early, without error, if the receiving side has gone away.
fn read_batches(
    mut reader: InputReader,
    mut rejects: RejectsWriter,
    opts: &RunOptions,
    batches: mpsc::SyncSender<Vec<Conversation>>,
    progress: &crate::progress::Progress,
) -> Result<ReadSide, RunError> {
    let batch_size = opts.batch_size;
    let mut conversations = 0u64;
    let mut rejects_by_code = BTreeMap::new();
    let mut read_time = Duration::ZERO;
    let mut batch = Vec::with_capacity(batch_size);
    loop {
        let t = Instant::now();
        let record = reader.next()?;
        read_time += t.elapsed();
        match record {
            Some(Record::Conversation(c)) => {
                conversations += 1;
                batch.push(*c);
            }
            Some(Record::Rejected(r)) if opts.strict => {
                return Err(RunError::Strict {
                    origin: r.origin.to_string(),
                    code: r.reason.code(),
                    reason: r.reason.to_string(),
                });
            }
            Some(Record::Rejected(r)) => {
                log::debug!("{}: rejected ({}): {}", r.origin, r.reason.code(), r.reason);
                *rejects_by_code.entry(r.reason.code().to_string()).or_default() += 1;
                rejects.write(&r)?;
            }
            None => break,
        }
        if batch.len() >= batch_size {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            if batches.send(full).is_err() {
                break;
            }
            progress.update(reader.bytes_read(), conversations, rejects.count());
        }
    }
    if !batch.is_empty() {
        let _ = batches.send(batch);
    }
    Ok(ReadSide { reader, rejects, rejects_by_code, read_time })
}
