//! Finding and loading ONNX Runtime's shared library (it is loaded at run time, not linked).
//!
//! Looked for, in order: `--ort-lib PATH`, `$ORT_DYLIB_PATH`, `libonnxruntime.so*` next to the
//! executable, `runtime/libonnxruntime.so.1.31.1` under the current directory and under the
//! source checkout. `scripts/fetch-onnxruntime.sh` places it at the last two.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use super::ModelError;

pub const ORT_VERSION: &str = "1.31.1";

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

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
            return Err(String::new());
        };
        ort::init_from(lib)
            .map_err(|e| format!("{}: {e}", lib.display()))?
            .with_name("convqa")
            .build()
            .map_err(|e| format!("{}: {e}", lib.display()))
    });
    match result {
        Ok(env) => Ok(env),
        Err(message) if message.is_empty() => Err(ModelError::RuntimeMissing {
            looked: looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        }),
        Err(message) => Err(ModelError::RuntimeLoad { message: message.clone() }),
    }
}
