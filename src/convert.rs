//! `convqa convert FORMAT INPUT... --out FILE.jsonl`: another tool's export written as convqa's
//! JSONL, through the same [`InputReader`] that `convqa score --from FORMAT` reads it with — so
//! converting and then scoring gives exactly what scoring directly gives.
//!
//! Guarantees: streamed (a chunk of units in memory, adapted in parallel); every conversation
//! comes out either as a JSONL line or as a line of the rejects output (the format of
//! `convqa score`'s `rejects.jsonl`: file, line, code, field, reason, raw); the output and the
//! rejects file are renamed into place only when the whole conversion succeeded (the rejects
//! first, then the output, one after the other).

use std::path::{Path, PathBuf};

use crate::input::adapters::{self, AdapterCounts, AdapterOptions, Format};
use crate::input::{self, InputError, InputReader, Record, SourceStats};
use crate::output::{self, OutputError, RejectsWriter};

/// What `convqa convert` is asked to do.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    pub format: Format,
    pub inputs: Vec<PathBuf>,
    /// The JSONL output, or `-` for stdout.
    pub out: PathBuf,
    /// The rejects output [default: beside `out` as `OUT.rejects.jsonl`; stderr with `--out -`].
    pub rejects: Option<PathBuf>,
    pub adapter: AdapterOptions,
    pub max_line_bytes: usize,
    pub max_turns: usize,
}

/// What a conversion did: the closing line and the test's view of it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConvertSummary {
    /// Conversations written.
    pub converted: u64,
    /// Lines written to the rejects output (bad conversations, bad units, repeated ids).
    pub rejected: u64,
    /// What the adapter dropped and kept, by kind.
    pub adapter: AdapterCounts,
    pub inputs: Vec<SourceStats>,
    /// Where the rejects went.
    pub rejects_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Where the rejects go by default: beside the output, `OUT.rejects.jsonl`.
pub fn default_rejects_path(out: &Path) -> PathBuf {
    out.with_extension("rejects.jsonl")
}

/// Runs the conversion.
pub fn convert(opts: &ConvertOptions) -> Result<ConvertSummary, ConvertError> {
    let sources = input::expand_inputs(&opts.inputs, opts.format.extensions())?;
    let mut reader = InputReader::new(sources, opts.max_line_bytes)
        .with_max_turns(opts.max_turns)
        .with_parallel(true);
    if opts.format != Format::Jsonl {
        reader = reader.with_format(opts.format, opts.adapter.clone());
    }
    let to_stdout = opts.out == Path::new("-");
    let rejects_path = match (&opts.rejects, to_stdout) {
        (Some(r), _) => Some(r.clone()),
        (None, true) => None,
        (None, false) => Some(default_rejects_path(&opts.out)),
    };
    let mut rejects = match &rejects_path {
        Some(p) => Rejects::File(RejectsWriter::create_with_parents(p, None)?),
        None => Rejects::Stderr,
    };
    output::write_file_or_stdout(&opts.out, |w| {
        let out_err = |source| OutputError::Io { path: opts.out.clone(), source };
        while let Some(record) = reader.next()? {
            match record {
                Record::Conversation(c) => adapters::write_jsonl(w, &c).map_err(out_err)?,
                Record::Rejected(r) => rejects.write(&r)?,
            }
        }
        w.flush().map_err(out_err)?;
        // The rejects file is renamed into place just before the output is (both written and
        // fsynced by then): a failed conversion changes neither.
        if let Rejects::File(r) = rejects {
            r.finish()?.persist()?;
        }
        Ok::<_, ConvertError>(())
    })?;
    // The reader counted every record it handed out, per source.
    let inputs = reader.stats().to_vec();
    Ok(ConvertSummary {
        converted: inputs.iter().map(|s| s.conversations).sum(),
        rejected: inputs.iter().map(|s| s.rejected).sum(),
        adapter: reader.adapter_counts(),
        inputs,
        rejects_at: rejects_path.map_or("stderr".to_string(), |p| p.display().to_string()),
    })
}

enum Rejects {
    File(RejectsWriter),
    Stderr,
}

impl Rejects {
    fn write(&mut self, r: &input::Reject) -> Result<(), OutputError> {
        match self {
            Rejects::File(w) => w.write(r),
            Rejects::Stderr => {
                let mut err = std::io::stderr().lock();
                output::write_reject_line(&mut err, r, None)
                    .map_err(|source| OutputError::Io { path: PathBuf::from("stderr"), source })
            }
        }
    }
}

impl ConvertSummary {
    /// The closing line on stderr.
    pub fn closing_line(&self, format: Format, out: &Path) -> String {
        let a = &self.adapter;
        format!(
            "convqa: converted {} conversations from {} ({} files, {:.1} MB); rejected {} (reasons in {}); \
             dropped {} internal notes, {} events, {} repeated messages; {} conversations without an agent id \
             (agent_id \"{}\"); {} bot turns kept as system -> {}",
            self.converted,
            format,
            self.inputs.len(),
            self.inputs.iter().map(|s| s.bytes).sum::<u64>() as f64 / 1e6,
            self.rejected,
            self.rejects_at,
            a.notes_dropped,
            a.events_dropped,
            a.duplicate_messages,
            a.unknown_agents,
            adapters::UNKNOWN_AGENT,
            a.bot_turns,
            out.display()
        )
    }
}
