//! The turns of the conversations a sheet quotes, from `turns.parquet` (flat, or every date
//! partition of an `--incremental` store), and which of them to show.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;

use super::ShownTurn;
use crate::report::LoadError;

/// One stored turn: index, speaker, text, the rules hit in it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTurn {
    pub index: u32,
    pub speaker: String,
    pub text: String,
    pub rule_hits: Vec<String>,
}

/// Per conversation id, its turns in order.
pub type Turns = HashMap<String, Vec<StoredTurn>>;

/// Reads the turns of the conversations in `ids`.
pub fn read(dir: &Path, ids: &HashSet<String>) -> Result<Turns, LoadError> {
    let mut out = Turns::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let flat = dir.join(crate::output::TURNS);
    let files = if flat.is_file() {
        vec![flat]
    } else {
        crate::output::partitioned::dated_table_files(dir, "turns")
            .map_err(|source| LoadError::Partitions { path: dir.join("turns"), source })?
            .into_iter()
            .map(|(_, f)| f)
            .collect()
    };
    for f in files {
        for batch in crate::report::batches(&f)? {
            decode(&f, &batch?, ids, &mut out)?;
        }
    }
    for turns in out.values_mut() {
        turns.sort_by_key(|t| t.index);
    }
    Ok(out)
}

fn decode(
    path: &Path,
    b: &RecordBatch,
    ids: &HashSet<String>,
    out: &mut Turns,
) -> Result<(), LoadError> {
    let col = |name: &str| {
        b.column_by_name(name).ok_or_else(|| LoadError::Column {
            path: path.to_path_buf(),
            column: name.into(),
            problem: "is missing".into(),
        })
    };
    let (id, index, speaker, text, hits) = (
        col("conversation_id")?,
        col("turn_index")?,
        col("speaker")?,
        col("text")?,
        col("rule_hits")?,
    );
    let wrong = |column: &str| LoadError::Column {
        path: path.to_path_buf(),
        column: column.into(),
        problem: "has an unexpected type".into(),
    };
    let id = id.as_string_opt::<i32>().ok_or_else(|| wrong("conversation_id"))?;
    let index = index.as_primitive_opt::<Int32Type>().ok_or_else(|| wrong("turn_index"))?;
    let speaker = speaker.as_string_opt::<i32>().ok_or_else(|| wrong("speaker"))?;
    let text = text.as_string_opt::<i32>().ok_or_else(|| wrong("text"))?;
    let hits = hits.as_list_opt::<i32>().ok_or_else(|| wrong("rule_hits"))?;
    for i in 0..b.num_rows() {
        if !ids.contains(id.value(i)) {
            continue;
        }
        let h = hits.value(i);
        let rule_hits = h
            .as_string_opt::<i32>()
            .map(|s| s.iter().flatten().map(String::from).collect())
            .unwrap_or_default();
        out.entry(id.value(i).to_string()).or_default().push(StoredTurn {
            index: index.value(i).max(0) as u32,
            speaker: speaker.value(i).to_string(),
            text: text.value(i).to_string(),
            rule_hits,
        });
    }
    Ok(())
}

fn shown(t: &StoredTurn, focus: bool) -> ShownTurn {
    ShownTurn { index: t.index, speaker: t.speaker.clone(), text: t.text.clone(), focus }
}

/// The flagged turn with the turn before it and the two after (the reply it called for); the
/// first three turns when the flag names no turn.
pub fn around(turns: &[StoredTurn], focus: Option<u32>) -> Vec<ShownTurn> {
    match focus {
        Some(f) => turns
            .iter()
            .filter(|t| t.index + 1 >= f && t.index <= f + 2)
            .map(|t| shown(t, t.index == f))
            .collect(),
        None => turns.iter().take(3).map(|t| shown(t, false)).collect(),
    }
}

/// The agent turns that hit one of `rules`, each with the turn before it; the first three
/// turns when none does (e.g. responsiveness, which no rule shows).
pub fn showing(turns: &[StoredTurn], rules: &[String]) -> Vec<ShownTurn> {
    let hit =
        |t: &StoredTurn| t.speaker == "agent" && t.rule_hits.iter().any(|h| rules.contains(h));
    let mut out: Vec<ShownTurn> = Vec::new();
    for (i, t) in turns.iter().enumerate() {
        if hit(t) {
            if i > 0 && out.last().is_none_or(|l| l.index != turns[i - 1].index) {
                out.push(shown(&turns[i - 1], false));
            }
            out.push(shown(t, true));
        }
    }
    if out.is_empty() {
        out = turns.iter().take(3).map(|t| shown(t, false)).collect();
    }
    out.truncate(6);
    out
}
