//! Writing results: `conversations.parquet`, `turns.parquet`, `flags.parquet` (zstd),
//! `rejects.jsonl` and `summary.json`.
//!
//! Every file is written to a temporary file in the output directory, fsynced, and renamed into
//! place with the run's other files only when the whole run succeeded, through a journal
//! ([`commit`]): a crashed or failed run leaves the previous complete outputs (or none), never a
//! partial file at a final path nor files of two runs. One run at a time holds the folder's lock
//! ([`lock`]).

mod atomic;
pub mod commit;
pub mod fault;
pub mod lock;
pub(crate) mod parquet;
pub mod partitioned;
mod rejects;
pub mod schema;
mod summary;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use atomic::AtomicFile;
pub use commit::{Staged, Transaction};
pub use lock::StoreLock;
pub use parquet::{ParquetOutputs, conversations_batch, flags_batch, turns_batch};
pub use partitioned::{IncrementalInfo, PartitionedOutputs};
pub use rejects::{RejectsWriter, write_reject_line};
pub use summary::{AdapterInfo, Counts, ModelInfo, RubricInfo, RunFacts, StageSeconds, Summary};

pub const CONVERSATIONS: &str = "conversations.parquet";
pub const TURNS: &str = "turns.parquet";
pub const FLAGS: &str = "flags.parquet";
pub const REJECTS: &str = "rejects.jsonl";
pub const SUMMARY: &str = "summary.json";

/// Failures writing outputs; the run stops and final paths keep their previous content.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: cannot create output directory: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write Parquet: {source}")]
    Parquet { path: PathBuf, source: ::parquet::errors::ParquetError },
    #[error("{path}: cannot build record batch: {source}")]
    Arrow { path: PathBuf, source: arrow_schema::ArrowError },
    #[error(
        "{dir}: in use by another convqa run ({holder}){waited_for}; wait for it to end, or pass \
         --wait-lock SECS to wait up to SECS seconds",
        waited_for = if *waited > 0 { format!(" after waiting {waited} s") } else { String::new() }
    )]
    Locked { dir: PathBuf, holder: String, waited: u64 },
    #[error("{path}: {message}")]
    Journal { path: PathBuf, message: String },
    #[error(
        "{source}; the run is committed but not all of it is in place yet: the next \
         `convqa score`, `convqa report` or `convqa verify --repair` on {dir} finishes it"
    )]
    Unfinished { dir: PathBuf, source: Box<OutputError> },
}

/// An [`AtomicFile`] at `path`, its missing parent directories created first.
pub fn create_with_parents(path: &Path) -> Result<AtomicFile, OutputError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| OutputError::CreateDir { path: dir.to_path_buf(), source })?;
    }
    AtomicFile::create(path)
}

/// Runs `write` on buffered stdout when `out` is `-`, otherwise on a buffered file at `out`
/// ([`create_with_parents`]) renamed into place only when `write` succeeded: the one-file
/// commands (`convqa generate`, `convqa convert`).
pub fn write_file_or_stdout<T, E: From<OutputError>>(
    out: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<T, E>,
) -> Result<T, E> {
    use std::io::{BufWriter, Write};
    let flushed = |w: &mut dyn Write| {
        w.flush().map_err(|source| OutputError::Io { path: out.to_path_buf(), source })
    };
    if out == Path::new("-") {
        let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let t = write(&mut w)?;
        flushed(&mut w)?;
        return Ok(t);
    }
    let mut file = create_with_parents(out)?;
    let t = {
        let mut w = BufWriter::with_capacity(1 << 20, &mut file);
        let t = write(&mut w)?;
        flushed(&mut w)?;
        t
    };
    file.commit()?;
    Ok(t)
}

/// Opens an output folder for writing: creates it, takes its lock (waiting up to `wait`),
/// finishes a commit a killed run left, then removes the temporary files of runs that were
/// killed or failed before their commit point. Only the lock holder removes temporary files, so
/// a live run never loses its own. Hold the returned lock until the run's commit is done.
pub fn open_store(dir: &Path, wait: Option<Duration>) -> Result<StoreLock, OutputError> {
    let lock = StoreLock::acquire(dir, wait)?;
    commit::recover(dir)?;
    for tmp in commit::stale_temps(dir)? {
        log::info!("removing {}, left by a run that did not commit", tmp.display());
        fault::point(|| format!("remove {}", tmp.display()))
            .and_then(|()| std::fs::remove_file(&tmp))
            .map_err(|source| OutputError::Io { path: tmp.clone(), source })?;
    }
    Ok(lock)
}
