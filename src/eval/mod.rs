//! `convqa eval`: how well convqa judges, measured on labelled files — every accuracy claim
//! checkable with one command.
//!
//! - **Turn level** (`--turns FILE`, e.g. `data/eval/turns.jsonl`): one JSON object per line with
//!   `text`, `lang`, `task` (`sentiment` for customer turns, `politeness` for agent turns) and
//!   `label` (`negative`/`neutral`/`positive` or `impolite`/`neutral`/`polite`). The model scores
//!   each text; reported per task and language: binary accuracy and macro-F1 on the
//!   non-neutral rows (P ≥ 0.5 is the positive class), three-class accuracy, macro-F1 and the
//!   confusion matrix (P < 1/3 negative, P > 2/3 positive, neutral between), and the precision /
//!   recall of the model's flag threshold (`impolite_below`, `negative_below`) for finding the
//!   negative / impolite turns.
//! - **Acts** (`--acts FILE`, e.g. `data/acts/eval/*.jsonl`): labelled turns of agent acts and
//!   customer distress, each act measured for the model's head and for the rubric's rules
//!   (see [`eval_acts`]).
//! - **Conversation level** (`--conversations FILE --labels FILE`): conversations in the input
//!   schema and, per conversation, what a reviewer expects: `passed` and `findings`
//!   (`{"finding": rule id or flag name, "kind": flag kind, "turn": index or null}`). Reported:
//!   pass/fail accuracy and, per finding, precision / recall / F1 over (conversation, finding)
//!   pairs, and how often the tool points at the labelled turn.

mod acts;
mod calibrate;
mod conversations;
mod metrics;
mod turns;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use acts::{ActEval, ActGroup, eval_acts};
pub use calibrate::{Calibrated, calibrate, threshold_at};
pub use conversations::{ConversationEval, FindingScore, eval_conversations};
pub use metrics::{Binary, Confusion};
pub use turns::{TurnEval, TurnGroup, eval_turns};

use crate::engine::{Engine, EngineError, EngineOptions};
use crate::input::InputError;
use crate::model::ModelError;
use crate::rubric::RubricError;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Label { path: PathBuf, line: usize, message: String },
    #[error(
        "nothing to evaluate: give --turns FILE (labelled turns, e.g. data/eval/turns.jsonl), \
         --acts FILE (e.g. data/acts/eval/zh.jsonl) and/or --conversations FILE --labels FILE \
         (e.g. data/eval/conversations.jsonl and data/eval/conversation_labels.jsonl); \
         see `convqa eval --help`"
    )]
    NothingToEvaluate,
    #[error("turn-level evaluation needs the model; drop --no-models or leave out --turns")]
    NoModel,
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Rubric(#[from] RubricError),
}

impl From<EngineError> for EvalError {
    fn from(e: EngineError) -> EvalError {
        match e {
            EngineError::Rubric(e) => EvalError::Rubric(e),
            EngineError::Model(e) => EvalError::Model(e),
        }
    }
}

/// What `convqa eval` measures, and with which rubric and model.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Labelled turns (`--turns`), measured with the model.
    pub turns: Vec<PathBuf>,
    /// Turns labelled with agent acts and customer distress (`--acts`).
    pub acts: Vec<PathBuf>,
    /// Conversations and what a reviewer expects of them (`--conversations`, `--labels`).
    pub conversations: Option<(PathBuf, PathBuf)>,
    pub engine: EngineOptions,
}

/// `convqa eval`: loads the engine once and evaluates each file.
pub fn evaluate(opts: &EvalOptions) -> Result<EvalReport, EvalError> {
    if opts.turns.is_empty() && opts.acts.is_empty() && opts.conversations.is_none() {
        return Err(EvalError::NothingToEvaluate);
    }
    let engine = Engine::load(&opts.engine)?;
    let mut report = EvalReport {
        model: engine.model.as_ref().map(|m| format!("{} {}", m.manifest.name, m.manifest.version)),
        rubric: format!("{} {}", engine.rubric.name, engine.rubric.version),
        ..Default::default()
    };
    for path in &opts.turns {
        let m = engine.model.as_ref().ok_or(EvalError::NoModel)?;
        report.turns.push(eval_turns(path, m)?);
    }
    for path in &opts.acts {
        report.acts.push(eval_acts(path, &engine)?);
    }
    if let Some((convs, labels)) = &opts.conversations {
        report.conversations.push(eval_conversations(convs, labels, &engine)?);
    }
    Ok(report)
}

/// Everything `convqa eval` measured (also written as JSON with `--out`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct EvalReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub rubric: String,
    pub turns: Vec<TurnEval>,
    pub acts: Vec<ActEval>,
    pub conversations: Vec<ConversationEval>,
}

/// JSON lines of a labels file, with the line number for messages.
fn read_json_lines(path: &Path) -> Result<Vec<(usize, serde_json::Value)>, EvalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| EvalError::Read { path: path.to_path_buf(), source })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l.trim_start_matches('\u{feff}')).map(|v| (i + 1, v)).map_err(
                |e| EvalError::Label {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: format!("not a JSON object: {e}"),
                },
            )
        })
        .collect()
}

impl EvalReport {
    /// The report as plain-text tables for the terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for t in &self.turns {
            out += &turns::render(t);
        }
        for a in &self.acts {
            out += &acts::render(a);
        }
        for c in &self.conversations {
            out += &conversations::render(c);
        }
        out
    }

    /// Writes the report as pretty JSON (`convqa eval --out FILE`).
    pub fn write_json(&self, path: &Path) -> Result<(), EvalError> {
        let json = serde_json::to_string_pretty(self).expect("serializable");
        std::fs::write(path, json + "\n")
            .map_err(|source| EvalError::Read { path: path.to_path_buf(), source })
    }
}
