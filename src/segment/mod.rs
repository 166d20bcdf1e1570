//! Segmentation: normalized text → word tokens, each with byte offsets into both the normalized
//! and the original text (so every rubric hit can cite the exact original span).
//!
//! The normalized text is split into script runs; Chinese runs go to the Chinese segmenter
//! (jieba, dictionary loaded once and shared), everything else to the word segmenter
//! (Unicode word boundaries, UAX #29). Punctuation and spaces are not tokens. Each segmented
//! turn's language is decided from its tokens ([`language`]). Infallible.

mod chinese;
pub mod language;
mod words;

use std::ops::Range;

pub use chinese::ChineseSegmenter;
pub use language::Language;

use crate::normalize::{NormalizedText, is_han, normalize};

/// What a token is made of; the matcher joins Chinese tokens without a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Chinese,
    Word,
}

/// One token. `start..end` index the normalized text, `orig_start..orig_end` the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: u32,
    pub end: u32,
    pub orig_start: u32,
    pub orig_end: u32,
    pub kind: TokenKind,
}

impl Token {
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn original_range(&self) -> Range<usize> {
        self.orig_start as usize..self.orig_end as usize
    }
}

/// A segmented turn: its normalized text, tokens and detected language.
#[derive(Debug, Clone)]
pub struct Segmented {
    pub normalized: NormalizedText,
    pub tokens: Vec<Token>,
    /// Normalized offsets inside Chinese tokens where a dictionary sub-word starts or ends
    /// (「谢谢」 in the token 「谢谢您」), sorted. A phrase may start or end there too, so that
    /// jieba gluing a particle onto a word does not hide the word.
    pub inner_boundaries: Vec<u32>,
    pub language: Language,
}

impl Segmented {
    /// The normalized text of token `i`.
    pub fn token_text(&self, i: usize) -> &str {
        &self.normalized.text[self.tokens[i].range()]
    }
}

/// Splits a run of script-homogeneous normalized text into tokens.
trait RunSegmenter {
    /// Appends the tokens of `run` (which starts at normalized byte `base`) as normalized ranges
    /// to `out`, and sub-word boundaries inside tokens to `inner`.
    fn segment_run(
        &self,
        run: &str,
        base: usize,
        out: &mut Vec<(usize, usize)>,
        inner: &mut Vec<u32>,
    );
}

/// Normalizes and segments turns; build once, share across threads.
pub struct Segmenter {
    chinese: ChineseSegmenter,
}

impl Segmenter {
    pub fn new(chinese: ChineseSegmenter) -> Self {
        Segmenter { chinese }
    }

    /// Normalizes, detects the language of, and segments one turn.
    pub fn segment(&self, original: &str) -> Segmented {
        let normalized = normalize(original);
        let mut tokens = Vec::new();
        let mut ranges = Vec::new();
        let mut inner_boundaries = Vec::new();
        let text = normalized.text.as_str();
        let mut start = 0;
        while start < text.len() {
            let first_han = is_han(text[start..].chars().next().expect("in bounds"));
            let len = text[start..]
                .char_indices()
                .find(|&(_, c)| is_han(c) != first_han)
                .map_or(text.len() - start, |(i, _)| i);
            let run = &text[start..start + len];
            ranges.clear();
            let (segmenter, kind): (&dyn RunSegmenter, _) = if first_han {
                (&self.chinese, TokenKind::Chinese)
            } else {
                (&words::WordSegmenter, TokenKind::Word)
            };
            segmenter.segment_run(run, start, &mut ranges, &mut inner_boundaries);
            tokens.extend(ranges.iter().map(|&(s, e)| {
                let orig = normalized.original_range(s..e);
                Token {
                    start: s as u32,
                    end: e as u32,
                    orig_start: orig.start as u32,
                    orig_end: orig.end as u32,
                    kind,
                }
            }));
            start += len;
        }
        let language = language::detect(&normalized, &tokens);
        Segmented { normalized, tokens, inner_boundaries, language }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::LazyLock;

    pub(crate) static SEGMENTER: LazyLock<Segmenter> =
        LazyLock::new(|| Segmenter::new(ChineseSegmenter::new()));

    fn words(s: &Segmented) -> Vec<&str> {
        (0..s.tokens.len()).map(|i| s.token_text(i)).collect()
    }

    #[test]
    fn mixed_turn_is_split_by_script_and_keeps_original_spans() {
        let original = "OK 我帮你 check 一下ＯＲＤＥＲ！";
        let s = SEGMENTER.segment(original);
        assert_eq!(words(&s), ["ok", "我", "帮", "你", "check", "一下", "order"]);
        let last = s.tokens.last().unwrap();
        assert_eq!(&original[last.original_range()], "ＯＲＤＥＲ");
        assert_eq!(s.language, Language::Mixed);
    }

    #[test]
    fn traditional_is_segmented_as_simplified() {
        let original = "很抱歉造成您的不便";
        let s = SEGMENTER.segment(original);
        assert!(words(&s).contains(&"抱歉"), "{:?}", words(&s));
        let i = words(&s).iter().position(|w| *w == "抱歉").unwrap();
        assert_eq!(&original[s.tokens[i].original_range()], "抱歉");
    }

    #[test]
    fn dictionary_sub_words_of_long_chinese_tokens_are_boundaries() {
        let s = SEGMENTER.segment("收到，謝謝您的協助");
        let i = (0..s.tokens.len())
            .find(|&i| s.token_text(i) == "谢谢您")
            .expect("jieba keeps 谢谢您 whole");
        let token = s.tokens[i];
        let after_xiexie = token.start + "谢谢".len() as u32;
        assert!(s.inner_boundaries.contains(&after_xiexie), "{:?}", s.inner_boundaries);
        assert!(!s.inner_boundaries.contains(&token.start), "token edges are not inner boundaries");
    }

    #[test]
    fn english_words_are_lowercased_and_keep_contractions() {
        let s = SEGMENTER.segment("That's NOT my problem, sir.");
        assert_eq!(words(&s), ["that's", "not", "my", "problem", "sir"]);
    }

    #[test]
    fn every_token_slices_the_original() {
        for text in
            ["", "   ", "！！！", "😀 ok 好的", "ｈｅｌｌｏ，世界。", "e\u{301}te\u{301} 漢字"]
        {
            let s = SEGMENTER.segment(text);
            for t in &s.tokens {
                assert!(text.get(t.original_range()).is_some(), "{text:?} {t:?}");
            }
        }
    }
}
