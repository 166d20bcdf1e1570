//! Chinese word segmentation with jieba (its bundled dictionary, HMM for unknown words).

use jieba_rs::Jieba;

use super::RunSegmenter;

/// jieba with its dictionary loaded; expensive to build (~dictionary load), cheap to share.
pub struct ChineseSegmenter {
    jieba: Jieba,
}

impl ChineseSegmenter {
    /// Loads jieba's bundled dictionary.
    pub fn new() -> Self {
        ChineseSegmenter { jieba: Jieba::new() }
    }
}

impl ChineseSegmenter {
    /// Appends the start and end offsets of the 2- and 3-character dictionary words inside a
    /// longer token (what jieba's search mode offers), except the token's own edges.
    fn sub_word_boundaries(&self, word: &str, at: usize, inner: &mut Vec<u32>) {
        let mut offsets: Vec<usize> = word.char_indices().map(|(i, _)| i).collect();
        if offsets.len() <= 2 {
            return;
        }
        offsets.push(word.len());
        let n = offsets.len() - 1;
        let mut found = Vec::new();
        for len in 2..=3.min(n - 1) {
            for i in 0..=n - len {
                if self.jieba.has_word(&word[offsets[i]..offsets[i + len]]) {
                    found.extend([offsets[i], offsets[i + len]]);
                }
            }
        }
        found.retain(|&o| o != 0 && o != word.len());
        found.sort_unstable();
        found.dedup();
        inner.extend(found.into_iter().map(|o| (at + o) as u32));
    }
}

impl Default for ChineseSegmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl RunSegmenter for ChineseSegmenter {
    fn segment_run(
        &self,
        run: &str,
        base: usize,
        out: &mut Vec<(usize, usize)>,
        inner: &mut Vec<u32>,
    ) {
        for t in self.jieba.cut(run, true) {
            if t.word.chars().any(char::is_alphanumeric) {
                out.push((base + t.byte_start, base + t.byte_end));
                self.sub_word_boundaries(t.word, base + t.byte_start, inner);
            }
        }
    }
}
