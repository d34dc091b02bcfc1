//! A dedicated exact solver of the transportation problem min sum pi_ij C_ij subject to row sums p and
//! column sums q: successive shortest paths with Johnson potentials (the primal-dual method; Ahuja,
//! Magnanti & Orlin 1993, Section 9.7), on the dense bipartite graph.
//!
//! Sources i hold supply p_i and sinks j demand q_j; every arc i -> j costs C_ij and is uncapacitated,
//! its residual reverse arc j -> i costs -C_ij with capacity pi_ij. With potentials phi the reduced
//! costs C_ij + phi_i - phi_j stay non-negative (up to rounding), so each round finds the cheapest path
//! from any source with supply left to the nearest sink with demand left by a dense O(K^2) Dijkstra,
//! sends the bottleneck along it, and raises the potentials by the distances. Each round empties a
//! source, fills a sink or clears a reverse arc; about 2K rounds, O(K^3) in all.

use gumbel_core::{Categorical, CostMatrix, Coupling};
use ndarray::Array2;

use crate::error::{BaselineError, Result};
use crate::lp::finish;

/// Mass below this is treated as zero (probabilities sum to one).
const MASS_EPSILON: f64 = 1e-15;

/// A node of the bipartite graph.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Source(usize),
    Sink(usize),
}

/// An optimal coupling of p and q for `cost`, by successive shortest paths.
pub fn transport_optimal_coupling(p: &Categorical, q: &Categorical, cost: &CostMatrix) -> Result<Coupling> {
    p.check_same_len(q)?;
    let k = p.len();
    if cost.len() != k {
        return Err(gumbel_core::CoreError::LengthMismatch { what: "cost matrix", expected: k, found: cost.len() }.into());
    }
    let c = cost.matrix();
    let mut supply = p.probs();
    let mut demand = q.probs();
    let mut flow = Array2::<f64>::zeros((k, k));
    // phi_source = 0 and phi_sink(j) = min_i C_ij make every forward reduced cost non-negative.
    let mut phi_source = vec![0.0; k];
    let mut phi_sink: Vec<f64> = (0..k).map(|j| c.column(j).iter().copied().fold(f64::INFINITY, f64::min)).collect();
    let mut dist_source = vec![0.0; k];
    let mut dist_sink = vec![0.0; k];
    let mut pred_source = vec![None::<usize>; k];
    let mut pred_sink = vec![0usize; k];
    let mut done_source = vec![false; k];
    let mut done_sink = vec![false; k];
    // At most a few rounds per basis change; the bound only guards against a rounding cycle.
    let max_rounds = 8 * k * k + 16;
    for _ in 0..max_rounds {
        let left: f64 = supply.iter().sum::<f64>().min(demand.iter().sum());
        if left <= MASS_EPSILON * k as f64 {
            break;
        }
        // Multi-source Dijkstra, dense: scan for the closest unsettled node.
        for i in 0..k {
            dist_source[i] = if supply[i] > MASS_EPSILON { 0.0 } else { f64::INFINITY };
            pred_source[i] = None;
            done_source[i] = false;
        }
        dist_sink.fill(f64::INFINITY);
        done_sink.fill(false);
        let target = loop {
            let mut best: Option<(f64, Node)> = None;
            for i in (0..k).filter(|&i| !done_source[i] && dist_source[i] < f64::INFINITY) {
                if best.is_none_or(|(d, _)| dist_source[i] < d) {
                    best = Some((dist_source[i], Node::Source(i)));
                }
            }
            for j in (0..k).filter(|&j| !done_sink[j] && dist_sink[j] < f64::INFINITY) {
                if best.is_none_or(|(d, _)| dist_sink[j] < d) {
                    best = Some((dist_sink[j], Node::Sink(j)));
                }
            }
            let Some((d, node)) = best else {
                return Err(BaselineError::Solver("no augmenting path: supply and demand disagree".to_owned()));
            };
            match node {
                Node::Source(i) => {
                    done_source[i] = true;
                    for j in (0..k).filter(|&j| !done_sink[j]) {
                        let reduced = (c[[i, j]] + phi_source[i] - phi_sink[j]).max(0.0);
                        if d + reduced < dist_sink[j] {
                            dist_sink[j] = d + reduced;
                            pred_sink[j] = i;
                        }
                    }
                }
                Node::Sink(j) => {
                    done_sink[j] = true;
                    if demand[j] > MASS_EPSILON {
                        break j;
                    }
                    for i in (0..k).filter(|&i| !done_source[i] && flow[[i, j]] > 0.0) {
                        let reduced = (-c[[i, j]] + phi_sink[j] - phi_source[i]).max(0.0);
                        if d + reduced < dist_source[i] {
                            dist_source[i] = d + reduced;
                            pred_source[i] = Some(j);
                        }
                    }
                }
            }
        };
        // Potentials: phi += min(dist, dist(target)), which keeps reduced costs non-negative.
        let reach = dist_sink[target];
        for i in 0..k {
            phi_source[i] += dist_source[i].min(reach);
            phi_sink[i] += dist_sink[i].min(reach);
        }
        // The path back from the target: sink <- source (forward arc) <- sink (reverse arc) <- ...
        let mut path = Vec::new();
        let mut j = target;
        let origin = loop {
            let i = pred_sink[j];
            path.push((i, j));
            match pred_source[i] {
                Some(previous) => j = previous,
                None => break i,
            }
        };
        // Forward arcs are path[0], path[1], ...; the reverse arcs between them are (i_m, j_{m+1}).
        let mut amount = supply[origin].min(demand[target]);
        for window in path.windows(2) {
            amount = amount.min(flow[[window[0].0, window[1].1]]);
        }
        for window in path.windows(2) {
            flow[[window[0].0, window[1].1]] -= amount;
        }
        for &(i, j) in &path {
            flow[[i, j]] += amount;
        }
        supply[origin] -= amount;
        demand[target] -= amount;
    }
    finish(flow, &p.probs(), &q.probs())
}
