//! The statistics of a before/after comparison: means, the difference, the
//! difference-in-differences against a control group, and their 95 % percentile bootstrap
//! intervals.
//!
//! Each of the four groups (trained before / after, control before / after) is resampled with
//! replacement on its own, keeping its size; an interval is the 2.5th and 97.5th percentile of
//! the replicates. The replicates come from one ChaCha8 stream seeded by the caller, so the same
//! data and seed give the same interval on any machine. The replicates are kept so that several
//! trainings can be pooled replicate by replicate (a course's effect).

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The four groups of one comparison (scores 0–100, one per conversation).
#[derive(Debug, Clone, Default)]
pub struct Groups {
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    pub control_before: Vec<f64>,
    pub control_after: Vec<f64>,
}

/// An estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// From a point estimate and its bootstrap replicates (sorted here).
    pub fn from_replicates(estimate: f64, replicates: &[f64]) -> Interval {
        let mut r = replicates.to_vec();
        r.sort_by(f64::total_cmp);
        Interval { estimate, low: percentile(&r, 0.025), high: percentile(&r, 0.975) }
    }

    pub fn covers(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The comparison's estimates and replicates.
#[derive(Debug, Clone)]
pub struct Estimates {
    /// after − before of the trained agent.
    pub difference: Interval,
    /// (after − before) of the control group; `None` without control conversations in both
    /// windows.
    pub control_difference: Option<f64>,
    /// difference − control difference; `None` without a control group.
    pub did: Option<Interval>,
    /// The replicates of the difference-in-differences (of the difference without a control
    /// group), for pooling.
    pub replicates: Vec<f64>,
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Linear interpolation between order statistics of sorted `xs` (not empty).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// The mean of a resample of `xs` with replacement (`xs` not empty).
fn resampled_mean(rng: &mut ChaCha8Rng, xs: &[f64]) -> f64 {
    let n = xs.len();
    let mut sum = 0.0;
    for _ in 0..n {
        // uniform in 0..n by widening multiplication (bias below n / 2^64)
        let i = ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize;
        sum += xs[i];
    }
    sum / n as f64
}

/// Estimates and `replicates` bootstrap replicates of `g` (the trained groups must not be
/// empty).
pub fn estimate(g: &Groups, replicates: usize, seed: u64) -> Estimates {
    let (before, after) = (mean(&g.before).expect("not empty"), mean(&g.after).expect("not empty"));
    let control = mean(&g.control_before).zip(mean(&g.control_after));
    let control_difference = control.map(|(b, a)| a - b);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut diffs = Vec::with_capacity(replicates);
    let mut dids = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        let d = resampled_mean(&mut rng, &g.after) - resampled_mean(&mut rng, &g.before);
        diffs.push(d);
        if control.is_some() {
            let c = resampled_mean(&mut rng, &g.control_after)
                - resampled_mean(&mut rng, &g.control_before);
            dids.push(d - c);
        }
    }
    let difference = Interval::from_replicates(after - before, &diffs);
    let did = control_difference.map(|c| Interval::from_replicates(after - before - c, &dids));
    Estimates {
        difference,
        control_difference,
        did,
        replicates: if did.is_some() { dids } else { diffs },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(rng: &mut ChaCha8Rng, n: usize, p: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                if u < p { 100.0 } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn same_seed_same_interval() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let g = Groups {
            before: noisy(&mut rng, 80, 0.5),
            after: noisy(&mut rng, 80, 0.6),
            control_before: noisy(&mut rng, 300, 0.5),
            control_after: noisy(&mut rng, 300, 0.5),
        };
        let a = estimate(&g, 500, 9);
        let b = estimate(&g, 500, 9);
        assert_eq!(a.difference, b.difference);
        assert_eq!(a.did, b.did);
        assert_ne!(a.did, estimate(&g, 500, 10).did, "another seed, other replicates");
    }

    #[test]
    fn the_interval_covers_the_truth_about_95_percent_of_the_time() {
        // Bernoulli(0.5) before and after, 100 each: the true difference is 0
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let trials = 200;
        let mut covered = 0;
        for t in 0..trials {
            let g = Groups {
                before: noisy(&mut rng, 100, 0.5),
                after: noisy(&mut rng, 100, 0.5),
                ..Groups::default()
            };
            let e = estimate(&g, 400, t);
            assert!(e.did.is_none() && e.control_difference.is_none());
            covered += usize::from(e.difference.covers(0.0));
        }
        let share = covered as f64 / trials as f64;
        assert!((0.90..=0.99).contains(&share), "covered 0 in {share:.3} of {trials} trials");
    }

    #[test]
    fn did_subtracts_the_control_groups_change() {
        let g = Groups {
            before: vec![40.0, 50.0, 60.0],
            after: vec![70.0, 80.0, 90.0],
            control_before: vec![50.0, 50.0],
            control_after: vec![60.0, 60.0],
        };
        let e = estimate(&g, 200, 1);
        assert_eq!(e.difference.estimate, 30.0);
        assert_eq!(e.control_difference, Some(10.0));
        let did = e.did.unwrap();
        assert_eq!(did.estimate, 20.0);
        assert!(did.low <= 20.0 && 20.0 <= did.high && did.low >= 0.0, "{did:?}");
        assert_eq!(e.replicates.len(), 200);
    }

    #[test]
    fn percentiles_interpolate() {
        let xs: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 0.025), 2.5);
        assert_eq!(percentile(&xs, 0.975), 97.5);
        assert_eq!(percentile(&[7.0], 0.5), 7.0);
    }
}
