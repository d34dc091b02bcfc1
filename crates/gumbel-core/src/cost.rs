//! Cost matrices C over pairs of outcomes: the losses the couplings are compared on.

use ndarray::Array2;

use crate::error::{CoreError, Result};

/// A validated K x K cost matrix with finite entries; C[i, j] is the cost of the pair (x = i, y = j).
#[derive(Debug, Clone, PartialEq)]
pub struct CostMatrix {
    matrix: Array2<f64>,
}

impl CostMatrix {
    /// From a square matrix of finite entries.
    pub fn new(matrix: Array2<f64>) -> Result<Self> {
        let (rows, cols) = matrix.dim();
        if rows != cols {
            return Err(CoreError::NotSquare { what: "cost matrix", rows, cols });
        }
        if rows == 0 {
            return Err(CoreError::Empty);
        }
        if let Some(((i, j), &value)) = matrix.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(CoreError::InvalidEntry { what: "cost matrix", position: (i, j), value });
        }
        Ok(Self { matrix })
    }

    /// From nested rows (as parsed from JSON).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self> {
        let k = rows.len();
        if let Some(bad) = rows.iter().find(|r| r.len() != k) {
            return Err(CoreError::NotSquare { what: "cost matrix", rows: k, cols: bad.len() });
        }
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        let matrix = Array2::from_shape_vec((k, k), flat).map_err(|_| CoreError::Empty)?;
        Self::new(matrix)
    }

    /// C = 1 - I: the expected cost is P(x != y) (Section 7.1).
    pub fn mismatch(k: usize) -> Self {
        Self { matrix: Array2::from_shape_fn((k, k), |(i, j)| f64::from(u8::from(i != j))) }
    }

    /// C_ij = (i - j)^2 on outcome indices (Section 7.2, Table 1 columns 1-2).
    pub fn squared_index(k: usize) -> Self {
        Self { matrix: Array2::from_shape_fn((k, k), |(i, j)| (i as f64 - j as f64).powi(2)) }
    }

    /// C_ij = (h_i - h_j)^2 for a reward vector h (Table 1 columns 3-4, Section 7.3).
    pub fn squared_reward(h: &[f64]) -> Result<Self> {
        if let Some((i, &value)) = h.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(CoreError::InvalidEntry { what: "reward", position: (i, 0), value });
        }
        Self::new(Array2::from_shape_fn((h.len(), h.len()), |(i, j)| (h[i] - h[j]).powi(2)))
    }

    /// K.
    pub fn len(&self) -> usize {
        self.matrix.nrows()
    }

    /// Always false: a cost matrix has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.matrix.is_empty()
    }

    /// The matrix.
    pub fn matrix(&self) -> &Array2<f64> {
        &self.matrix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cost_matrices_are_typed_errors() {
        assert!(matches!(CostMatrix::new(Array2::zeros((2, 3))), Err(CoreError::NotSquare { .. })));
        let mut m = Array2::zeros((2, 2));
        m[[1, 0]] = f64::NAN;
        assert!(matches!(
            CostMatrix::new(m),
            Err(CoreError::InvalidEntry { position: (1, 0), .. })
        ));
        assert!(matches!(
            CostMatrix::from_rows(&[vec![0.0, 1.0], vec![1.0]]),
            Err(CoreError::NotSquare { .. })
        ));
        assert!(CostMatrix::squared_reward(&[0.0, f64::INFINITY]).is_err());
        assert_eq!(CostMatrix::squared_index(3).matrix()[[0, 2]], 4.0);
        assert_eq!(CostMatrix::mismatch(3).matrix()[[1, 1]], 0.0);
    }
}
