//! Identifying the observational regime: the single-target, unique-intervention argument of the seed's
//! Section 2.1 (Figure 2a) made into a rule.
//!
//! If cluster `o` is observational, every other cluster differs from `o` in exactly one mechanism (single
//! target), and no two clusters differ from it in the same mechanism (unique intervention). If instead an
//! intervened cluster were taken as observational, every other interventional cluster would differ from it
//! in two mechanisms. So, with `d(c, o, i)` the mean squared gap between the conditional means of
//! mechanism `i` under clusters `c` and `o` (over the samples of both clusters), the rule scores each
//! candidate `o` by the cost of the best one-to-one assignment of the other clusters to target nodes,
//! where assigning `c` to target `i` costs the gaps left in all OTHER mechanisms,
//! `sum_{j != i} d(c, o, j)`; the observational cluster is the candidate of least cost, and the assignment
//! names each cluster's intervened node.

use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};

use crate::assignment::min_cost_assignment;
use crate::error::{ensure, Result};

/// What the identification rule concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identification {
    /// The cluster taken as observational.
    pub observational: usize,
    /// For each cluster, the node it intervenes on (`None` for the observational cluster).
    pub targets: Vec<Option<usize>>,
    /// The rule's cost of each candidate (lower is more plausible).
    pub scores: Vec<f64>,
}

impl Identification {
    /// Gap between the best and the second-best candidate's cost, relative to the second best (0 = a tie).
    pub fn margin(&self) -> f64 {
        let mut s = self.scores.clone();
        s.sort_by(f64::total_cmp);
        match s.as_slice() {
            [best, second, ..] if *second > 0.0 => (second - best) / second,
            _ => 0.0,
        }
    }
}

/// Mechanism gaps `d[c, o, i]`: the mean squared difference of mechanism `i`'s conditional means under
/// clusters `c` and `o`, over the samples assigned to either (all samples when neither has any).
/// `means` is `[clusters, samples, nodes]`, `assign` the cluster of each sample.
pub fn mechanism_gaps(means: &Array3<f64>, assign: &[usize]) -> Result<Array3<f64>> {
    let (k, s, n) = means.dim();
    ensure(assign.len() == s, || format!("{} assignments for {s} samples", assign.len()))?;
    ensure(assign.iter().all(|&a| a < k), || "assignment out of range".into())?;
    ensure(means.iter().all(|v| v.is_finite()), || "mechanism means must be finite".into())?;
    let mut gaps = Array3::zeros((k, k, n));
    for c in 0..k {
        for o in 0..c {
            let mut rows: Vec<usize> =
                (0..s).filter(|&r| assign[r] == c || assign[r] == o).collect();
            if rows.is_empty() {
                rows = (0..s).collect();
            }
            for i in 0..n {
                let d = rows
                    .iter()
                    .map(|&r| (means[[c, r, i]] - means[[o, r, i]]).powi(2))
                    .sum::<f64>()
                    / rows.len() as f64;
                gaps[[c, o, i]] = d;
                gaps[[o, c, i]] = d;
            }
        }
    }
    Ok(gaps)
}

/// Applies the rule to `N + 1` clusters over `N` nodes (see the module documentation).
pub fn identify(means: &Array3<f64>, assign: &[usize]) -> Result<Identification> {
    let (k, _, n) = means.dim();
    ensure(k == n + 1, || format!("the rule needs N + 1 = {} clusters, got {k}", n + 1))?;
    let gaps = mechanism_gaps(means, assign)?;
    let mut scores = Vec::with_capacity(k);
    let mut assignments = Vec::with_capacity(k);
    for o in 0..k {
        let others: Vec<usize> = (0..k).filter(|&c| c != o).collect();
        let cost = Array2::from_shape_fn((n, n), |(row, i)| {
            let c = others[row];
            (0..n).filter(|&j| j != i).map(|j| gaps[[c, o, j]]).sum::<f64>()
        });
        let (assigned, total) = min_cost_assignment(&cost)?;
        scores.push(total);
        assignments.push(assigned);
    }
    let observational = (0..k).min_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
    let mut targets = vec![None; k];
    let others = (0..k).filter(|&c| c != observational);
    for (c, &i) in others.zip(&assignments[observational]) {
        targets[c] = Some(i);
    }
    Ok(Identification { observational, targets, scores })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact mechanisms of three nodes under four clusters: cluster 2 is observational and cluster `c`
    /// shifts node `target[c]`; the chain 0 -> 1 -> 2 makes shifts visible downstream in the data but not
    /// in the mechanisms.
    #[test]
    fn finds_the_observational_cluster_and_the_targets() {
        let target = [Some(1), Some(2), None, Some(0)];
        let s = 30;
        let assign: Vec<usize> = (0..s).map(|r| r % 4).collect();
        let means = Array3::from_shape_fn((4, s, 3), |(c, r, i)| {
            let base = 0.3 * r as f64 - 0.5 * i as f64;
            base + if target[c] == Some(i) { 5.0 } else { 0.0 }
        });
        let id = identify(&means, &assign).expect("valid");
        assert_eq!(id.observational, 2);
        assert_eq!(id.targets, target.to_vec());
        assert!(id.margin() > 0.9);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(identify(&Array3::zeros((3, 5, 3)), &[0; 5]).is_err());
        assert!(identify(&Array3::zeros((4, 5, 3)), &[0; 4]).is_err());
        assert!(identify(&Array3::from_elem((4, 5, 3), f64::NAN), &[0; 5]).is_err());
    }
}
