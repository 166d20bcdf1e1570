//! The report's tables: `review_queue.parquet` + `.csv`, `agents.parquet`, `skill_gaps.parquet`
//! and `follow_ups.parquet`, each written atomically.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Int32Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema};
use chrono::NaiveDate;

use super::{AgentPeriod, Dist, FollowUp, QueueEntry, Report};
use crate::output::parquet::{
    bools, f64_col, floats, i32_col, ints, list_of_strings, stage_table, string_lists, strings,
    timestamps, ts_type, utf8,
};
use crate::output::{AtomicFile, OutputError, Staged, Transaction};
use crate::rubric::Dimension;

fn dates(values: impl Iterator<Item = NaiveDate>) -> ArrayRef {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let mut b = Date32Builder::new();
    for d in values {
        b.append_value((d - epoch).num_days() as i32);
    }
    Arc::new(b.finish())
}

fn count(n: usize) -> Option<i32> {
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

fn evidence_fields() -> Fields {
    Fields::from(vec![
        i32_col("turn_index", true),
        utf8("speaker", true),
        utf8("text", false),
        utf8("why", false),
    ])
}

fn evidence_lists(queue: &[QueueEntry]) -> ArrayRef {
    let mut b = ListBuilder::new(StructBuilder::from_fields(evidence_fields(), 0));
    for entry in queue {
        let s = b.values();
        for e in &entry.evidence {
            s.field_builder::<Int32Builder>(0)
                .expect("int32 field")
                .append_option(e.turn_index.map(|t| t as i32));
            s.field_builder::<StringBuilder>(1)
                .expect("utf8 field")
                .append_option(e.speaker.as_deref());
            s.field_builder::<StringBuilder>(2).expect("utf8 field").append_value(&e.text);
            s.field_builder::<StringBuilder>(3).expect("utf8 field").append_value(&e.why);
            s.append(true);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

pub fn queue_batch(queue: &[QueueEntry]) -> Result<RecordBatch, ArrowError> {
    let evidence = evidence_lists(queue);
    let schema = Schema::new(vec![
        i32_col("rank", false),
        utf8("conversation_id", false),
        utf8("agent_id", false),
        Field::new("started_at", ts_type(), false),
        f64_col("qa_score", false),
        Field::new("passed", DataType::Boolean, false),
        f64_col("priority", false),
        utf8("selection", false),
        list_of_strings("reasons"),
        Field::new("evidence", evidence.data_type().clone(), false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            ints(queue.iter().map(|e| count(e.rank))),
            strings(queue.iter().map(|e| Some(e.conversation_id.as_str()))),
            strings(queue.iter().map(|e| Some(e.agent_id.as_str()))),
            timestamps(queue.iter().map(|e| e.started_at)),
            floats(queue.iter().map(|e| Some(e.qa_score))),
            bools(queue.iter().map(|e| Some(e.passed))),
            floats(queue.iter().map(|e| Some(e.priority))),
            strings(queue.iter().map(|e| Some(e.selection))),
            string_lists(queue.iter().map(|e| e.reasons.as_slice())),
            evidence,
        ],
    )
}

/// The evidence of a queue entry as one line of text: `turn 4 (agent): "…" — why`.
pub fn evidence_line(e: &super::Evidence) -> String {
    let turn = e.turn_index.map(|t| format!("turn {t}")).unwrap_or_else(|| "conversation".into());
    let who = e.speaker.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
    if e.text.is_empty() {
        format!("{turn}{who}: {}", e.why)
    } else {
        format!("{turn}{who}: \"{}\" — {}", e.text, e.why)
    }
}

fn stage_queue_csv(path: &Path, queue: &[QueueEntry]) -> Result<Staged, OutputError> {
    let io = |e: std::io::Error| OutputError::Io { path: path.to_path_buf(), source: e };
    let csv_err = |e: csv::Error| io(std::io::Error::other(e));
    let file = AtomicFile::create(path)?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record([
        "rank",
        "conversation_id",
        "agent_id",
        "started_at",
        "qa_score",
        "passed",
        "priority",
        "selection",
        "reasons",
        "evidence",
    ])
    .map_err(csv_err)?;
    for e in queue {
        let evidence: Vec<String> = e.evidence.iter().map(evidence_line).collect();
        w.write_record([
            e.rank.to_string(),
            e.conversation_id.clone(),
            e.agent_id.clone(),
            e.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            format!("{:.1}", e.qa_score),
            e.passed.to_string(),
            format!("{:.1}", e.priority),
            e.selection.to_string(),
            e.reasons.join(" | "),
            evidence.join(" | "),
        ])
        .map_err(csv_err)?;
    }
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.finish()
}

/// `{prefix}_n` and mean / quartiles, null when nothing was scored.
fn dist_columns(prefix: &str) -> Vec<Field> {
    let mut f = vec![i32_col(&format!("{prefix}_n"), false)];
    for s in ["mean", "p25", "p50", "p75"] {
        f.push(f64_col(&format!("{prefix}_{s}"), true));
    }
    f
}

fn dist_arrays(rows: &[AgentPeriod], get: impl Fn(&AgentPeriod) -> Dist) -> Vec<ArrayRef> {
    vec![
        ints(rows.iter().map(|r| count(get(r).n))),
        floats(rows.iter().map(|r| get(r).mean)),
        floats(rows.iter().map(|r| get(r).p25)),
        floats(rows.iter().map(|r| get(r).p50)),
        floats(rows.iter().map(|r| get(r).p75)),
    ]
}

pub fn agents_batch(rows: &[AgentPeriod]) -> Result<RecordBatch, ArrowError> {
    let mut fields = vec![
        utf8("scope", false),
        utf8("agent_id", true),
        utf8("period", false),
        Field::new("period_start", DataType::Date32, false),
        i32_col("conversations", false),
        i32_col("passed", false),
        f64_col("pass_rate", false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| Some(r.scope))),
        strings(rows.iter().map(|r| r.agent_id.as_deref())),
        strings(rows.iter().map(|r| Some(r.period.as_str()))),
        dates(rows.iter().map(|r| r.period_start)),
        ints(rows.iter().map(|r| count(r.conversations))),
        ints(rows.iter().map(|r| count(r.passed))),
        floats(rows.iter().map(|r| Some(crate::score::round3(r.pass_rate())))),
    ];
    fields.extend(dist_columns("qa"));
    columns.extend(dist_arrays(rows, |r| r.qa));
    for d in Dimension::ALL {
        fields.extend(dist_columns(d.as_str()));
        columns.extend(dist_arrays(rows, |r| r.dimensions[d as usize]));
    }
    fields.extend([
        f64_col("first_response_mean_secs", true),
        f64_col("first_response_within_target", true),
        f64_col("mean_reply_mean_secs", true),
        f64_col("mean_reply_within_target", true),
        f64_col("fcr", true),
        f64_col("csat_mean", true),
        list_of_strings("top_failing_rules"),
        f64_col("delta_qa_mean", true),
        f64_col("delta_pass_rate", true),
    ]);
    columns.extend([
        floats(rows.iter().map(|r| r.first_response_mean_secs)),
        floats(rows.iter().map(|r| r.first_response_within)),
        floats(rows.iter().map(|r| r.mean_reply_mean_secs)),
        floats(rows.iter().map(|r| r.mean_reply_within)),
        floats(rows.iter().map(|r| r.fcr)),
        floats(rows.iter().map(|r| r.csat_mean)),
        string_lists(rows.iter().map(|r| r.top_failing_rules.as_slice())),
        floats(rows.iter().map(|r| r.delta_qa_mean)),
        floats(rows.iter().map(|r| r.delta_pass_rate)),
    ]);
    for d in Dimension::ALL {
        fields.push(f64_col(&format!("delta_{}_mean", d.as_str()), true));
        columns.push(floats(rows.iter().map(|r| r.delta_dimensions[d as usize])));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

pub fn skill_gaps_batch(report: &Report) -> Result<RecordBatch, ArrowError> {
    let gaps = &report.skill_gaps;
    let team = &report.team_gaps;
    let all_start = report.overview.first_day.unwrap_or(NaiveDate::MIN);
    let schema = Schema::new(vec![
        utf8("scope", false),
        utf8("agent_id", true),
        utf8("period", false),
        Field::new("period_start", DataType::Date32, false),
        utf8("dimension", false),
        i32_col("conversations", false),
        f64_col("mean", false),
        f64_col("team_p25", true),
        f64_col("team_median", true),
        list_of_strings("examples"),
    ]);
    let examples: Vec<&[String]> = gaps
        .iter()
        .map(|g| g.examples.as_slice())
        .chain(team.iter().map(|t| t.agents_below.as_slice()))
        .collect();
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            strings(gaps.iter().map(|_| Some("agent")).chain(team.iter().map(|_| Some("team")))),
            strings(
                gaps.iter().map(|g| Some(g.agent_id.as_str())).chain(team.iter().map(|_| None)),
            ),
            strings(
                gaps.iter()
                    .map(|g| Some(g.period.as_str()))
                    .chain(team.iter().map(|_| Some("all"))),
            ),
            dates(gaps.iter().map(|g| g.period_start).chain(team.iter().map(|_| all_start))),
            strings(
                gaps.iter()
                    .map(|g| Some(g.dimension.as_str()))
                    .chain(team.iter().map(|t| Some(t.dimension.as_str()))),
            ),
            ints(
                gaps.iter()
                    .map(|g| count(g.conversations))
                    .chain(team.iter().map(|t| count(t.agents_counted))),
            ),
            floats(
                gaps.iter()
                    .map(|g| Some(g.agent_mean))
                    .chain(team.iter().map(|t| Some(t.team_mean))),
            ),
            floats(gaps.iter().map(|g| Some(g.team_p25)).chain(team.iter().map(|_| None))),
            floats(gaps.iter().map(|g| Some(g.team_median)).chain(team.iter().map(|_| None))),
            string_lists(examples.into_iter()),
        ],
    )
}

pub fn follow_ups_batch(rows: &[FollowUp]) -> Result<RecordBatch, ArrowError> {
    let schema = Schema::new(vec![
        utf8("customer_id", false),
        i32_col("contacts", false),
        i32_col("repeat_contacts", false),
        i32_col("negative_endings", false),
        i32_col("complaints", false),
        i32_col("churn_risk", false),
        Field::new("last_contact", ts_type(), false),
        list_of_strings("conversations"),
        list_of_strings("agents"),
        list_of_strings("reasons"),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            strings(rows.iter().map(|r| Some(r.customer_id.as_str()))),
            ints(rows.iter().map(|r| count(r.contacts))),
            ints(rows.iter().map(|r| count(r.repeat_contacts))),
            ints(rows.iter().map(|r| count(r.negative_endings))),
            ints(rows.iter().map(|r| count(r.complaints))),
            ints(rows.iter().map(|r| count(r.churn_risk))),
            timestamps(rows.iter().map(|r| r.last_contact)),
            string_lists(rows.iter().map(|r| r.conversations.as_slice())),
            string_lists(rows.iter().map(|r| r.agents.as_slice())),
            string_lists(rows.iter().map(|r| r.reasons.as_slice())),
        ],
    )
}

/// Writes every table to a staged temporary file in `tx`; returns the final paths.
pub fn stage_all(
    dir: &Path,
    report: &Report,
    tx: &mut Transaction,
) -> Result<Vec<PathBuf>, OutputError> {
    let mut written = Vec::new();
    let tables: [(&str, Result<RecordBatch, ArrowError>); 4] = [
        (super::REVIEW_QUEUE_PARQUET, queue_batch(&report.queue)),
        (super::AGENTS, agents_batch(&report.agents)),
        (super::SKILL_GAPS, skill_gaps_batch(report)),
        (super::FOLLOW_UPS, follow_ups_batch(&report.follow_ups)),
    ];
    for (name, batch) in tables {
        let path = dir.join(name);
        let batch = batch.map_err(|source| OutputError::Arrow { path: path.clone(), source })?;
        tx.add(stage_table(&path, batch)?);
        written.push(path);
    }
    let csv = dir.join(super::REVIEW_QUEUE_CSV);
    tx.add(stage_queue_csv(&csv, &report.queue)?);
    written.push(csv);
    Ok(written)
}
