//! Normalization for matching: NFKC (which also folds full-width forms such as `ｏｒｄｅｒ１２３`),
//! lowercase, typographic apostrophes to `'`, and Traditional Chinese to Simplified.
//!
//! The original text is never changed: [`NormalizedText`] keeps a map from every normalized byte
//! back to the original, so a hit found in normalized text can quote the exact original span.
//! Infallible, like every text stage.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};
use unicode_segmentation::UnicodeSegmentation;
use zhconv::{Variant, zhconv};

/// Text prepared for matching, with offsets back into the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedText {
    pub text: String,
    /// `(normalized_start, original_start)` of each chunk, sorted; a chunk is one grapheme
    /// cluster of the original (or one run of Chinese whose conversion changed its length).
    chunks: Vec<(u32, u32)>,
    original_len: u32,
    /// How many Chinese characters the Traditional→Simplified conversion changed.
    pub traditional_chars: u32,
}

impl NormalizedText {
    /// The original byte range that normalized bytes `range` came from.
    pub fn original_range(&self, range: Range<usize>) -> Range<usize> {
        self.map().original_range(range)
    }

    fn map(&self) -> OffsetMap<'_> {
        OffsetMap {
            chunks: &self.chunks,
            norm_len: self.text.len(),
            original_len: self.original_len,
        }
    }
}

/// The normalized → original offset map, borrowed.
struct OffsetMap<'a> {
    chunks: &'a [(u32, u32)],
    norm_len: usize,
    original_len: u32,
}

impl OffsetMap<'_> {
    fn original_range(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= range.end || self.chunks.is_empty() {
            let at = self.original_at(range.start);
            return at..at;
        }
        let first = self.chunk_index(range.start);
        let last = self.chunk_index(range.end - 1);
        let start = self.chunks[first].1 as usize;
        let end = self.chunks.get(last + 1).map_or(self.original_len, |c| c.1) as usize;
        start..end
    }

    fn original_at(&self, norm: usize) -> usize {
        if norm >= self.norm_len {
            return self.original_len as usize;
        }
        self.chunks[self.chunk_index(norm)].1 as usize
    }

    fn chunk_index(&self, norm: usize) -> usize {
        self.chunks.partition_point(|c| c.0 as usize <= norm).saturating_sub(1)
    }
}

/// Whether `c` is a Chinese character (Unicode script Han); ASCII is answered without a lookup.
pub(crate) fn is_han(c: char) -> bool {
    !c.is_ascii() && c.script() == Script::Han
}

/// Normalizes `original` for matching.
pub fn normalize(original: &str) -> NormalizedText {
    let mut folded = String::with_capacity(original.len());
    let mut chunks: Vec<(u32, u32)> = Vec::with_capacity(original.len());
    let bytes = original.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // Fast path: an ASCII character not followed by a combining one is a grapheme of its
        // own (CR LF, the one ASCII pair that is a single grapheme, maps byte by byte, which
        // keeps offsets exact), so no grapheme segmentation is needed for plain ASCII text.
        let b = bytes[at];
        if b.is_ascii() && bytes.get(at + 1).is_none_or(u8::is_ascii) {
            chunks.push((folded.len() as u32, at as u32));
            folded.push(b.to_ascii_lowercase() as char);
            at += 1;
            continue;
        }
        let g = original[at..].graphemes(true).next().expect("at < len");
        chunks.push((folded.len() as u32, at as u32));
        at += g.len();
        if g.is_ascii() {
            for b in g.bytes() {
                folded.push(b.to_ascii_lowercase() as char);
            }
            continue;
        }
        for c in g.nfkc() {
            let c = match c {
                '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
                c => c,
            };
            for l in c.to_lowercase() {
                folded.push(l);
            }
        }
    }
    let mut out = NormalizedText {
        text: folded,
        chunks,
        original_len: original.len() as u32,
        traditional_chars: 0,
    };
    to_simplified(&mut out);
    out
}

/// Converts each run of Chinese characters to Simplified. When a run keeps its character count
/// (almost always), offsets stay per character; otherwise the run maps to its whole original span.
fn to_simplified(norm: &mut NormalizedText) {
    if !norm.text.chars().any(is_han) {
        return;
    }
    let text = std::mem::take(&mut norm.text);
    let old_chunks = std::mem::take(&mut norm.chunks);
    let old =
        OffsetMap { chunks: &old_chunks, norm_len: text.len(), original_len: norm.original_len };
    let mut out = String::with_capacity(text.len());
    let mut chunks: Vec<(u32, u32)> = Vec::with_capacity(old_chunks.len());
    let mut rest = text.as_str();
    let mut base = 0usize;
    while !rest.is_empty() {
        let run_len = han_run_len(rest);
        if run_len == 0 {
            let c = rest.chars().next().expect("non-empty");
            push_mapped(&mut out, &mut chunks, old.original_at(base), c.encode_utf8(&mut [0; 4]));
            base += c.len_utf8();
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let run = &rest[..run_len];
        let converted = zhconv(run, Variant::ZhHans);
        let han = run.chars().count() as u32;
        if converted.chars().count() as u32 == han {
            for ((off, from), to) in run.char_indices().zip(converted.chars()) {
                norm.traditional_chars += (from != to) as u32;
                let orig = old.original_at(base + off);
                push_mapped(&mut out, &mut chunks, orig, to.encode_utf8(&mut [0; 4]));
            }
        } else {
            norm.traditional_chars += han;
            let orig = old.original_range(base..base + run_len);
            chunks.push((out.len() as u32, orig.start as u32));
            out.push_str(&converted);
        }
        base += run_len;
        rest = &rest[run_len..];
    }
    norm.text = out;
    norm.chunks = chunks;
}

fn han_run_len(s: &str) -> usize {
    s.char_indices().find(|&(_, c)| !is_han(c)).map_or(s.len(), |(i, _)| i)
}

/// Appends `piece`, which came from original offset `orig`, starting a new chunk unless it
/// continues the previous one (the rest of the same grapheme cluster).
fn push_mapped(out: &mut String, chunks: &mut Vec<(u32, u32)>, orig: usize, piece: &str) {
    let orig = orig as u32;
    if chunks.last().is_none_or(|&(_, o)| o != orig) {
        chunks.push((out.len() as u32, orig));
    }
    out.push_str(piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span<'a>(original: &'a str, n: &NormalizedText, needle: &str) -> &'a str {
        let at = n.text.find(needle).expect("needle in normalized text");
        &original[n.original_range(at..at + needle.len())]
    }

    #[test]
    fn folds_full_width_and_case() {
        let original = "我的ＯＲＤＥＲ１２３还没到";
        let n = normalize(original);
        assert_eq!(n.text, "我的order123还没到");
        assert_eq!(span(original, &n, "order123"), "ＯＲＤＥＲ１２３");
    }

    #[test]
    fn traditional_becomes_simplified_with_original_offsets() {
        let original = "很抱歉造成您的不便，請放心";
        let n = normalize(original);
        assert_eq!(n.text, "很抱歉造成您的不便,请放心");
        assert_eq!(span(original, &n, "请放心"), "請放心");
        assert!(n.traditional_chars >= 1);
    }

    #[test]
    fn simplified_text_is_unchanged_and_not_counted_traditional() {
        let n = normalize("您好，很抱歉");
        assert_eq!(n.traditional_chars, 0);
        assert_eq!(n.text, "您好,很抱歉");
    }

    #[test]
    fn apostrophes_are_folded() {
        let original = "That’s NOT my problem";
        let n = normalize(original);
        assert_eq!(n.text, "that's not my problem");
        assert_eq!(span(original, &n, "that's"), "That’s");
    }

    #[test]
    fn combining_marks_compose_within_a_grapheme() {
        let original = "Cafe\u{301} ok";
        let n = normalize(original);
        assert_eq!(n.text, "café ok");
        assert_eq!(span(original, &n, "é"), "e\u{301}");
        assert_eq!(span(original, &n, "ok"), "ok");
    }

    #[test]
    fn empty_text() {
        let n = normalize("");
        assert_eq!(n.text, "");
        assert_eq!(n.original_range(0..0), 0..0);
    }
}
