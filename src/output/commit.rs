//! All-or-nothing commits: a run's outputs appear together or not at all.
//!
//! A run writes each output to a temporary file beside its final path and fsyncs it
//! ([`Staged`]). Nothing final changes until every file is staged. Then [`Transaction::commit`]
//! - writes the journal, `.convqa-journal.json`: every rename (temporary → final) and every
//!   removal (an older part file left empty), fsynced, renamed into place, the folder fsynced.
//!   That rename is the commit point: before it a failure or a kill changes no final file (the
//!   staged files are removed, by the failing run or as stale by the next one);
//! - applies the operations in order, data files first and `summary.json` last, each one
//!   idempotent (a rename whose temporary file is gone was done), then fsyncs the folders;
//! - removes the journal.
//!
//! A run killed after the commit point leaves the journal; the next run on the folder, under
//! the lock ([`super::lock`]), finishes it ([`recover`]) before anything else, and only then
//! removes stale temporary files, so a journal's files are never lost. `convqa verify --repair`
//! does the same without scoring.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{OutputError, fault};

/// The journal of a commit in progress, in the output folder.
pub const JOURNAL: &str = ".convqa-journal.json";

/// A finished, fsynced temporary file waiting to be renamed to its final path. Dropped without
/// being committed, its temporary file is removed.
#[must_use = "a staged file is removed unless committed"]
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    /// Renamed, or handed to a durable journal: no longer ours to remove.
    settled: bool,
}

impl Staged {
    pub(crate) fn new(tmp: PathBuf, path: PathBuf) -> Staged {
        Staged { tmp, path, settled: false }
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames this one file into place and fsyncs its folder: for commands that write a
    /// single file (`convqa generate`, `convqa convert`).
    pub fn persist(mut self) -> Result<(), OutputError> {
        rename(&self.tmp, &self.path)?;
        self.settled = true;
        sync_dir(parent(&self.path))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.settled {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// One step of a journal; paths are relative to the output folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Rename { from: String, to: String },
    Remove { path: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// Who wrote it (for a person reading a leftover journal).
    written_by: String,
    ops: Vec<Op>,
}

/// The files of one run, to be put in place together.
#[derive(Debug)]
pub struct Transaction {
    root: PathBuf,
    removals: Vec<PathBuf>,
    staged: Vec<Staged>,
}

impl Transaction {
    pub fn new(root: &Path) -> Transaction {
        Transaction { root: root.to_path_buf(), removals: Vec::new(), staged: Vec::new() }
    }

    /// A file to rename into place. Files are put in place in the order they were added, after
    /// the removals.
    pub fn add(&mut self, staged: Staged) {
        self.staged.push(staged);
    }

    /// A file to remove (an older part file whose every row was replaced).
    pub fn remove(&mut self, path: PathBuf) {
        self.removals.push(path);
    }

    /// `path` relative to the output folder. Both are made absolute first (without touching the
    /// filesystem), as temporary files are created with absolute paths when `--out` is relative.
    fn rel(&self, path: &Path) -> Result<String, OutputError> {
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let (root, path) = (absolute(&self.root), absolute(path));
        path.strip_prefix(&root).map(|p| p.to_string_lossy().into_owned()).map_err(|_| {
            OutputError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!(
                    "not inside the output folder {}",
                    self.root.display()
                )),
            }
        })
    }

    /// Journal, apply, forget: see the module documentation. An error before the journal is in
    /// place leaves every final file as it was; after it, [`OutputError::Unfinished`] says the
    /// next run finishes the commit.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let mut ops = Vec::new();
        for p in &self.removals {
            ops.push(Op::Remove { path: self.rel(p)? });
        }
        for s in &self.staged {
            ops.push(Op::Rename { from: self.rel(&s.tmp)?, to: self.rel(&s.path)? });
        }
        if ops.is_empty() {
            return Ok(());
        }
        let journal = Journal { written_by: super::lock::holder_line(), ops };
        let path = self.root.join(JOURNAL);
        let io = |source| OutputError::Io { path: path.clone(), source };
        let mut file = std::io::BufWriter::new(super::AtomicFile::create(&path)?);
        serde_json::to_writer_pretty(&mut file, &journal).map_err(|e| io(e.into()))?;
        let mut staged_journal = file.into_inner().map_err(|e| io(e.into_error()))?.finish()?;
        rename(&staged_journal.tmp, &path)?; // the commit point
        staged_journal.settled = true;
        for s in &mut self.staged {
            s.settled = true; // the journal owns them now
        }
        sync_dir(&self.root)
            .and_then(|()| finish(&self.root, &journal.ops))
            .map_err(|e| OutputError::Unfinished { dir: self.root.clone(), source: Box::new(e) })
    }
}

/// Applies a durable journal's operations, fsyncs the folders they touched, removes it.
fn finish(root: &Path, ops: &[Op]) -> Result<(), OutputError> {
    let mut dirs = BTreeSet::new();
    for op in ops {
        match op {
            Op::Rename { from, to } => {
                let (from, to) = (root.join(from), root.join(to));
                if from.exists() {
                    rename(&from, &to)?;
                } else if !to.exists() {
                    return Err(OutputError::Journal {
                        path: root.join(JOURNAL),
                        message: format!(
                            "neither {} nor {} exists: a file of the interrupted commit was \
                             removed by hand; run `convqa verify {}` to see what the store lacks",
                            from.display(),
                            to.display(),
                            root.display()
                        ),
                    });
                }
                dirs.insert(parent(&to).to_path_buf());
            }
            Op::Remove { path } => {
                let path = root.join(path);
                fault::point(|| format!("remove {}", path.display()))
                    .and_then(|()| match std::fs::remove_file(&path) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                        r => r,
                    })
                    .map_err(|source| OutputError::Io { path: path.clone(), source })?;
                dirs.insert(parent(&path).to_path_buf());
            }
        }
    }
    for d in &dirs {
        sync_dir(d)?;
    }
    let journal = root.join(JOURNAL);
    fault::point(|| format!("remove {}", journal.display()))
        .and_then(|()| std::fs::remove_file(&journal))
        .map_err(|source| OutputError::Io { path: journal, source })?;
    sync_dir(root)
}

/// Finishes the commit a killed run left (its journal), if any: returns how many operations the
/// journal held. Call it holding the lock, before anything else touches the folder.
pub fn recover(root: &Path) -> Result<Option<usize>, OutputError> {
    let path = root.join(JOURNAL);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OutputError::Io { path, source }),
    };
    let journal: Journal = serde_json::from_str(&text).map_err(|e| OutputError::Journal {
        path: path.clone(),
        message: format!(
            "not a convqa journal ({e}); it is written whole by a rename, so this one was \
             edited or damaged: move it away, then run `convqa verify {}`",
            root.display()
        ),
    })?;
    log::warn!(
        "{}: finishing the commit of an interrupted run ({})",
        root.display(),
        journal.written_by
    );
    finish(root, &journal.ops)?;
    Ok(Some(journal.ops.len()))
}

/// Whether a commit is waiting to be finished.
pub fn pending(root: &Path) -> bool {
    root.join(JOURNAL).exists()
}

/// The folders of a store that can hold temporary files: the root, `_runs`, `coaching` (the
/// sheets of `convqa coach`) and every date partition of the three tables.
pub(crate) fn store_dirs(root: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut dirs = vec![root.to_path_buf(), root.join("_runs"), root.join("coaching")];
    for table in super::partitioned::TABLES {
        let t = root.join(table);
        let entries = match std::fs::read_dir(&t) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(OutputError::Io { path: t, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| OutputError::Io { path: t.clone(), source })?;
            if entry.file_name().to_string_lossy().starts_with("date=") {
                dirs.push(entry.path());
            }
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Temporary files (`.NAME.XXXXXX.tmp`) anywhere in the store: left by runs that were killed or
/// failed before their commit point. Only the lock holder may remove them (after [`recover`]).
pub fn stale_temps(root: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut found = Vec::new();
    for dir in store_dirs(root)? {
        let io = |source| OutputError::Io { path: dir.clone(), source };
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                && name.ends_with(".tmp")
                && entry.file_type().map_err(io)?.is_file()
            {
                found.push(entry.path());
            }
        }
    }
    Ok(found)
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn rename(from: &Path, to: &Path) -> Result<(), OutputError> {
    fault::point(|| format!("rename {} -> {}", from.display(), to.display()))
        .and_then(|()| std::fs::rename(from, to))
        .map_err(|source| OutputError::Io { path: to.to_path_buf(), source })
}

static FSYNC_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn count_fsync(d: std::time::Duration) {
    FSYNC_NANOS.fetch_add(d.as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
}

/// Seconds this process has spent in fsync so far (files and folders), for `summary.json`.
pub fn fsync_seconds() -> f64 {
    FSYNC_NANOS.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9
}

/// Makes the folder's entries (renames, removals) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    let io = |source| OutputError::Io { path: dir.to_path_buf(), source };
    fault::point(|| format!("fsync {}/", dir.display())).map_err(io)?;
    let t = std::time::Instant::now();
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    count_fsync(t.elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn staged(root: &Path, name: &str, text: &str) -> Staged {
        let mut f = crate::output::AtomicFile::create(&root.join(name)).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.finish().unwrap()
    }

    #[test]
    fn nothing_changes_until_commit_and_a_dropped_transaction_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "old a").unwrap();
        std::fs::write(dir.path().join("gone"), "x").unwrap();
        let mut t = Transaction::new(dir.path());
        t.add(staged(dir.path(), "a", "new a"));
        t.add(staged(dir.path(), "b", "new b"));
        t.remove(dir.path().join("gone"));
        assert_eq!(std::fs::read_to_string(dir.path().join("a")).unwrap(), "old a");
        assert_eq!(stale_temps(dir.path()).unwrap().len(), 2);
        drop(t);
        assert!(stale_temps(dir.path()).unwrap().is_empty(), "dropped: temps removed");
        assert!(dir.path().join("gone").exists() && !dir.path().join("b").exists());

        let mut t = Transaction::new(dir.path());
        t.add(staged(dir.path(), "a", "new a"));
        t.add(staged(dir.path(), "b", "new b"));
        t.remove(dir.path().join("gone"));
        t.commit().unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("a")).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(dir.path().join("b")).unwrap(), "new b");
        assert!(!dir.path().join("gone").exists() && !pending(dir.path()));
        assert!(stale_temps(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn recover_finishes_a_journal_whose_renames_were_partly_done() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a"), "old a").unwrap();
        let (a, b) = (staged(root, "a", "new a"), staged(root, "b", "new b"));
        let ops = vec![
            Op::Rename {
                from: a.tmp.file_name().unwrap().to_string_lossy().into(),
                to: "a".into(),
            },
            Op::Rename {
                from: b.tmp.file_name().unwrap().to_string_lossy().into(),
                to: "b".into(),
            },
        ];
        // as if killed after the first rename
        std::fs::rename(&a.tmp, root.join("a")).unwrap();
        let journal = Journal { written_by: "test".into(), ops };
        std::fs::write(root.join(JOURNAL), serde_json::to_string(&journal).unwrap()).unwrap();
        std::mem::forget((a, b));
        assert_eq!(recover(root).unwrap(), Some(2));
        assert_eq!(std::fs::read_to_string(root.join("a")).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(root.join("b")).unwrap(), "new b");
        assert!(!pending(root));
        assert_eq!(recover(root).unwrap(), None, "nothing left to do");
    }
}
