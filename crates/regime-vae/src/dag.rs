//! Directed acyclic graphs: Erdos-Renyi generation, parent lists and a topological order.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{ensure, RegimeVaeError, Result};

/// A DAG over nodes `0..n`, stored as sorted parent lists with a topological order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dag {
    parents: Vec<Vec<usize>>,
    order: Vec<usize>,
}

impl Dag {
    /// Builds a DAG from parent lists; fails if there is no node, an index is out of range, a parent
    /// repeats, or there is a cycle.
    pub fn from_parents(mut parents: Vec<Vec<usize>>) -> Result<Self> {
        let n = parents.len();
        if n == 0 {
            return Err(RegimeVaeError::NoNodes);
        }
        for (i, pa) in parents.iter_mut().enumerate() {
            pa.sort_unstable();
            ensure(pa.iter().all(|&p| p < n && p != i), || {
                format!("node {i} has an invalid parent")
            })?;
            ensure(pa.windows(2).all(|w| w[0] != w[1]), || {
                format!("node {i} lists a parent twice")
            })?;
        }
        let order = topological_order(&parents).ok_or(RegimeVaeError::Cyclic)?;
        Ok(Self { parents, order })
    }

    /// Erdos-Renyi DAG as in the seed's Section 4.1: in a uniformly random order of the nodes, each of the
    /// `n (n - 1) / 2` forward pairs gets an edge with probability `edge_prob`.
    pub fn erdos_renyi<R: Rng + ?Sized>(n: usize, edge_prob: f64, rng: &mut R) -> Result<Self> {
        if n == 0 {
            return Err(RegimeVaeError::NoNodes);
        }
        ensure((0.0..=1.0).contains(&edge_prob), || {
            format!("edge probability {edge_prob} not in [0, 1]")
        })?;
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(rng);
        let mut parents = vec![Vec::new(); n];
        for a in 0..n {
            for b in (a + 1)..n {
                if rng.random::<f64>() < edge_prob {
                    parents[perm[b]].push(perm[a]);
                }
            }
        }
        Self::from_parents(parents)
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.parents.len()
    }

    /// Sorted parents of node `i`.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// A topological order: every node comes after all of its parents.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Number of edges.
    pub fn edges(&self) -> usize {
        self.parents.iter().map(Vec::len).sum()
    }

    /// Whether node `d` is a descendant of node `a` (a node is not its own descendant).
    pub fn is_descendant(&self, d: usize, a: usize) -> bool {
        let mut stack = vec![d];
        let mut seen = vec![false; self.n()];
        while let Some(v) = stack.pop() {
            for &p in &self.parents[v] {
                if p == a {
                    return true;
                }
                if !seen[p] {
                    seen[p] = true;
                    stack.push(p);
                }
            }
        }
        false
    }
}

/// Kahn's algorithm; `None` when the graph has a cycle.
fn topological_order(parents: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = parents.len();
    let mut indegree: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut children = vec![Vec::new(); n];
    for (i, pa) in parents.iter().enumerate() {
        for &p in pa {
            children[p].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..n).rev().filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(v) = ready.pop() {
        order.push(v);
        for &c in &children[v] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push(c);
            }
        }
    }
    (order.len() == n).then_some(order)
}

#[cfg(test)]
mod tests {
    use gumbel_core::rng::from_seed;

    use super::*;

    #[test]
    fn erdos_renyi_is_acyclic_and_order_respects_edges() {
        let mut rng = from_seed(3);
        for _ in 0..50 {
            let dag = Dag::erdos_renyi(12, 0.4, &mut rng).expect("valid config");
            let mut position = vec![0; dag.n()];
            for (k, &v) in dag.order().iter().enumerate() {
                position[v] = k;
            }
            for i in 0..dag.n() {
                for &p in dag.parents(i) {
                    assert!(position[p] < position[i]);
                    assert!(!dag.is_descendant(p, i), "cycle through {p} and {i}");
                }
            }
        }
    }

    #[test]
    fn edge_count_matches_its_expectation() {
        // 400 graphs of 10 nodes at p = 0.3: 45 pairs each, so the count is Binomial(18000, 0.3).
        let mut rng = from_seed(11);
        let total: usize =
            (0..400).map(|_| Dag::erdos_renyi(10, 0.3, &mut rng).expect("valid").edges()).sum();
        let (mean, sd) = (18000.0 * 0.3, (18000.0_f64 * 0.3 * 0.7).sqrt());
        assert!((total as f64 - mean).abs() < 5.0 * sd, "{total} edges vs {mean}");
    }

    #[test]
    fn cycles_and_bad_parents_are_rejected() {
        assert!(Dag::from_parents(vec![vec![1], vec![0]]).is_err());
        assert!(Dag::from_parents(vec![vec![0]]).is_err());
        assert!(Dag::from_parents(vec![vec![], vec![5]]).is_err());
        assert!(Dag::erdos_renyi(3, 1.5, &mut from_seed(0)).is_err());
    }
}
