//! Helpers shared by the integration tests: the one way to run the `convqa` binary, the library
//! job on files in `data/`, and the Parquet it wrote read back as plain Rust values.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{Array, RecordBatch};
use convqa::job::{RunOptions, run};
use convqa::output::Summary;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The `convqa` binary under test: `$CONVQA_BIN` when set (e.g. a release build), else the one
/// cargo built for these tests.
pub fn bin() -> PathBuf {
    std::env::var_os("CONVQA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_convqa")))
}

/// `convqa ARGS` as the tests run it: from the repository root (so `data/...` and the default
/// model resolve), without fault injection, no standard input.
pub fn convqa_command(args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CONVQA_FAULT")
        .stdin(Stdio::null());
    c
}

/// Runs `convqa ARGS` to the end; stdout and stderr captured.
pub fn convqa(args: &[&str]) -> Output {
    convqa_command(args).output().unwrap()
}

/// As [`convqa`], with `stdin` on standard input.
pub fn convqa_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = convqa_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// A finished command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(rel)
}

/// Runs `convqa score` (the library job) on `inputs` with `threads` workers.
pub fn score(inputs: &[PathBuf], threads: usize) -> (tempfile::TempDir, Summary) {
    score_in_batches(inputs, threads, convqa::job::DEFAULT_BATCH_SIZE)
}

/// As [`score`], with `batch_size` conversations per parallel batch.
pub fn score_in_batches(
    inputs: &[PathBuf],
    threads: usize,
    batch_size: usize,
) -> (tempfile::TempDir, Summary) {
    let out = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::new(inputs.to_vec(), out.path().to_path_buf());
    opts.threads = threads;
    opts.batch_size = batch_size;
    opts.model = None;
    let summary = run(&opts).unwrap_or_else(|e| panic!("run failed: {e}"));
    (out, summary)
}

/// Reads a whole Parquet file into one record batch.
pub fn read_table(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a dyn Array {
    batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_ref()
}

pub fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    column(batch, name).as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect()
}

pub fn f64s(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    column(batch, name).as_primitive::<Float64Type>().iter().collect()
}

pub fn i32s(batch: &RecordBatch, name: &str) -> Vec<Option<i32>> {
    column(batch, name).as_primitive::<Int32Type>().iter().collect()
}

pub fn bools(batch: &RecordBatch, name: &str) -> Vec<Option<bool>> {
    column(batch, name).as_boolean().iter().collect()
}

pub fn string_lists(batch: &RecordBatch, name: &str) -> Vec<Vec<String>> {
    let list = column(batch, name).as_list::<i32>();
    (0..list.len())
        .map(|i| {
            let v = list.value(i);
            v.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect()
        })
        .collect()
}

/// One conversation's row of `conversations.parquet`, as (column → value) lookups.
pub struct Row<'a> {
    pub batch: &'a RecordBatch,
    pub index: usize,
}

impl Row<'_> {
    pub fn f64(&self, name: &str) -> Option<f64> {
        f64s(self.batch, name)[self.index]
    }
    pub fn i32(&self, name: &str) -> Option<i32> {
        i32s(self.batch, name)[self.index]
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        bools(self.batch, name)[self.index]
    }
    pub fn str(&self, name: &str) -> Option<String> {
        strings(self.batch, name)[self.index].clone()
    }
    pub fn list(&self, name: &str) -> Vec<String> {
        string_lists(self.batch, name)[self.index].clone()
    }
}

pub fn row<'a>(batch: &'a RecordBatch, conversation_id: &str) -> Row<'a> {
    let index = strings(batch, "conversation_id")
        .iter()
        .position(|id| id.as_deref() == Some(conversation_id))
        .unwrap_or_else(|| panic!("no conversation {conversation_id} in the output"));
    Row { batch, index }
}

/// A flag row: (flag, rule_id, turn_index, matched).
pub type FlagRow = (String, Option<String>, Option<i32>, Option<String>);

pub fn flags_of(flags: &RecordBatch, conversation_id: &str) -> Vec<FlagRow> {
    let ids = strings(flags, "conversation_id");
    let kind = strings(flags, "flag");
    let rule = strings(flags, "rule_id");
    let turn = i32s(flags, "turn_index");
    let matched = strings(flags, "matched");
    (0..ids.len())
        .filter(|&i| ids[i].as_deref() == Some(conversation_id))
        .map(|i| (kind[i].clone().unwrap(), rule[i].clone(), turn[i], matched[i].clone()))
        .collect()
}
