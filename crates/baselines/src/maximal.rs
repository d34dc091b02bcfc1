//! The maximal coupling: P(x = y) = sum_i min(p_i, q_i), the largest any coupling reaches
//! (1 - TV(p, q)); the Section 7.1 reference.
//!
//! Joint: pi_ii = min(p_i, q_i) on the diagonal, and the residuals r_p = p - min(p, q) and
//! r_q = q - min(p, q) (disjoint supports, each of mass TV) coupled independently off the diagonal,
//! pi_ij = r_p,i r_q,j / TV. The authors' rejection sampler (x ~ p, keep (x, x) with probability
//! min(p_x, q_x) / p_x, else redraw y ~ q until q_y U > p_y) draws from exactly this joint; the
//! sampler here draws the residual y directly, without a loop.

use gumbel_core::{Categorical, Coupling};
use ndarray::Array2;
use rand::Rng;

use crate::cdf::Cdf;
use crate::error::Result;
use crate::sampling;

/// The maximal-coupling mechanism for (p, q).
#[derive(Debug, Clone)]
pub struct Maximal {
    /// min(p_i, q_i).
    overlap: Vec<f64>,
    /// r_p = p - min(p, q).
    residual_p: Vec<f64>,
    /// r_q = q - min(p, q).
    residual_q: Vec<f64>,
    /// P(keep x | x) = min(p_x, q_x) / p_x.
    keep: Vec<f64>,
    fp: Cdf,
    /// The distribution of y when x is not kept; None when p = q (x is always kept).
    fq_residual: Option<Cdf>,
}

impl Maximal {
    /// The mechanism; errors when p and q differ in length.
    pub fn new(p: &Categorical, q: &Categorical) -> Result<Self> {
        p.check_same_len(q)?;
        let (pp, qq) = (p.probs(), q.probs());
        let overlap: Vec<f64> = pp.iter().zip(&qq).map(|(a, b)| a.min(*b)).collect();
        let residual_p: Vec<f64> = pp.iter().zip(&overlap).map(|(a, m)| a - m).collect();
        let residual_q: Vec<f64> = qq.iter().zip(&overlap).map(|(b, m)| b - m).collect();
        let keep =
            pp.iter().zip(&overlap).map(|(a, m)| if *a > 0.0 { m / a } else { 0.0 }).collect();
        let fq_residual =
            (residual_q.iter().sum::<f64>() > 0.0).then(|| Cdf::in_index_order(&residual_q));
        Ok(Self {
            overlap,
            residual_p,
            residual_q,
            keep,
            fp: Cdf::in_index_order(&pp),
            fq_residual,
        })
    }

    /// K.
    pub fn len(&self) -> usize {
        self.overlap.len()
    }

    /// Always false: a mechanism has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.overlap.is_empty()
    }

    /// The exact joint.
    pub fn coupling(&self) -> Result<Coupling> {
        let k = self.len();
        let tv: f64 = self.residual_q.iter().sum();
        let joint = Array2::from_shape_fn((k, k), |(i, j)| {
            if i == j {
                self.overlap[i]
            } else if tv > 0.0 {
                self.residual_p[i] * self.residual_q[j] / tv
            } else {
                0.0
            }
        });
        let total = joint.sum();
        Ok(Coupling::new(joint / total)?)
    }

    /// One pair: x ~ p, kept as y with probability min(p_x, q_x) / p_x, else y ~ r_q / TV.
    pub fn sample_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> (usize, usize) {
        let x = self.fp.sample(rng);
        match &self.fq_residual {
            Some(residual) if rng.random::<f64>() >= self.keep[x] => (x, residual.sample(rng)),
            _ => (x, x),
        }
    }

    /// The empirical joint of `samples` pairs from `seed`.
    pub fn estimate_coupling(&self, samples: u64, seed: u64) -> Result<Coupling> {
        sampling::estimate_coupling(self.len(), samples, seed, |rng| self.sample_pair(rng))
    }
}

/// The exact maximal coupling of p and q.
pub fn maximal_coupling(p: &Categorical, q: &Categorical) -> Result<Coupling> {
    Maximal::new(p, q)?.coupling()
}
