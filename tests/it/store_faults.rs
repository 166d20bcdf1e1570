//! Issue 20, a store the nightly job can trust. Each fault is checked for its exit code, its
//! message and the outputs, which must be exactly the old set or exactly the new set (after
//! `convqa verify --repair` finishes an interrupted commit, as the next run on the folder does):
//! - an injected "No space left on device" at every write, fsync, rename and removal of a run
//!   (flat, `--incremental` with a rewritten and a removed part file, and `convqa report`);
//! - SIGKILL at every commit step (fsync, rename, removal) of the same three;
//! - a real full disk (a size-limited tmpfs; as root, else skipped saying so);
//! - two runs on one folder (exit 8 naming the holder, or `--wait-lock`);
//! - a read-only partition and a read-only output folder;
//! - an input file truncated or deleted while the run reads it.
//!
//! The injected faults use the binary's test-only fault points (`CONVQA_FAULT`, see
//! `src/output/fault.rs`). `CONVQA_BIN=FILE` runs these tests against another build of convqa:
//! that is how they were checked to fail on the code before issue 20.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, convqa_command};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

fn sample_lines() -> Vec<String> {
    let mut lines = Vec::new();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(sample()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        lines.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    lines
}

fn sample_line(id: &str) -> String {
    let key = format!("\"conversation_id\":\"{id}\"");
    sample_lines().into_iter().find(|l| l.contains(&key)).unwrap()
}

/// The same conversation with other content (so another content hash).
fn edited(line: &str) -> String {
    let e = line.replacen("\"text\":\"", "\"text\":\"(edited) ", 1);
    assert_ne!(e, line);
    e
}

/// The sample repeated `copies` times with fresh conversation ids.
fn big_input(dir: &Path, copies: usize) -> PathBuf {
    let mut out = String::new();
    for k in 0..copies {
        for l in sample_lines() {
            out +=
                &l.replacen("\"conversation_id\":\"", &format!("\"conversation_id\":\"k{k}-"), 1);
            out.push('\n');
        }
    }
    let path = dir.join(format!("big{copies}.jsonl"));
    std::fs::write(&path, out).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run_ok(args: &[&str]) {
    let o = convqa_command(args).output().unwrap();
    assert!(o.status.success(), "convqa {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push((p.strip_prefix(root).unwrap().display().to_string(), p));
        }
    }
}

/// Every file of a store, comparable between two runs of the same command: run ids (in part
/// file names and manifests) become R1, R2, … in order; the summaries and run manifests lose
/// their times; the lock file is left out (it names its last holder).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    let run_id = regex::Regex::new(r"\d{8}T\d{9}Z").unwrap();
    let mut ids: Vec<String> = files
        .iter()
        .flat_map(|(rel, _)| run_id.find_iter(rel).map(|m| m.as_str().to_string()))
        .collect();
    ids.sort();
    ids.dedup();
    let rename = |text: &str| {
        let mut t = text.to_string();
        for (k, id) in ids.iter().enumerate() {
            t = t.replace(id, &format!("R{}", k + 1));
        }
        t
    };
    let mut snap = BTreeMap::new();
    for (rel, path) in files {
        if rel == ".convqa.lock" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let bytes = if rel.ends_with(".json") && !rel.contains(".tmp") {
            let mut v: serde_json::Value =
                serde_json::from_str(&rename(&String::from_utf8(bytes).unwrap()))
                    .unwrap_or_else(|e| panic!("{rel}: {e}"));
            for k in ["started_at", "finished_at", "stage_seconds"] {
                v.as_object_mut().unwrap().remove(k);
            }
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            bytes
        };
        snap.insert(rename(&rel), bytes);
    }
    snap
}

fn temps(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.into_iter().map(|(rel, _)| rel).filter(|r| r.ends_with(".tmp")).collect()
}

/// Names differ in their files' names only: the changed keys of two snapshots.
fn diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// A store before a command (`old`), the command (with `OUT` for the folder) and the store
/// after it ran without a fault (`new`).
struct Scenario {
    _tmp: tempfile::TempDir,
    old: PathBuf,
    args: Vec<String>,
    old_snap: BTreeMap<String, Vec<u8>>,
    new_snap: BTreeMap<String, Vec<u8>>,
}

impl Scenario {
    fn new(tmp: tempfile::TempDir, old: PathBuf, args: &[&str]) -> Scenario {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let scratch = tmp.path().join("reference");
        copy_dir(&old, &scratch);
        let o = self::command(&args, &scratch).output().unwrap();
        assert!(o.status.success(), "reference run: {}", String::from_utf8_lossy(&o.stderr));
        let (old_snap, new_snap) = (snapshot(&old), snapshot(&scratch));
        assert!(!diff(&old_snap, &new_snap).is_empty(), "the run must change the store");
        Scenario { _tmp: tmp, old, args, old_snap, new_snap }
    }

    fn fresh(&self, name: &str) -> PathBuf {
        let out = self._tmp.path().join(name);
        let _ = std::fs::remove_dir_all(&out);
        copy_dir(&self.old, &out);
        out
    }

    /// The fault points the command reaches, in order (with the temporary names' random part
    /// cut, so two runs compare).
    fn points(&self) -> Vec<String> {
        let out = self.fresh("list");
        let o = command(&self.args, &out).env("CONVQA_FAULT", "list").output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stderr).unwrap();
        let points: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("convqa-fault-point "))
            .map(|l| label(l.split_once(' ').unwrap().1, &out))
            .collect();
        assert!(!points.is_empty(), "no fault point reached: a build without them?\n{text}");
        points
    }

    /// Checks the store at `out` after a fault at point `k` (1-based) of `points`: `verify
    /// --repair` leaves it sound, and it is the old set up to the journal's rename, the new one
    /// after.
    fn check(&self, out: &Path, k: usize, points: &[String], what: &str) {
        let journal = journal_point(points);
        let o = convqa_command(&["verify", s(out), "--repair"]).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{what}: verify --repair: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let now = snapshot(out);
        let (expected, which) =
            if k <= journal { (&self.old_snap, "old") } else { (&self.new_snap, "new") };
        assert!(
            now == *expected,
            "{what} ({}): not exactly the {which} set; differs in {:?}",
            points[k - 1],
            diff(&now, expected)
        );
    }

    /// `fail:k` at every fsync, rename and removal and at the first write of every file: exit
    /// 4, "No space left on device", old or new set. (A file's later writes fail the same way
    /// as its first: the error goes up the same path.)
    fn fail_everywhere(&self) {
        let points = self.points();
        let mut seen = std::collections::HashSet::new();
        let ks: Vec<usize> = (1..=points.len())
            .filter(|&k| !points[k - 1].starts_with("write") || seen.insert(&points[k - 1]))
            .collect();
        for k in ks {
            let out = self.fresh("fail");
            let o = command(&self.args, &out)
                .env("CONVQA_FAULT", format!("fail:{k}"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            let what = format!("fail at point {k} of {}", points.len());
            assert_eq!(o.status.code(), Some(4), "{what} ({}): {err}", points[k - 1]);
            assert!(err.contains("No space left on device"), "{what}: {err}");
            if k <= journal_point(&points) {
                // before the commit point the failing run removes its temporary files
                assert_eq!(temps(&out), Vec::<String>::new(), "{what}: {err}");
            } else {
                assert!(err.contains("finishes it"), "{what}: says the next run finishes: {err}");
            }
            self.check(&out, k, &points, &what);
        }
    }

    /// SIGKILL at every commit step (every point but the writes): old or new set.
    fn kill_at_every_commit_step(&self) {
        let points = self.points();
        let steps: Vec<usize> =
            (1..=points.len()).filter(|&k| !points[k - 1].starts_with("write")).collect();
        assert!(steps.len() >= 5, "{points:?}");
        for k in steps {
            let out = self.fresh("kill");
            let what = format!("SIGKILL at point {k} of {}", points.len());
            let paused = pause_then(&self.args, &out, k, |child| child.kill().unwrap());
            assert_eq!(paused, points[k - 1], "{what}: the run paused elsewhere");
            self.check(&out, k, &points, &what);
        }
    }
}

/// The point (1-based) where the journal is renamed into place: the commit point.
fn journal_point(points: &[String]) -> usize {
    points
        .iter()
        .position(|p| p.starts_with("rename") && p.ends_with("/.convqa-journal.json"))
        .expect("the commit renames its journal into place")
        + 1
}

fn command(args: &[String], out: &Path) -> Command {
    let args: Vec<String> = args.iter().map(|a| a.replace("OUT", s(out))).collect();
    let mut c = Command::new(bin());
    c.args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// A fault point's label with the output folder and temporary names' random part cut.
fn label(l: &str, out: &Path) -> String {
    let l = l.replace(s(out), "OUT");
    let l = regex::Regex::new(r"\.[A-Za-z0-9]{6}\.tmp").unwrap().replace_all(&l, ".X.tmp");
    regex::Regex::new(r"\d{8}T\d{9}Z").unwrap().replace_all(&l, "RUN").into_owned()
}

/// Runs the command paused at point `k`, calls `then` on the paused process, waits for it to end;
/// returns the point's label.
fn pause_then(
    args: &[String],
    out: &Path,
    k: usize,
    then: impl FnOnce(&mut std::process::Child),
) -> String {
    let mut child = command(args, out).env("CONVQA_FAULT", format!("pause:{k}")).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let paused = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(rest) = l.strip_prefix("convqa-fault-paused ") {
                    break label(rest.split_once(' ').unwrap().1, out);
                }
            }
            _ => {
                let status = child.wait().unwrap();
                panic!("the run ended ({status}) without pausing at point {k}");
            }
        }
    };
    then(&mut child);
    std::thread::spawn(move || lines.for_each(drop)); // keep its stderr drained
    child.wait().unwrap();
    paused
}

fn flat_scenario() -> Scenario {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    run_ok(&["score", s(&sample()), "--out", s(&old), "--no-models", "--quiet"]);
    let big = big_input(tmp.path(), 4);
    let big = big.to_str().unwrap().to_string();
    Scenario::new(tmp, old, &["score", &big, "--out", "OUT", "--no-models", "--quiet"])
}

/// Two runs stored; the third replaces a conversation of the first (its part file rewritten),
/// the only conversation of the second (its part file removed) and adds one.
fn incremental_scenario() -> Scenario {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let inc = |input: &Path| {
        run_ok(&["score", s(input), "--out", s(&old), "--incremental", "--no-models", "--quiet"])
    };
    inc(&sample());
    let solo = sample_line("en-001")
        .replace("\"en-001\"", "\"solo-1\"")
        .replace("2026-11-02", "2026-12-01");
    let second = tmp.path().join("second.jsonl");
    std::fs::write(&second, format!("{solo}\n")).unwrap();
    std::thread::sleep(Duration::from_millis(5)); // another run id
    inc(&second);
    let new =
        sample_line("en-002").replace("\"en-002\"", "\"en-201\"").replace("2026-11-0", "2026-11-2");
    let night = tmp.path().join("night.jsonl");
    std::fs::write(
        &night,
        format!("{}\n{}\n{new}\n", edited(&solo), edited(&sample_line("zh-hans-001"))),
    )
    .unwrap();
    let night = night.to_str().unwrap().to_string();
    let sc = Scenario::new(
        tmp,
        old,
        &["score", &night, "--out", "OUT", "--incremental", "--no-models", "--quiet"],
    );
    let removed = sc.old_snap.keys().filter(|k| !sc.new_snap.contains_key(*k)).count();
    assert_eq!(removed, 3, "the second run's part files go (all three tables)");
    sc
}

/// Old reports of the sample beside new scores of a bigger input; the command writes the new
/// reports.
fn report_scenario() -> Scenario {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    run_ok(&["score", s(&sample()), "--out", s(&old), "--no-models", "--quiet", "--report"]);
    let big = big_input(tmp.path(), 4);
    run_ok(&["score", s(&big), "--out", s(&old), "--no-models", "--quiet"]);
    Scenario::new(tmp, old, &["report", "OUT"])
}

#[test]
fn issue20_flat_store_disk_full_at_every_point_keeps_old_or_new_set() {
    flat_scenario().fail_everywhere();
}

#[test]
fn issue20_flat_store_sigkill_at_every_commit_step_keeps_old_or_new_set() {
    flat_scenario().kill_at_every_commit_step();
}

#[test]
fn issue20_incremental_store_disk_full_at_every_point_keeps_old_or_new_set() {
    incremental_scenario().fail_everywhere();
}

#[test]
fn issue20_incremental_store_sigkill_at_every_commit_step_keeps_old_or_new_set() {
    incremental_scenario().kill_at_every_commit_step();
}

#[test]
fn issue20_reports_disk_full_and_sigkill_keep_old_or_new_reports() {
    let sc = report_scenario();
    sc.fail_everywhere();
    sc.kill_at_every_commit_step();
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Unmounts on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount(args: &[&str]) -> Result<(), String> {
    let o = Command::new("mount").args(args).output().map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
    }
}

fn used_bytes(mount_point: &Path) -> u64 {
    let o = Command::new("df").args(["-B1", "--output=used"]).arg(mount_point).output().unwrap();
    String::from_utf8(o.stdout).unwrap().lines().nth(1).unwrap().trim().parse().unwrap()
}

/// The issue's first report: the disk fills while the third file is written. Before issue 20
/// `conversations.parquet` was already the new run's while the other files stayed old.
#[test]
fn issue20_a_disk_that_fills_during_the_run_changes_no_output() {
    if !is_root() {
        eprintln!(
            "skipped: mounting a size-limited tmpfs needs root (the injected faults cover disk full)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    if let Err(e) = mount(&["-t", "tmpfs", "-o", "size=64m", "tmpfs", s(&mnt)]) {
        eprintln!("skipped: cannot mount a tmpfs here ({e}); the injected faults cover disk full");
        return;
    }
    let _guard = Mount(mnt.clone());
    let out = mnt.join("out");
    run_ok(&["score", s(&sample()), "--out", s(&out), "--no-models", "--quiet"]);
    let old = snapshot(&out);
    // generated text: varied enough that turns.parquet stays big after compression
    let big = tmp.path().join("generated.jsonl");
    run_ok(&["generate", "--conversations", "3000", "--seed", "20", "--out", s(&big), "--quiet"]);
    let reference = tmp.path().join("reference");
    run_ok(&["score", s(&big), "--out", s(&reference), "--no-models", "--quiet"]);
    let size = |f: &str| std::fs::metadata(reference.join(f)).unwrap().len().div_ceil(4096) * 4096;
    let (conversations, turns) = (size("conversations.parquet"), size("turns.parquet"));
    assert!(turns > 256 << 10, "turns.parquet must be big enough to overflow: {turns}");
    // room for the new conversations.parquet and half of turns.parquet, beside the old files
    let limit = used_bytes(&mnt) + conversations + turns / 2;
    mount(&["-o", &format!("remount,size={limit}"), s(&mnt)]).unwrap();

    let o = convqa_command(&["score", s(&big), "--out", s(&out), "--no-models", "--quiet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    let now = snapshot(&out);
    assert!(now == old, "a full disk changed outputs: {:?}", diff(&now, &old));
    assert_eq!(temps(&out), Vec::<String>::new(), "temporary files left on the full disk");
}

/// The issue's second report: two runs on one folder. The second stops with exit 8 naming the
/// first (or waits with --wait-lock), and the first is never disturbed.
#[test]
fn issue20_two_runs_on_one_folder_the_second_stops_with_exit_8_or_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let big = big_input(tmp.path(), 40); // 2,000 conversations: runs for seconds
    let mut first = convqa_command(&["score", s(&big), "--out", s(&out), "--no-models", "--quiet"])
        .args(["--batch-size", "64", "--threads", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the first run writes its temporary files once it has the folder
    let t = Instant::now();
    while !std::fs::read_dir(&out).is_ok_and(|d| {
        d.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
    }) {
        assert!(t.elapsed() < Duration::from_secs(120), "the first run never started writing");
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before writing");
        std::thread::sleep(Duration::from_millis(5));
    }

    let second =
        convqa_command(&["score", s(&sample()), "--out", s(&out), "--no-models", "--quiet"])
            .output()
            .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(8), "the second run: {err}");
    assert!(err.contains("in use by another convqa run"), "{err}");
    assert!(err.contains(&format!("pid {} on host", first.id())), "names the holder: {err}");
    assert!(err.contains("started 20") && err.contains("convqa score"), "{err}");
    assert!(err.contains("--wait-lock"), "says how to wait: {err}");

    let waiting =
        convqa_command(&["score", s(&sample()), "--out", s(&out), "--no-models", "--quiet"])
            .args(["--wait-lock", "300"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    assert!(first.try_wait().unwrap().is_none(), "the first run must still run here");
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "the first run: {}", String::from_utf8_lossy(&first.stderr));
    let scored = |dir: &Path| -> u64 {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        v["counts"]["scored"].as_u64().unwrap()
    };
    let waiting = waiting.wait_with_output().unwrap();
    assert!(waiting.status.success(), "{}", String::from_utf8_lossy(&waiting.stderr));
    assert_eq!(scored(&out), 50, "the waiting run committed after the first");
    assert_eq!(temps(&out), Vec::<String>::new());
}

/// Where a conversation is stored: its date folder under `conversations/`.
fn partition_of(out: &Path, id: &str) -> String {
    let mut files = Vec::new();
    walk(out, &out.join("conversations"), &mut files);
    for (rel, path) in files {
        let file = std::fs::File::open(&path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        for batch in reader.build().unwrap() {
            let batch = batch.unwrap();
            let ids = batch.column_by_name("conversation_id").unwrap();
            let ids = arrow_array::cast::AsArray::as_string::<i32>(ids);
            if ids.iter().any(|v| v == Some(id)) {
                return rel.split('/').nth(1).unwrap().to_string();
            }
        }
    }
    panic!("{id} not stored");
}

/// Makes a folder read-only (a read-only bind mount as root, where permission bits do not
/// bite); `None` with the reason when that cannot be done here.
fn read_only(dir: &Path) -> Result<Option<Mount>, String> {
    if is_root() {
        mount(&["--bind", s(dir), s(dir)])?;
        let guard = Mount(dir.to_path_buf());
        mount(&["-o", "remount,bind,ro", s(dir)])?;
        Ok(Some(guard))
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
            .map_err(|e| e.to_string())?;
        Ok(None)
    }
}

fn writable_again(dir: &Path, guard: Option<Mount>) {
    drop(guard);
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
}

/// A run replacing conversations in two date partitions, the second one read-only: before issue
/// 20 the first partition's old rows were already removed when the second failed, so the
/// changed conversation was missing.
#[test]
fn issue20_a_read_only_partition_or_folder_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = |input: &Path| {
        ["score", s(input), "--out", s(&out), "--incremental", "--no-models", "--quiet"]
            .map(str::to_string)
    };
    let o = convqa_command(&args(&sample()).each_ref().map(String::as_str)).output().unwrap();
    assert!(o.status.success());
    let (a, b) = (partition_of(&out, "en-001"), partition_of(&out, "en-002"));
    assert!(a < b, "{a} {b}: en-002's partition must come second");
    let night = tmp.path().join("night.jsonl");
    let lines = [edited(&sample_line("en-001")), edited(&sample_line("en-002"))];
    std::fs::write(&night, lines.join("\n") + "\n").unwrap();
    let old = snapshot(&out);

    let dirs: Vec<PathBuf> =
        ["conversations", "turns", "flags"].iter().map(|t| out.join(t).join(&b)).collect();
    let mut guards = Vec::new();
    for d in &dirs {
        match read_only(d) {
            Ok(g) => guards.push(g),
            Err(e) => {
                eprintln!("skipped: cannot make {} read-only here: {e}", d.display());
                return;
            }
        }
    }
    let o = convqa_command(&args(&night).each_ref().map(String::as_str)).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    for (d, g) in dirs.iter().zip(guards) {
        writable_again(d, g);
    }
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains(&b), "names the read-only partition: {err}");
    assert!(err.contains("Read-only file system") || err.contains("Permission denied"), "{err}");
    let now = snapshot(&out);
    assert!(now == old, "a failed run changed the store: {:?}", diff(&now, &old));
    assert_eq!(temps(&out), Vec::<String>::new());

    // the whole folder read-only: the lock cannot be taken, nothing changes
    let guard = read_only(&out).unwrap();
    let o = convqa_command(&args(&night).each_ref().map(String::as_str)).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    writable_again(&out, guard);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains(".convqa.lock"), "{err}");
    assert!(snapshot(&out) == old);
}

/// An input file truncated, or deleted, while the run reads it: exit 3, the old outputs stay.
/// Before issue 20 the run committed scores of whatever part of the file it had read.
#[test]
fn issue20_an_input_truncated_or_deleted_while_read_commits_nothing() {
    for change in ["truncated", "deleted"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        run_ok(&["score", s(&sample()), "--out", s(&out), "--no-models", "--quiet"]);
        let old = snapshot(&out);
        let input = big_input(tmp.path(), 4);
        let args: Vec<String> = ["score", s(&input), "--out", "OUT", "--no-models", "--quiet"]
            .map(str::to_string)
            .to_vec();
        // pause when the data files are written, before the commit
        let scratch = tmp.path().join("scratch");
        copy_dir(&out, &scratch);
        let o = command(&args, &scratch).env("CONVQA_FAULT", "list").output().unwrap();
        let listed = String::from_utf8(o.stderr).unwrap();
        let k = listed
            .lines()
            .filter_map(|l| l.strip_prefix("convqa-fault-point "))
            .find(|l| l.contains(" fsync "))
            .and_then(|l| l.split(' ').next()?.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no fsync point: a build without fault points?\n{listed}"));
        let resume = tmp.path().join("resume");
        let mut err = String::new();
        let mut cmd_args = args.clone();
        cmd_args.iter_mut().for_each(|a| *a = a.replace("OUT", s(&out)));
        let mut child = Command::new(bin())
            .args(&cmd_args)
            .env("CONVQA_FAULT", format!("pause:{k}"))
            .env("CONVQA_FAULT_RESUME", &resume)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        for l in lines.by_ref() {
            let l = l.unwrap();
            if l.starts_with("convqa-fault-paused") {
                break;
            }
        }
        if change == "truncated" {
            let f = std::fs::OpenOptions::new().write(true).open(&input).unwrap();
            f.set_len(f.metadata().unwrap().len() / 2).unwrap();
        } else {
            std::fs::remove_file(&input).unwrap();
        }
        std::fs::write(&resume, "").unwrap();
        for l in lines {
            err += &l.unwrap();
            err.push('\n');
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(3), "{change}: {err}");
        assert!(err.contains(&format!("{change} while the run read it")), "{err}");
        assert!(err.contains(s(&input)), "names the file: {err}");
        let now = snapshot(&out);
        assert!(now == old, "{change}: the store changed: {:?}", diff(&now, &old));
        assert_eq!(temps(&out), Vec::<String>::new());
    }
}

/// `convqa verify`: 0 on a sound store; 9 naming each problem with its repair; `--repair`
/// removes what a killed run left.
#[test]
fn issue20_verify_finds_what_is_wrong_and_says_how_to_repair_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_ok(&["score", s(&sample()), "--out", s(&out), "--incremental", "--no-models", "--quiet"]);
    let verify = |extra: &[&str]| {
        let o = convqa_command(&[&["verify", s(&out)], extra].concat()).output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = verify(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("50 conversations") && err.contains("0 problems"), "{err}");

    // a temporary file a killed run left: found, then removed by --repair
    let tmp_file = out.join(".summary.json.AbC123.tmp");
    std::fs::write(&tmp_file, "half").unwrap();
    let (code, err) = verify(&[]);
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("temporary file") && err.contains("--repair"), "{err}");
    let (code, err) = verify(&["--repair"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!tmp_file.exists());

    // a part file copied in by hand: its conversations are stored twice, the counts disagree
    let date = partition_of(&out, "en-001");
    let dir = out.join("conversations").join(&date);
    let part = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let copy = dir.join("part-29990101T000000000Z.parquet");
    std::fs::copy(&part, &copy).unwrap();
    let (code, err) = verify(&[]);
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("stored twice") && err.contains("en-001"), "{err}");
    assert!(err.contains("no run manifest"), "{err}");
    assert!(err.contains("run manifests added 50"), "{err}");
    assert!(err.contains("repair: "), "{err}");
    std::fs::remove_file(&copy).unwrap();

    // a part file removed by hand: its turns and flags lose their conversations
    std::fs::rename(&part, tmp.path().join("moved.parquet")).unwrap();
    let (code, err) = verify(&[]);
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("no conversations part file of the same name"), "{err}");
    assert!(err.contains("re-run `convqa score --incremental"), "{err}");
    std::fs::rename(tmp.path().join("moved.parquet"), &part).unwrap();

    // a damaged file
    std::fs::write(out.join("flags").join(&date).join(part.file_name().unwrap()), "not parquet")
        .unwrap();
    let (code, err) = verify(&[]);
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("Parquet"), "{err}");

    // not a store at all
    let o = convqa_command(&["verify", s(tmp.path())]).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
}
