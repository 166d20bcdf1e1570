//! `convqa verify DIR`: checks a store the way a nightly job needs to trust it, and says how to
//! repair what it finds.
//!
//! Under the folder's lock it checks that no commit is left unfinished (a journal) and no
//! temporary file is left over, that every data file is readable Parquet, that no conversation
//! is stored twice (in one date partition of an `--incremental` store, or in the flat table),
//! that every turn and flag belongs to a stored conversation of the same part file, and that the
//! counts agree with the run manifests (`_runs/*.json`: the conversations stored are the sum of
//! the runs' new ones) or, for the flat layout, with `summary.json`. `--repair` does what is safe
//! without the inputs: it finishes an interrupted commit and removes temporary files.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::partitioned::{TABLES, read_columns};
use super::{CONVERSATIONS, FLAGS, OutputError, SUMMARY, TURNS, commit};

/// Why `convqa verify` could not check the folder at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "{dir}: not a convqa output folder (no {SUMMARY}); pass the --out DIR of `convqa score`"
    )]
    NotAStore { dir: PathBuf },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// One problem found, and what to do about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub problem: String,
    pub repair: String,
}

/// What `convqa verify` saw.
#[derive(Debug, Default, serde::Serialize)]
pub struct Verification {
    /// `incremental` or `flat`.
    pub layout: String,
    pub conversations: u64,
    pub data_files: usize,
    /// Run manifests read (`--incremental` only).
    pub runs: usize,
    /// What `--repair` did.
    pub repaired: Vec<String>,
    pub findings: Vec<Finding>,
}

impl Verification {
    fn find(&mut self, problem: String, repair: impl Into<String>) {
        self.findings.push(Finding { problem, repair: repair.into() });
    }
}

/// Checks the store at `dir` (see the module documentation); with `repair`, first finishes an
/// interrupted commit and removes temporary files.
pub fn verify(
    dir: &Path,
    repair: bool,
    wait_lock: Option<Duration>,
) -> Result<Verification, VerifyError> {
    if !dir.join(SUMMARY).is_file() && !commit::pending(dir) {
        return Err(VerifyError::NotAStore { dir: dir.to_path_buf() });
    }
    let _lock = super::StoreLock::acquire(dir, wait_lock)?;
    let mut v = Verification::default();
    let shown = dir.display();
    if commit::pending(dir) {
        if repair {
            let n = commit::recover(dir)?.unwrap_or(0);
            v.repaired.push(format!("finished an interrupted commit ({n} operations)"));
        } else {
            v.find(
                format!("{}: a commit was interrupted and is not finished", commit::JOURNAL),
                format!(
                    "run `convqa verify {shown} --repair` (or the next `convqa score` or \
                     `convqa report` on the folder) to finish it; the other checks run after that"
                ),
            );
            return Ok(v);
        }
    }
    for tmp in commit::stale_temps(dir)? {
        if repair {
            std::fs::remove_file(&tmp)
                .map_err(|source| OutputError::Io { path: tmp.clone(), source })?;
            v.repaired.push(format!("removed {}", tmp.display()));
        } else {
            v.find(
                format!("{}: temporary file of a run that did not commit", tmp.display()),
                format!("`convqa verify {shown} --repair` removes it (so does the next run)"),
            );
        }
    }
    let summary = read_json(&dir.join(SUMMARY));
    let incremental = summary.as_ref().is_ok_and(|s| s.get("incremental").is_some())
        || dir.join("_runs").is_dir();
    match &summary {
        Err(e) => v.find(
            format!("{}: {e}", dir.join(SUMMARY).display()),
            "re-run the last `convqa score` on the folder: it writes a new summary",
        ),
        Ok(_) if incremental => {}
        Ok(s) => check_flat(dir, s, &mut v),
    }
    if incremental {
        check_incremental(dir, &mut v)?;
    }
    Ok(v)
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))
}

/// The flat layout: three tables whose row counts are `summary.json`'s.
fn check_flat(dir: &Path, summary: &serde_json::Value, v: &mut Verification) {
    v.layout = "flat".into();
    let rescore = "re-run `convqa score` over the inputs listed in summary.json (`inputs`, with \
                   their SHA-256) into this folder: it replaces all three tables together";
    let mut ids = HashSet::new();
    for (name, count) in [(CONVERSATIONS, "scored"), (TURNS, "turns"), (FLAGS, "flags")] {
        let path = dir.join(name);
        let rows = match read_columns(&path, &["conversation_id"]) {
            Ok(mut c) => c.remove(0),
            Err(e) => {
                v.find(e.to_string(), rescore);
                continue;
            }
        };
        v.data_files += 1;
        let expected = summary["counts"][count].as_u64();
        if expected != Some(rows.len() as u64) {
            v.find(
                format!(
                    "{}: {} rows, but summary.json counts {count} = {}",
                    path.display(),
                    rows.len(),
                    expected.map_or("nothing".into(), |n| n.to_string())
                ),
                rescore,
            );
        }
        if name == CONVERSATIONS {
            v.conversations = rows.len() as u64;
            let mut dup = Vec::new();
            for id in rows {
                if !ids.insert(id.clone()) {
                    dup.push(id);
                }
            }
            if !dup.is_empty() {
                v.find(
                    format!("{}: conversations stored twice: {}", path.display(), sample(&dup)),
                    rescore,
                );
            }
        } else if !ids.is_empty() {
            let orphans: Vec<String> = rows.into_iter().filter(|id| !ids.contains(id)).collect();
            if !orphans.is_empty() {
                v.find(
                    format!(
                        "{}: rows of conversations not in {CONVERSATIONS}: {}",
                        path.display(),
                        sample(&orphans)
                    ),
                    rescore,
                );
            }
        }
    }
}

/// The incremental layout: part files per date, run manifests in `_runs/`.
fn check_incremental(dir: &Path, v: &mut Verification) -> Result<(), OutputError> {
    v.layout = "incremental".into();
    let shown = dir.display();
    // run id → conversations it added
    let mut runs: BTreeMap<String, u64> = BTreeMap::new();
    let runs_dir = dir.join("_runs");
    let entries = match std::fs::read_dir(&runs_dir) {
        Ok(e) => e.filter_map(Result::ok).map(|e| e.path()).collect::<Vec<_>>(),
        Err(_) => Vec::new(),
    };
    for path in entries.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        match read_json(&path) {
            Ok(m) => {
                let id = m["incremental"]["run_id"].as_str().unwrap_or_default().to_string();
                runs.insert(id, m["incremental"]["new"].as_u64().unwrap_or(0));
            }
            Err(e) => v.find(
                format!("{}: {e}", path.display()),
                "the manifest of a committed run cannot be rebuilt: restore it from a backup, \
                 or re-score that run's inputs into a new store",
            ),
        }
    }
    v.runs = runs.len();
    let rescore = |run: &str| {
        format!(
            "move the three part-{run}.parquet files of this date out of the store, then re-run \
             `convqa score --incremental --out {shown}` over the inputs listed in \
             _runs/{run}.json: their conversations are stored again"
        )
    };
    // date folder → part name → conversation ids
    let mut stored: BTreeMap<String, BTreeMap<String, HashSet<String>>> = BTreeMap::new();
    for (_, file) in super::partitioned::dated_table_files(dir, TABLES[0])? {
        let date = folder_name(&file);
        let name = file_name(&file);
        let run = run_of(&name);
        if !runs.contains_key(run) {
            v.find(
                format!("{}: no run manifest _runs/{run}.json", file.display()),
                "a part file not written by a committed run (copied in by hand?): move it out, \
                 then re-score its conversations' inputs",
            );
        }
        match read_columns(&file, &["conversation_id"]) {
            Ok(mut c) => {
                v.data_files += 1;
                let ids = c.remove(0);
                v.conversations += ids.len() as u64;
                let part = stored.entry(date.clone()).or_default();
                let mut dup = Vec::new();
                for id in &ids {
                    if part.values().any(|other| other.contains(id)) {
                        dup.push(id.clone());
                    }
                }
                if !dup.is_empty() {
                    v.find(
                        format!(
                            "{}: conversations stored twice in {date}: {}",
                            file.display(),
                            sample(&dup)
                        ),
                        rescore(run),
                    );
                }
                part.insert(name, ids.into_iter().collect());
            }
            Err(e) => v.find(e.to_string(), rescore(run)),
        }
    }
    for table in &TABLES[1..] {
        for (_, file) in super::partitioned::dated_table_files(dir, table)? {
            let (date, name) = (folder_name(&file), file_name(&file));
            let ids = match read_columns(&file, &["conversation_id"]) {
                Ok(mut c) => c.remove(0),
                Err(e) => {
                    v.find(e.to_string(), rescore(run_of(&name)));
                    continue;
                }
            };
            v.data_files += 1;
            let Some(convs) = stored.get(&date).and_then(|p| p.get(&name)) else {
                v.find(
                    format!("{}: no conversations part file of the same name", file.display()),
                    rescore(run_of(&name)),
                );
                continue;
            };
            let orphans: Vec<String> = ids.into_iter().filter(|i| !convs.contains(i)).collect();
            if !orphans.is_empty() {
                v.find(
                    format!(
                        "{}: rows of conversations not in its conversations part file: {}",
                        file.display(),
                        sample(&orphans)
                    ),
                    rescore(run_of(&name)),
                );
            }
        }
    }
    let added: u64 = runs.values().sum();
    if added != v.conversations {
        v.find(
            format!(
                "{} conversations stored, but the {} run manifests added {added}",
                v.conversations,
                runs.len()
            ),
            format!(
                "a part file was removed or edited outside convqa: re-run `convqa score \
                 --incremental --out {shown}` over the inputs the manifests list; conversations \
                 already stored are skipped, missing ones are stored again"
            ),
        );
    }
    Ok(())
}

fn folder_name(file: &Path) -> String {
    file.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn file_name(file: &Path) -> String {
    file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `part-20261126T180102123Z.parquet` → `20261126T180102123Z`.
fn run_of(name: &str) -> &str {
    name.strip_prefix("part-").and_then(|n| n.strip_suffix(".parquet")).unwrap_or(name)
}

/// The first few ids of a list, for a message.
fn sample(ids: &[String]) -> String {
    let mut s = ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > 5 {
        s += &format!(" and {} more", ids.len() - 5);
    }
    s
}
