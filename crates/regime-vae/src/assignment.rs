//! The assignment problem (Hungarian algorithm with potentials, O(n^2 m)): the minimum-cost matching of
//! every row of an `n x m` cost matrix (`n <= m`) to a distinct column.

use ndarray::Array2;

use crate::error::{ensure, Result};

/// Minimum-cost assignment: returns, for each row, its column, and the total cost.
pub fn min_cost_assignment(cost: &Array2<f64>) -> Result<(Vec<usize>, f64)> {
    let (n, m) = cost.dim();
    ensure(n <= m, || format!("{n} rows cannot be matched to {m} columns"))?;
    ensure(cost.iter().all(|c| c.is_finite()), || "assignment costs must be finite".into())?;
    // 1-based arrays; column 0 is a virtual column holding the row being inserted.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut owner = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for row in 1..=n {
        owner[0] = row;
        let mut col0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[col0] = true;
            let r0 = owner[col0];
            let mut delta = f64::INFINITY;
            let mut col1 = 0;
            for c in 1..=m {
                if !used[c] {
                    let reduced = cost[[r0 - 1, c - 1]] - u[r0] - v[c];
                    if reduced < minv[c] {
                        minv[c] = reduced;
                        way[c] = col0;
                    }
                    if minv[c] < delta {
                        delta = minv[c];
                        col1 = c;
                    }
                }
            }
            for c in 0..=m {
                if used[c] {
                    u[owner[c]] += delta;
                    v[c] -= delta;
                } else {
                    minv[c] -= delta;
                }
            }
            col0 = col1;
            if owner[col0] == 0 {
                break;
            }
        }
        loop {
            let col1 = way[col0];
            owner[col0] = owner[col1];
            col0 = col1;
            if col0 == 0 {
                break;
            }
        }
    }
    let mut assigned = vec![0; n];
    for c in 1..=m {
        if owner[c] > 0 {
            assigned[owner[c] - 1] = c - 1;
        }
    }
    let total = assigned.iter().enumerate().map(|(r, &c)| cost[[r, c]]).sum();
    Ok((assigned, total))
}

#[cfg(test)]
mod tests {
    use ndarray::array;
    use rand::Rng;

    use super::*;

    fn brute_force(cost: &Array2<f64>) -> f64 {
        fn go(cost: &Array2<f64>, row: usize, used: &mut Vec<bool>) -> f64 {
            if row == cost.nrows() {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for c in 0..cost.ncols() {
                if !used[c] {
                    used[c] = true;
                    best = best.min(cost[[row, c]] + go(cost, row + 1, used));
                    used[c] = false;
                }
            }
            best
        }
        go(cost, 0, &mut vec![false; cost.ncols()])
    }

    #[test]
    fn matches_brute_force_on_random_matrices() {
        let mut rng = gumbel_core::rng::from_seed(4);
        for trial in 0..200 {
            let n = 1 + trial % 6;
            let m = n + trial % 2;
            let cost = Array2::from_shape_fn((n, m), |_| (rng.random_range(0..20) as f64) - 5.0);
            let (assigned, total) = min_cost_assignment(&cost).expect("valid");
            let mut seen = assigned.clone();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), n, "columns are distinct");
            assert!((total - brute_force(&cost)).abs() < 1e-9);
        }
    }

    #[test]
    fn hand_example_and_errors() {
        let cost = array![[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]];
        let (assigned, total) = min_cost_assignment(&cost).expect("valid");
        assert_eq!(assigned, vec![1, 0, 2]);
        assert_eq!(total, 5.0);
        assert!(min_cost_assignment(&Array2::zeros((3, 2))).is_err());
        assert!(min_cost_assignment(&array![[f64::NAN]]).is_err());
    }
}
