//! The shipped model run from Rust (tokenizers + ort, batched and padded) gives the same tokens
//! and probabilities as the Python export run with onnxruntime, one text at a time:
//! `models/convqa-mini/parity.jsonl`, written by `training/parity.py`.
//! Needs ONNX Runtime: `bash scripts/fetch-onnxruntime.sh`.

use std::path::Path;

use convqa::model::{DEFAULT_MODEL_DIR, ModelStage};

/// Largest allowed difference of a probability. The same ONNX Runtime version computes the same
/// graph; padding inside a batch changes the order of float sums only.
const TOLERANCE: f32 = 1e-3;

#[test]
fn rust_matches_the_python_export_on_the_parity_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL_DIR);
    let model = ModelStage::load(&dir, None, 2).unwrap_or_else(|e| panic!("{e}"));
    let fixtures: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("parity.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(fixtures.len() >= 20, "expected the parity fixtures, found {}", fixtures.len());
    let texts: Vec<&str> = fixtures.iter().map(|f| f["text"].as_str().unwrap()).collect();
    let outputs = model.infer(&texts).unwrap();
    for (f, out) in fixtures.iter().zip(&outputs) {
        let id = f["id"].as_str().unwrap();
        let ids: Vec<u32> =
            f["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(
            model.encode(f["text"].as_str().unwrap()).unwrap(),
            ids,
            "{id}: token ids differ"
        );
        let positive = f["sentiment"][1].as_f64().unwrap() as f32;
        let polite = f["politeness"][1].as_f64().unwrap() as f32;
        assert!(
            (out.positive - positive).abs() < TOLERANCE,
            "{id}: P(positive) {} vs {positive}",
            out.positive
        );
        assert!(
            (out.polite - polite).abs() < TOLERANCE,
            "{id}: P(polite) {} vs {polite}",
            out.polite
        );
        // issue 17: the act and distress heads come out of the same pass
        let acts = f["acts"].as_object().expect("the shipped model has an acts head");
        let got = out.acts.expect("acts from the model");
        for (act, p) in acts {
            let i = convqa::model::act_index(act).unwrap();
            let p = p.as_f64().unwrap() as f32;
            assert!((got[i] - p).abs() < TOLERANCE, "{id}: P({act}) {} vs {p}", got[i]);
        }
    }
}

/// On the sample conversations, what a QA reader would expect of the model: the rude agent turns
/// read impolite, a warm apology reads polite, and customers whom the agent calmed down end
/// more positive than they started.
#[test]
fn the_model_reads_the_sample_as_a_qa_reader_would() {
    use convqa::job::{RunOptions, run};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::new(vec![root.join("data/sample")], out.path().to_path_buf());
    opts.model = Some(root.join(DEFAULT_MODEL_DIR));
    let summary = run(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.models.len(), 1);

    let file = std::fs::File::open(out.path().join("turns.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut politeness = std::collections::HashMap::new();
    let mut sentiment = std::collections::HashMap::new();
    for batch in reader {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float64Type, Int32Type};
        let batch = batch.unwrap();
        let ids = batch.column_by_name("conversation_id").unwrap().as_string::<i32>().clone();
        let idx = batch.column_by_name("turn_index").unwrap().as_primitive::<Int32Type>().clone();
        let pol = batch.column_by_name("politeness").unwrap().as_primitive::<Float64Type>().clone();
        let sen = batch.column_by_name("sentiment").unwrap().as_primitive::<Float64Type>().clone();
        for i in 0..batch.num_rows() {
            let key = (ids.value(i).to_string(), idx.value(i));
            if !pol.is_null(i) {
                politeness.insert(key.clone(), pol.value(i));
            }
            if !sen.is_null(i) {
                sentiment.insert(key, sen.value(i));
            }
        }
    }
    let p = |id: &str, t: i32| politeness[&(id.to_string(), t)];
    let s = |id: &str, t: i32| sentiment[&(id.to_string(), t)];
    for (id, turn, text) in [
        ("zh-hans-008", 4, "那是你自己操作错了，别人都能用。"),
        ("zh-hans-009", 7, "我说了改不了，你烦不烦。"),
        ("en-007", 6, "Are you deaf? No refunds."),
    ] {
        assert!(p(id, turn) < 0.3, "{id} turn {turn} ({text}) reads polite: {}", p(id, turn));
    }
    assert!(p("zh-hans-001", 3) > 0.6, "a warm apology reads impolite: {}", p("zh-hans-001", 3));
    for (id, first, last) in [("mixed-007", 0, 7), ("zh-hans-006", 0, 7)] {
        assert!(
            s(id, last) > s(id, first) + 0.5,
            "{id}: sentiment did not rise ({} -> {})",
            s(id, first),
            s(id, last)
        );
    }
}
