//! The inverse-CDF coupling (x, y) = (F_p^-1(u), F_q^-1(u)) with one shared uniform u, for any
//! outcome order (paper Section 6; official-gadgets.md section 1): its exact joint, the mechanism,
//! and its exact counterfactual.
//!
//! With the bins of p and q laid out in the same order on [0, 1) (edges P_r and Q_r), the joint is
//! the overlap of the bins, pi(o_a, o_b) = max(0, min(P_{a+1}, Q_{b+1}) - max(P_a, Q_b)), where o_r
//! is the outcome at rank r. Given x_obs = o_a the noise is u ~ U[P_a, P_{a+1}), so
//! P(y | x_obs) = overlap / p(x_obs) is exact and a counterfactual draw is F_q^-1 of one uniform on
//! that bin: no rejection loop (the authors rejected u's until F_p^-1(u) = x_obs).

use gumbel_core::rng::SeededRng;
use gumbel_core::{Categorical, Coupling};
use ndarray::Array2;
use rand::Rng;

use crate::cdf::Cdf;
use crate::error::Result;
use crate::order::OutcomeOrder;
use crate::sampling;

/// The inverse-CDF mechanism for (p, q) in one outcome order.
#[derive(Debug, Clone)]
pub struct InverseCdf {
    p: Categorical,
    fp: Cdf,
    fq: Cdf,
    /// The rank of each outcome in the order.
    positions: Vec<usize>,
}

impl InverseCdf {
    /// The mechanism; errors when p, q and the order differ in length.
    pub fn new(p: &Categorical, q: &Categorical, order: &OutcomeOrder) -> Result<Self> {
        p.check_same_len(q)?;
        if order.len() != p.len() {
            return Err(gumbel_core::CoreError::LengthMismatch {
                what: "outcome order",
                expected: p.len(),
                found: order.len(),
            }
            .into());
        }
        Ok(Self {
            p: p.clone(),
            fp: Cdf::new(&p.probs(), order.ranks()),
            fq: Cdf::new(&q.probs(), order.ranks()),
            positions: order.positions(),
        })
    }

    /// K.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Always false: a mechanism has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The exact joint: bin overlaps, found in one O(K) sweep over the two sets of edges.
    pub fn coupling(&self) -> Result<Coupling> {
        let k = self.len();
        let (ep, eq) = (self.fp.edges(), self.fq.edges());
        let mut joint = Array2::zeros((k, k));
        let (mut a, mut b) = (0, 0);
        while a < k && b < k {
            let overlap = ep[a + 1].min(eq[b + 1]) - ep[a].max(eq[b]);
            if overlap > 0.0 {
                joint[[self.fp.ranks()[a], self.fq.ranks()[b]]] = overlap;
            }
            if ep[a + 1] <= eq[b + 1] {
                a += 1;
            } else {
                b += 1;
            }
        }
        Ok(Coupling::new(joint)?)
    }

    /// One pair from one shared uniform.
    pub fn sample_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> (usize, usize) {
        let u: f64 = rng.random();
        (self.fp.inverse(u), self.fq.inverse(u))
    }

    /// The empirical joint of `samples` pairs from `seed`.
    pub fn estimate_coupling(&self, samples: u64, seed: u64) -> Result<Coupling> {
        sampling::estimate_coupling(self.len(), samples, seed, |rng| self.sample_pair(rng))
    }

    /// The bin [P_a, P_{a+1}) of an observed outcome; errors when it is out of range or impossible.
    fn observed_bin(&self, observed: usize) -> Result<(f64, f64)> {
        self.p.check_observation(observed)?;
        let a = self.positions[observed];
        Ok((self.fp.edges()[a], self.fp.edges()[a + 1]))
    }

    /// The exact P(y | x = observed): the overlap of each q bin with the observed p bin, divided by
    /// the latter's width. A possible outcome whose bin is narrower than f64's resolution at its
    /// edge (p(x_obs) below ~1e-16 of the edge; any p(x_obs) of logits spread by more than ~37) has
    /// collapsed to the point u = edge: its counterfactual is the limit of a vanishing bin there,
    /// y = F_q^-1(u) surely.
    pub fn counterfactual_distribution(&self, observed: usize) -> Result<Vec<f64>> {
        let (lo, hi) = self.observed_bin(observed)?;
        let mut dist = vec![0.0; self.len()];
        if hi <= lo {
            dist[self.fq.inverse(collapsed_point(lo))] = 1.0;
            return Ok(dist);
        }
        let eq = self.fq.edges();
        for (b, &o) in self.fq.ranks().iter().enumerate() {
            dist[o] = (eq[b + 1].min(hi) - eq[b].max(lo)).max(0.0) / (hi - lo);
        }
        Ok(dist)
    }

    /// One counterfactual draw of y given x = `observed`: u uniform on the observed bin, then F_q^-1(u).
    pub fn sample_counterfactual<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        observed: usize,
    ) -> Result<usize> {
        let bin = self.observed_bin(observed)?;
        Ok(self.counterfactual_in(rng, bin))
    }

    fn counterfactual_in<R: Rng + ?Sized>(&self, rng: &mut R, (lo, hi): (f64, f64)) -> usize {
        if hi <= lo {
            return self.fq.inverse(collapsed_point(lo));
        }
        let u = lo + (hi - lo) * rng.random::<f64>();
        // Rounding may land exactly on hi, which belongs to the next bin.
        self.fq.inverse(if u < hi { u } else { hi.next_down() })
    }

    /// The histogram of `samples` counterfactual draws from `seed`.
    pub fn counterfactual_histogram(
        &self,
        observed: usize,
        samples: u64,
        seed: u64,
    ) -> Result<Vec<f64>> {
        let bin = self.observed_bin(observed)?;
        sampling::histogram(self.len(), samples, seed, |rng: &mut SeededRng| {
            self.counterfactual_in(rng, bin)
        })
    }
}

/// The point in [0, 1) a collapsed bin at edge `lo` stands for: `lo`, or the last number below one
/// for a bin at the top edge.
fn collapsed_point(lo: f64) -> f64 {
    if lo < 1.0 {
        lo
    } else {
        1.0_f64.next_down()
    }
}

/// The exact inverse-CDF coupling of p and q in `order` (index order: [`OutcomeOrder::identity`]).
pub fn inverse_cdf_coupling(
    p: &Categorical,
    q: &Categorical,
    order: &OutcomeOrder,
) -> Result<Coupling> {
    InverseCdf::new(p, q, order)?.coupling()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gumbel_core::rng::from_seed;

    #[test]
    fn collapsed_bins_have_point_counterfactuals() {
        // p(1) = e^-1000 rounds away: bin 1 is the point 0.5 in index order, where q's bin 2 starts.
        let p = Categorical::from_logits(&[0.0, -1000.0, 0.0]).unwrap();
        let q = Categorical::from_probs(&[0.25, 0.25, 0.5]).unwrap();
        let m = InverseCdf::new(&p, &q, &OutcomeOrder::identity(3)).unwrap();
        assert_eq!(m.counterfactual_distribution(1).unwrap(), vec![0.0, 0.0, 1.0]);
        assert_eq!(m.sample_counterfactual(&mut from_seed(1), 1).unwrap(), 2);
        // At the top edge: the last bin of q that is not empty.
        let top = Categorical::from_logits(&[0.0, -1000.0]).unwrap();
        let q = Categorical::from_probs(&[0.5, 0.5]).unwrap();
        let m = InverseCdf::new(&top, &q, &OutcomeOrder::identity(2)).unwrap();
        assert_eq!(m.counterfactual_distribution(1).unwrap(), vec![0.0, 1.0]);
    }
}
