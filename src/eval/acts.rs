//! Turn-level evaluation of agent acts and customer distress (`convqa eval --acts FILE`).
//!
//! A file holds one labelled turn per line: `text`, `speaker` (`agent` / `customer`), `lang`
//! (`zh-Hans`, `zh-Hant`, `yue`, `en`, `mixed`) and `labels` (acts that hold, e.g.
//! `["apology", "reassurance"]`, or `["distress"]` on a customer turn); other fields (`id`,
//! `context`, `register`) are ignored, as `data/acts/` writes them. Each act is measured two ways
//! on the turns of the speaker who says it:
//! - `model`: the model's act head at the manifest's threshold;
//! - `rubric`: what the rubric's rule(s) for that act detect on the turn, by any detector (its
//!   phrases OR the model OR its examples), before any scope applies.
//!
//! Reported per language group (zh-Hans; zh-Hant with Cantonese; en; mixed; all): precision and
//! recall with the number of positives.

use std::path::Path;

use serde::Serialize;

use super::metrics::{Binary, fmt};
use super::{EvalError, read_json_lines};
use crate::conversation::Speaker;
use crate::engine::Engine;
use crate::model::{ACTS, N_ACTS, is_customer_act};

/// Language groups of the report: a name and the `lang` values in it.
pub const GROUPS: [(&str, &[&str]); 5] = [
    ("zh-Hans", &["zh-Hans"]),
    ("zh-Hant+yue", &["zh-Hant", "yue"]),
    ("en", &["en"]),
    ("mixed", &["mixed"]),
    ("all", &["zh-Hans", "zh-Hant", "yue", "en", "mixed"]),
];

/// One act, one detector, one language group.
#[derive(Debug, Clone, Serialize)]
pub struct ActGroup {
    pub act: String,
    /// `model` or `rubric`.
    pub detector: String,
    pub lang: String,
    pub positives: u64,
    pub counts: Binary,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActEval {
    pub file: String,
    pub turns: usize,
    pub groups: Vec<ActGroup>,
}

struct Row {
    speaker: Speaker,
    lang: String,
    gold: [bool; N_ACTS],
    model: [bool; N_ACTS],
    rubric: [Option<bool>; N_ACTS],
}

/// Reads the labelled turns of `path`, runs the detectors of `engine` on each turn on its own,
/// and measures every act.
pub fn eval_acts(path: &Path, engine: &Engine) -> Result<ActEval, EvalError> {
    let model = engine.model.as_ref().ok_or(EvalError::NoModel)?;
    let lines = read_json_lines(path)?;
    let mut turns = Vec::with_capacity(lines.len());
    let mut meta = Vec::with_capacity(lines.len());
    for (line, v) in &lines {
        let err =
            |message: String| EvalError::Label { path: path.to_path_buf(), line: *line, message };
        let text = v["text"].as_str().ok_or_else(|| err("text: missing or not a string".into()))?;
        let speaker = match v["speaker"].as_str() {
            Some("agent") => Speaker::Agent,
            Some("customer") => Speaker::Customer,
            other => {
                return Err(err(format!("speaker: expected agent or customer, got {other:?}")));
            }
        };
        let lang = v["lang"].as_str().unwrap_or("").to_string();
        let mut gold = [false; N_ACTS];
        for l in v["labels"].as_array().ok_or_else(|| err("labels: expected a list".into()))? {
            let name = l.as_str().unwrap_or_default();
            let act = crate::model::act_index(name).ok_or_else(|| {
                err(format!("labels: unknown act {name:?}; expected one of {}", ACTS.join(", ")))
            })?;
            gold[act] = true;
        }
        turns.push((speaker, text));
        meta.push((speaker, lang, gold));
    }
    // the rules that stand for each act: those whose model detector is that act
    let rules: Vec<Vec<&str>> = (0..N_ACTS)
        .map(|act| {
            engine
                .rubric
                .rules
                .iter()
                .filter(|r| r.model.as_ref().is_some_and(|m| m.act == act))
                .map(|r| r.id.as_str())
                .collect()
        })
        .collect();
    let detected = engine.detect_turns(&turns)?;
    let rows: Vec<Row> = meta
        .into_iter()
        .zip(detected)
        .map(|((speaker, lang, gold), (found, out))| {
            let mut model_says = [false; N_ACTS];
            if let Some(p) = out.as_ref().and_then(|o| o.acts.as_ref()) {
                for act in 0..N_ACTS {
                    model_says[act] =
                        model.act_threshold(act).is_some_and(|t| !p[act].is_nan() && p[act] >= t);
                }
            }
            let mut rubric = [None; N_ACTS];
            for act in 0..N_ACTS {
                if !rules[act].is_empty() {
                    rubric[act] = Some(found.iter().any(|d| rules[act].contains(&d.name.as_str())));
                }
            }
            Row { speaker, lang, gold, model: model_says, rubric }
        })
        .collect();
    let mut groups = Vec::new();
    for (act, name) in ACTS.iter().enumerate() {
        let said_by = if is_customer_act(act) { Speaker::Customer } else { Speaker::Agent };
        for detector in ["model", "rubric"] {
            if (detector == "model" && !model.has_act(act))
                || (detector == "rubric" && rules[act].is_empty())
            {
                continue;
            }
            for (group, langs) in GROUPS {
                let mut counts = Binary::default();
                let mut positives = 0;
                for r in rows.iter().filter(|r| r.speaker == said_by && langs.contains(&&*r.lang)) {
                    let predicted = if detector == "model" {
                        r.model[act]
                    } else {
                        r.rubric[act] == Some(true)
                    };
                    counts.add(r.gold[act], predicted);
                    positives += r.gold[act] as u64;
                }
                groups.push(ActGroup {
                    act: name.to_string(),
                    detector: detector.to_string(),
                    lang: group.to_string(),
                    positives,
                    precision: counts.precision(),
                    recall: counts.recall(),
                    counts,
                });
            }
        }
    }
    Ok(ActEval { file: path.display().to_string(), turns: rows.len(), groups })
}

/// The results as a table: one row per act and detector, one column per language group.
pub fn render(e: &ActEval) -> String {
    let mut out = format!(
        "\n== acts: {} ({} turns): precision / recall (positives)\n{:<22} {:<7}",
        e.file, e.turns, "act", "by"
    );
    for (g, _) in GROUPS {
        out += &format!(" {g:>20}");
    }
    out.push('\n');
    let mut rows = e.groups.chunks(GROUPS.len());
    for chunk in rows.by_ref() {
        out += &format!("{:<22} {:<7}", chunk[0].act, chunk[0].detector);
        for g in chunk {
            let cell = format!("{} / {} ({})", fmt(g.precision), fmt(g.recall), g.positives);
            out += &format!(" {cell:>20}");
        }
        out.push('\n');
    }
    out
}
