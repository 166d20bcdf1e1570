//! Conversation-level evaluation: pass/fail and each finding against a reviewer's labels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

use super::metrics::{Binary, Confusion, fmt};
use super::{EvalError, read_json_lines};
use crate::engine::{Engine, score_batch};
use crate::input::{InputReader, Record, Source};

/// Precision / recall of one finding (a rule id, or a flag name for timing and model flags).
#[derive(Debug, Clone, Serialize)]
pub struct FindingScore {
    pub finding: String,
    #[serde(flatten)]
    pub counts: Binary,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Of the true positives with a labelled turn, how many the tool flagged at that turn.
    pub same_turn: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationEval {
    pub file: String,
    pub conversations: usize,
    /// Conversations of the file the labels do not cover (or rejected lines), left out.
    pub unlabelled: usize,
    pub rejected: u64,
    pub pass_fail: Confusion,
    pub pass_fail_accuracy: Option<f64>,
    pub findings: Vec<FindingScore>,
    /// All findings pooled (micro average).
    pub overall: Binary,
}

struct Label {
    passed: bool,
    /// finding → labelled turns (None = no particular turn)
    findings: BTreeMap<String, Vec<Option<u32>>>,
}

fn read_labels(path: &Path) -> Result<HashMap<String, Label>, EvalError> {
    let mut labels = HashMap::new();
    for (line, v) in read_json_lines(path)? {
        let bad = |message: String| EvalError::Label { path: path.to_path_buf(), line, message };
        let id = v["conversation_id"]
            .as_str()
            .ok_or_else(|| bad("conversation_id: missing or not a string".into()))?;
        let passed =
            v["passed"].as_bool().ok_or_else(|| bad("passed: missing or not a boolean".into()))?;
        let mut findings: BTreeMap<String, Vec<Option<u32>>> = BTreeMap::new();
        for (k, f) in
            v["findings"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate()
        {
            let name = f["finding"]
                .as_str()
                .ok_or_else(|| bad(format!("findings[{k}].finding: missing or not a string")))?;
            let turn = f["turn"].as_u64().map(|t| t as u32);
            findings.entry(name.to_string()).or_default().push(turn);
        }
        if labels.insert(id.to_string(), Label { passed, findings }).is_some() {
            return Err(bad(format!("conversation_id {id:?} labelled twice")));
        }
    }
    Ok(labels)
}

/// Scores the conversations of `conversations` and compares with `labels`.
pub fn eval_conversations(
    conversations: &Path,
    labels: &Path,
    engine: &Engine,
) -> Result<ConversationEval, EvalError> {
    let labels = read_labels(labels)?;
    let mut reader = InputReader::new(
        vec![Source::File(conversations.to_path_buf())],
        crate::input::DEFAULT_MAX_LINE_BYTES,
    );
    let mut convs = Vec::new();
    let mut rejected = 0;
    while let Some(record) = reader.next()? {
        match record {
            Record::Conversation(c) => convs.push(*c),
            Record::Rejected(_) => rejected += 1,
        }
    }
    let (scores, _) = score_batch(engine, &convs)?;
    let mut pass_fail = Confusion::new(&["failed", "passed"]);
    let mut per: BTreeMap<String, (Binary, u64, u64)> = BTreeMap::new();
    let mut overall = Binary::default();
    let mut unlabelled = 0;
    for s in &scores {
        let Some(label) = labels.get(&s.conversation_id) else {
            unlabelled += 1;
            continue;
        };
        pass_fail.add(usize::from(label.passed), usize::from(s.passed));
        let mut predicted: BTreeMap<String, BTreeSet<Option<u32>>> = BTreeMap::new();
        for f in &s.flags {
            let key = f.rule_id.clone().unwrap_or_else(|| f.kind.as_str().to_string());
            predicted.entry(key).or_default().insert(f.turn_index);
        }
        let keys: BTreeSet<&String> = predicted.keys().chain(label.findings.keys()).collect();
        for key in keys {
            let (gold, pred) = (label.findings.get(key), predicted.get(key));
            let entry = per.entry(key.clone()).or_default();
            entry.0.add(gold.is_some(), pred.is_some());
            overall.add(gold.is_some(), pred.is_some());
            if let (Some(gold), Some(pred)) = (gold, pred) {
                for t in gold.iter().flatten() {
                    entry.2 += 1;
                    entry.1 += u64::from(pred.contains(&Some(*t)));
                }
            }
        }
    }
    let findings = per
        .into_iter()
        .map(|(finding, (counts, same, with_turn))| FindingScore {
            precision: counts.precision(),
            recall: counts.recall(),
            f1: counts.f1(),
            same_turn: (with_turn > 0).then(|| same as f64 / with_turn as f64),
            counts,
            finding,
        })
        .collect();
    Ok(ConversationEval {
        file: conversations.display().to_string(),
        conversations: scores.len(),
        unlabelled,
        rejected,
        pass_fail_accuracy: pass_fail.accuracy(),
        pass_fail,
        findings,
        overall,
    })
}

pub fn render(c: &ConversationEval) -> String {
    let mut out = format!(
        "\n{}: {} conversations ({} unlabelled, {} rejected lines); pass/fail accuracy {}\n",
        c.file,
        c.conversations,
        c.unlabelled,
        c.rejected,
        fmt(c.pass_fail_accuracy)
    );
    out += &format!(
        "{:<24} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6} {:>9}\n",
        "finding", "TP", "FP", "FN", "precision", "recall", "F1", "same turn"
    );
    for f in &c.findings {
        out += &format!(
            "{:<24} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6} {:>9}\n",
            f.finding,
            f.counts.true_positives,
            f.counts.false_positives,
            f.counts.false_negatives,
            fmt(f.precision),
            fmt(f.recall),
            fmt(f.f1),
            fmt(f.same_turn)
        );
    }
    out += &format!(
        "{:<24} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6}\n",
        "all findings",
        c.overall.true_positives,
        c.overall.false_positives,
        c.overall.false_negatives,
        fmt(c.overall.precision()),
        fmt(c.overall.recall()),
        fmt(c.overall.f1())
    );
    out
}
