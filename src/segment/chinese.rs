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

impl Default for ChineseSegmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl RunSegmenter for ChineseSegmenter {
    fn segment_run(&self, run: &str, base: usize, out: &mut Vec<(usize, usize)>) {
        for t in self.jieba.cut(run, true) {
            if t.word.chars().any(char::is_alphanumeric) {
                out.push((base + t.byte_start, base + t.byte_end));
            }
        }
    }
}
