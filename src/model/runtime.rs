//! Finding and loading ONNX Runtime's shared library (it is loaded at run time, not linked).
//!
//! Looked for, in order: `--ort-lib PATH`, `$ORT_DYLIB_PATH`, `libonnxruntime.so*` next to the
//! executable, `runtime/libonnxruntime.so.1.31.1` under the current directory and under the
//! source checkout. `scripts/fetch-onnxruntime.sh` places it at the last two.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ort::environment::Environment;

use super::ModelError;

pub const ORT_VERSION: &str = "1.31.1";

/// Why the library did not load: `None` when not found; else the library and ONNX Runtime's
/// error, shared by every later call.
type Failure = Option<(PathBuf, Arc<LoadError>)>;

static ENVIRONMENT: OnceLock<Result<Environment, Failure>> = OnceLock::new();

/// ONNX Runtime's reason for not loading its library (a missing symbol, a wrong version, …).
pub type LoadError = dyn std::error::Error + Send + Sync;

fn candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let file = format!("libonnxruntime.so.{ORT_VERSION}");
    let mut out = Vec::new();
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir.join(&file));
        out.push(dir.join("libonnxruntime.so"));
    }
    out.push(PathBuf::from("runtime").join(&file));
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime").join(&file));
    out
}

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment(explicit: Option<&Path>) -> Result<&'static Environment, ModelError> {
    let looked = candidates(explicit);
    let result = ENVIRONMENT.get_or_init(|| {
        let Some(lib) = looked.iter().find(|p| p.is_file()) else {
            return Err(None);
        };
        fn failed(lib: &Path, e: impl Into<Box<LoadError>>) -> Failure {
            Some((lib.to_path_buf(), Arc::from(e.into())))
        }
        ort::init_from(lib)
            .map_err(|e| failed(lib, e))?
            .with_name("convqa")
            .build()
            .map_err(|e| failed(lib, e))
    });
    match result {
        Ok(env) => Ok(env),
        Err(None) => Err(ModelError::RuntimeMissing {
            looked: looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        }),
        Err(Some((path, source))) => {
            Err(ModelError::RuntimeLoad { path: path.clone(), source: Arc::clone(source) })
        }
    }
}
