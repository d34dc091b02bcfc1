//! The closed-form joint of a Gumbel-max coupling and the exact counterfactual distribution.
//!
//! Setting: a = log p, b = log q, one shared vector g of standard Gumbels, x = argmax(a + g),
//! y = argmax(b + g). Derivation in shared/reference/exact-gumbel-max-coupling.md:
//!
//! - diagonal (the paper's Proposition 1): P(x = y = i) = 1 / (1 + sum_{k != i} max(p_k/p_i, q_k/q_i));
//! - off-diagonal, i != j: P(x = i, y = j) = integral over d in [b_i - b_j, a_i - a_j] of
//!   exp(-d) / S(d)^2, with S(d) = 1 + exp(-d) + sum_{k != i,j} max(exp(a_k - a_i), exp(b_k - b_j - d)),
//!   zero when the interval is empty (q_j/q_i <= p_j/p_i: counterfactual stability).
//!
//! Each max switches at t_k = (b_k - b_j) - (a_k - a_i); between breakpoints S = alpha + beta exp(-d)
//! and a piece [d0, d1] integrates to (u0 - u1) / ((alpha + beta u0)(alpha + beta u1)), u = exp(-d),
//! evaluated here in the overflow-free form
//! (1 - exp(d0 - d1)) / ((alpha exp(d0) + beta)(alpha + beta exp(-d1))).
//! Since t_k = (b_k - a_k) - (b_j - a_i), every entry's breakpoints are the keys b_k - a_k shifted by
//! a constant: sorted once per joint, they come in order for every entry, and the ratios
//! exp(b_k - b_j) = q_k / q_j are tabulated once per joint and exp(a_k - a_i) = p_k / p_i once per row.
//! Cost: O(K) per entry, O(K^3) for the matrix, O(K^2) for one counterfactual row.

use ndarray::Array2;
use rayon::prelude::*;

use crate::categorical::Categorical;
use crate::coupling::Coupling;
use crate::error::{CoreError, Result};

/// From this many outcomes on, the rows of a joint are computed on rayon's pool. A smaller joint is
/// microseconds of work, less than the thread wake-up of handing it to the pool, and on busy cores the
/// hand-off waits for a time slice: scoring a Table 1 Gadget 2 exactly (10,000 pairs x |Z| = 20 joints
/// of K = 10) took 37.7 s with both cores busy and 17.6 s idle through the pool, 12.6 s and 10.0 s
/// on the calling thread (2-core Intel Xeon; the same score to the byte either way).
const PARALLEL_FROM: usize = 32;

/// The exact joint of the Gumbel-max coupling of `p` and `q`.
pub fn gumbel_max_coupling(p: &Categorical, q: &Categorical) -> Result<Coupling> {
    p.check_same_len(q)?;
    let k = p.len();
    let shared = Shared::new(p.log_probs(), q.log_probs(), true);
    let row = |i| shared.row(i);
    let rows: Vec<Vec<f64>> = if k < PARALLEL_FROM {
        (0..k).map(row).collect()
    } else {
        (0..k).into_par_iter().map(row).collect()
    };
    let joint = Array2::from_shape_fn((k, k), |(i, j)| rows[i][j]);
    // Rounding can leave the total a few ulps from one; renormalising keeps the invariant of Coupling.
    let total = joint.sum();
    Coupling::new(joint / total)
}

/// P(x = y = i) by Proposition 1; zero when p_i or q_i is zero.
pub fn diagonal_entry(a: &[f64], b: &[f64], i: usize) -> f64 {
    if a[i] == f64::NEG_INFINITY || b[i] == f64::NEG_INFINITY {
        return 0.0;
    }
    let others: f64 =
        (0..a.len()).filter(|&k| k != i).map(|k| (a[k] - a[i]).max(b[k] - b[i]).exp()).sum();
    1.0 / (1.0 + others)
}

/// The exact counterfactual distribution P(y | x = observed) = pi(observed, y) / p(observed) under
/// the Gumbel-max SCM with interventional distribution `q`.
pub fn counterfactual_distribution(
    p: &Categorical,
    q: &Categorical,
    observed: usize,
) -> Result<Vec<f64>> {
    p.check_same_len(q)?;
    p.check_observation(observed)?;
    let row = Shared::new(p.log_probs(), q.log_probs(), false).row(observed);
    let mass: f64 = row.iter().sum();
    if !(mass > 0.0 && mass.is_finite()) {
        return Err(CoreError::Underflow { observed });
    }
    Ok(row.into_iter().map(|v| v / mass).collect())
}

/// What every entry of one joint shares (module docs).
struct Shared<'a> {
    /// log p.
    a: &'a [f64],
    /// log q.
    b: &'a [f64],
    /// The breakpoint keys b_k - a_k.
    key: Vec<f64>,
    /// The outcomes possible under p or q, by increasing key: the order of every entry's breakpoints.
    order: Vec<usize>,
    /// Row-major K x K: `q_ratio[j * K + k]` = exp(b_k - b_j) = q_k / q_j, tabulated for a whole joint
    /// (K x K itself); `None` for one row, whose entries compute their own column.
    q_ratio: Option<Vec<f64>>,
}

impl<'a> Shared<'a> {
    fn new(a: &'a [f64], b: &'a [f64], tabulate_q: bool) -> Self {
        let key: Vec<f64> = a.iter().zip(b).map(|(&ak, &bk)| bk - ak).collect();
        let mut order: Vec<usize> = (0..a.len())
            .filter(|&k| a[k] != f64::NEG_INFINITY || b[k] != f64::NEG_INFINITY)
            .collect();
        order.sort_by(|&x, &y| key[x].total_cmp(&key[y]));
        let q_ratio = tabulate_q
            .then(|| b.iter().flat_map(|&bj| b.iter().map(move |&bk| ratio(bk, bj))).collect());
        Self { a, b, key, order, q_ratio }
    }

    /// Row `i` of the joint: P(x = i, y = j) for every j.
    fn row(&self, i: usize) -> Vec<f64> {
        let k = self.a.len();
        if self.a[i] == f64::NEG_INFINITY {
            return vec![0.0; k];
        }
        let p_ratio: Vec<f64> = self.a.iter().map(|&ak| ratio(ak, self.a[i])).collect();
        let mut breakpoints = Vec::with_capacity(k);
        let mut q_column = Vec::new();
        (0..k)
            .map(|j| {
                if i == j {
                    diagonal_entry(self.a, self.b, i)
                } else {
                    self.off_diagonal_entry(i, j, &p_ratio, &mut q_column, &mut breakpoints)
                }
            })
            .collect()
    }

    /// exp(b_k - b_j) for every k: from the table, or computed into `column`.
    fn q_ratios<'s>(&'s self, j: usize, column: &'s mut Vec<f64>) -> &'s [f64] {
        let k = self.b.len();
        match &self.q_ratio {
            Some(table) => &table[j * k..(j + 1) * k],
            None => {
                column.clear();
                column.extend(self.b.iter().map(|&bk| ratio(bk, self.b[j])));
                column
            }
        }
    }

    /// P(x = i, y = j) for i != j, given `p_ratio[k]` = exp(a_k - a_i); `q_column` and `scratch` are
    /// reused across calls.
    fn off_diagonal_entry(
        &self,
        i: usize,
        j: usize,
        p_ratio: &[f64],
        q_column: &mut Vec<f64>,
        scratch: &mut Vec<Breakpoint>,
    ) -> f64 {
        let (a, b) = (self.a, self.b);
        if b[j] == f64::NEG_INFINITY {
            return 0.0;
        }
        let lo = b[i] - b[j];
        let hi = a[i] - a[j];
        if lo >= hi {
            return 0.0;
        }
        let q_ratio = self.q_ratios(j, q_column);
        let shift = b[j] - a[i];
        scratch.clear();
        let (mut alpha, mut beta) = (1.0, 1.0);
        for &k in self.order.iter().filter(|&&k| k != i && k != j) {
            let (above, below) = (p_ratio[k], q_ratio[k]);
            if above == 0.0 && below == 0.0 {
                continue;
            }
            let t = self.key[k] - shift;
            if t <= lo {
                alpha += above;
            } else if t >= hi {
                beta += below;
            } else {
                scratch.push(Breakpoint { t, above, below });
            }
        }
        // Piece m spans [d_m, d_{m+1}] with d_0 = lo, d_m = t_{m-1}, d_n+1 = hi; the breakpoints not yet
        // passed contribute `below` to beta, the passed ones `above` to alpha. Suffix sums avoid subtracting.
        let mut suffix_below = vec![0.0; scratch.len() + 1];
        for m in (0..scratch.len()).rev() {
            suffix_below[m] = suffix_below[m + 1] + scratch[m].below;
        }
        let mut total = 0.0;
        let mut passed_above = 0.0;
        let mut d0 = lo;
        for m in 0..=scratch.len() {
            let d1 = if m < scratch.len() { scratch[m].t } else { hi };
            total += piece(alpha + passed_above, beta + suffix_below[m], d0, d1);
            if m < scratch.len() {
                passed_above += scratch[m].above;
            }
            d0 = d1;
        }
        total
    }
}

/// exp(x - y) for log-probabilities x and finite y: the ratio of the probabilities, zero for x = -inf.
fn ratio(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        0.0
    } else {
        (x - y).exp()
    }
}

/// A breakpoint t_k inside the integration interval, with the two terms it switches between.
struct Breakpoint {
    t: f64,
    /// exp(a_k - a_i): the term for d >= t.
    above: f64,
    /// exp(b_k - b_j): the coefficient of exp(-d) for d < t.
    below: f64,
}

/// The integral of exp(-d) / (alpha + beta exp(-d))^2 over [d0, d1], d0 may be -inf and d1 +inf.
fn piece(alpha: f64, beta: f64, d0: f64, d1: f64) -> f64 {
    if d1 <= d0 {
        return 0.0;
    }
    let numerator = -(d0 - d1).exp_m1();
    let left = if d0 == f64::NEG_INFINITY { beta } else { alpha * d0.exp() + beta };
    let right = if d1 == f64::INFINITY { alpha } else { alpha + beta * (-d1).exp() };
    numerator / (left * right)
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;

    use super::*;

    #[test]
    fn two_outcomes_match_the_hand_solution() {
        // K = 2: Gumbel-max is monotone, P(x = y = 0) = min(p0, q0) and the mass moves one way only.
        let p = Categorical::from_probs(&[0.7, 0.3]).unwrap();
        let q = Categorical::from_probs(&[0.4, 0.6]).unwrap();
        let c = gumbel_max_coupling(&p, &q).unwrap();
        assert_abs_diff_eq!(c.joint()[[0, 0]], 0.4, epsilon = 1e-14);
        assert_abs_diff_eq!(c.joint()[[0, 1]], 0.3, epsilon = 1e-14);
        assert_abs_diff_eq!(c.joint()[[1, 0]], 0.0, epsilon = 0.0);
        assert_abs_diff_eq!(c.joint()[[1, 1]], 0.3, epsilon = 1e-14);
    }

    #[test]
    fn identical_distributions_couple_on_the_diagonal() {
        let p = Categorical::from_logits(&[0.3, -1.2, 2.0, 0.0]).unwrap();
        let c = gumbel_max_coupling(&p, &p).unwrap();
        assert_abs_diff_eq!(c.p_x_ne_y(), 0.0, epsilon = 1e-14);
    }

    #[test]
    fn piece_handles_infinite_ends() {
        // alpha = beta = 1 over the whole line: integral of e^-d / (1 + e^-d)^2 = 1.
        assert_abs_diff_eq!(
            piece(1.0, 1.0, f64::NEG_INFINITY, f64::INFINITY),
            1.0,
            epsilon = 1e-15
        );
        // Over [0, inf): 1/2.
        assert_abs_diff_eq!(piece(1.0, 1.0, 0.0, f64::INFINITY), 0.5, epsilon = 1e-15);
    }

    #[test]
    fn impossible_and_underflowing_observations_are_errors() {
        let p = Categorical::from_probs(&[0.5, 0.0, 0.5]).unwrap();
        let q = Categorical::from_probs(&[0.2, 0.3, 0.5]).unwrap();
        assert_eq!(
            counterfactual_distribution(&p, &q, 1),
            Err(CoreError::ImpossibleObservation { observed: 1 })
        );
        let tiny = Categorical::from_logits(&[0.0, -800.0]).unwrap();
        let r = counterfactual_distribution(&tiny, &q_two(), 1);
        assert!(r.is_ok() || r == Err(CoreError::Underflow { observed: 1 }));
        if let Ok(d) = r {
            assert!(d.iter().all(|v| v.is_finite()));
        }
    }

    fn q_two() -> Categorical {
        Categorical::from_probs(&[0.5, 0.5]).unwrap()
    }
}
