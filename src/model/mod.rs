//! The model stage: customer-turn sentiment, agent-turn politeness, agent acts and customer
//! distress, and a sentence vector, all from one pass of one ONNX encoder with several heads, run
//! through `tokenizers` + `ort`.
//!
//! A model is a folder `models/<name>/` with `model.onnx`, `tokenizer.json` and
//! `manifest.toml` (see [`Manifest`]). Turns are batched across conversations: sorted by token
//! length and cut into batches under a token budget, so little is spent on padding; batches run in
//! parallel on the rayon pool, each worker thread with its own session (ONNX Runtime's `run`
//! needs `&mut`, and one single-threaded session per core beat one shared two-thread session
//! here — see the README). Loading and inference are the only fallible parts.

mod manifest;
mod runtime;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ndarray::Array2;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use rayon::prelude::*;
use tokenizers::Tokenizer;

pub use manifest::{ActsHead, EmbeddingOutput, Head, Manifest, Thresholds};
pub use runtime::ORT_VERSION;

/// The model shipped with convqa.
pub const DEFAULT_MODEL_DIR: &str = "models/convqa-mini";

/// The agent acts and the customer act a model can detect, in this order everywhere (a model's
/// manifest lists the ones its `acts` head gives, in its own order).
pub const ACTS: [&str; N_ACTS] = [
    "acknowledge_feelings",
    "apology",
    "reassurance",
    "blame_customer",
    "dismissive",
    "sarcasm",
    "rude",
    "distress",
];
pub const N_ACTS: usize = 8;

/// The index of `name` in [`ACTS`].
pub fn act_index(name: &str) -> Option<usize> {
    ACTS.iter().position(|a| *a == name)
}

/// Whether an act is said by the customer (distress) rather than the agent.
pub fn is_customer_act(act: usize) -> bool {
    ACTS[act] == "distress"
}

/// Most padded tokens (batch × longest) in one inference call.
const TOKEN_BUDGET: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "ONNX Runtime {version} library not found (looked at: {looked}).\n  \
         Get it with `bash scripts/fetch-onnxruntime.sh` (takes the onnxruntime wheel from the \
         Python package registry and places runtime/libonnxruntime.so.{version}), or point \
         ORT_DYLIB_PATH or --ort-lib at a libonnxruntime.so of that version; \
         --no-models skips the model stage.",
        version = ORT_VERSION
    )]
    RuntimeMissing { looked: String },
    #[error("cannot load ONNX Runtime: {path}: {source}")]
    RuntimeLoad { path: PathBuf, source: Arc<runtime::LoadError> },
    #[error(
        "{path}: no model folder here; run from the repository root, pass --model DIR, \
         or --no-models to score without sentiment and politeness"
    )]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error(
        "{path}: SHA-256 is {actual}, the manifest says {expected}; the file is damaged or not the one the manifest describes"
    )]
    Checksum { path: PathBuf, expected: String, actual: String },
    #[error("{path}: cannot load tokenizer: {source}")]
    Tokenizer { path: PathBuf, source: tokenizers::Error },
    #[error("{path}: cannot load model: {source}")]
    Session { path: PathBuf, source: ort::Error },
    #[error("{path}: the model has no {what} named {name:?} (it has: {available})")]
    Signature { path: PathBuf, what: &'static str, name: String, available: String },
    #[error("{path}: inference failed: {message}")]
    Inference { path: PathBuf, message: String },
}

/// What the model says about one turn.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TurnModelOutput {
    /// P(positive) from the sentiment head.
    pub positive: f32,
    /// P(polite) from the politeness head.
    pub polite: f32,
    /// P(act) for each of [`ACTS`] (NaN for an act the model lacks); `None` without an acts head.
    pub acts: Option<[f32; N_ACTS]>,
    /// The L2-normalized sentence vector, when asked for (rubric example rules) and the model
    /// has one. Identical texts share it.
    pub embedding: Option<Arc<[f32]>>,
}

impl TurnModelOutput {
    /// Sentiment on −1 (negative) … 1 (positive).
    pub fn sentiment(&self) -> f64 {
        2.0 * self.positive as f64 - 1.0
    }
}

/// A loaded model: tokenizer plus one session per worker thread.
pub struct ModelStage {
    pub manifest: Manifest,
    pub dir: PathBuf,
    tokenizer: Tokenizer,
    sessions: Vec<Mutex<Session>>,
    /// Whether turns get their sentence vector (only rubric example rules read it).
    keep_embedding: bool,
}

fn file_sha256(path: &Path) -> Result<String, ModelError> {
    let bytes = std::fs::read(path)
        .map_err(|source| ModelError::Read { path: path.to_path_buf(), source })?;
    Ok(crate::digest::sha256_hex(&bytes))
}

/// `dir/tokenizer.json`, truncating to `max_length` tokens, no padding.
fn load_tokenizer(dir: &Path, max_length: usize) -> Result<Tokenizer, ModelError> {
    let path = dir.join("tokenizer.json");
    let err = |source: tokenizers::Error| ModelError::Tokenizer { path: path.clone(), source };
    let mut tokenizer = Tokenizer::from_file(&path).map_err(err)?;
    tokenizer
        .with_truncation(Some(tokenizers::TruncationParams { max_length, ..Default::default() }))
        .map_err(err)?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// One ONNX Runtime session of `path` with all graph optimizations and `intra_threads` threads.
fn new_session(
    env: &ort::environment::Environment,
    path: &Path,
    intra_threads: usize,
) -> Result<Session, ModelError> {
    let err = |source: ort::Error| ModelError::Session { path: path.to_path_buf(), source };
    Session::builder(env)
        .map_err(err)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| err(e.into()))?
        .with_intra_threads(intra_threads.max(1))
        .map_err(|e| err(e.into()))?
        .commit_from_file(path)
        .map_err(err)
}

impl ModelStage {
    /// Loads `dir` (manifest, checksums, tokenizer, sessions): one single-threaded session per
    /// rayon worker (`workers`); `ort_lib` overrides where ONNX Runtime is looked for.
    pub fn load(
        dir: &Path,
        ort_lib: Option<&Path>,
        workers: usize,
    ) -> Result<ModelStage, ModelError> {
        ModelStage::load_with(dir, ort_lib, workers, 1)
    }

    /// As [`ModelStage::load`] with `sessions` sessions of `intra_threads` ONNX Runtime threads
    /// each (the benchmark compares one 2-thread session with two 1-thread sessions).
    pub fn load_with(
        dir: &Path,
        ort_lib: Option<&Path>,
        sessions: usize,
        intra_threads: usize,
    ) -> Result<ModelStage, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::NotFound { path: dir.to_path_buf() });
        }
        let manifest = Manifest::load(dir)?;
        for (file, expected) in &manifest.sha256 {
            let path = dir.join(file);
            let actual = file_sha256(&path)?;
            if &actual != expected {
                return Err(ModelError::Checksum { path, expected: expected.clone(), actual });
            }
        }
        let env = runtime::environment(ort_lib)?;
        let model_path = dir.join("model.onnx");
        // The tokenizer and every session load at the same time (each session parses and
        // optimizes the graph on its own: about 50 ms for the student here, most of the load).
        let (tokenizer, sessions) = std::thread::scope(|scope| {
            let tokenizer = scope.spawn(|| load_tokenizer(dir, manifest.max_length));
            let sessions: Vec<_> = (0..sessions.max(1))
                .map(|_| scope.spawn(|| new_session(env, &model_path, intra_threads)))
                .collect();
            let sessions = sessions
                .into_iter()
                .map(|s| s.join().expect("session loading does not panic").map(Mutex::new))
                .collect::<Result<Vec<_>, _>>();
            (tokenizer.join().expect("tokenizer loading does not panic"), sessions)
        });
        let (tokenizer, sessions) = (tokenizer?, sessions?);
        let stage = ModelStage {
            manifest,
            dir: dir.to_path_buf(),
            tokenizer,
            sessions,
            keep_embedding: false,
        };
        stage.check_signature(&model_path)?;
        Ok(stage)
    }

    /// The session's input and output names must be the manifest's.
    fn check_signature(&self, path: &Path) -> Result<(), ModelError> {
        let session = self.sessions[0].lock().expect("session lock");
        let inputs: Vec<String> = session.inputs().iter().map(|i| i.name().to_string()).collect();
        let outputs: Vec<String> = session.outputs().iter().map(|o| o.name().to_string()).collect();
        for name in &self.manifest.inputs {
            if !inputs.contains(name) {
                return Err(ModelError::Signature {
                    path: path.to_path_buf(),
                    what: "input",
                    name: name.clone(),
                    available: inputs.join(", "),
                });
            }
        }
        let heads = self.manifest.heads.values().map(|h| &h.output);
        let acts = self.manifest.acts.iter().map(|a| &a.output);
        let embedding = self.manifest.embedding.iter().map(|e| &e.output);
        for output in heads.chain(acts).chain(embedding) {
            if !outputs.contains(output) {
                return Err(ModelError::Signature {
                    path: path.to_path_buf(),
                    what: "output",
                    name: output.clone(),
                    available: outputs.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Turns get their sentence vector from now on (rubric example rules need it).
    pub fn keep_embedding(&mut self, keep: bool) {
        self.keep_embedding = keep;
    }

    /// Whether the model has an acts head with `act` (an index into [`ACTS`]).
    pub fn has_act(&self, act: usize) -> bool {
        self.manifest.acts.as_ref().is_some_and(|a| a.labels.iter().any(|l| l == ACTS[act]))
    }

    /// The manifest's detection threshold of `act`, if the model has it.
    pub fn act_threshold(&self, act: usize) -> Option<f32> {
        self.manifest.acts.as_ref().and_then(|a| a.threshold.get(ACTS[act]).copied())
    }

    /// An inference error naming this model's file.
    fn inference_error(&self, message: String) -> ModelError {
        ModelError::Inference { path: self.dir.join("model.onnx"), message }
    }

    /// L2-normalized sentence vectors of `texts` (rubric example sentences), in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Arc<[f32]>>, ModelError> {
        let Some(e) = &self.manifest.embedding else {
            return Err(self.inference_error(format!(
                "model {} has no sentence vector output (manifest [embedding])",
                self.manifest.name
            )));
        };
        let out = self.infer_each_with(texts, true)?;
        out.into_iter()
            .map(|o| {
                o.embedding.filter(|v| v.len() == e.dim).ok_or_else(|| {
                    self.inference_error(format!(
                        "{} output is not a vector of {}",
                        e.output, e.dim
                    ))
                })
            })
            .collect()
    }

    /// Token ids of `text` as the model sees it (prefix, special tokens, truncation).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let input = format!("{}{}", self.manifest.prefix, text);
        // `encode_fast`: the same ids as `encode`, without the character offsets nobody reads
        let enc = self
            .tokenizer
            .encode_fast(input, true)
            .map_err(|e| self.inference_error(format!("tokenizing: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Runs both heads on every text; results in input order. Identical texts (greetings,
    /// canned replies) go through the model once: a text's output does not depend on its batch
    /// mates (the manifest's `max_batch` is 1 for batch-dependent models), so this is exact.
    pub fn infer(&self, texts: &[&str]) -> Result<Vec<TurnModelOutput>, ModelError> {
        Ok(self.infer_counted(texts)?.0)
    }

    /// As [`ModelStage::infer`], also saying how many distinct texts went through the model.
    pub fn infer_counted(
        &self,
        texts: &[&str],
    ) -> Result<(Vec<TurnModelOutput>, usize), ModelError> {
        let (distinct, slots) = distinct_texts(texts);
        let outputs = self.infer_each(&distinct)?;
        Ok((slots.into_iter().map(|i| outputs[i].clone()).collect(), distinct.len()))
    }

    /// Runs both heads on every text, duplicates included (what [`ModelStage::infer`] does for
    /// its distinct texts).
    pub fn infer_each(&self, texts: &[&str]) -> Result<Vec<TurnModelOutput>, ModelError> {
        self.infer_each_with(texts, self.keep_embedding)
    }

    fn infer_each_with(
        &self,
        texts: &[&str],
        keep_embedding: bool,
    ) -> Result<Vec<TurnModelOutput>, ModelError> {
        let encoded: Vec<Vec<u32>> =
            texts.par_iter().map(|t| self.encode(t)).collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (encoded[i].len(), i));
        let batches = token_budget_batches(&order, |i| encoded[i].len(), self.manifest.max_batch);
        let results: Vec<Vec<(usize, TurnModelOutput)>> = batches
            .par_iter()
            .map(|batch| {
                let worker = rayon::current_thread_index().unwrap_or(0) % self.sessions.len();
                let mut session = self.sessions[worker].lock().expect("session lock");
                let rows: Vec<&[u32]> = batch.iter().map(|&i| encoded[i].as_slice()).collect();
                let out = self.run(&mut session, &rows, keep_embedding)?;
                Ok(batch.iter().copied().zip(out).collect())
            })
            .collect::<Result<_, ModelError>>()?;
        let mut outputs = vec![TurnModelOutput::default(); texts.len()];
        for (i, o) in results.into_iter().flatten() {
            outputs[i] = o;
        }
        Ok(outputs)
    }

    /// One padded batch through the session.
    fn run(
        &self,
        session: &mut Session,
        rows: &[&[u32]],
        keep_embedding: bool,
    ) -> Result<Vec<TurnModelOutput>, ModelError> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut ids = Array2::<i64>::zeros((rows.len(), width));
        let mut mask = Array2::<i64>::zeros((rows.len(), width));
        for (r, row) in rows.iter().enumerate() {
            for (c, &id) in row.iter().enumerate() {
                ids[[r, c]] = id as i64;
                mask[[r, c]] = 1;
            }
        }
        let err = |e: ort::Error| self.inference_error(e.to_string());
        let (id_name, mask_name) = (&self.manifest.inputs[0], &self.manifest.inputs[1]);
        let inputs = ort::inputs![
            id_name.as_str() => TensorRef::from_array_view(&ids).map_err(err)?,
            mask_name.as_str() => TensorRef::from_array_view(&mask).map_err(err)?,
        ];
        let outputs = session.run(inputs).map_err(err)?;
        let positive_class = |head: &str| -> Result<Vec<f32>, ModelError> {
            let (shape, data) = outputs[self.manifest.head(head).output.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(err)?;
            if shape.len() != 2 || shape[1] != 2 || shape[0] as usize != rows.len() {
                return Err(self.inference_error(format!(
                    "{head} output has shape {shape:?}, expected [{}, 2]",
                    rows.len()
                )));
            }
            let head = self.manifest.head(head);
            Ok(data.chunks(2).map(|l| head.probability(l)).collect())
        };
        let positive = positive_class("sentiment")?;
        let polite = positive_class("politeness")?;
        // A [batch, width] float output, row by row.
        let matrix = |name: &str, width: usize| -> Result<Vec<Vec<f32>>, ModelError> {
            let (shape, data) = outputs[name].try_extract_tensor::<f32>().map_err(err)?;
            if shape.len() != 2 || shape[1] as usize != width || shape[0] as usize != rows.len() {
                return Err(self.inference_error(format!(
                    "{name} output has shape {shape:?}, expected [{}, {width}]",
                    rows.len()
                )));
            }
            Ok(data.chunks(width).map(<[f32]>::to_vec).collect())
        };
        let acts: Vec<Option<[f32; N_ACTS]>> = match &self.manifest.acts {
            None => vec![None; rows.len()],
            Some(head) => {
                let slots: Vec<usize> = head
                    .labels
                    .iter()
                    .map(|l| act_index(l).expect("manifest labels are checked at load"))
                    .collect();
                matrix(&head.output, slots.len())?
                    .into_iter()
                    .map(|logits| {
                        let mut p = [f32::NAN; N_ACTS];
                        for (&slot, &z) in slots.iter().zip(&logits) {
                            p[slot] = 1.0 / (1.0 + (-z).exp());
                        }
                        Some(p)
                    })
                    .collect()
            }
        };
        let embedding: Vec<Option<Arc<[f32]>>> = match &self.manifest.embedding {
            Some(e) if keep_embedding => {
                matrix(&e.output, e.dim)?.into_iter().map(|v| Some(normalized(v))).collect()
            }
            _ => vec![None; rows.len()],
        };
        Ok(positive
            .into_iter()
            .zip(polite)
            .zip(acts)
            .zip(embedding)
            .map(|(((positive, polite), acts), embedding)| TurnModelOutput {
                positive,
                polite,
                acts,
                embedding,
            })
            .collect())
    }
}

/// `v` scaled to unit length (a zero vector stays zero).
fn normalized(mut v: Vec<f32>) -> Arc<[f32]> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v.into()
}

/// The cosine of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The distinct texts in first-seen order, and for each input text the index of its distinct
/// text.
fn distinct_texts<'a>(texts: &[&'a str]) -> (Vec<&'a str>, Vec<usize>) {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(texts.len());
    let mut distinct = Vec::new();
    let slots = texts
        .iter()
        .map(|&t| {
            *index.entry(t).or_insert_with(|| {
                distinct.push(t);
                distinct.len() - 1
            })
        })
        .collect();
    (distinct, slots)
}

/// Cuts `order` (sorted by length) into batches of at most `max_batch` texts and
/// [`TOKEN_BUDGET`] padded tokens.
fn token_budget_batches(
    order: &[usize],
    len: impl Fn(usize) -> usize,
    max_batch: usize,
) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for &i in order {
        let width = len(i).max(1);
        if !current.is_empty()
            && (current.len() >= max_batch.max(1) || (current.len() + 1) * width > TOKEN_BUDGET)
        {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_probability_is_softmax_then_platt_scaling() {
        let head = |scale, bias| manifest::Head {
            output: "o".into(),
            labels: vec!["neg".into(), "pos".into()],
            scale,
            bias,
        };
        let plain = head(1.0, 0.0);
        assert!((plain.probability(&[0.0, 0.0]) - 0.5).abs() < 1e-6);
        assert!(plain.probability(&[-3.0, 3.0]) > 0.99);
        assert!(plain.probability(&[3.0, -3.0]) < 0.01);
        // A scale below 1 softens an over-confident head; a bias shifts its midpoint.
        let soft = head(0.25, 0.0);
        assert!((soft.probability(&[-3.0, 3.0]) - 1.0 / (1.0 + (-1.5f32).exp())).abs() < 1e-6);
        let shifted = head(1.0, 1.0);
        assert!((shifted.probability(&[0.0, -1.0]) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn identical_texts_are_run_once_and_every_text_gets_its_own() {
        let (distinct, slots) = distinct_texts(&["您好", "hi", "您好", "", "hi", ""]);
        assert_eq!(distinct, ["您好", "hi", ""]);
        assert_eq!(slots, [0, 1, 0, 2, 1, 2]);
        let (distinct, slots) = distinct_texts(&[]);
        assert!(distinct.is_empty() && slots.is_empty());
    }

    #[test]
    fn batches_respect_the_token_budget_and_keep_every_text() {
        let lens: Vec<usize> = (0..300).map(|i| 1 + (i * 7) % 128).collect();
        let mut order: Vec<usize> = (0..lens.len()).collect();
        order.sort_by_key(|&i| lens[i]);
        let batches = token_budget_batches(&order, |i| lens[i], 64);
        for b in &batches {
            let width = b.iter().map(|&i| lens[i]).max().unwrap();
            assert!(b.len() <= 64 && b.len() * width <= TOKEN_BUDGET, "{b:?}");
        }
        assert!(token_budget_batches(&order, |i| lens[i], 1).iter().all(|b| b.len() == 1));
        let mut all: Vec<usize> = batches.concat();
        all.sort();
        assert_eq!(all, (0..300).collect::<Vec<_>>());
    }
}
