//! Fault points: every place where the store writes, fsyncs, renames or removes a file calls
//! [`point`], so the crash and disk-full tests can fail or stop the real binary at each one.
//!
//! Test-only, and documented as such: it does nothing unless the environment variable
//! `CONVQA_FAULT` is set when the process starts, to one of
//! - `list`: print `convqa-fault-point N LABEL` on stderr at each point, N counting from 1;
//! - `fail:N`: the N-th point fails with "No space left on device" (what a full disk says);
//! - `pause:N`: at the N-th point print `convqa-fault-paused N LABEL` on stderr, then wait until
//!   the file named by `CONVQA_FAULT_RESUME` exists (forever if unset: the test kills the
//!   process there with SIGKILL).
//!
//! Points are numbered in the order the process reaches them; the commit (everything after
//! the input is read) runs on one thread, so its numbering is the same from run to run.

use std::io;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The environment variable that arms the fault points.
pub const ENV: &str = "CONVQA_FAULT";
/// With `pause:N`: the file whose creation lets the paused process go on.
pub const RESUME_ENV: &str = "CONVQA_FAULT_RESUME";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    List,
    Fail(u64),
    Pause(u64),
}

static PLAN: LazyLock<Option<Plan>> = LazyLock::new(|| {
    let v = std::env::var(ENV).ok()?;
    let number = |s: &str| s.parse::<u64>().ok().filter(|&n| n > 0);
    match v.split_once(':') {
        None if v == "list" => Some(Plan::List),
        Some(("fail", n)) => number(n).map(Plan::Fail),
        Some(("pause", n)) => number(n).map(Plan::Pause),
        _ => {
            eprintln!("convqa: ignoring {ENV}={v:?}: expected list, fail:N or pause:N");
            None
        }
    }
});

static REACHED: AtomicU64 = AtomicU64::new(0);

/// A place where the store can fail. `label` says which (built only when the points are armed).
pub fn point(label: impl FnOnce() -> String) -> io::Result<()> {
    let Some(plan) = *PLAN else { return Ok(()) };
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    match plan {
        Plan::List => eprintln!("convqa-fault-point {n} {}", label()),
        Plan::Fail(k) if k == n => {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("No space left on device (injected by {ENV} at point {n})"),
            ));
        }
        Plan::Pause(k) if k == n => {
            eprintln!("convqa-fault-paused {n} {}", label());
            let resume = std::env::var_os(RESUME_ENV).map(std::path::PathBuf::from);
            while !resume.as_ref().is_some_and(|r| r.exists()) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        _ => {}
    }
    Ok(())
}
