//! One writer at a time: an exclusive advisory lock (`flock`) on `DIR/.convqa.lock`, taken
//! before a run touches the folder and held until it ends.
//!
//! The operating system releases the lock when the process dies, however it dies, so a held
//! lock always belongs to a live process: there is no stale lock to clean up. The file holds
//! who took it last (pid, host, start time, command), for the message a second run prints.
//! The lock file itself stays (removing it would let two runs lock two different files).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{OutputError, fault};

/// The lock file in the output folder.
pub const LOCK_FILE: &str = ".convqa.lock";

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    dir: PathBuf,
}

impl StoreLock {
    /// Takes the lock of `dir` (created if missing). Held by another process: waits up to
    /// `wait`, then fails with [`OutputError::Locked`] naming the holder.
    pub fn acquire(dir: &Path, wait: Option<Duration>) -> Result<StoreLock, OutputError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| OutputError::CreateDir { path: dir.to_path_buf(), source })?;
        let path = dir.join(LOCK_FILE);
        let io = |source| OutputError::Io { path: path.clone(), source };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let deadline = Instant::now() + wait.unwrap_or(Duration::ZERO);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(POLL)
                }
                Err(TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder = holder.trim();
                    return Err(OutputError::Locked {
                        dir: dir.to_path_buf(),
                        holder: if holder.is_empty() {
                            "a convqa process that has not written its details yet".into()
                        } else {
                            holder.to_string()
                        },
                        waited: wait.unwrap_or(Duration::ZERO).as_secs(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        fault::point(|| format!("write {}", path.display()))
            .and_then(|()| file.set_len(0))
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", holder_line()))
            .map_err(io)?;
        Ok(StoreLock { _file: file, dir: dir.to_path_buf() })
    }

    /// The locked folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `pid 1234 on host h, started 2026-12-08T02:00:00Z: convqa score …`: who this process is.
pub(crate) fn holder_line() -> String {
    static STARTED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    let command: Vec<String> = std::env::args().collect();
    format!(
        "pid {} on host {}, started {}: {}",
        std::process::id(),
        host_name(),
        *STARTED,
        command.join(" ")
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "(unknown)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_details_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path(), None).unwrap();
        let err = StoreLock::acquire(dir.path(), Some(Duration::from_millis(150))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("pid {}", std::process::id())), "{msg}");
        assert!(matches!(err, OutputError::Locked { .. }));
        drop(first);
        StoreLock::acquire(dir.path(), None).expect("free again once dropped");
    }
}
