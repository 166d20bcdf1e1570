//! Killing a run (SIGKILL) at any moment never leaves a partial file at a final output path:
//! each output is the previous complete version or the new complete one, `summary.json` (written
//! last) is new only when every data file is new, and a re-run finishes the job and cleans up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const DATA: [&str; 4] =
    ["conversations.parquet", "turns.parquet", "flags.parquet", "rejects.jsonl"];

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// The sample repeated `copies` times with fresh conversation ids: one file.
fn big_input(dir: &Path, copies: usize) -> PathBuf {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(sample()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    lines.sort();
    let mut out = String::new();
    for k in 0..copies {
        for l in &lines {
            out +=
                &l.replacen("\"conversation_id\":\"", &format!("\"conversation_id\":\"k{k}-"), 1);
            out.push('\n');
        }
    }
    let path = dir.join("big.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

fn command(input: &Path, out: &Path) -> Command {
    let mut c = crate::common::convqa_command(&[
        "score",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    c.args(["--no-models", "--batch-size", "64"]).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

fn run(input: &Path, out: &Path) {
    assert!(command(input, out).status().unwrap().success());
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

fn scored(summary: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(summary).expect("summary.json is whole JSON");
    v["counts"]["scored"].as_u64().unwrap()
}

#[test]
fn a_killed_run_leaves_old_or_new_complete_outputs_and_a_rerun_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let big = big_input(tmp.path(), 40); // 2,000 conversations
    let (old_dir, new_dir, out) =
        (tmp.path().join("old"), tmp.path().join("new"), tmp.path().join("out"));
    run(&sample(), &old_dir);
    run(&big, &new_dir);
    let (old, new) = (files(&old_dir), files(&new_dir));
    for f in &DATA[..3] {
        assert_ne!(
            old[*f], new[*f],
            "{f}: the two runs must differ for this test to mean anything"
        );
    }
    let (old_n, new_n) = (scored(&old["summary.json"]), scored(&new["summary.json"]));

    let (mut saw_old, mut saw_new) = (false, false);
    for delay_ms in [0, 20, 60, 150, 300, 600, 1000, 1600, 2500] {
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        for (name, bytes) in &old {
            std::fs::write(out.join(name), bytes).unwrap();
        }
        let mut child = command(&big, &out).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        let now = files(&out);
        let finals: Vec<&String> = now.keys().filter(|n| !n.starts_with('.')).collect();
        let old_finals = old.keys().filter(|n| !n.starts_with('.')).count();
        assert_eq!(finals.len(), old_finals, "after {delay_ms} ms: {finals:?}");
        for f in DATA {
            let b = &now[f];
            assert!(b == &old[f] || b == &new[f], "after {delay_ms} ms: {f} is neither version");
        }
        let n = scored(&now["summary.json"]);
        assert!(n == old_n || n == new_n, "after {delay_ms} ms: summary of another run");
        saw_old |= n == old_n;
        if n == new_n {
            saw_new = true;
            for f in DATA {
                assert_eq!(now[f], new[f], "after {delay_ms} ms: new summary but old {f}");
            }
        }
    }
    // at least the early kills interrupted the run; whether a late one came after the commit
    // depends on the machine's speed (both outcomes are checked above when they happen)
    assert!(saw_old, "no kill interrupted the run");
    eprintln!("kills after the commit: {saw_new}");
    run(&big, &out);
    let now = files(&out);
    for f in DATA {
        assert_eq!(now[f], new[f], "{f} after the re-run");
    }
    let leftovers: Vec<&String> =
        now.keys().filter(|n| n.starts_with('.') && *n != ".convqa.lock").collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
