//! The model stage's plumbing (manifest, checksums, tokenizer, batching with padding, ONNX
//! Runtime, reading both heads) on a hand-weighted toy model with convqa's model interface,
//! against onnxruntime's own outputs from Python (`tests/fixtures/make_tiny_model.py`).
//! Needs ONNX Runtime: `bash scripts/fetch-onnxruntime.sh`.

use std::path::{Path, PathBuf};

use convqa::model::{ModelError, ModelStage};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-model")
}

struct Expected {
    text: String,
    ids: Vec<u32>,
    positive: f32,
    polite: f32,
}

fn expected() -> Vec<Expected> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("expected.json")).unwrap())
            .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| Expected {
            text: e["text"].as_str().unwrap().to_string(),
            ids: e["ids"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as u32).collect(),
            positive: e["positive"].as_f64().unwrap() as f32,
            polite: e["polite"].as_f64().unwrap() as f32,
        })
        .collect()
}

/// The error of loading `dir` with `sessions` sessions (a test failure if it loads).
fn load_error(dir: &Path, sessions: usize) -> ModelError {
    match ModelStage::load(dir, None, sessions) {
        Err(e) => e,
        Ok(_) => panic!("{} loaded, but it should be refused", dir.display()),
    }
}

fn load() -> ModelStage {
    ModelStage::load(&fixture(), None, 2).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn tokenization_and_outputs_match_python_onnxruntime() {
    let model = load();
    let cases = expected();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let out = model.infer(&texts).unwrap();
    for (c, o) in cases.iter().zip(&out) {
        assert_eq!(model.encode(&c.text).unwrap(), c.ids, "tokens of {:?}", c.text);
        assert!(
            (o.positive - c.positive).abs() < 1e-5,
            "{:?}: positive {} vs {}",
            c.text,
            o.positive,
            c.positive
        );
        assert!(
            (o.polite - c.polite).abs() < 1e-5,
            "{:?}: polite {} vs {}",
            c.text,
            o.polite,
            c.polite
        );
    }
}

#[test]
fn results_keep_input_order_across_many_padded_batches() {
    let model = load();
    let cases = expected();
    // 600 texts of mixed lengths: several batches, sorted by length inside, padded.
    let texts: Vec<&str> = (0..600).map(|i| cases[(i * 7) % cases.len()].text.as_str()).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let out = pool.install(|| model.infer_each(&texts).unwrap());
    // infer runs each distinct text once and gives every input its own output, in order
    let deduplicated = pool.install(|| model.infer(&texts).unwrap());
    assert_eq!(deduplicated.len(), out.len());
    for (i, (d, o)) in deduplicated.iter().zip(&out).enumerate() {
        assert!(
            (d.positive - o.positive).abs() < 1e-6 && (d.polite - o.polite).abs() < 1e-6,
            "text {i}"
        );
    }
    for (i, o) in out.iter().enumerate() {
        let c = &cases[(i * 7) % cases.len()];
        assert!(
            (o.positive - c.positive).abs() < 1e-5 && (o.polite - c.polite).abs() < 1e-5,
            "text {i}"
        );
    }
}

#[test]
fn a_damaged_model_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["manifest.toml", "tokenizer.json", "model.onnx"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    let mut bytes = std::fs::read(dir.path().join("model.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.path().join("model.onnx"), bytes).unwrap();
    let e = load_error(dir.path(), 1);
    assert!(matches!(e, ModelError::Checksum { .. }), "expected a checksum error, got {e}");
    assert!(e.to_string().contains("model.onnx: SHA-256"), "{e}");
}

/// A copy of the fixture in a temporary folder with `file` replaced by `bytes`, and a manifest
/// whose checksum matches them: the checksum passes, so the file's own loader must report it.
fn fixture_with(file: &str, bytes: &[u8]) -> tempfile::TempDir {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "model.onnx"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join(file), bytes).unwrap();
    let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let manifest = std::fs::read_to_string(fixture().join("manifest.toml")).unwrap();
    let manifest: String = manifest
        .lines()
        .map(|l| {
            if l.starts_with(&format!("\"{file}\"")) {
                format!("\"{file}\" = \"{digest}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("manifest.toml"), manifest).unwrap();
    dir
}

/// The error's message ends with its source's (kept as `source()`, not only as text).
fn assert_keeps_source(e: &ModelError) {
    let source = std::error::Error::source(e).unwrap_or_else(|| panic!("no source: {e:?}"));
    assert!(e.to_string().ends_with(&source.to_string()), "{e} / {source}");
}

#[test]
fn a_broken_tokenizer_is_refused_with_its_path_while_the_sessions_load_beside_it() {
    // a tokenizer.json that is not one; the tokenizer loads in parallel with two sessions
    let dir = fixture_with("tokenizer.json", b"{\"version\": \"1.0\", \"model\": ");
    let e = load_error(dir.path(), 2);
    assert!(matches!(e, ModelError::Tokenizer { .. }), "expected a tokenizer error, got {e}");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
    assert_keeps_source(&e);
}

#[test]
fn a_model_file_onnx_runtime_cannot_read_is_refused_with_its_path_and_the_runtime_error() {
    let dir = fixture_with("model.onnx", b"not an onnx graph");
    let e = load_error(dir.path(), 1);
    assert!(matches!(e, ModelError::Session { .. }), "expected a session error, got {e}");
    assert!(e.to_string().contains("model.onnx: cannot load model: "), "{e}");
    assert_keeps_source(&e);
}
