//! A coupling: a joint distribution pi over (x, y) in K x K, with the summaries the paper reports.

use ndarray::Array2;

use crate::categorical::Categorical;
use crate::cost::CostMatrix;
use crate::error::{CoreError, Result};

/// Tolerance on the total mass of a joint given to [`Coupling::new`].
pub const JOINT_SUM_TOLERANCE: f64 = 1e-9;

/// A K x K joint distribution of (x, y): non-negative, finite, summing to one.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupling {
    joint: Array2<f64>,
}

impl Coupling {
    /// From a joint matrix (rows x, columns y).
    pub fn new(joint: Array2<f64>) -> Result<Self> {
        let (rows, cols) = joint.dim();
        if rows != cols {
            return Err(CoreError::NotSquare { what: "joint", rows, cols });
        }
        if rows == 0 {
            return Err(CoreError::Empty);
        }
        if let Some(((i, j), &value)) =
            joint.indexed_iter().find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(CoreError::InvalidEntry { what: "joint", position: (i, j), value });
        }
        let sum = joint.sum();
        if (sum - 1.0).abs() > JOINT_SUM_TOLERANCE {
            return Err(CoreError::JointNotNormalised { sum, tolerance: JOINT_SUM_TOLERANCE });
        }
        Ok(Self { joint })
    }

    /// The empirical joint of sampled pairs, from a K x K table of counts.
    pub fn from_counts(counts: &Array2<u64>) -> Result<Self> {
        let total: u64 = counts.sum();
        if total == 0 {
            return Err(CoreError::ZeroCount { what: "number of sampled pairs" });
        }
        Self::new(counts.mapv(|c| c as f64 / total as f64))
    }

    /// The empirical joint of sampled pairs (x, y), each in `0..k`.
    pub fn from_samples(k: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Result<Self> {
        let mut counts = Array2::<u64>::zeros((k, k));
        for (x, y) in pairs {
            if x >= k || y >= k {
                return Err(CoreError::ObservationOutOfRange { observed: x.max(y), len: k });
            }
            counts[[x, y]] += 1;
        }
        Self::from_counts(&counts)
    }

    /// K.
    pub fn len(&self) -> usize {
        self.joint.nrows()
    }

    /// Always false: a coupling has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.joint.is_empty()
    }

    /// The joint matrix, rows x and columns y.
    pub fn joint(&self) -> &Array2<f64> {
        &self.joint
    }

    /// The joint as nested rows (for JSON).
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.joint.rows().into_iter().map(|r| r.to_vec()).collect()
    }

    /// P(x = i) = sum_j pi_ij.
    pub fn x_marginal(&self) -> Vec<f64> {
        self.joint.rows().into_iter().map(|r| r.sum()).collect()
    }

    /// P(y = j) = sum_i pi_ij.
    pub fn y_marginal(&self) -> Vec<f64> {
        self.joint.columns().into_iter().map(|c| c.sum()).collect()
    }

    /// Checks |P(x = i) - p_i| <= tolerance and |P(y = j) - q_j| <= tolerance for every outcome.
    pub fn check_marginals(&self, p: &Categorical, q: &Categorical, tolerance: f64) -> Result<()> {
        for (side, marginal, target) in
            [("row", self.x_marginal(), p), ("column", self.y_marginal(), q)]
        {
            if target.len() != self.len() {
                return Err(CoreError::LengthMismatch {
                    what: side,
                    expected: self.len(),
                    found: target.len(),
                });
            }
            for (index, (&found, expected)) in marginal.iter().zip(target.probs()).enumerate() {
                if (found - expected).abs() > tolerance {
                    return Err(CoreError::MarginalMismatch {
                        side,
                        index,
                        expected,
                        found,
                        tolerance,
                    });
                }
            }
        }
        Ok(())
    }

    /// P(x = y) = trace(pi).
    pub fn p_x_eq_y(&self) -> f64 {
        self.joint.diag().sum()
    }

    /// P(x != y) = 1 - trace(pi): the expected cost under C = 1 - I.
    pub fn p_x_ne_y(&self) -> f64 {
        1.0 - self.p_x_eq_y()
    }

    /// E[C(x, y)] = sum_ij pi_ij C_ij.
    pub fn expected_cost(&self, cost: &CostMatrix) -> Result<f64> {
        if cost.len() != self.len() {
            return Err(CoreError::LengthMismatch {
                what: "cost matrix",
                expected: self.len(),
                found: cost.len(),
            });
        }
        Ok((&self.joint * cost.matrix()).sum())
    }

    /// Var[h1(x) - h2(y)] = E[(h1(x) - h2(y))^2] - (E[h1(x)] - E[h2(y)])^2, exact under this joint.
    pub fn variance(&self, h1: &[f64], h2: &[f64]) -> Result<f64> {
        for (what, h) in [("h1", h1), ("h2", h2)] {
            if h.len() != self.len() {
                return Err(CoreError::LengthMismatch {
                    what,
                    expected: self.len(),
                    found: h.len(),
                });
            }
            if let Some((i, &value)) = h.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(CoreError::InvalidEntry { what, position: (i, 0), value });
            }
        }
        let mut mean = 0.0;
        let mut second = 0.0;
        for ((i, j), &w) in self.joint.indexed_iter() {
            let d = h1[i] - h2[j];
            mean += w * d;
            second += w * d * d;
        }
        Ok((second - mean * mean).max(0.0))
    }

    /// P(y | x = i) = pi_ij / sum_j pi_ij; errors when P(x = i) = 0.
    pub fn conditional_given_x(&self, i: usize) -> Result<Vec<f64>> {
        if i >= self.len() {
            return Err(CoreError::ObservationOutOfRange { observed: i, len: self.len() });
        }
        let row = self.joint.row(i);
        let mass = row.sum();
        if mass <= 0.0 {
            return Err(CoreError::ImpossibleObservation { observed: i });
        }
        Ok(row.iter().map(|v| v / mass).collect())
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    use super::*;

    #[test]
    fn summaries_of_a_hand_solved_joint() {
        let c = Coupling::new(array![[0.3, 0.1], [0.2, 0.4]]).unwrap();
        assert_abs_diff_eq!(c.p_x_ne_y(), 0.3, epsilon = 1e-15);
        assert_abs_diff_eq!(c.x_marginal()[1], 0.6, epsilon = 1e-15);
        assert_abs_diff_eq!(c.y_marginal()[0], 0.5, epsilon = 1e-15);
        // h = (0, 1): x - y is 0 w.p. 0.7, -1 w.p. 0.1, +1 w.p. 0.2: mean 0.1, E[d^2] 0.3, var 0.29.
        assert_abs_diff_eq!(c.variance(&[0.0, 1.0], &[0.0, 1.0]).unwrap(), 0.29, epsilon = 1e-15);
        assert_abs_diff_eq!(
            c.expected_cost(&CostMatrix::squared_index(2)).unwrap(),
            0.3,
            epsilon = 1e-15
        );
        assert_abs_diff_eq!(c.conditional_given_x(0).unwrap()[0], 0.75, epsilon = 1e-15);
        let p = Categorical::from_probs(&[0.4, 0.6]).unwrap();
        let q = Categorical::from_probs(&[0.5, 0.5]).unwrap();
        assert!(c.check_marginals(&p, &q, 1e-12).is_ok());
        assert!(matches!(
            c.check_marginals(&q, &q, 1e-12),
            Err(CoreError::MarginalMismatch { side: "row", .. })
        ));
    }

    #[test]
    fn bad_joints_are_typed_errors() {
        assert!(matches!(Coupling::new(array![[0.5, 0.5]]), Err(CoreError::NotSquare { .. })));
        assert!(matches!(
            Coupling::new(array![[0.5, 0.6], [0.0, 0.0]]),
            Err(CoreError::JointNotNormalised { .. })
        ));
        assert!(matches!(
            Coupling::new(array![[1.5, -0.5], [0.0, 0.0]]),
            Err(CoreError::InvalidEntry { .. })
        ));
        let c = Coupling::new(array![[1.0, 0.0], [0.0, 0.0]]).unwrap();
        assert!(c.conditional_given_x(1).is_err());
        assert!(c.variance(&[0.0], &[0.0, 1.0]).is_err());
        assert!(Coupling::from_samples(2, [(0, 2)]).is_err());
        assert!(Coupling::from_counts(&Array2::zeros((2, 2))).is_err());
    }
}
