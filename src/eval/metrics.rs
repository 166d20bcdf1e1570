//! Accuracy, macro-F1, confusion matrices, precision / recall.

use serde::Serialize;

/// A square confusion matrix: `counts[gold][predicted]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Confusion {
    pub labels: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

impl Confusion {
    pub fn new(labels: &[&str]) -> Confusion {
        Confusion {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            counts: vec![vec![0; labels.len()]; labels.len()],
        }
    }

    pub fn add(&mut self, gold: usize, predicted: usize) {
        self.counts[gold][predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    pub fn accuracy(&self) -> Option<f64> {
        let total = self.total();
        let right: u64 = (0..self.labels.len()).map(|i| self.counts[i][i]).sum();
        (total > 0).then(|| right as f64 / total as f64)
    }

    /// Mean F1 over the classes that occur in gold or predictions.
    pub fn macro_f1(&self) -> Option<f64> {
        let n = self.labels.len();
        let mut f1s = Vec::new();
        for c in 0..n {
            let tp = self.counts[c][c];
            let gold: u64 = self.counts[c].iter().sum();
            let pred: u64 = (0..n).map(|g| self.counts[g][c]).sum();
            if gold + pred == 0 {
                continue;
            }
            f1s.push(2.0 * tp as f64 / (gold + pred) as f64);
        }
        (!f1s.is_empty()).then(|| f1s.iter().sum::<f64>() / f1s.len() as f64)
    }
}

/// Precision / recall / F1 of finding one class.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct Binary {
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
}

impl Binary {
    pub fn add(&mut self, gold: bool, predicted: bool) {
        match (gold, predicted) {
            (true, true) => self.true_positives += 1,
            (false, true) => self.false_positives += 1,
            (true, false) => self.false_negatives += 1,
            (false, false) => {}
        }
    }

    pub fn precision(&self) -> Option<f64> {
        let p = self.true_positives + self.false_positives;
        (p > 0).then(|| self.true_positives as f64 / p as f64)
    }

    pub fn recall(&self) -> Option<f64> {
        let g = self.true_positives + self.false_negatives;
        (g > 0).then(|| self.true_positives as f64 / g as f64)
    }

    pub fn f1(&self) -> Option<f64> {
        let d = 2 * self.true_positives + self.false_positives + self.false_negatives;
        (d > 0).then(|| 2.0 * self.true_positives as f64 / d as f64)
    }
}

/// `0.912` or `n/a`.
pub fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_macro_f1_of_a_small_matrix() {
        let mut c = Confusion::new(&["neg", "pos"]);
        for (g, p) in [(0, 0), (0, 0), (0, 1), (1, 1)] {
            c.add(g, p);
        }
        assert_eq!(c.accuracy(), Some(0.75));
        // F1(neg) = 2·2/(3+2) = 0.8, F1(pos) = 2·1/(1+2) = 0.667
        assert!((c.macro_f1().unwrap() - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn precision_recall_f1() {
        let mut b = Binary::default();
        for (g, p) in [(true, true), (true, false), (false, true), (false, false), (true, true)] {
            b.add(g, p);
        }
        assert_eq!(b.precision(), Some(2.0 / 3.0));
        assert_eq!(b.recall(), Some(2.0 / 3.0));
        assert_eq!(Binary::default().precision(), None);
    }
}
