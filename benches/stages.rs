//! Stage benchmarks on the committed sample conversations (`data/sample`):
//! read + parse (JSONL bytes per second), normalize alone and segment (normalize + language +
//! jieba / word split), rubric match and a whole conversation scored end to end (segment,
//! rubric, timing and score), all in bytes of turn text per second so zh, en and mixed text
//! compare fairly; then Arrow batch building and the Parquet write of the three tables (conversations
//! per second), and the model stage (`-- model`; `benches/models.rs` compares models).
//!
//! Run: `cargo bench --bench stages`. Compare ratios between stages within one run, not
//! absolute times across machines.

use std::hint::black_box;
use std::path::PathBuf;

use convqa::Conversation;
use convqa::engine::Engine;
use convqa::input::{InputReader, Record, expand_inputs};
use convqa::normalize::normalize;
use convqa::output::{ParquetOutputs, conversations_batch, flags_batch, turns_batch};
use convqa::rubric::MatchScratch;
use convqa::segment::Segmented;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn sample(file: &str) -> Vec<Conversation> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sample").join(file);
    let mut reader = InputReader::new(expand_inputs(&[path], &["jsonl"]).unwrap(), 1 << 24);
    let mut out = Vec::new();
    while let Some(r) = reader.next().unwrap() {
        if let Record::Conversation(c) = r {
            out.push(*c);
        }
    }
    out
}

fn text_bytes(convs: &[Conversation]) -> u64 {
    convs.iter().flat_map(|c| &c.turns).map(|t| t.text.len() as u64).sum()
}

/// One benchmark group: `f` over the text of every turn of each language set, in bytes of turn
/// text per second.
fn each_turn_text<R>(
    c: &mut Criterion,
    group: &str,
    sets: &[(&str, Vec<Conversation>)],
    f: impl Fn(&str) -> R,
) {
    let mut g = c.benchmark_group(group);
    for (name, convs) in sets {
        g.throughput(Throughput::Bytes(text_bytes(convs)));
        g.bench_function(*name, |b| {
            b.iter(|| {
                for t in convs.iter().flat_map(|c| &c.turns) {
                    black_box(f(&t.text));
                }
            })
        });
    }
    g.finish();
}

fn stages(c: &mut Criterion) {
    let engine = Engine::with_default_rubric().unwrap();
    let sets: Vec<(&str, Vec<Conversation>)> =
        ["zh-hans.jsonl", "zh-hant.jsonl", "en.jsonl", "mixed.jsonl"]
            .iter()
            .map(|f| (f.trim_end_matches(".jsonl"), sample(f)))
            .collect();

    let mut g = c.benchmark_group("read_parse");
    for (name, _) in &sets {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("data/sample/{name}.jsonl"));
        let bytes = std::fs::metadata(&path).unwrap().len();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(*name, |b| {
            b.iter(|| {
                let mut reader = InputReader::new(
                    expand_inputs(std::slice::from_ref(&path), &["jsonl"]).unwrap(),
                    1 << 24,
                );
                let mut n = 0;
                while let Some(r) = reader.next().unwrap() {
                    n += matches!(r, Record::Conversation(_)) as usize;
                }
                black_box(n)
            })
        });
    }
    g.finish();

    each_turn_text(c, "normalize", &sets, normalize);
    each_turn_text(c, "segment", &sets, |text| engine.segmenter.segment(text));

    let mut g = c.benchmark_group("rubric_match");
    for (name, convs) in &sets {
        let segmented: Vec<Segmented> = convs
            .iter()
            .flat_map(|c| &c.turns)
            .map(|t| engine.segmenter.segment(&t.text))
            .collect();
        g.throughput(Throughput::Bytes(text_bytes(convs)));
        g.bench_function(*name, |b| {
            let mut scratch = MatchScratch::default();
            let mut hits = Vec::new();
            b.iter(|| {
                for s in &segmented {
                    hits.clear();
                    engine.rubric.matcher.find(s, &mut scratch, &mut hits);
                }
                black_box(hits.len())
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("score_conversation");
    for (name, convs) in &sets {
        g.throughput(Throughput::Bytes(text_bytes(convs)));
        g.bench_function(*name, |b| {
            b.iter(|| convs.iter().map(|c| engine.score(c).unwrap().qa_score).sum::<f64>())
        });
    }
    g.finish();

    let all: Vec<Conversation> = sets.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    let scores: Vec<_> = all.iter().map(|c| engine.score(c).unwrap()).collect();
    let mut g = c.benchmark_group("arrow_batches");
    g.throughput(Throughput::Elements(scores.len() as u64));
    g.bench_function("conversations+turns+flags", |b| {
        b.iter(|| {
            black_box(conversations_batch(&scores).unwrap());
            black_box(turns_batch(&scores).unwrap());
            black_box(flags_batch(&scores).unwrap());
        })
    });
    g.finish();

    // the three Parquet files (zstd, through the atomic writer), 20 × the sample per file
    let many: Vec<_> = (0..20).flat_map(|_| scores.iter().cloned()).collect();
    let dir = std::env::temp_dir().join(format!("convqa-bench-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group("parquet_write");
    g.throughput(Throughput::Elements(many.len() as u64));
    g.bench_function("conversations+turns+flags", |b| {
        b.iter(|| {
            let mut out = ParquetOutputs::create(&dir).unwrap();
            out.write(&many).unwrap();
            for staged in out.finish().unwrap() {
                staged.persist().unwrap();
            }
        })
    });
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

/// The model stage on every customer and agent turn of the sample, in turns per second, for
/// 1 and 2 rayon threads (one single-threaded ONNX Runtime session per thread).
fn model_stage(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(convqa::model::DEFAULT_MODEL_DIR);
    let all: Vec<Conversation> = ["zh-hans.jsonl", "zh-hant.jsonl", "en.jsonl", "mixed.jsonl"]
        .iter()
        .flat_map(|f| sample(f))
        .collect();
    let texts: Vec<&str> = all
        .iter()
        .flat_map(|c| &c.turns)
        .filter(|t| t.speaker != convqa::Speaker::System)
        .map(|t| t.text.as_str())
        .collect();
    let mut g = c.benchmark_group("model");
    g.sample_size(10);
    g.throughput(Throughput::Elements(texts.len() as u64));
    // (rayon threads, sessions, ONNX Runtime threads per session)
    for (threads, sessions, intra) in [(1, 1, 1), (2, 2, 1), (1, 1, 2)] {
        let model = convqa::model::ModelStage::load_with(&dir, None, sessions, intra).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let name = format!("turns/{sessions}_sessions_x_{intra}_ort_threads");
        g.bench_function(name, |b| {
            b.iter(|| pool.install(|| black_box(model.infer(&texts).unwrap().len())))
        });
    }
    g.finish();
}

criterion_group!(benches, stages, model_stage);
criterion_main!(benches);
