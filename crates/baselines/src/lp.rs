//! The LP-optimal coupling: min_pi sum_ij pi_ij C_ij subject to the marginals (the Table 1 row
//! "Optimal (LP)"; Bertsimas & Tsitsiklis 1997), by one of two pure-Rust solvers (no system library):
//! the general LP through good_lp with the microlp backend (revised simplex), or the transportation
//! simplex of [`crate::network_simplex`], the default: 8 times faster at K = 10, 23 times at K = 146 and
//! 37 times at K = 500 (docs/baselines.md has the timings). Each checks the other in the tests.
//!
//! For good_lp, the K^2 variables pi_ij >= 0 have K row constraints sum_j pi_ij = p_i and K - 1 column
//! constraints sum_i pi_ij = q_j: the last column constraint follows from the others (both
//! marginals sum to one) and is left out, so that rounding in sum p - sum q cannot make the
//! system infeasible.

use good_lp::{microlp, variable, variables, Expression, Solution, SolverModel, Variable};
use gumbel_core::{Categorical, CostMatrix, Coupling};
use ndarray::Array2;

use crate::error::{BaselineError, Result};
use crate::network_simplex::network_simplex_coupling;

/// The largest marginal error accepted from the solver before renormalising.
pub const MARGINAL_TOLERANCE: f64 = 1e-9;

/// The solver behind [`lp_optimal_coupling_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LpSolver {
    /// The transportation simplex ([`crate::network_simplex`]).
    #[default]
    NetworkSimplex,
    /// The general LP through good_lp and microlp.
    MicroLp,
}

/// An optimal coupling of p and q for `cost` (one of them, when the optimum is not unique), by the
/// default solver.
pub fn lp_optimal_coupling(
    p: &Categorical,
    q: &Categorical,
    cost: &CostMatrix,
) -> Result<Coupling> {
    lp_optimal_coupling_with(p, q, cost, LpSolver::default())
}

/// An optimal coupling of p and q for `cost` by `solver`.
pub fn lp_optimal_coupling_with(
    p: &Categorical,
    q: &Categorical,
    cost: &CostMatrix,
    solver: LpSolver,
) -> Result<Coupling> {
    match solver {
        LpSolver::MicroLp => microlp_optimal_coupling(p, q, cost),
        LpSolver::NetworkSimplex => network_simplex_coupling(p, q, cost),
    }
}

/// K, after checking that p, q and the K x K cost have the same number of outcomes.
pub(crate) fn checked_len(p: &Categorical, q: &Categorical, cost: &CostMatrix) -> Result<usize> {
    p.check_same_len(q)?;
    let k = p.len();
    if cost.len() != k {
        return Err(gumbel_core::CoreError::LengthMismatch {
            what: "cost matrix",
            expected: k,
            found: cost.len(),
        }
        .into());
    }
    Ok(k)
}

/// The general LP through good_lp + microlp.
fn microlp_optimal_coupling(
    p: &Categorical,
    q: &Categorical,
    cost: &CostMatrix,
) -> Result<Coupling> {
    let k = checked_len(p, q, cost)?;
    let (pp, qq) = (p.probs(), q.probs());
    let c = cost.matrix();
    let mut vars = variables!();
    let pi: Vec<Variable> = vars.add_vector(variable().min(0.0), k * k);
    let objective: Expression = pi.iter().enumerate().map(|(n, &v)| c[[n / k, n % k]] * v).sum();
    let mut model = vars.minimise(objective).using(microlp);
    for (i, &pi_row) in pp.iter().enumerate() {
        let row: Expression = pi[i * k..(i + 1) * k].iter().sum();
        model.add_constraint(row.eq(pi_row));
    }
    for (j, &qj) in qq.iter().enumerate().take(k - 1) {
        let column: Expression = (0..k).map(|i| pi[i * k + j]).sum();
        model.add_constraint(column.eq(qj));
    }
    let solution = model.solve().map_err(|e| BaselineError::Solver(e.to_string()))?;
    finish(Array2::from_shape_fn((k, k), |(i, j)| solution.value(pi[i * k + j])), &pp, &qq)
}

/// A solver's joint as a coupling: negative rounding clamped to zero, both marginals checked within
/// [`MARGINAL_TOLERANCE`], the total renormalised.
pub(crate) fn finish(joint: Array2<f64>, pp: &[f64], qq: &[f64]) -> Result<Coupling> {
    let joint = joint.mapv(|v| v.max(0.0));
    let row_error = marginal_error(joint.rows().into_iter().map(|r| r.sum()), pp);
    let column_error = marginal_error(joint.columns().into_iter().map(|c| c.sum()), qq);
    let error = row_error.max(column_error);
    // NaN must fail too, hence not `error > tolerance`.
    if error.is_nan() || error > MARGINAL_TOLERANCE {
        return Err(BaselineError::InaccurateSolution { error, tolerance: MARGINAL_TOLERANCE });
    }
    let total = joint.sum();
    Ok(Coupling::new(joint / total)?)
}

/// max_i |found_i - expected_i|.
fn marginal_error(found: impl Iterator<Item = f64>, expected: &[f64]) -> f64 {
    found.zip(expected).map(|(f, e)| (f - e).abs()).fold(0.0, f64::max)
}
