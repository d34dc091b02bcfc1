//! Clustering metrics on held-out data: adjusted Rand index (Hubert & Arabie 1985), normalised mutual
//! information (arithmetic-mean normalisation, as scikit-learn's default), and accuracy after the best
//! one-to-one matching of clusters to regimes (Hungarian algorithm).

use ndarray::Array2;

use crate::assignment::min_cost_assignment;
use crate::error::{ensure, Result};

/// Contingency table `[clusters, classes]` of predicted clusters against true classes.
pub fn contingency(
    pred: &[usize],
    truth: &[usize],
    clusters: usize,
    classes: usize,
) -> Result<Array2<f64>> {
    ensure(pred.len() == truth.len() && !pred.is_empty(), || {
        format!("{} predictions for {} labels", pred.len(), truth.len())
    })?;
    ensure(pred.iter().all(|&p| p < clusters) && truth.iter().all(|&t| t < classes), || {
        "label out of range".into()
    })?;
    let mut table = Array2::zeros((clusters, classes));
    for (&p, &t) in pred.iter().zip(truth) {
        table[[p, t]] += 1.0;
    }
    Ok(table)
}

fn choose2(x: f64) -> f64 {
    x * (x - 1.0) / 2.0
}

/// Adjusted Rand index of a contingency table: 1 for identical partitions, about 0 for chance.
pub fn adjusted_rand_index(table: &Array2<f64>) -> f64 {
    let n: f64 = table.sum();
    let index: f64 = table.iter().map(|&c| choose2(c)).sum();
    let rows: f64 = table.rows().into_iter().map(|r| choose2(r.sum())).sum();
    let cols: f64 = table.columns().into_iter().map(|c| choose2(c.sum())).sum();
    let expected = rows * cols / choose2(n);
    let max = 0.5 * (rows + cols);
    if (max - expected).abs() < 1e-12 {
        // Both partitions trivial (one cluster each, or all singletons): identical by convention.
        return 1.0;
    }
    (index - expected) / (max - expected)
}

fn entropy(counts: impl Iterator<Item = f64>, n: f64) -> f64 {
    counts.filter(|&c| c > 0.0).map(|c| -(c / n) * (c / n).ln()).sum()
}

/// Normalised mutual information `I(U; V) / ((H(U) + H(V)) / 2)`; 1 when both partitions are trivial.
pub fn normalized_mutual_information(table: &Array2<f64>) -> f64 {
    let n: f64 = table.sum();
    let rows: Vec<f64> = table.rows().into_iter().map(|r| r.sum()).collect();
    let cols: Vec<f64> = table.columns().into_iter().map(|c| c.sum()).collect();
    let hu = entropy(rows.iter().copied(), n);
    let hv = entropy(cols.iter().copied(), n);
    let mut mi = 0.0;
    for ((r, c), &count) in table.indexed_iter() {
        if count > 0.0 {
            mi += (count / n) * (count * n / (rows[r] * cols[c])).ln();
        }
    }
    let denom = 0.5 * (hu + hv);
    if denom <= 0.0 {
        1.0
    } else {
        (mi / denom).clamp(0.0, 1.0)
    }
}

/// The best one-to-one matching of clusters (rows) to classes (columns), maximising the matched count:
/// returns, for each cluster, its class, and the matched accuracy. Needs `clusters <= classes`.
pub fn matched_accuracy(table: &Array2<f64>) -> Result<(Vec<usize>, f64)> {
    let (assigned, total) = min_cost_assignment(&table.mapv(|c| -c))?;
    Ok((assigned, -total / table.sum()))
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;

    use super::*;

    #[test]
    fn relabelled_partition_is_perfect() {
        let truth = [0, 0, 1, 1, 2, 2, 2];
        let pred = [2, 2, 0, 0, 1, 1, 1];
        let t = contingency(&pred, &truth, 3, 3).expect("valid");
        assert_abs_diff_eq!(adjusted_rand_index(&t), 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(normalized_mutual_information(&t), 1.0, epsilon = 1e-12);
        let (map, acc) = matched_accuracy(&t).expect("valid");
        assert_eq!(map, vec![1, 2, 0]);
        assert_abs_diff_eq!(acc, 1.0);
    }

    #[test]
    fn hand_computed_values() {
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715,
        // normalized_mutual_info_score(...) = 0.8; the best matching gets 3 of 4.
        let t = contingency(&[0, 0, 1, 2], &[0, 0, 1, 1], 3, 2).expect("valid");
        assert_abs_diff_eq!(adjusted_rand_index(&t), 0.571_428_571_428_571_5, epsilon = 1e-12);
        assert_abs_diff_eq!(normalized_mutual_information(&t), 0.8, epsilon = 1e-12);
        let t2 = contingency(&[0, 0, 1, 1], &[0, 0, 1, 2], 2, 3).expect("valid");
        assert_abs_diff_eq!(matched_accuracy(&t2).expect("valid").1, 0.75);
    }

    #[test]
    fn independent_labels_score_near_zero() {
        let mut rng = gumbel_core::rng::from_seed(1);
        use rand::Rng;
        let truth: Vec<usize> = (0..20_000).map(|_| rng.random_range(0..5)).collect();
        let pred: Vec<usize> = (0..20_000).map(|_| rng.random_range(0..5)).collect();
        let t = contingency(&pred, &truth, 5, 5).expect("valid");
        assert!(adjusted_rand_index(&t).abs() < 0.01);
        assert!(normalized_mutual_information(&t) < 0.01);
    }

    #[test]
    fn bad_labels_are_errors() {
        assert!(contingency(&[0, 1], &[0], 2, 2).is_err());
        assert!(contingency(&[3], &[0], 2, 2).is_err());
        assert!(contingency(&[], &[], 2, 2).is_err());
    }
}
