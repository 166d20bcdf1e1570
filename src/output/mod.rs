//! Writing results: `conversations.parquet`, `turns.parquet`, `flags.parquet` (zstd),
//! `rejects.jsonl` and `summary.json`.
//!
//! Every file is written to a temporary file in the output directory and renamed into place only
//! when the whole run succeeded, data files first and the summary last: a crashed or failed run
//! leaves the previous complete outputs (or none), never a partial file at a final path.

mod atomic;
pub(crate) mod parquet;
pub mod partitioned;
mod rejects;
mod summary;

use std::path::{Path, PathBuf};

pub use atomic::AtomicFile;
pub use parquet::{ParquetOutputs, conversations_batch, flags_batch, turns_batch};
pub use partitioned::{IncrementalInfo, PartitionedOutputs};
pub use rejects::{RejectsWriter, write_reject};
pub use summary::{Counts, ModelInfo, RubricInfo, StageSeconds, Summary};

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

/// Creates the output directory if needed, and removes temporary files a killed earlier run
/// left behind (`.conversations.parquet.XXXXXX.tmp`, ...). One run per output directory at a
/// time: a second concurrent run would lose its temporary files here.
pub fn prepare_dir(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| OutputError::CreateDir { path: dir.to_path_buf(), source })?;
    remove_stale_temps(dir)
}

/// Removes `.NAME.*.tmp` files in `dir` (what [`AtomicFile`] creates), for any NAME.
pub fn remove_stale_temps(dir: &Path) -> Result<(), OutputError> {
    let io = |source| OutputError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            && name.ends_with(".tmp")
            && entry.file_type().map_err(io)?.is_file()
        {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}
