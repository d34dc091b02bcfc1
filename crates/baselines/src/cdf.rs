//! A cumulative distribution laid out on [0, 1) in a given outcome order: the inverse-CDF map
//! u -> F^-1(u) that the inverse-CDF coupling and the samplers of this crate share.

use rand::Rng;

/// Bins [e_r, e_{r+1}) of width p_{ranks[r]} tiling [0, 1): e_0 = 0 and e_K = 1 exactly.
///
/// The edges are partial sums divided by the total, so that the last edge is exactly one and an
/// impossible outcome gets an empty bin wherever it stands (equal partial sums stay equal).
#[derive(Debug, Clone, PartialEq)]
pub struct Cdf {
    edges: Vec<f64>,
    ranks: Vec<usize>,
}

impl Cdf {
    /// From non-negative weights with a positive finite sum (a [`gumbel_core::Categorical`]'s
    /// probabilities, or a joint's cells) and the outcome at each rank; `ranks` must permute
    /// `0..weights.len()`.
    pub(crate) fn new(weights: &[f64], ranks: &[usize]) -> Self {
        let mut edges = Vec::with_capacity(weights.len() + 1);
        let mut sum = 0.0;
        edges.push(0.0);
        for &o in ranks {
            sum += weights[o];
            edges.push(sum);
        }
        for e in &mut edges {
            *e /= sum;
        }
        Self { edges, ranks: ranks.to_vec() }
    }

    /// From weights in index order.
    pub(crate) fn in_index_order(weights: &[f64]) -> Self {
        Self::new(weights, &(0..weights.len()).collect::<Vec<_>>())
    }

    /// The K + 1 bin edges.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// The outcome at each rank.
    pub fn ranks(&self) -> &[usize] {
        &self.ranks
    }

    /// The rank whose bin [e_r, e_{r+1}) holds `u`; `u` in [0, 1). Empty bins are never chosen.
    pub fn rank_of(&self, u: f64) -> usize {
        let k = self.ranks.len();
        self.edges[1..].partition_point(|&e| e <= u).min(k - 1)
    }

    /// F^-1(u): the outcome whose bin holds `u`.
    pub fn inverse(&self, u: f64) -> usize {
        self.ranks[self.rank_of(u)]
    }

    /// One draw, F^-1(U) with U uniform on [0, 1).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.inverse(rng.random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_the_order_and_skip_empty_outcomes() {
        let c = Cdf::new(&[0.5, 0.0, 0.25, 0.25], &[3, 1, 0, 2]);
        assert_eq!(c.edges(), &[0.0, 0.25, 0.25, 0.75, 1.0]);
        assert_eq!(c.inverse(0.0), 3);
        assert_eq!(c.inverse(0.2499), 3);
        assert_eq!(c.inverse(0.25), 0);
        assert_eq!(c.inverse(0.75), 2);
        assert_eq!(c.inverse(1.0 - f64::EPSILON), 2);
        let trailing_zero = Cdf::in_index_order(&[0.3, 0.7, 0.0]);
        assert_eq!(trailing_zero.edges()[2], 1.0);
        assert_eq!(trailing_zero.inverse(1.0 - f64::EPSILON / 2.0), 1);
    }
}
