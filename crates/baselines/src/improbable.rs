//! The LP-optimal counterfactual row of an observation x whose probability p(x) is below the LP's
//! accuracy (its joint row is p(x) spread over columns, computed beside flows of order one and
//! checked only to [`crate::lp::MARGINAL_TOLERANCE`]), found from the duals instead of the row.
//!
//! Write p = (1 - e) p' + e 1_x with e = p(x) and p' the other outcomes renormalised. Solve the LP
//! of (p', q): an optimal basis tree with duals u, v (u_i + v_j = C_ij on its cells, C_ij - u_i -
//! v_j >= 0 on all). Suppose its cells of positive flow span the possible outcomes (rows i != x with
//! p_i > 0, columns with q_j > 0, read from the logits, so that one whose probability rounds to
//! zero counts) as a tree, every flow above 2e: the vertex is nondegenerate, so
//! v is the unique optimal dual on those columns (up to a common shift). Take j* minimising
//! C(x, j) - v_j over the possible columns and add the cell (x, j*) with u_x = C(x, j*) - v_j*:
//! every reduced cost of row x is then >= 0, so the tree stays dual feasible; sending e along it,
//! every flow of the tree changes by at most e (a cell's flow is the net supply on one side of it,
//! which moves by e (1_x - p') summed over that side, in [-e, e]), so all stay positive. The tree
//! is then optimal for (p, q), and row x of its coupling is e at j*: P(y | x) = 1_{j*}, exactly,
//! for this p(x) and every smaller one; it is the limit as p(x) -> 0.
//!
//! Ties: when several columns attain the minimum (within the simplex's pricing tolerance), each
//! one's tree is optimal, so each point mass is the counterfactual row of an LP-optimal coupling
//! (the optimum is not unique, and the LP itself picks one); the lowest index is returned.
//!
//! When the check fails (a degenerate vertex: some flow is zero or below 2e, which includes
//! possible outcomes of probability below that), the optimal duals need not be unique and the row
//! is not determined by them; [`improbable_counterfactual`] returns None.

use gumbel_core::{Categorical, CostMatrix};

use crate::error::Result;
use crate::lp::checked_len;
use crate::network_simplex::optimal_basis;

/// A flow at or below this (or below 2 p(x)) is taken as zero: the rounding of flows of order one.
const FLOW_FLOOR: f64 = 1e-12;

/// P(y | x = `observed`) of the LP-optimal coupling of p and q for `cost` from the duals of the LP
/// without x (the module's argument), or None when that LP's vertex is degenerate.
pub fn improbable_counterfactual(
    p: &Categorical,
    q: &Categorical,
    cost: &CostMatrix,
    observed: usize,
) -> Result<Option<Vec<f64>>> {
    let k = checked_len(p, q, cost)?;
    p.check_observation(observed)?;
    let (mut pp, qq) = (p.probs(), q.probs());
    let e = pp[observed];
    pp[observed] = 0.0;
    let rest: f64 = pp.iter().sum();
    if rest <= 0.0 {
        // x holds all of p's mass: no row of it is improbable.
        return Ok(None);
    }
    pp.iter_mut().for_each(|v| *v /= rest);
    let optimum = optimal_basis(&pp, &qq, cost.matrix())?;

    // The cells of positive flow must join the possible rows and columns into one tree: with
    // union-find over the 2K nodes, as many joining cells as nodes less one (a subset of a tree
    // has no cycle).
    let floor = FLOW_FLOOR.max(2.0 * e);
    // Possible in log space: an outcome whose probability rounds to zero still counts, and then
    // has no flow above the floor.
    let possible_rows = (0..k).filter(|&i| i != observed && p.is_possible(i)).count();
    let possible_columns = (0..k).filter(|&j| q.is_possible(j)).count();
    let mut parent: Vec<usize> = (0..2 * k).collect();
    let mut joined = 0;
    for (&(i, j), &flow) in optimum.basis.iter().zip(&optimum.flow) {
        if flow > floor && i != observed && p.is_possible(i) && q.is_possible(j) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, k + j));
            if a != b {
                parent[a] = b;
                joined += 1;
            }
        }
    }
    if joined + 1 != possible_rows + possible_columns {
        return Ok(None);
    }
    let c = cost.matrix();
    let score = |j: usize| c[[observed, j]] - optimum.dual[k + j];
    let columns = || (0..k).filter(|&j| q.is_possible(j));
    let best = columns().map(score).fold(f64::INFINITY, f64::min);
    let Some(chosen) = columns().find(|&j| score(j) <= best + optimum.tolerance) else {
        return Ok(None);
    };
    let mut row = vec![0.0; k];
    row[chosen] = 1.0;
    Ok(Some(row))
}

/// The root of `node` in a union-find forest.
fn root(parent: &mut [usize], mut node: usize) -> usize {
    while parent[node] != node {
        parent[node] = parent[parent[node]];
        node = parent[node];
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lp::lp_optimal_coupling;
    use crate::InverseCdf;
    use crate::OutcomeOrder;
    use gumbel_core::rng::from_seed;
    use rand::Rng;

    /// (1 - e) p' + e 1_x, p' the outcomes of `rest` other than x renormalised.
    fn with_mass(rest: &[f64], x: usize, e: f64) -> Categorical {
        let others = 1.0 - rest[x];
        let mut probs: Vec<f64> = rest.iter().map(|v| v * (1.0 - e) / others).collect();
        probs[x] = e;
        Categorical::from_probs(&probs).unwrap()
    }

    /// The LP's own row: the conditional of its joint at x.
    fn lp_row(p: &Categorical, q: &Categorical, cost: &CostMatrix, x: usize) -> Vec<f64> {
        let joint = lp_optimal_coupling(p, q, cost).unwrap();
        let row = joint.joint().row(x).to_vec();
        let mass: f64 = row.iter().sum();
        row.iter().map(|v| v / mass).collect()
    }

    fn random_probs(rng: &mut gumbel_core::rng::SeededRng, k: usize) -> Vec<f64> {
        let raw: Vec<f64> = (0..k).map(|_| 0.05 + rng.random::<f64>()).collect();
        let total: f64 = raw.iter().sum();
        raw.iter().map(|v| v / total).collect()
    }

    /// For a cost without structure, the LP's own row at p(x) = 1e-6 and 1e-9 equals, to rounding, the
    /// row from the duals, which is exact once p(x) is below half the smallest flow of the LP without x;
    /// the dual row does not change between p(x) = 1e-300 and 1e-12.
    #[test]
    fn the_lp_row_at_small_probabilities_converges_to_the_dual_row() {
        let mut rng = from_seed(11);
        let mut exact_at_small = 0;
        for trial in 0..20 {
            let k = 4 + trial % 5;
            let rest = random_probs(&mut rng, k);
            let q = Categorical::from_probs(&random_probs(&mut rng, k)).unwrap();
            let rows: Vec<Vec<f64>> =
                (0..k).map(|_| (0..k).map(|_| rng.random::<f64>()).collect()).collect();
            let cost = CostMatrix::from_rows(&rows).unwrap();
            let x = trial % k;
            let tiny = with_mass(&rest, x, 1e-300);
            let limit =
                improbable_counterfactual(&tiny, &q, &cost, x).unwrap().expect("nondegenerate");
            assert_eq!(limit.iter().filter(|&&v| v == 1.0).count(), 1);
            for e in [1e-6, 1e-9] {
                let found = lp_row(&with_mass(&rest, x, e), &q, &cost, x);
                let distance: f64 = found.iter().zip(&limit).map(|(a, b)| (a - b).abs()).sum();
                // The row's flows are e and rounding of flows of order one: 1e-16 / e relative.
                assert!(distance < 1e-5, "trial {trial}, p(x) = {e}: {found:?} vs {limit:?}");
                exact_at_small += 1;
            }
            // The dual row is the same at any p(x) below the LP's smallest flow.
            let at = with_mass(&rest, x, 1e-12);
            assert_eq!(improbable_counterfactual(&at, &q, &cost, x).unwrap(), Some(limit));
        }
        assert_eq!(exact_at_small, 40);
    }

    /// For C = (h_i - h_j)^2 with h increasing, the index-order inverse-CDF coupling is optimal
    /// (the comonotone coupling, for a convex function of h_x - h_y), and an outcome of vanishing
    /// probability sits at the point u = F_p(x - 1) of [0, 1): its counterfactual is the point
    /// mass at F_q^-1(u), which InverseCdf gives for a bin narrower than f64's resolution.
    #[test]
    fn the_dual_row_is_the_comonotone_limit_for_a_convex_cost() {
        let mut rng = from_seed(12);
        for trial in 0..20 {
            let k = 3 + trial % 6;
            let h: Vec<f64> = (0..k).map(|i| i as f64 + 0.5 * rng.random::<f64>()).collect();
            let cost = CostMatrix::squared_reward(&h).unwrap();
            let rest = random_probs(&mut rng, k);
            let q = Categorical::from_probs(&random_probs(&mut rng, k)).unwrap();
            let x = trial % k;
            let p = with_mass(&rest, x, 1e-300);
            let expected = InverseCdf::new(&p, &q, &OutcomeOrder::identity(k))
                .unwrap()
                .counterfactual_distribution(x)
                .unwrap();
            let found =
                improbable_counterfactual(&p, &q, &cost, x).unwrap().expect("nondegenerate");
            assert_eq!(found, expected, "trial {trial}");
        }
    }

    /// Through the mechanism: an observation of probability e^-800 (zero in f64, possible in log
    /// space) gets the dual row, which is the LP's own row at p(x) = 1e-9; with another outcome of p
    /// as improbable, the rest of the LP has a flow below the floor and no row is certified.
    #[test]
    fn lp_optimal_answers_an_observation_below_double_precision_from_the_duals() {
        use crate::LpOptimal;
        use gumbel_core::method::{Computation, Mechanism};
        let rows = [[0.0, 2.0, 1.0, 0.3], [1.5, 0.0, 3.0, 0.8], [0.7, 0.2, 0.0, 2.5], [1.0; 4]];
        let cost = CostMatrix::from_rows(&rows.map(|r| r.to_vec())).unwrap();
        let p = Categorical::from_logits(&[0.0, 0.4, -800.0, -0.3]).unwrap();
        let q = Categorical::from_probs(&[0.3, 0.3, 0.15, 0.25]).unwrap();
        let lp = LpOptimal { cost: cost.clone() };
        let row = lp.counterfactual(&p, &q, 2, Computation::Exact).unwrap().value;
        assert_eq!(row.iter().filter(|&&v| v == 1.0).count(), 1, "{row:?}");
        let found = lp_row(&with_mass(&p.probs(), 2, 1e-9), &q, &cost, 2);
        let distance: f64 = found.iter().zip(&row).map(|(a, b)| (a - b).abs()).sum();
        assert!(distance < 1e-5, "{found:?} vs {row:?}");
        let both = Categorical::from_logits(&[0.0, 0.4, -800.0, -750.0]).unwrap();
        assert_eq!(improbable_counterfactual(&both, &q, &cost, 2).unwrap(), None);
    }

    /// p' = q on the other outcomes and q(x) = 0 (p' = (0.5, 0.5), q = (0.5, 0.5, 0)): the LP without
    /// x is the diagonal, two cells of flow for three possible nodes, a degenerate vertex whose
    /// duals are not unique: no row.
    #[test]
    fn a_degenerate_vertex_gives_no_row() {
        let p = with_mass(&[0.5, 0.5, 0.0], 2, 1e-300);
        let q = Categorical::from_probs(&[0.5, 0.5, 0.0]).unwrap();
        let cost = CostMatrix::mismatch(3);
        assert_eq!(improbable_counterfactual(&p, &q, &cost, 2).unwrap(), None);
        // Moving mass off the diagonal makes it nondegenerate: x = 2 goes where q has room.
        let q = Categorical::from_probs(&[0.3, 0.7, 0.0]).unwrap();
        let row = improbable_counterfactual(&p, &q, &cost, 2).unwrap().expect("nondegenerate");
        assert_eq!(row, vec![0.0, 1.0, 0.0]);
    }
}
