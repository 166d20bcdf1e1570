//! The `convqa` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use convqa::run::{RunError, RunOptions, run};

#[derive(Parser)]
#[command(
    name = "convqa",
    version,
    about = "QA scoring for customer-service conversations (zh + en)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score conversations (JSONL, one conversation a line) and write Parquet results.
    Score {
        /// Input files, directories (every *.jsonl below them) or - for stdin.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(long, short)]
        out: PathBuf,
        /// Rubric TOML file [default: the built-in rubric/default.toml].
        #[arg(long)]
        rubric: Option<PathBuf>,
        /// Worker threads [default: one per CPU core].
        #[arg(long, default_value_t = 0, hide_default_value = true)]
        threads: usize,
        /// Conversations per parallel batch.
        #[arg(long, default_value_t = convqa::run::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// Longest input line accepted; longer lines are rejected.
        #[arg(long, default_value_t = convqa::input::DEFAULT_MAX_LINE_BYTES)]
        max_line_bytes: usize,
        /// No progress bar and no closing summary line.
        #[arg(long, short)]
        quiet: bool,
        /// Model folder (model.onnx, tokenizer.json, manifest.toml).
        #[arg(long, default_value = convqa::model::DEFAULT_MODEL_DIR, conflicts_with = "no_models")]
        model: PathBuf,
        /// Skip the model stage: sentiment and politeness columns are null and left out of qa_score.
        #[arg(long)]
        no_models: bool,
        /// ONNX Runtime library [default: $ORT_DYLIB_PATH, next to the executable, or
        /// runtime/libonnxruntime.so.1.31.1 as placed by scripts/fetch-onnxruntime.sh].
        #[arg(long)]
        ort_lib: Option<PathBuf>,
    },
}

/// Exit codes (documented in the README).
mod exit {
    pub const INPUT: u8 = 3;
    pub const OUTPUT: u8 = 4;
    pub const RUBRIC: u8 = 5;
    pub const MODEL: u8 = 6;
    pub const INTERNAL: u8 = 1;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Score {
            inputs,
            out,
            rubric,
            threads,
            batch_size,
            max_line_bytes,
            quiet,
            model,
            no_models,
            ort_lib,
        } => {
            let opts = RunOptions {
                inputs,
                out: out.clone(),
                rubric,
                threads,
                batch_size: batch_size.max(1),
                max_line_bytes,
                progress: !quiet,
                model: (!no_models).then_some(model),
                ort_lib,
            };
            match run(&opts) {
                Ok(summary) => {
                    if !quiet {
                        let c = &summary.counts;
                        eprintln!(
                            "convqa: scored {} conversations ({} passed, {} failed), rejected {} lines, {} flags -> {}",
                            c.scored,
                            c.passed,
                            c.failed,
                            c.rejected,
                            c.flags,
                            out.display()
                        );
                        if c.rejected > 0 {
                            eprintln!(
                                "convqa: see {} for why each line was rejected",
                                out.join("rejects.jsonl").display()
                            );
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("convqa: error: {e}");
                    let code = match e {
                        RunError::Input(_) => exit::INPUT,
                        RunError::Output(_) => exit::OUTPUT,
                        RunError::Rubric(_) => exit::RUBRIC,
                        RunError::Model(_) => exit::MODEL,
                        RunError::Threads { .. } => exit::INTERNAL,
                    };
                    ExitCode::from(code)
                }
            }
        }
    }
}
