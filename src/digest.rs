//! Fingerprints as lower-case hex: the rubric's and the model files' SHA-256, and the digests of
//! inputs and conversations. A leaf module: it imports nothing of the crate.

/// Lower-case hex SHA-256 of `bytes`: the rubric's and the model files' fingerprints.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of bytes (digests of rubric, model files, inputs and conversations).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
