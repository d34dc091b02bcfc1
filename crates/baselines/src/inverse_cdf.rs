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
    /// the latter's width.
    pub fn counterfactual_distribution(&self, observed: usize) -> Result<Vec<f64>> {
        let (lo, hi) = self.observed_bin(observed)?;
        let eq = self.fq.edges();
        let mut dist = vec![0.0; self.len()];
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

/// The exact inverse-CDF coupling of p and q in `order` (index order: [`OutcomeOrder::identity`]).
pub fn inverse_cdf_coupling(
    p: &Categorical,
    q: &Categorical,
    order: &OutcomeOrder,
) -> Result<Coupling> {
    InverseCdf::new(p, q, order)?.coupling()
}
