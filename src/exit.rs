//! The process exit codes (documented in the README's "Exit codes"), each error type's in one
//! place: `convqa` exits with `error.exit_code()`.

use crate::coach::CoachError;
use crate::convert::ConvertError;
use crate::eval::EvalError;
use crate::generate::GenerateError;
use crate::impact::ImpactError;
use crate::input::adapters::mapping::MappingError;
use crate::job::RunError;
use crate::output::OutputError;
use crate::output::verify::VerifyError;
use crate::report::ReportError;

/// Bad command-line usage (also clap's own code).
pub const USAGE: u8 = 2;
/// An input could not be read (a missing file, not a store, a label file's error).
pub const INPUT: u8 = 3;
/// An output could not be written.
pub const OUTPUT: u8 = 4;
/// The rubric (or an adapter's mapping file) is invalid.
pub const RUBRIC: u8 = 5;
/// The model could not load or run.
pub const MODEL: u8 = 6;
/// `--strict` and a line was rejected.
pub const STRICT: u8 = 7;
/// Another convqa run holds the output folder's lock.
pub const LOCKED: u8 = 8;
/// `convqa verify` found problems.
pub const UNSOUND: u8 = 9;
/// Something that should not happen (worker threads would not start).
pub const INTERNAL: u8 = 1;

impl OutputError {
    /// 8 when another run holds the folder's lock, else 4.
    pub fn exit_code(&self) -> u8 {
        match self {
            OutputError::Locked { .. } => LOCKED,
            _ => OUTPUT,
        }
    }
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Input(_) | RunError::InputChanged { .. } => INPUT,
            RunError::Output(e) => e.exit_code(),
            RunError::Rubric(_) => RUBRIC,
            RunError::Model(_) => MODEL,
            RunError::Threads { .. } => INTERNAL,
            RunError::Strict { .. } => STRICT,
        }
    }
}

impl EvalError {
    /// `convqa eval` and `convqa calibrate`.
    pub fn exit_code(&self) -> u8 {
        match self {
            EvalError::Model(_) | EvalError::NoModel => MODEL,
            EvalError::Rubric(_) => RUBRIC,
            _ => INPUT,
        }
    }
}

impl ReportError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Load(_) => INPUT,
            ReportError::Output(e) => e.exit_code(),
        }
    }
}

impl VerifyError {
    pub fn exit_code(&self) -> u8 {
        match self {
            VerifyError::NotAStore { .. } => INPUT,
            VerifyError::Output(e) => e.exit_code(),
        }
    }
}

impl ConvertError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ConvertError::Input(_) => INPUT,
            ConvertError::Output(_) => OUTPUT,
        }
    }
}

impl GenerateError {
    pub fn exit_code(&self) -> u8 {
        match self {
            GenerateError::NoDays | GenerateError::NoAgents | GenerateError::Plant(_) => USAGE,
            GenerateError::Write { .. } | GenerateError::Output(_) => OUTPUT,
        }
    }
}

impl MappingError {
    /// An adapter's mapping file is configuration, like the rubric.
    pub fn exit_code(&self) -> u8 {
        RUBRIC
    }
}

impl CoachError {
    /// 2 an agent or month without data, 3 input unreadable, 4 output, 8 locked.
    pub fn exit_code(&self) -> u8 {
        match self {
            CoachError::UnknownAgent { .. } | CoachError::NoConversations { .. } => USAGE,
            CoachError::Load(_) => INPUT,
            CoachError::Output(e) => e.exit_code(),
        }
    }
}

impl ImpactError {
    /// 3 input unreadable, 4 output, 8 locked.
    pub fn exit_code(&self) -> u8 {
        match self {
            ImpactError::Trainings { .. } | ImpactError::Load(_) => INPUT,
            ImpactError::Output(e) => e.exit_code(),
            ImpactError::Report(e) => e.exit_code(),
        }
    }
}
