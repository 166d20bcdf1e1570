//! `rejects.jsonl`: one JSON object per rejected input line — file, line, reason code, field,
//! message and the start of the raw line — so nothing is ever dropped silently.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::{AtomicFile, OutputError, Staged};
use crate::input::Reject;

#[derive(Serialize)]
struct RejectRow<'a> {
    file: &'a str,
    line: u64,
    code: &'a str,
    field: Option<&'a str>,
    reason: String,
    raw: std::borrow::Cow<'a, str>,
}

/// Writes one reject as a line of `rejects.jsonl` to any writer (`convqa convert` to stderr).
pub fn write_reject_line(
    out: &mut (impl Write + ?Sized),
    r: &Reject,
    redactor: Option<&crate::redact::Redactor>,
) -> std::io::Result<()> {
    let row = RejectRow {
        file: &r.origin.file,
        line: r.origin.line,
        code: r.reason.code(),
        field: r.reason.field(),
        reason: r.reason.to_string(),
        raw: match redactor {
            Some(red) => red.redact(&r.raw).text.into(),
            None => r.raw.as_str().into(),
        },
    };
    serde_json::to_writer(&mut *out, &row)?;
    out.write_all(b"\n")
}

pub struct RejectsWriter {
    out: BufWriter<AtomicFile>,
    count: u64,
    /// Personal data in the raw excerpt is replaced too.
    redactor: Option<crate::redact::Redactor>,
}

impl RejectsWriter {
    pub fn create(
        path: &Path,
        redactor: Option<crate::redact::Redactor>,
    ) -> Result<RejectsWriter, OutputError> {
        Ok(RejectsWriter { out: BufWriter::new(AtomicFile::create(path)?), count: 0, redactor })
    }

    /// Like [`RejectsWriter::create`], creating missing parent folders first.
    pub fn create_with_parents(
        path: &Path,
        redactor: Option<crate::redact::Redactor>,
    ) -> Result<RejectsWriter, OutputError> {
        Ok(RejectsWriter {
            out: BufWriter::new(super::create_with_parents(path)?),
            count: 0,
            redactor,
        })
    }

    pub fn write(&mut self, r: &Reject) -> Result<(), OutputError> {
        write_reject_line(&mut self.out, r, self.redactor.as_ref()).map_err(|source| {
            OutputError::Io { path: self.out.get_ref().path().to_path_buf(), source }
        })?;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes and fsyncs the file for the run's [`super::Transaction`].
    pub fn finish(self) -> Result<Staged, OutputError> {
        let path = self.out.get_ref().path().to_path_buf();
        let file =
            self.out.into_inner().map_err(|e| OutputError::Io { path, source: e.into_error() })?;
        file.finish()
    }
}
