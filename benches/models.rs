//! The model stage alone, in turns per second, on a fixed committed turn set: the 767 chat turns of
//! `data/eval/turns.jsonl` (customer and agent turns, zh-Hans, zh-Hant, en and mixed; mean about
//! 19 tokens). Each model is measured with two single-threaded ONNX Runtime sessions on two rayon
//! threads (what `convqa score` does on this machine) and with one session on one thread, at
//! batch 1 and at its manifest's `max_batch`; also the load time (manifest, checksums, tokenizer,
//! two sessions).
//!
//! Models: the default (`models/convqa-mini`, the distilled student), every model folder under
//! `target/models/` (the teacher, restored there by `bash scripts/fetch-teacher.sh`, and students
//! packaged there by `training/package.py --model-dir`) and the folders
//! in `CONVQA_BENCH_MODELS` (`:`-separated), so the ratios between models come from one run on
//! one machine.
//!
//! Run: `bash scripts/fetch-onnxruntime.sh && cargo bench --bench models &&
//! python3 benches/model_table.py [--check MODEL]` (the last prints the table with the ratios
//! from criterion's estimates, and checks issue 5's speed targets for MODEL).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use convqa::model::{DEFAULT_MODEL_DIR, ModelStage};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The texts of the committed chat-domain evaluation turns.
fn turn_set() -> Vec<String> {
    let path = root().join("data/eval/turns.jsonl");
    let body = std::fs::read_to_string(&path).expect("data/eval/turns.jsonl");
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["text"].as_str().expect("a text field").to_string()
        })
        .collect()
}

/// The default model, every model folder restored under `target/models/` (the teacher, by
/// `scripts/fetch-teacher.sh`) and the folders listed in `CONVQA_BENCH_MODELS` (`:`-separated).
fn models() -> Vec<(String, PathBuf)> {
    let mut dirs = vec![root().join(DEFAULT_MODEL_DIR)];
    if let Ok(entries) = std::fs::read_dir(root().join("target/models")) {
        let mut restored: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        restored.sort();
        dirs.extend(restored);
    }
    if let Some(list) = std::env::var_os("CONVQA_BENCH_MODELS") {
        dirs.extend(std::env::split_paths(&list));
    }
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for dir in dirs {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if dir.join("model.onnx").is_file() && !out.iter().any(|(n, _)| *n == name) {
            out.push((name, dir));
        }
    }
    if out.len() < 2 {
        eprintln!(
            "models bench: only the default model (restore the teacher with \
             `bash scripts/fetch-teacher.sh` to compare it)"
        );
    }
    out
}

fn model_bench(c: &mut Criterion) {
    let texts = turn_set();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();

    let mut g = c.benchmark_group("model_load");
    g.sample_size(10);
    for (name, dir) in models() {
        g.bench_function(name, |b| {
            b.iter(|| black_box(ModelStage::load(&dir, None, 2).unwrap().manifest.max_batch))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("model_turns");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(texts.len() as u64));
    for (name, dir) in models() {
        for threads in [2, 1] {
            let mut model = ModelStage::load(&dir, None, threads).unwrap();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let max_batch = model.manifest.max_batch;
            let mut batches = vec![1];
            if max_batch > 1 {
                batches.push(max_batch);
            }
            for batch in batches {
                model.manifest.max_batch = batch;
                let id = format!("{name}/batch{batch}_threads{threads}");
                g.bench_function(id, |b| {
                    b.iter(|| pool.install(|| black_box(model.infer(&texts).unwrap().len())))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, model_bench);
criterion_main!(benches);
