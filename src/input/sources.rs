//! Where input comes from: the command line's files, folders and `-`, expanded to a sorted list
//! of [`Source`]s, each opened as a byte stream — decompressed when its name ends in `.gz` or
//! `.zst` — with a [`Meter`] counting and hashing the bytes as stored (the run manifest's record
//! of exactly which input produced the outputs).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::InputError;

/// One place to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }

    /// The file's name without a compression suffix (`a.jsonl.gz` → `a.jsonl`); stdin: `-`.
    pub fn plain_name(&self) -> String {
        let name = match self {
            Source::Stdin => return "-".to_string(),
            Source::File(p) => {
                p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into())
            }
        };
        match Compression::of(&name) {
            Compression::None => name,
            _ => name.rsplit_once('.').map_or(name.clone(), |(stem, _)| stem.to_string()),
        }
    }

    /// Whether the file holds one JSON document (`.json`) rather than one per line.
    pub fn is_json_document(&self) -> bool {
        self.plain_name().ends_with(".json")
    }

    /// The size on disk, when known (for progress).
    pub fn size_on_disk(&self) -> Option<u64> {
        match self {
            Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Source::Stdin => None,
        }
    }
}

/// How a file is compressed, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of(name: &str) -> Compression {
        if name.ends_with(".gz") {
            Compression::Gzip
        } else if name.ends_with(".zst") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Expands the command-line inputs: `-` is stdin, a folder stands for the files below it whose
/// names end in one of `extensions` (plain or `.gz` / `.zst`), recursively and in sorted order so
/// runs are reproducible; anything else is a file, read whatever its name.
pub fn expand_inputs(inputs: &[PathBuf], extensions: &[&str]) -> Result<Vec<Source>, InputError> {
    let mut sources = Vec::new();
    let mut stdin_seen = false;
    for input in inputs {
        if input.as_os_str() == "-" {
            if stdin_seen {
                return Err(InputError::StdinTwice);
            }
            stdin_seen = true;
            sources.push(Source::Stdin);
        } else if input.is_dir() {
            let mut files = Vec::new();
            collect(input, extensions, &mut files)?;
            if files.is_empty() {
                return Err(InputError::EmptyDir {
                    path: input.clone(),
                    expected: extensions
                        .iter()
                        .map(|e| format!("*.{e}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            files.sort();
            sources.extend(files.into_iter().map(Source::File));
        } else if input.is_file() {
            sources.push(Source::File(input.clone()));
        } else {
            return Err(InputError::Open {
                path: input.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "no such file or directory"),
            });
        }
    }
    Ok(sources)
}

fn collect(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let open_err = |source| InputError::Open { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(open_err)? {
        let path = entry.map_err(open_err)?.path();
        if path.is_dir() {
            collect(&path, extensions, out)?;
        } else if Source::File(path.clone())
            .plain_name()
            .rsplit_once('.')
            .is_some_and(|(_, ext)| extensions.contains(&ext))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Counts and hashes the bytes read from a source as stored (before decompression).
#[derive(Clone, Default)]
pub struct Meter(Arc<Mutex<MeterState>>);

#[derive(Default)]
struct MeterState {
    bytes: u64,
    hash: sha2::Sha256,
}

impl Meter {
    pub fn bytes(&self) -> u64 {
        self.0.lock().expect("meter lock").bytes
    }

    /// SHA-256 of the bytes read so far (the whole file once it is read to the end).
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        crate::digest::hex(&self.0.lock().expect("meter lock").hash.clone().finalize())
    }
}

struct Metered<R> {
    inner: R,
    meter: Meter,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        let mut m = self.meter.0.lock().expect("meter lock");
        m.bytes += n as u64;
        m.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// An open source: its decompressed bytes, and the meter of its stored bytes.
pub struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub meter: Meter,
}

/// Opens a source for reading, decompressing `.gz` and `.zst` files.
pub fn open(source: &Source) -> Result<Opened, InputError> {
    let raw: Box<dyn Read + Send> = match source {
        Source::Stdin => Box::new(io::stdin()),
        Source::File(path) => Box::new(
            File::open(path).map_err(|e| InputError::Open { path: path.clone(), source: e })?,
        ),
    };
    let meter = Meter::default();
    let metered = BufReader::with_capacity(256 << 10, Metered { inner: raw, meter: meter.clone() });
    let name = source.name();
    let reader: Box<dyn BufRead + Send> =
        match Compression::of(&name) {
            Compression::None => Box::new(metered),
            Compression::Gzip => Box::new(BufReader::with_capacity(
                256 << 10,
                flate2::bufread::MultiGzDecoder::new(metered),
            )),
            Compression::Zstd => Box::new(BufReader::with_capacity(
                256 << 10,
                zstd::stream::read::Decoder::with_buffer(metered)
                    .map_err(|e| InputError::Read { path: name.clone(), line: 0, source: e })?,
            )),
        };
    Ok(Opened { reader, meter })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn folders_expand_to_matching_files_compressed_or_not_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.jsonl", "a.jsonl.gz", "c.jsonl.zst", "notes.txt", "d.json"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let got = expand_inputs(&[dir.path().to_path_buf()], &["jsonl"]).unwrap();
        let names: Vec<_> = got.iter().map(Source::plain_name).collect();
        assert_eq!(names, ["a.jsonl", "b.jsonl", "c.jsonl"]);
        let both = expand_inputs(&[dir.path().to_path_buf()], &["json", "jsonl"]).unwrap();
        assert_eq!(both.len(), 4);
        let err = expand_inputs(&[dir.path().join("nope")], &["jsonl"]).unwrap_err();
        assert!(err.to_string().contains("cannot open input"), "{err}");
    }

    #[test]
    fn gzip_and_zstd_files_read_as_their_text_and_the_meter_counts_stored_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let text = "第一行\nsecond line\n".repeat(100);
        let gz = dir.path().join("x.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("x.jsonl.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        for path in [gz, zst] {
            let mut opened = open(&Source::File(path.clone())).unwrap();
            let mut got = String::new();
            opened.reader.read_to_string(&mut got).unwrap();
            assert_eq!(got, text);
            assert_eq!(opened.meter.bytes(), std::fs::metadata(&path).unwrap().len());
        }
    }
}
