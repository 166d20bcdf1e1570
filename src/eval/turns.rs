//! Turn-level evaluation of the model's sentiment and politeness.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::metrics::{Binary, Confusion, fmt};
use super::{EvalError, read_json_lines};
use crate::model::ModelStage;

/// Three-class cut points on the calibrated probability.
const NEUTRAL_LOW: f64 = 1.0 / 3.0;
const NEUTRAL_HIGH: f64 = 2.0 / 3.0;

/// Metrics of one task on one group of turns (a language, or all).
#[derive(Debug, Clone, Serialize)]
pub struct TurnGroup {
    pub task: String,
    pub lang: String,
    pub n: usize,
    /// Non-neutral rows only, P ≥ 0.5 = positive / polite.
    pub binary_accuracy: Option<f64>,
    pub binary_macro_f1: Option<f64>,
    pub binary_n: u64,
    pub three_class_accuracy: Option<f64>,
    pub three_class_macro_f1: Option<f64>,
    pub confusion: Confusion,
    /// The model's flag threshold as a detector of negative / impolite turns.
    pub flag: Binary,
    pub flag_precision: Option<f64>,
    pub flag_recall: Option<f64>,
}

/// Turn-level results of one labelled file.
#[derive(Debug, Clone, Serialize)]
pub struct TurnEval {
    pub file: String,
    pub groups: Vec<TurnGroup>,
}

struct Row {
    task: String,
    lang: String,
    gold: usize,
    p: f64,
}

fn classes(task: &str) -> Option<[&'static str; 3]> {
    match task {
        "sentiment" => Some(["negative", "neutral", "positive"]),
        "politeness" => Some(["impolite", "neutral", "polite"]),
        _ => None,
    }
}

/// Scores every labelled turn of `path` with the model and measures the results.
pub fn eval_turns(path: &Path, model: &ModelStage) -> Result<TurnEval, EvalError> {
    let mut texts = Vec::new();
    let mut rows = Vec::new();
    for (line, v) in read_json_lines(path)? {
        let bad = |message: String| EvalError::Label { path: path.to_path_buf(), line, message };
        let field = |name: &str| {
            v[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("{name}: missing or not a string")))
        };
        let (task, lang, label) = (field("task")?, field("lang")?, field("label")?);
        let labels = classes(&task)
            .ok_or_else(|| bad(format!("task: expected sentiment or politeness, got {task:?}")))?;
        let gold = labels
            .iter()
            .position(|l| *l == label)
            .ok_or_else(|| bad(format!("label: expected one of {labels:?}, got {label:?}")))?;
        texts.push(field("text")?);
        rows.push(Row { task, lang, gold, p: 0.0 });
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (row, out) in rows.iter_mut().zip(model.infer(&refs)?) {
        row.p = f64::from(if row.task == "sentiment" { out.positive } else { out.polite });
    }
    let t = model.manifest.thresholds;
    let mut groups: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        groups.entry((r.task.clone(), r.lang.clone())).or_default().push(r);
        groups.entry((r.task.clone(), "all".to_string())).or_default().push(r);
    }
    let groups = groups
        .into_iter()
        .map(|((task, lang), members)| {
            let labels = classes(&task).expect("validated");
            let mut three = Confusion::new(&labels);
            let mut binary = Confusion::new(&[labels[0], labels[2]]);
            let mut flag = Binary::default();
            for r in &members {
                let predicted = if r.p < NEUTRAL_LOW {
                    0
                } else if r.p > NEUTRAL_HIGH {
                    2
                } else {
                    1
                };
                three.add(r.gold, predicted);
                if r.gold != 1 {
                    binary.add(r.gold / 2, usize::from(r.p >= 0.5));
                }
                let flagged = if task == "sentiment" {
                    2.0 * r.p - 1.0 < t.negative_below
                } else {
                    r.p < t.impolite_below
                };
                flag.add(r.gold == 0, flagged);
            }
            TurnGroup {
                n: members.len(),
                binary_accuracy: binary.accuracy(),
                binary_macro_f1: binary.macro_f1(),
                binary_n: binary.total(),
                three_class_accuracy: three.accuracy(),
                three_class_macro_f1: three.macro_f1(),
                confusion: three,
                flag_precision: flag.precision(),
                flag_recall: flag.recall(),
                flag,
                task,
                lang,
            }
        })
        .collect();
    Ok(TurnEval { file: path.display().to_string(), groups })
}

pub fn render(t: &TurnEval) -> String {
    let mut out = format!(
        "\n{}\n{:<11} {:<8} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}\n",
        t.file,
        "task",
        "lang",
        "n",
        "bin acc",
        "bin F1",
        "3-cl acc",
        "3-cl F1",
        "flag prec",
        "flag rec"
    );
    for g in &t.groups {
        out += &format!(
            "{:<11} {:<8} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}\n",
            g.task,
            g.lang,
            g.n,
            fmt(g.binary_accuracy),
            fmt(g.binary_macro_f1),
            fmt(g.three_class_accuracy),
            fmt(g.three_class_macro_f1),
            fmt(g.flag_precision),
            fmt(g.flag_recall)
        );
    }
    for g in t.groups.iter().filter(|g| g.lang == "all") {
        out += &format!("confusion ({}, rows gold, columns predicted):\n", g.task);
        out += &format!("{:>10}", "");
        for l in &g.confusion.labels {
            out += &format!(" {l:>9}");
        }
        out.push('\n');
        for (l, row) in g.confusion.labels.iter().zip(&g.confusion.counts) {
            out += &format!("{l:>10}");
            for c in row {
                out += &format!(" {c:>9}");
            }
            out.push('\n');
        }
    }
    out
}
