//! A file that appears at its final path only when committed: temp file in the same directory,
//! fsync, rename. A run's files are [`AtomicFile::finish`]ed first and renamed together by a
//! [`super::Transaction`]; a one-file command [`AtomicFile::commit`]s its file alone.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::{OutputError, Staged, fault};

pub struct AtomicFile {
    tmp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Opens a temporary file beside `path` (dropped without commit, it is deleted).
    pub fn create(path: &Path) -> Result<AtomicFile, OutputError> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .permissions(readable_by_all())
            .tempfile_in(dir)
            .map_err(|source| OutputError::Io { path: path.to_path_buf(), source })?;
        Ok(AtomicFile { tmp, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes to disk (fsync) and keeps the temporary file for a [`super::Transaction`] to
    /// rename; the final path does not change yet.
    pub fn finish(mut self) -> Result<Staged, OutputError> {
        let path = self.path.clone();
        let err = |source| OutputError::Io { path: path.clone(), source };
        self.tmp.flush().map_err(err)?;
        fault::point(|| format!("fsync {}", self.tmp.path().display())).map_err(err)?;
        let t = std::time::Instant::now();
        self.tmp.as_file().sync_all().map_err(err)?;
        super::commit::count_fsync(t.elapsed());
        let tmp = self.tmp.into_temp_path().keep().map_err(|e| err(e.error))?;
        Ok(Staged::new(tmp, path))
    }

    /// Flushes to disk and renames over the final path (one file alone).
    pub fn commit(self) -> Result<(), OutputError> {
        self.finish()?.persist()
    }
}

/// Outputs are shared with other tools and users: rw-r--r-- (before the umask), not tempfile's
/// private default.
#[cfg(unix)]
fn readable_by_all() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn readable_by_all() -> std::fs::Permissions {
    std::fs::metadata(".").map(|m| m.permissions()).expect("current directory is readable")
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        fault::point(|| format!("write {}", self.tmp.path().display()))?;
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_at_the_final_path_until_commit_and_old_content_survives_a_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        drop(f);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temp file removed");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
