//! Word segmentation for non-Chinese runs: Unicode word boundaries (UAX #29), which keep
//! contractions ("don't") and numbers ("3.5") whole and drop punctuation and spaces.

use unicode_segmentation::UnicodeSegmentation;

use super::RunSegmenter;

pub struct WordSegmenter;

impl RunSegmenter for WordSegmenter {
    fn segment_run(&self, run: &str, base: usize, out: &mut Vec<(usize, usize)>, _: &mut Vec<u32>) {
        out.extend(run.unicode_word_indices().map(|(i, w)| (base + i, base + i + w.len())));
    }
}
