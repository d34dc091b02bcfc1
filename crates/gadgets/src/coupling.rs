//! The coupling and the counterfactual distribution a trained gadget induces for one pair (p, q).
//!
//! Gadget 2, exactly: given z both outcomes come from one Gumbel-max coupling, so
//! pi(x, y) = sum_z pi(z) GM[pi(. | z, p), pi(. | z, q)](x, y) with the closed-form Gumbel-max joint of
//! gumbel-core, and P(y | x_obs) = sum_z pi(z | x_obs) GM-counterfactual(y | x_obs). The conditionals
//! are computed in f64 from the network's output, so the marginals are exact to double precision.
//! Gadget 1 (transposed noise, no closed form): Monte Carlo with a stated number of samples.

use gumbel_core::exact::{counterfactual_distribution, gumbel_max_coupling};
use gumbel_core::logspace::logsumexp;
use gumbel_core::pairs::LogitPair;
use gumbel_core::{Categorical, CoreError, CostMatrix, Coupling};
use ndarray::Array2;

use crate::error::Result;
use crate::gadget::{Gadget, Gadget2Parts};

/// A coupling, exact or estimated.
#[derive(Debug, Clone)]
pub struct CouplingEstimate {
    /// The joint of (x, y).
    pub coupling: Coupling,
    /// Whether it is exact (Gadget 2) or a Monte Carlo estimate (Gadget 1).
    pub exact: bool,
    /// The number of samples of an estimate.
    pub samples: Option<u64>,
}

/// A counterfactual distribution P(y | x_obs), exact or estimated.
#[derive(Debug, Clone)]
pub struct CounterfactualEstimate {
    /// P(y | x_obs) for every y.
    pub distribution: Vec<f64>,
    /// Whether it is exact (Gadget 2) or a Monte Carlo estimate (Gadget 1).
    pub exact: bool,
    /// The number of samples of an estimate.
    pub samples: Option<u64>,
}

impl Gadget {
    /// The coupling of (p, q): exact for Gadget 2; for Gadget 1 estimated from `samples` pairs drawn
    /// from `seed`.
    pub fn coupling(
        &self,
        p: &Categorical,
        q: &Categorical,
        samples: u64,
        seed: u64,
    ) -> Result<CouplingEstimate> {
        if let Some(Gadget2Parts { log_prior: prior, cond_p, cond_q }) = self.gadget2_parts(p, q)? {
            let k = self.outcomes();
            let mut joint = Array2::<f64>::zeros((k, k));
            for (z, log_pi) in prior.iter().enumerate() {
                let part = gumbel_max_coupling(
                    &Categorical::from_logits(&cond_p[z])?,
                    &Categorical::from_logits(&cond_q[z])?,
                )?;
                joint.scaled_add(log_pi.exp(), part.joint());
            }
            let total = joint.sum();
            return Ok(CouplingEstimate {
                coupling: Coupling::new(joint / total)?,
                exact: true,
                samples: None,
            });
        }
        let pairs = self.sample_pairs(p, q, samples as usize, seed)?;
        Ok(CouplingEstimate {
            coupling: Coupling::from_samples(self.outcomes(), pairs)?,
            exact: false,
            samples: Some(samples),
        })
    }

    /// P(y | x = observed) under the gadget with interventional q: exact for Gadget 2; for Gadget 1 a
    /// histogram of `samples` counterfactual draws from `seed`.
    pub fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        samples: u64,
        seed: u64,
    ) -> Result<CounterfactualEstimate> {
        p.check_observation(observed)?;
        if let Some(Gadget2Parts { log_prior: prior, cond_p, cond_q }) = self.gadget2_parts(p, q)? {
            let log_post: Vec<f64> =
                prior.iter().zip(&cond_p).map(|(lp, row)| lp + row[observed]).collect();
            let norm = logsumexp(&log_post);
            let mut distribution = vec![0.0; self.outcomes()];
            for (z, lp) in log_post.iter().enumerate() {
                let weight = (lp - norm).exp();
                if weight > 0.0 {
                    let part = counterfactual_distribution(
                        &Categorical::from_logits(&cond_p[z])?,
                        &Categorical::from_logits(&cond_q[z])?,
                        observed,
                    )?;
                    distribution.iter_mut().zip(part).for_each(|(d, v)| *d += weight * v);
                }
            }
            let total: f64 = distribution.iter().sum();
            distribution.iter_mut().for_each(|d| *d /= total);
            return Ok(CounterfactualEstimate { distribution, exact: true, samples: None });
        }
        if samples == 0 {
            return Err(CoreError::ZeroCount { what: "number of counterfactual samples" }.into());
        }
        let draws = self.sample_counterfactuals(p, q, observed, samples as usize, seed)?;
        let mut distribution = vec![0.0; self.outcomes()];
        draws.iter().for_each(|&y| distribution[y] += 1.0 / draws.len() as f64);
        Ok(CounterfactualEstimate { distribution, exact: false, samples: Some(samples) })
    }
}

/// The mean over `pairs` of E[C(x, y)] under the gadget's coupling of each pair (the paper's Table 1
/// score): exact per pair for Gadget 2, from `samples` draws per pair (seeds `seed`, `seed + 1`, ...)
/// for Gadget 1.
pub fn mean_expected_cost(
    gadget: &Gadget,
    pairs: &[LogitPair],
    cost: &CostMatrix,
    samples: u64,
    seed: u64,
) -> Result<f64> {
    if pairs.is_empty() {
        return Err(CoreError::ZeroCount { what: "number of evaluation pairs" }.into());
    }
    let mut total = 0.0;
    for (i, pair) in pairs.iter().enumerate() {
        let (p, q) = (Categorical::from_logits(&pair.p)?, Categorical::from_logits(&pair.q)?);
        total += gadget
            .coupling(&p, &q, samples, seed.wrapping_add(i as u64))?
            .coupling
            .expected_cost(cost)?;
    }
    Ok(total / pairs.len() as f64)
}
