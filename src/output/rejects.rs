//! `rejects.jsonl`: one JSON object per rejected input line — file, line, reason code, field,
//! message and the start of the raw line — so nothing is ever dropped silently.

use std::io::{BufWriter, Write};
use std::path::Path;

use super::{AtomicFile, OutputError, Staged};
use crate::input::Reject;

/// Writes one reject as a line of `rejects.jsonl` to any writer (`convqa convert` to stderr).
pub fn write_reject_line(
    out: &mut (impl Write + ?Sized),
    r: &Reject,
    redactor: Option<&crate::redact::Redactor>,
) -> std::io::Result<()> {
    match redactor {
        Some(red) => r.write_line(out, &red.redact(&r.raw).text),
        None => r.write_line(out, &r.raw),
    }
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
