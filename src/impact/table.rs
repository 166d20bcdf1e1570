//! `training_impact.parquet` (one row per training, then one per course, told apart by `scope`)
//! and `training_rejects.jsonl` (one JSON object per unusable row of the trainings file).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use chrono::NaiveDate;

use super::{Impact, Interval, TRAINING_IMPACT, TRAINING_REJECTS, TrainingImpact};
use crate::output::parquet::{f64_col, floats, i32_col, ints, stage_table, strings, utf8};
use crate::output::{AtomicFile, OutputError, Transaction};

fn dates(values: impl Iterator<Item = Option<NaiveDate>>) -> ArrayRef {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    Arc::new(Date32Array::from_iter(values.map(|d| d.map(|d| (d - epoch).num_days() as i32))))
}

fn date_col(name: &str) -> Field {
    Field::new(name, DataType::Date32, true)
}

fn int(n: usize) -> Option<i32> {
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

/// The table: training rows, then course rows.
pub fn batch(impact: &Impact) -> Result<RecordBatch, ArrowError> {
    let t = &impact.trainings;
    let c = &impact.courses;
    let n_t = t.len();
    // column helpers: training rows' values, then the course rows' (or nulls)
    let tstr = |f: &dyn Fn(&TrainingImpact) -> Option<String>| -> Vec<Option<String>> {
        t.iter().map(f).chain(c.iter().map(|_| None)).collect()
    };
    let tdate = |f: &dyn Fn(&TrainingImpact) -> NaiveDate| -> ArrayRef {
        dates(t.iter().map(|r| Some(f(r))).chain(c.iter().map(|_| None)))
    };
    let tint = |f: &dyn Fn(&TrainingImpact) -> usize| -> ArrayRef {
        ints(t.iter().map(|r| int(f(r))).chain(c.iter().map(|_| None)))
    };
    let tf64 = |f: &dyn Fn(&TrainingImpact) -> Option<f64>| -> ArrayRef {
        floats(t.iter().map(f).chain(c.iter().map(|_| None)))
    };
    let effects: Vec<Option<Interval>> =
        t.iter().map(|r| r.effect()).chain(c.iter().map(|c| c.effect)).collect();
    let eff = |f: fn(&Interval) -> f64| floats(effects.iter().map(|e| e.as_ref().map(f)));
    let scope: Vec<&str> = std::iter::repeat_n("training", n_t)
        .chain(std::iter::repeat_n("course", c.len()))
        .collect();
    let agent = tstr(&|r| Some(r.training.agent_id.clone()));
    let skill = tstr(&|r| Some(r.training.skill.name().to_string()));
    let course: Vec<Option<String>> = t
        .iter()
        .map(|r| r.training.course.clone())
        .chain(c.iter().map(|c| Some(c.course.clone())))
        .collect();
    let verdict: Vec<&str> =
        t.iter().map(|r| r.verdict.code()).chain(c.iter().map(|c| c.verdict.code())).collect();
    let words: Vec<String> =
        t.iter().map(|r| r.verdict.words()).chain(c.iter().map(|c| c.verdict.words())).collect();
    let trainings: Vec<Option<i32>> =
        std::iter::repeat_n(Some(1), n_t).chain(c.iter().map(|c| int(c.trainings))).collect();
    let pooled: Vec<Option<i32>> = t
        .iter()
        .map(|r| Some(i32::from(!r.replicates.is_empty())))
        .chain(c.iter().map(|c| int(c.pooled)))
        .collect();
    let schema = Schema::new(vec![
        utf8("scope", false),
        i32_col("line", true),
        utf8("agent_id", true),
        utf8("skill", true),
        date_col("training_date"),
        utf8("course", true),
        i32_col("trainings", false),
        i32_col("pooled", false),
        date_col("before_first"),
        date_col("before_last"),
        date_col("after_first"),
        date_col("after_last"),
        i32_col("n_before", true),
        i32_col("n_after", true),
        f64_col("mean_before", true),
        f64_col("mean_after", true),
        f64_col("difference", true),
        f64_col("difference_low", true),
        f64_col("difference_high", true),
        i32_col("control_agents", true),
        i32_col("control_n_before", true),
        i32_col("control_n_after", true),
        f64_col("control_difference", true),
        f64_col("did", true),
        f64_col("did_low", true),
        f64_col("did_high", true),
        f64_col("effect", true),
        f64_col("effect_low", true),
        f64_col("effect_high", true),
        utf8("verdict", false),
        utf8("verdict_words", false),
    ]);
    let diff = |f: fn(&Interval) -> f64| tf64(&move |r| r.difference.as_ref().map(f));
    let did = |f: fn(&Interval) -> f64| tf64(&move |r| r.did.as_ref().map(f));
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            strings(scope.iter().map(|s| Some(*s))),
            ints(t.iter().map(|r| int(r.training.line as usize)).chain(c.iter().map(|_| None))),
            strings(agent.iter().map(|s| s.as_deref())),
            strings(skill.iter().map(|s| s.as_deref())),
            tdate(&|r| r.training.date),
            strings(course.iter().map(|s| s.as_deref())),
            ints(trainings.into_iter()),
            ints(pooled.into_iter()),
            tdate(&|r| r.before.first),
            tdate(&|r| r.before.last),
            tdate(&|r| r.after.first),
            tdate(&|r| r.after.last),
            tint(&|r| r.n_before),
            tint(&|r| r.n_after),
            tf64(&|r| r.mean_before),
            tf64(&|r| r.mean_after),
            diff(|i| i.estimate),
            diff(|i| i.low),
            diff(|i| i.high),
            tint(&|r| r.control_agents),
            tint(&|r| r.control_n_before),
            tint(&|r| r.control_n_after),
            tf64(&|r| r.control_difference),
            did(|i| i.estimate),
            did(|i| i.low),
            did(|i| i.high),
            eff(|i| i.estimate),
            eff(|i| i.low),
            eff(|i| i.high),
            strings(verdict.iter().map(|s| Some(*s))),
            strings(words.iter().map(|s| Some(s.as_str()))),
        ],
    )
}

/// Stages both files into `tx`; returns their final paths.
pub fn stage(
    dir: &Path,
    impact: &Impact,
    tx: &mut Transaction,
) -> Result<Vec<PathBuf>, OutputError> {
    let path = dir.join(TRAINING_IMPACT);
    let batch =
        batch(impact).map_err(|source| OutputError::Arrow { path: path.clone(), source })?;
    tx.add(stage_table(&path, batch)?);
    let rejects = dir.join(TRAINING_REJECTS);
    let mut file = AtomicFile::create(&rejects)?;
    let io = |source| OutputError::Io { path: rejects.clone(), source };
    for r in &impact.rejects {
        let line = serde_json::to_string(r).expect("a reject serializes");
        writeln!(file, "{line}").map_err(io)?;
    }
    tx.add(file.finish()?);
    Ok(vec![path, rejects])
}
