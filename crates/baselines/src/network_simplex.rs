//! The transportation simplex (the network simplex method specialised to the complete bipartite graph;
//! Dantzig 1951, the "MODI" method): a third exact solver of min sum pi_ij C_ij subject to the marginals.
//!
//! A basis is a spanning tree of 2K - 1 cells over the K row and K column nodes; the north-west corner
//! rule gives the first one (a staircase, degenerate zeros kept so that it stays a tree). Each pivot
//! solves the duals u_i + v_j = C_ij on the tree (u_0 = 0), prices the cells by C_ij - u_i - v_j a block
//! of rows at a time (block pricing), lets the most negative of the first improving block enter, sends theta around the cycle it closes (the tree path from its row to its
//! column, signs alternating from -) and drops the cell whose flow reaches zero first. It stops when no
//! reduced cost is below -tolerance: the flow is then optimal (complementary slackness).

use gumbel_core::{Categorical, CostMatrix, Coupling};
use ndarray::Array2;

use crate::error::{BaselineError, Result};
use crate::lp::{checked_len, finish};

/// A reduced cost below -(this x (1 + max |C|)) is an improving cell; above it, zero up to rounding.
const TOLERANCE: f64 = 1e-12;

/// A node of the basis tree: rows are 0..K, columns K..2K.
fn column_node(k: usize, j: usize) -> usize {
    k + j
}

/// An optimal coupling of p and q for `cost`, by the transportation simplex.
pub fn network_simplex_coupling(
    p: &Categorical,
    q: &Categorical,
    cost: &CostMatrix,
) -> Result<Coupling> {
    let k = checked_len(p, q, cost)?;
    let (pp, qq) = (p.probs(), q.probs());
    let optimum = optimal_basis(&pp, &qq, cost.matrix())?;
    let mut joint = Array2::zeros((k, k));
    for (&(i, j), &f) in optimum.basis.iter().zip(&optimum.flow) {
        joint[[i, j]] = f;
    }
    finish(joint, &pp, &qq)
}

/// An optimal basis of the transportation problem: its 2K - 1 cells, their flows, and the duals.
pub(crate) struct Optimum {
    /// The basic cells (row, column).
    pub(crate) basis: Vec<(usize, usize)>,
    /// The flow on each basic cell.
    pub(crate) flow: Vec<f64>,
    /// u_i for rows i (at index i) and v_j for columns j (at index K + j), with u_i + v_j = C_ij
    /// on every basic cell, u_0 = 0, and C_ij - u_i - v_j >= -[`Optimum::tolerance`] on every cell.
    pub(crate) dual: Vec<f64>,
    /// The pricing tolerance: TOLERANCE x (1 + max |C|).
    pub(crate) tolerance: f64,
}

/// The transportation simplex on supplies `pp`, demands `qq` and costs `c`, from the north-west
/// corner to a basis whose reduced costs are all above -tolerance.
pub(crate) fn optimal_basis(pp: &[f64], qq: &[f64], c: &Array2<f64>) -> Result<Optimum> {
    let k = pp.len();
    let tolerance = TOLERANCE * (1.0 + c.iter().fold(0.0_f64, |m, v| m.max(v.abs())));
    let (mut basis, mut flow) = north_west_corner(pp, qq);
    let mut tree = Tree::new(k);
    let max_pivots = 50 * k * k + 100;
    let mut start = 0;
    for _ in 0..max_pivots {
        tree.build(&basis, c);
        let Some((i, j)) = entering_cell(c, &tree, tolerance, &mut start) else {
            return Ok(Optimum { basis, flow, dual: tree.dual, tolerance });
        };
        // The tree path from row i to column j, as basis indices in order from row i.
        let path = tree.path(i, column_node(k, j));
        let (leaving, theta) = path
            .iter()
            .step_by(2)
            .map(|&b| (b, flow[b]))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .ok_or_else(|| BaselineError::Solver("an entering cell closed no cycle".to_owned()))?;
        for (n, &b) in path.iter().enumerate() {
            if n % 2 == 0 {
                flow[b] -= theta;
            } else {
                flow[b] += theta;
            }
        }
        flow[leaving] = theta;
        basis[leaving] = (i, j);
    }
    Err(BaselineError::Solver(format!(
        "the transportation simplex did not converge in {max_pivots} pivots"
    )))
}

/// The north-west corner rule: a basic feasible solution of 2K - 1 cells forming a staircase tree.
fn north_west_corner(pp: &[f64], qq: &[f64]) -> (Vec<(usize, usize)>, Vec<f64>) {
    let k = pp.len();
    let (mut row_left, mut col_left) = (pp[0], qq[0]);
    let (mut i, mut j) = (0, 0);
    let (mut basis, mut flow) = (Vec::with_capacity(2 * k - 1), Vec::with_capacity(2 * k - 1));
    loop {
        let m = row_left.min(col_left).max(0.0);
        basis.push((i, j));
        flow.push(m);
        row_left -= m;
        col_left -= m;
        if i == k - 1 && j == k - 1 {
            break;
        }
        // Move down when the row is used up (or the columns are), else right: one step at a time.
        if (row_left <= col_left && i < k - 1) || j == k - 1 {
            i += 1;
            row_left = pp[i];
        } else {
            j += 1;
            col_left = qq[j];
        }
    }
    (basis, flow)
}

/// The basis tree: adjacency, a BFS order from row 0 with each node's parent edge, depths and duals.
struct Tree {
    k: usize,
    adjacency: Vec<Vec<usize>>,
    /// The basis index of the edge to the parent (None for the root, row 0).
    parent_edge: Vec<Option<usize>>,
    parent: Vec<usize>,
    depth: Vec<usize>,
    /// u_i for rows, v_j for columns.
    dual: Vec<f64>,
}

impl Tree {
    fn new(k: usize) -> Self {
        Self {
            k,
            adjacency: vec![Vec::new(); 2 * k],
            parent_edge: vec![None; 2 * k],
            parent: vec![0; 2 * k],
            depth: vec![0; 2 * k],
            dual: vec![0.0; 2 * k],
        }
    }

    /// Rebuilds the tree of `basis` and solves u_i + v_j = C_ij on it with u_0 = 0.
    fn build(&mut self, basis: &[(usize, usize)], c: &Array2<f64>) {
        let k = self.k;
        self.adjacency.iter_mut().for_each(Vec::clear);
        for (b, &(i, j)) in basis.iter().enumerate() {
            self.adjacency[i].push(b);
            self.adjacency[column_node(k, j)].push(b);
        }
        let mut seen = vec![false; 2 * k];
        let mut queue = std::collections::VecDeque::from([0usize]);
        seen[0] = true;
        self.parent_edge[0] = None;
        self.depth[0] = 0;
        self.dual[0] = 0.0;
        while let Some(node) = queue.pop_front() {
            for &b in &self.adjacency[node] {
                let (i, j) = basis[b];
                let other = if node < k { column_node(k, j) } else { i };
                if seen[other] {
                    continue;
                }
                seen[other] = true;
                self.parent_edge[other] = Some(b);
                self.parent[other] = node;
                self.depth[other] = self.depth[node] + 1;
                // u_i + v_j = C_ij.
                self.dual[other] = c[[i, j]] - self.dual[node];
                queue.push_back(other);
            }
        }
    }

    /// The basis edges on the tree path from `from` (a row) to `to` (a column), in order from `from`.
    fn path(&self, from: usize, to: usize) -> Vec<usize> {
        let (mut a, mut b) = (from, to);
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        while self.depth[a] > self.depth[b] {
            head.extend(self.parent_edge[a]);
            a = self.parent[a];
        }
        while self.depth[b] > self.depth[a] {
            tail.extend(self.parent_edge[b]);
            b = self.parent[b];
        }
        while a != b {
            head.extend(self.parent_edge[a]);
            tail.extend(self.parent_edge[b]);
            a = self.parent[a];
            b = self.parent[b];
        }
        head.extend(tail.into_iter().rev());
        head
    }
}

/// Block pricing: the most negative reduced cost C_ij - u_i - v_j below -tolerance within the first
/// block of rows (cyclically from `start`, blocks of about K / 8 rows) that has one; `start` moves past
/// that block. None when no cell in any row improves: the basis is optimal.
fn entering_cell(
    c: &Array2<f64>,
    tree: &Tree,
    tolerance: f64,
    start: &mut usize,
) -> Option<(usize, usize)> {
    let k = tree.k;
    let block = (k / 8).max(1);
    let mut best = (-tolerance, None);
    for step in 0..k {
        let i = (*start + step) % k;
        let u = tree.dual[i];
        for j in 0..k {
            let reduced = c[[i, j]] - u - tree.dual[column_node(k, j)];
            if reduced < best.0 {
                best = (reduced, Some((i, j)));
            }
        }
        if best.1.is_some() && ((step + 1) % block == 0 || step + 1 == k) {
            *start = (i + 1) % k;
            break;
        }
    }
    best.1
}
