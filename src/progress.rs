//! Progress of a run on stderr: a bar for people at a terminal, or one JSON object per line for
//! schedulers (`--progress json`), at most once a second plus a final one.
//!
//! ```json
//! {"event":"progress","bytes_read":1048576,"total_bytes":26100000,"conversations":800,"rejected":2,"elapsed_secs":1.02}
//! ```

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Nothing (`--quiet`, or not a terminal).
    #[default]
    None,
    /// A bar, drawn only when stderr is a terminal.
    Bar,
    /// JSON lines on stderr, terminal or not.
    Json,
}

pub struct Progress {
    bar: ProgressBar,
    json: Option<Mutex<Instant>>,
    start: Instant,
    total: Option<u64>,
}

const JSON_EVERY: Duration = Duration::from_secs(1);

impl Progress {
    pub fn new(mode: ProgressMode, total_bytes: Option<u64>) -> Progress {
        let start = Instant::now();
        let bar = if mode == ProgressMode::Bar && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} scoring [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        } else {
            ProgressBar::hidden()
        };
        let json = (mode == ProgressMode::Json).then(|| Mutex::new(start));
        Progress { bar, json, start, total: total_bytes }
    }

    /// Called after each batch read.
    pub fn update(&self, bytes_read: u64, conversations: u64, rejected: u64) {
        self.bar.set_position(bytes_read);
        if let Some(last) = &self.json {
            let mut last = last.lock().expect("progress lock");
            if last.elapsed() >= JSON_EVERY {
                *last = Instant::now();
                self.emit("progress", bytes_read, conversations, rejected);
            }
        }
    }

    /// The last progress line (JSON mode) and the bar cleared.
    pub fn finish(&self, bytes_read: u64, conversations: u64, rejected: u64) {
        self.bar.finish_and_clear();
        if self.json.is_some() {
            self.emit("read_done", bytes_read, conversations, rejected);
        }
    }

    fn emit(&self, event: &str, bytes_read: u64, conversations: u64, rejected: u64) {
        let line = serde_json::json!({
            "event": event,
            "bytes_read": bytes_read,
            "total_bytes": self.total,
            "conversations": conversations,
            "rejected": rejected,
            "elapsed_secs": (self.start.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        });
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}
