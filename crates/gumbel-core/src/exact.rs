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
//!
//! Range: the ratios p_k / p_i and q_k / q_j overflow f64 once a logit spread passes ~709, and
//! exp(+-d) at the ends of a piece likewise. Both answers stay right for any finite logits: a piece
//! whose alpha or beta overflows is below 2^-1024 and is zero (no inf x 0), so every joint entry is
//! exact to f64's absolute precision; and a counterfactual row given an observation of probability
//! below e^-575 runs the same sweep in logarithms ([`Scale`]), so its conditional keeps full relative
//! precision even where the joint's row has rounded to zero.

use ndarray::Array2;
use rayon::prelude::*;

use crate::categorical::Categorical;
use crate::coupling::Coupling;
use crate::error::{CoreError, Result};
use crate::logspace::logaddexp;

/// From this many outcomes on, the rows of a joint are computed on rayon's pool. A smaller joint is
/// microseconds of work, less than the thread wake-up of handing it to the pool, and on busy cores the
/// hand-off waits for a time slice: scoring a Table 1 Gadget 2 exactly (10,000 pairs x |Z| = 20 joints
/// of K = 10) took 37.7 s with both cores busy and 17.6 s idle through the pool, 12.6 s and 10.0 s
/// on the calling thread (2-core Intel Xeon; the same score to the byte either way).
const PARALLEL_FROM: usize = 32;

/// The smallest log p(x_obs) whose counterfactual row is computed with probabilities ([`Linear`]);
/// below it, with logarithms ([`Log`]). A linear entry loses at most 2^-1022 per piece (pieces
/// below f64's range round to zero, module docs of [`Scale`]), which is under 1e-250 x 2^-52 when
/// p(x_obs) >= 1e-250 = e^-575.6; a rarer observation's row would round away.
const LINEAR_ROW_FLOOR: f64 = -575.0;

/// The exact joint of the Gumbel-max coupling of `p` and `q`, for any finite logits: an entry below
/// f64's smallest positive number comes out as zero.
pub fn gumbel_max_coupling(p: &Categorical, q: &Categorical) -> Result<Coupling> {
    p.check_same_len(q)?;
    let k = p.len();
    let shared = Shared::<Linear>::new(p.log_probs(), q.log_probs(), true);
    let row = |i| shared.row(i);
    let rows: Vec<Vec<Linear>> = if k < PARALLEL_FROM {
        (0..k).map(row).collect()
    } else {
        (0..k).into_par_iter().map(row).collect()
    };
    let joint = Array2::from_shape_fn((k, k), |(i, j)| rows[i][j].0);
    // Rounding can leave the total a few ulps from one; renormalising keeps the invariant of Coupling.
    let total = joint.sum();
    Coupling::new(joint / total)
}

/// P(x = y = i) by Proposition 1; zero when p_i or q_i is zero.
pub fn diagonal_entry(a: &[f64], b: &[f64], i: usize) -> f64 {
    diagonal::<Linear>(a, b, i).0
}

/// Proposition 1 in the arithmetic `S`: 1 / (1 + sum_{k != i} max(p_k/p_i, q_k/q_i)).
fn diagonal<S: Scale>(a: &[f64], b: &[f64], i: usize) -> S {
    if a[i] == f64::NEG_INFINITY || b[i] == f64::NEG_INFINITY {
        return S::ZERO;
    }
    let others = (0..a.len())
        .filter(|&k| k != i)
        .map(|k| S::from_log((a[k] - a[i]).max(b[k] - b[i])))
        .fold(S::ZERO, S::add);
    S::ONE.div(S::ONE.add(others))
}

/// The exact counterfactual distribution P(y | x = observed) = pi(observed, y) / p(observed) under
/// the Gumbel-max SCM with interventional distribution `q`, for any finite logits and any possible
/// observation, however improbable (its row is then computed in logarithms, [`LINEAR_ROW_FLOOR`]).
pub fn counterfactual_distribution(
    p: &Categorical,
    q: &Categorical,
    observed: usize,
) -> Result<Vec<f64>> {
    p.check_same_len(q)?;
    p.check_observation(observed)?;
    let row: Vec<f64> = if p.log_probs()[observed] >= LINEAR_ROW_FLOOR {
        let row = Shared::<Linear>::new(p.log_probs(), q.log_probs(), false).row(observed);
        row.into_iter().map(|v| v.0).collect()
    } else {
        // Entries relative to the row's largest: in (0, 1], the largest exactly 1.
        let row = Shared::<Log>::new(p.log_probs(), q.log_probs(), false).row(observed);
        let logs: Vec<f64> = row.into_iter().map(|v| v.0).collect();
        let largest = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        logs.into_iter().map(|v| (v - largest).exp()).collect()
    };
    let mass: f64 = row.iter().sum();
    if !(mass > 0.0 && mass.is_finite()) {
        return Err(CoreError::Underflow { observed });
    }
    Ok(row.into_iter().map(|v| v / mass).collect())
}

/// The number system an entry is computed in. Every quantity of the sweep is a non-negative sum of
/// products of ratios of probabilities, so either representation is exact up to rounding:
///
/// - [`Linear`], the probabilities themselves: fast (no logarithm in the inner loop). A ratio beyond
///   f64's range is `inf` and makes its piece's alpha or beta infinite; the piece is then below
///   1 / alpha or 1 / beta < 2^-1024 and is taken as zero (computing it would give inf x 0 = NaN).
///   Entries below 2^-1022 lose their relative precision; a joint, whose entries are compared with
///   one, does not mind.
/// - [`Log`], their natural logarithms: no overflow or underflow for any finite logits, at the price
///   of an exp and a log1p per addition; for one row of an improbable observation.
trait Scale: Copy + PartialEq + Send + Sync {
    /// The number 0.
    const ZERO: Self;
    /// The number 1.
    const ONE: Self;
    /// The number whose natural logarithm is `log` (`-inf` gives zero).
    fn from_log(log: f64) -> Self;
    /// The non-negative number `value`.
    fn from_value(value: f64) -> Self;
    /// The sum.
    fn add(self, other: Self) -> Self;
    /// The product.
    fn mul(self, other: Self) -> Self;
    /// The quotient.
    fn div(self, other: Self) -> Self;
    /// Whether the number is within f64's range (always for [`Log`]).
    fn is_finite(self) -> bool;
}

/// A probability held as itself ([`Scale`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Linear(f64);

impl Scale for Linear {
    const ZERO: Self = Linear(0.0);
    const ONE: Self = Linear(1.0);
    fn from_log(log: f64) -> Self {
        Linear(log.exp())
    }
    fn from_value(value: f64) -> Self {
        Linear(value)
    }
    fn add(self, other: Self) -> Self {
        Linear(self.0 + other.0)
    }
    fn mul(self, other: Self) -> Self {
        Linear(self.0 * other.0)
    }
    fn div(self, other: Self) -> Self {
        Linear(self.0 / other.0)
    }
    fn is_finite(self) -> bool {
        self.0.is_finite()
    }
}

/// A probability held as its natural logarithm ([`Scale`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Log(f64);

impl Scale for Log {
    const ZERO: Self = Log(f64::NEG_INFINITY);
    const ONE: Self = Log(0.0);
    fn from_log(log: f64) -> Self {
        Log(log)
    }
    fn from_value(value: f64) -> Self {
        Log(value.ln())
    }
    fn add(self, other: Self) -> Self {
        Log(logaddexp(self.0, other.0))
    }
    fn mul(self, other: Self) -> Self {
        Log(self.0 + other.0)
    }
    fn div(self, other: Self) -> Self {
        Log(self.0 - other.0)
    }
    fn is_finite(self) -> bool {
        self.0 < f64::INFINITY
    }
}

/// What every entry of one joint shares (module docs).
struct Shared<'a, S> {
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
    q_ratio: Option<Vec<S>>,
}

impl<'a, S: Scale> Shared<'a, S> {
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
    fn row(&self, i: usize) -> Vec<S> {
        let k = self.a.len();
        if self.a[i] == f64::NEG_INFINITY {
            return vec![S::ZERO; k];
        }
        let p_ratio: Vec<S> = self.a.iter().map(|&ak| ratio(ak, self.a[i])).collect();
        let mut breakpoints = Vec::with_capacity(k);
        let mut q_column = Vec::new();
        (0..k)
            .map(|j| {
                if i == j {
                    diagonal(self.a, self.b, i)
                } else {
                    self.off_diagonal_entry(i, j, &p_ratio, &mut q_column, &mut breakpoints)
                }
            })
            .collect()
    }

    /// exp(b_k - b_j) for every k: from the table, or computed into `column`.
    fn q_ratios<'s>(&'s self, j: usize, column: &'s mut Vec<S>) -> &'s [S] {
        let k = self.b.len();
        match &self.q_ratio {
            Some(table) => &table[j * k..(j + 1) * k],
            None => {
                column.clear();
                column.extend(self.b.iter().map(|&bk| ratio::<S>(bk, self.b[j])));
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
        p_ratio: &[S],
        q_column: &mut Vec<S>,
        scratch: &mut Vec<Breakpoint<S>>,
    ) -> S {
        let (a, b) = (self.a, self.b);
        if b[j] == f64::NEG_INFINITY {
            return S::ZERO;
        }
        let lo = b[i] - b[j];
        let hi = a[i] - a[j];
        if lo >= hi {
            return S::ZERO;
        }
        let q_ratio = self.q_ratios(j, q_column);
        let shift = b[j] - a[i];
        scratch.clear();
        let (mut alpha, mut beta) = (S::ONE, S::ONE);
        for &k in self.order.iter().filter(|&&k| k != i && k != j) {
            let (above, below) = (p_ratio[k], q_ratio[k]);
            if above == S::ZERO && below == S::ZERO {
                continue;
            }
            let t = self.key[k] - shift;
            if t <= lo {
                alpha = alpha.add(above);
            } else if t >= hi {
                beta = beta.add(below);
            } else {
                scratch.push(Breakpoint { t, above, below });
            }
        }
        // Piece m spans [d_m, d_{m+1}] with d_0 = lo, d_m = t_{m-1}, d_n+1 = hi; the breakpoints not yet
        // passed contribute `below` to beta, the passed ones `above` to alpha. Suffix sums avoid subtracting.
        let mut suffix_below = vec![S::ZERO; scratch.len() + 1];
        for m in (0..scratch.len()).rev() {
            suffix_below[m] = suffix_below[m + 1].add(scratch[m].below);
        }
        let mut total = S::ZERO;
        let mut passed_above = S::ZERO;
        let mut d0 = lo;
        for m in 0..=scratch.len() {
            let d1 = if m < scratch.len() { scratch[m].t } else { hi };
            total = total.add(piece(alpha.add(passed_above), beta.add(suffix_below[m]), d0, d1));
            if m < scratch.len() {
                passed_above = passed_above.add(scratch[m].above);
            }
            d0 = d1;
        }
        total
    }
}

/// exp(x - y) for log-probabilities x and finite y: the ratio of the probabilities, zero for x = -inf.
fn ratio<S: Scale>(x: f64, y: f64) -> S {
    if x == f64::NEG_INFINITY {
        S::ZERO
    } else {
        S::from_log(x - y)
    }
}

/// A breakpoint t_k inside the integration interval, with the two terms it switches between.
struct Breakpoint<S> {
    t: f64,
    /// exp(a_k - a_i): the term for d >= t.
    above: S,
    /// exp(b_k - b_j): the coefficient of exp(-d) for d < t.
    below: S,
}

/// The integral of exp(-d) / (alpha + beta exp(-d))^2 over [d0, d1], d0 may be -inf and d1 +inf;
/// alpha, beta >= 1. It is at most 1 / (alpha beta), hence zero when alpha or beta is beyond f64's
/// range ([`Scale`]).
fn piece<S: Scale>(alpha: S, beta: S, d0: f64, d1: f64) -> S {
    if d1 <= d0 || !alpha.is_finite() || !beta.is_finite() {
        return S::ZERO;
    }
    let numerator = S::from_value(-(d0 - d1).exp_m1());
    let left = if d0 == f64::NEG_INFINITY { beta } else { alpha.mul(S::from_log(d0)).add(beta) };
    let right = if d1 == f64::INFINITY { alpha } else { alpha.add(beta.mul(S::from_log(-d1))) };
    numerator.div(left.mul(right))
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
            piece(Linear(1.0), Linear(1.0), f64::NEG_INFINITY, f64::INFINITY).0,
            1.0,
            epsilon = 1e-15
        );
        // Over [0, inf): 1/2.
        assert_abs_diff_eq!(
            piece(Linear(1.0), Linear(1.0), 0.0, f64::INFINITY).0,
            0.5,
            epsilon = 1e-15
        );
    }

    #[test]
    fn impossible_and_underflowing_observations_are_errors() {
        let p = Categorical::from_probs(&[0.5, 0.0, 0.5]).unwrap();
        let q = Categorical::from_probs(&[0.2, 0.3, 0.5]).unwrap();
        assert_eq!(
            counterfactual_distribution(&p, &q, 1),
            Err(CoreError::ImpossibleObservation { observed: 1 })
        );
    }

    #[test]
    fn improbable_observations_have_exact_counterfactuals() {
        // K = 2 is monotone: given x = 1 with p_1 = e^-800 <= q_1 = 1/2, y = 1 surely; with
        // q_1 = e^-801 < p_1 the share q_1 / p_1 = e^-1 stays and the rest moves to y = 0.
        let tiny = Categorical::from_logits(&[0.0, -800.0]).unwrap();
        assert_eq!(counterfactual_distribution(&tiny, &q_two(), 1).unwrap(), vec![0.0, 1.0]);
        let tinier = Categorical::from_logits(&[0.0, -801.0]).unwrap();
        let d = counterfactual_distribution(&tiny, &tinier, 1).unwrap();
        let stay = (-1.0f64).exp();
        assert_abs_diff_eq!(d[1], stay, epsilon = 1e-13);
        assert_abs_diff_eq!(d[0], 1.0 - stay, epsilon = 1e-13);
    }

    #[test]
    fn logarithmic_rows_equal_linear_rows() {
        // The two arithmetics of Scale on one sweep, where both are in range: a mistake in either
        // (a term missed, a sign, a wrong identity) shows as a difference far above rounding.
        let cases: [(&[f64], &[f64]); 3] = [
            (&[0.3, -1.2, 2.0, 0.0, -0.5], &[-0.7, 0.4, 1.1, -2.0, 0.9]),
            (
                &[0.5, f64::NEG_INFINITY, 1.0, -0.3, -40.0],
                &[f64::NEG_INFINITY, 0.1, 0.7, -30.0, 0.4],
            ),
            (&[25.0, 0.0, -3.0, 1.0], &[0.0, 24.0, 0.5, -2.0]),
        ];
        for (a, b) in cases {
            let (p, q) =
                (Categorical::from_logits(a).unwrap(), Categorical::from_logits(b).unwrap());
            let (a, b) = (p.log_probs(), q.log_probs());
            for tabulate in [false, true] {
                let linear = Shared::<Linear>::new(a, b, tabulate);
                let log = Shared::<Log>::new(a, b, tabulate);
                for i in (0..a.len()).filter(|&i| p.is_possible(i)) {
                    for (x, l) in linear.row(i).iter().zip(log.row(i)) {
                        let expected = x.0;
                        let found = l.0.exp();
                        assert!(
                            (found - expected).abs() <= 1e-13 * expected,
                            "row {i}: {found} vs {expected}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn overflowing_ratios_give_zero_pieces_not_nan() {
        // alpha = inf and d0 far below zero: the direct formula is inf x 0.
        let v = piece(Linear(f64::INFINITY), Linear(1.0), -800.0, 1.0);
        assert_eq!(v.0, 0.0);
        let v = piece(Linear(1.0), Linear(f64::INFINITY), -1.0, 800.0);
        assert_eq!(v.0, 0.0);
    }

    fn q_two() -> Categorical {
        Categorical::from_probs(&[0.5, 0.5]).unwrap()
    }
}
