//! The nightly incremental layout (`--incremental`): Hive-style date partitions, a re-run over
//! the same input changes nothing, new input adds only new files, a changed conversation (same
//! id, new content) replaces its old rows in all three tables, and the reports read the folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::common::*;
use convqa::job::{RunOptions, run};
use convqa::output::Summary;

fn score_incremental(inputs: &[PathBuf], out: &Path) -> Summary {
    let mut opts = RunOptions::new(inputs.to_vec(), out.to_path_buf());
    opts.model = None;
    opts.incremental = true;
    run(&opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Every part file under the three table folders: path → (bytes, modified time).
fn parts(out: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    let mut files = BTreeMap::new();
    for table in ["conversations", "turns", "flags"] {
        for f in convqa::output::partitioned::table_files(out, table).unwrap() {
            let meta = std::fs::metadata(&f).unwrap();
            let rel = f.strip_prefix(out).unwrap().display().to_string();
            files.insert(rel, (std::fs::read(&f).unwrap(), meta.modified().unwrap()));
        }
    }
    files
}

/// All rows of one table: (conversation_id, content_hash or "") per row.
fn rows(out: &Path, table: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for f in convqa::output::partitioned::table_files(out, table).unwrap() {
        let b = read_table(&f);
        let ids = strings(&b, "conversation_id");
        let hashes = if table == "conversations" {
            strings(&b, "content_hash")
        } else {
            vec![None; ids.len()]
        };
        all.extend(ids.into_iter().zip(hashes).map(|(i, h)| (i.unwrap(), h.unwrap_or_default())));
    }
    all
}

fn sample_line(id: &str) -> String {
    let text = std::fs::read_to_string(data("sample/zh-hans.jsonl")).unwrap()
        + &std::fs::read_to_string(data("sample/en.jsonl")).unwrap();
    text.lines().find(|l| l.contains(&format!("\"conversation_id\":\"{id}\""))).unwrap().to_string()
}

#[test]
fn reruns_change_nothing_new_input_adds_and_changed_conversations_replace() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path();

    // 1. first night: the sample, partitioned by start date
    let first = score_incremental(&[data("sample")], out);
    let info = first.incremental.as_ref().unwrap();
    assert_eq!((info.new, info.replaced, info.unchanged), (50, 0, 0));
    let convs = rows(out, "conversations");
    assert_eq!(convs.len(), 50);
    assert_eq!(rows(out, "turns").len() as u64, first.counts.turns);
    assert_eq!(rows(out, "flags").len() as u64, first.counts.flags);
    assert!(out.join("conversations/date=2026-11-02").is_dir());
    assert!(out.join(format!("_runs/{}.json", info.run_id)).is_file(), "run manifest");
    assert!(first.inputs.iter().all(|i| i.sha256.len() == 64), "input content hashes");
    let before = parts(out);

    // 2. the same input again: nothing written, nothing touched
    let again = score_incremental(&[data("sample")], out);
    let info = again.incremental.as_ref().unwrap();
    assert_eq!((info.new, info.replaced, info.unchanged), (0, 0, 50));
    assert!(info.files_added.is_empty() && info.files_rewritten.is_empty());
    assert_eq!(parts(out), before, "a re-run changed files");

    // 3. the next night: two new conversations on a new day, and zh-hans-001 edited
    let tmp = tempfile::tempdir().unwrap();
    let en = sample_line("en-001");
    let new1 = en.replace("\"en-001\"", "\"en-101\"").replace("2026-11-02", "2026-11-20");
    let new2 = en.replace("\"en-001\"", "\"en-102\"").replace("2026-11-02", "2026-11-20");
    let edited = sample_line("zh-hans-001").replacen("多扣了30元", "多扣了45元", 1);
    assert_ne!(edited, sample_line("zh-hans-001"));
    let night2 = tmp.path().join("night2.jsonl");
    std::fs::write(&night2, format!("{new1}\n{new2}\n{edited}\n")).unwrap();
    let third = score_incremental(&[night2], out);
    let info = third.incremental.as_ref().unwrap();
    assert_eq!((info.new, info.replaced, info.unchanged), (2, 1, 0));

    let after = parts(out);
    let convs = rows(out, "conversations");
    assert_eq!(convs.len(), 52, "50 + 2 new, the edited one replaced in place");
    let edited_rows: Vec<&(String, String)> =
        convs.iter().filter(|r| r.0 == "zh-hans-001").collect();
    assert_eq!(edited_rows.len(), 1, "exactly one version of the edited conversation");
    let old_hash = before_hash(&before, "zh-hans-001");
    assert_ne!(edited_rows[0].1, old_hash);
    // its turns and flags are the new version's only (no leftovers of the old one)
    let turns = rows(out, "turns");
    assert_eq!(turns.iter().filter(|r| r.0 == "zh-hans-001").count(), edited_turns(&edited));
    assert_eq!(turns.len() as u64, first.counts.turns + 2 * edited_turns(&en) as u64);
    // untouched partitions keep their files byte for byte (and their modification times)
    for (path, old) in &before {
        if !path.contains("date=2026-11-02") {
            assert_eq!(after.get(path), Some(old), "{path} changed");
        }
    }
    assert!(after.keys().any(|p| p.contains("date=2026-11-20")), "a new partition");

    // 4. the reports read the whole partitioned folder
    let input = convqa::report::load(out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(input.conversations.len(), 52);

    // 5. a report window reads only the newest days' partitions
    report_window_reads_only_its_partitions(out, &input);
}

fn report_window_reads_only_its_partitions(out: &Path, all: &convqa::report::ReportInput) {
    let newest = all.conversations.iter().map(|c| c.started_at.date_naive()).max().unwrap();
    let in_window = |c: &convqa::report::ConvRecord| c.started_at.date_naive() == newest;
    let recent = convqa::report::load_window(out, Some(1)).unwrap_or_else(|e| panic!("{e}"));
    let expected = all.conversations.iter().filter(|c| in_window(c)).count();
    assert!(expected > 0 && expected < all.conversations.len());
    assert_eq!(recent.conversations.len(), expected);
    assert!(recent.conversations.iter().all(in_window));
    let flags_of_window =
        all.flags.iter().filter(|f| in_window(&all.conversations[f.conv])).count();
    assert_eq!(recent.flags.len(), flags_of_window);
    // a window as long as the data is all of it
    let wide = convqa::report::load_window(out, Some(10_000)).unwrap();
    assert_eq!(wide.conversations.len(), all.conversations.len());
    assert_eq!(wide.flags.len(), all.flags.len());
    // older partitions are not even opened: break one, and the window still loads
    let old = convqa::output::partitioned::dated_table_files(out, "flags")
        .unwrap()
        .into_iter()
        .find(|(date, _)| *date != Some(newest))
        .unwrap()
        .1;
    std::fs::write(&old, b"not parquet").unwrap();
    assert!(convqa::report::load(out).is_err());
    assert_eq!(convqa::report::load_window(out, Some(1)).unwrap().flags.len(), flags_of_window);
}

fn before_hash(before: &BTreeMap<String, (Vec<u8>, SystemTime)>, id: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (path, (bytes, _)) in before.iter().filter(|(p, _)| p.starts_with("conversations/")) {
        let f = dir.path().join(path.replace('/', "_"));
        std::fs::write(&f, bytes).unwrap();
        let b = read_table(&f);
        let ids = strings(&b, "conversation_id");
        let hashes = strings(&b, "content_hash");
        if let Some(i) = ids.iter().position(|x| x.as_deref() == Some(id)) {
            return hashes[i].clone().unwrap();
        }
    }
    panic!("{id} not stored before");
}

fn edited_turns(line: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["turns"].as_array().unwrap().len()
}

/// A run over many dates keeps three part files open per date; with a writers' budget the
/// biggest write their row groups out early. With a budget of one byte every write flushes, and
/// the store still holds every row once, readable.
#[test]
fn a_tiny_writers_budget_flushes_early_and_keeps_every_row() {
    use convqa::output::partitioned::PartitionedOutputs;
    let mut convs = Vec::new();
    for f in ["sample/zh-hans.jsonl", "sample/en.jsonl", "sample/zh-hant.jsonl"] {
        let text = std::fs::read_to_string(data(f)).unwrap();
        for (i, line) in text.lines().enumerate() {
            let origin = convqa::conversation::Origin { file: f.into(), line: i as u64 + 1 };
            convs.push(convqa::input::parse_line(line.as_bytes(), origin).unwrap());
        }
    }
    let engine = convqa::Engine::with_default_rubric().unwrap();
    let write = |out: &Path, budget: usize| {
        let mut w = PartitionedOutputs::create(out, "20261127T000000000Z")
            .unwrap()
            .with_writers_budget(budget);
        // small batches, as a long run writes them
        for chunk in convs.chunks(4) {
            let (scores, _) = convqa::score_batch(&engine, chunk).unwrap();
            w.write(scores).unwrap();
        }
        w.commit().unwrap();
    };
    let (tiny, roomy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(tiny.path(), 1);
    write(roomy.path(), usize::MAX);
    let row_groups = |out: &Path, table: &str| -> usize {
        convqa::output::partitioned::table_files(out, table)
            .unwrap()
            .iter()
            .map(|f| {
                let file = std::fs::File::open(f).unwrap();
                parquet::file::reader::SerializedFileReader::new(file)
                    .map(|r| parquet::file::reader::FileReader::metadata(&r).num_row_groups())
                    .unwrap()
            })
            .sum()
    };
    for table in ["conversations", "turns", "flags"] {
        let mut a = rows(tiny.path(), table);
        let mut b = rows(roomy.path(), table);
        a.sort();
        b.sort();
        assert_eq!(a, b, "{table}: the same rows either way");
        assert!(
            row_groups(tiny.path(), table) > row_groups(roomy.path(), table),
            "{table}: the tiny budget wrote row groups early"
        );
    }
}
