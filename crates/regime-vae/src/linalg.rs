//! Small dense linear algebra: Gaussian elimination with partial pivoting, enough for the EM M-step and
//! the exact regime means (systems of at most a few dozen unknowns).

use ndarray::{Array1, Array2};

use crate::error::{RegimeVaeError, Result};

/// Solves `a x = b` for square `a` by Gaussian elimination with partial pivoting.
pub fn solve(a: &Array2<f64>, b: &Array1<f64>) -> Result<Array1<f64>> {
    let n = a.nrows();
    if a.ncols() != n || b.len() != n {
        return Err(RegimeVaeError::Shape(format!(
            "solve: {}x{} matrix, {} right-hand side",
            n,
            a.ncols(),
            b.len()
        )));
    }
    let mut m = a.clone();
    let mut x = b.clone();
    let scale = m.iter().fold(0.0_f64, |s, v| s.max(v.abs())).max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&r, &s| m[[r, col]].abs().total_cmp(&m[[s, col]].abs()))
            .unwrap_or(col);
        if m[[pivot, col]].abs() <= 1e-12 * scale {
            return Err(RegimeVaeError::Singular(format!(
                "pivot {col} of a {n}x{n} system vanishes"
            )));
        }
        if pivot != col {
            for c in 0..n {
                m.swap([pivot, c], [col, c]);
            }
            x.swap(pivot, col);
        }
        for r in (col + 1)..n {
            let f = m[[r, col]] / m[[col, col]];
            if f != 0.0 {
                for c in col..n {
                    m[[r, c]] -= f * m[[col, c]];
                }
                x[r] -= f * x[col];
            }
        }
    }
    for col in (0..n).rev() {
        let tail: f64 = ((col + 1)..n).map(|c| m[[col, c]] * x[c]).sum();
        x[col] = (x[col] - tail) / m[[col, col]];
    }
    if x.iter().all(|v| v.is_finite()) {
        Ok(x)
    } else {
        Err(RegimeVaeError::NonFinite("solution of a linear system".into()))
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    use super::*;

    #[test]
    fn solves_a_pivoting_system() {
        let a = array![[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]];
        let x = array![1.0, -2.0, 0.5];
        let b = a.dot(&x);
        let got = solve(&a, &b).expect("regular");
        for (g, w) in got.iter().zip(x.iter()) {
            assert_abs_diff_eq!(g, w, epsilon = 1e-12);
        }
    }

    #[test]
    fn singular_and_misshapen_systems_are_errors() {
        assert!(solve(&array![[1.0, 2.0], [2.0, 4.0]], &array![1.0, 2.0]).is_err());
        assert!(solve(&array![[1.0, 2.0]], &array![1.0]).is_err());
    }
}
