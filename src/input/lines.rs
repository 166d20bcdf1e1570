//! A line reader with a hard length limit, so one giant line can never take the memory with it.
//!
//! Lines are returned as bytes (UTF-8 is checked by the parser, which reports where it breaks),
//! without the trailing `\n` or `\r\n`; a UTF-8 byte-order mark at the start of any line is dropped
//! (files concatenated from exports that each had one).

use std::io::{self, BufRead};

/// What one call to [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line (without its terminator).
    Text(&'a [u8]),
    /// A line longer than the limit; its bytes were skipped up to the next newline.
    TooLong { bytes: u64 },
}

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_bytes: usize,
    line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_bytes: usize) -> Self {
        LineReader { inner, buf: Vec::new(), max_bytes, line_no: 0 }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The wrapped reader, to read a whole document instead of lines.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The 1-based number of the line last returned.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Reads the next line; `Ok(None)` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut overflow = false;
        let mut saw_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr_newline(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            total += take as u64;
            if !overflow {
                if self.buf.len() + take > self.max_bytes + 2 {
                    overflow = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line_no += 1;
        if overflow {
            return Ok(Some(Line::TooLong { bytes: total }));
        }
        let mut line: &[u8] = &self.buf;
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        // A byte-order mark starts the file, or any line of files concatenated from exports
        // that each had one.
        if let Some(rest) = line.strip_prefix(b"\xEF\xBB\xBF") {
            line = rest;
        }
        if line.len() > self.max_bytes {
            return Ok(Some(Line::TooLong { bytes: total }));
        }
        Ok(Some(Line::Text(line)))
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut r = LineReader::new(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(match l {
                Line::Text(t) => Ok(t.to_vec()),
                Line::TooLong { bytes } => Err(bytes),
            });
        }
        out
    }

    #[test]
    fn strips_bom_crlf_and_keeps_blank_lines() {
        let got = lines(b"\xEF\xBB\xBFab\r\n\ncd", 100);
        assert_eq!(got, vec![Ok(b"ab".to_vec()), Ok(vec![]), Ok(b"cd".to_vec())]);
    }

    #[test]
    fn a_bom_is_stripped_at_the_start_of_any_line_of_concatenated_exports() {
        let got = lines(b"x\n\xEF\xBB\xBFy\nz\xEF\xBB\xBF\n", 100);
        assert_eq!(got[1], Ok(b"y".to_vec()));
        assert_eq!(got[2], Ok(b"z\xEF\xBB\xBF".to_vec()), "only at the start");
    }

    #[test]
    fn overlong_line_is_reported_and_skipped_without_losing_the_next() {
        let got = lines(b"0123456789abcdef\nok\n", 5);
        assert_eq!(got, vec![Err(17), Ok(b"ok".to_vec())]);
    }

    #[test]
    fn counts_lines() {
        let mut r = LineReader::new(&b"a\nb\n"[..], 10);
        r.next_line().unwrap();
        r.next_line().unwrap();
        assert_eq!(r.line_no(), 2);
        assert!(r.next_line().unwrap().is_none());
    }
}
