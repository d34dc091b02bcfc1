//! The coupling and the counterfactual distribution a trained gadget induces for one pair (p, q).
//!
//! Gadget 2, exactly: given z both outcomes come from one Gumbel-max coupling, so
//! pi(x, y) = sum_z pi(z) GM[pi(. | z, p), pi(. | z, q)](x, y) with the closed-form Gumbel-max joint of
//! gumbel-core, and P(y | x_obs) = sum_z pi(z | x_obs) GM-counterfactual(y | x_obs). The conditionals
//! are computed in f64 from the network's output, so the marginals are exact to double precision.
//! Gadget 1 (transposed noise, no closed form): Monte Carlo with a stated number of samples.

use gumbel_core::exact::{counterfactual_distribution, gumbel_max_coupling};
use gumbel_core::logspace::logsumexp;
use gumbel_core::method::{Answer, Computation, Conditional, Joint, Mechanism, Query};
use gumbel_core::pairs::LogitPair;
use gumbel_core::{Categorical, CoreError, CostMatrix, Coupling, Result as CoreResult};
use ndarray::Array2;
use rayon::prelude::*;
use tch::Kind;

use crate::batch::PairBatch;
use crate::error::{GadgetError, Result};
use crate::gadget::{to_vec, Gadget, Gadget2Parts};

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
        if let Some(parts) = self.gadget2_parts(p, q)? {
            return Ok(CouplingEstimate {
                coupling: parts.mixture_joint()?,
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
        if let Some(parts) = self.gadget2_parts(p, q)? {
            let distribution = parts.mixture_counterfactual(observed)?;
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

impl Gadget2Parts {
    /// pi(x, y) = sum_z pi(z) GM[pi(. | z, p), pi(. | z, q)](x, y) (module docs).
    fn mixture_joint(&self) -> Result<Coupling> {
        let k = self.cond_p.first().map_or(0, Vec::len);
        let mut joint = Array2::<f64>::zeros((k, k));
        for (z, log_pi) in self.log_prior.iter().enumerate() {
            let part = gumbel_max_coupling(
                &Categorical::from_logits(&self.cond_p[z])?,
                &Categorical::from_logits(&self.cond_q[z])?,
            )?;
            joint.scaled_add(log_pi.exp(), part.joint());
        }
        let total = joint.sum();
        Ok(Coupling::new(joint / total)?)
    }
}

impl Gadget2Parts {
    /// P(y | x_obs) = sum_z pi(z | x_obs) GM-counterfactual(y | x_obs) (module docs).
    fn mixture_counterfactual(&self, observed: usize) -> Result<Vec<f64>> {
        let log_post: Vec<f64> =
            self.log_prior.iter().zip(&self.cond_p).map(|(lp, row)| lp + row[observed]).collect();
        let norm = logsumexp(&log_post);
        if norm == f64::NEG_INFINITY {
            return Err(CoreError::ImpossibleObservation { observed }.into());
        }
        let mut distribution = vec![0.0; self.cond_p.first().map_or(0, Vec::len)];
        for (z, lp) in log_post.iter().enumerate() {
            let weight = (lp - norm).exp();
            if weight > 0.0 {
                let part = counterfactual_distribution(
                    &Categorical::from_logits(&self.cond_p[z])?,
                    &Categorical::from_logits(&self.cond_q[z])?,
                    observed,
                )?;
                distribution.iter_mut().zip(part).for_each(|(d, v)| *d += weight * v);
            }
        }
        let total: f64 = distribution.iter().sum();
        distribution.iter_mut().for_each(|d| *d /= total);
        Ok(distribution)
    }
}

/// Pairs per network pass of [`Mechanism::joints`] for Gadget 2.
const BATCH_PAIRS: usize = 4096;

/// A gadget's error as gumbel-core's: input errors as they are, the rest (libtorch) under its name.
fn core(gadget: &Gadget, error: GadgetError) -> CoreError {
    match error {
        GadgetError::Core(e) => e,
        other => CoreError::MethodFailed { method: gadget.name(), message: other.to_string() },
    }
}

impl Mechanism for Gadget {
    /// `gadget-1` or `gadget-2`.
    fn name(&self) -> String {
        self.config().kind.name().to_owned()
    }

    /// Gadget 2 has a closed form; Gadget 1 is sampled.
    fn has_closed_form(&self) -> bool {
        self.config().kind == crate::GadgetKind::Gadget2
    }

    fn joint(&self, p: &Categorical, q: &Categorical, how: Computation) -> CoreResult<Joint> {
        how.answer(
            || {
                self.check_closed_form()?;
                Ok(self.coupling(p, q, 0, 0).map_err(|e| core(self, e))?.coupling)
            },
            |samples, seed| {
                let pairs =
                    self.sample_pairs(p, q, samples as usize, seed).map_err(|e| core(self, e))?;
                Coupling::from_samples(p.len(), pairs)
            },
        )
    }

    fn counterfactual(
        &self,
        p: &Categorical,
        q: &Categorical,
        observed: usize,
        how: Computation,
    ) -> CoreResult<Conditional> {
        how.answer(
            || {
                self.check_closed_form()?;
                let estimate =
                    self.counterfactual(p, q, observed, 0, 0).map_err(|e| core(self, e))?;
                Ok(estimate.distribution)
            },
            |samples, seed| {
                let draws = self
                    .sample_counterfactuals(p, q, observed, samples as usize, seed)
                    .map_err(|e| core(self, e))?;
                let mut histogram = vec![0.0; p.len()];
                draws.iter().for_each(|&y| histogram[y] += 1.0 / draws.len() as f64);
                Ok(histogram)
            },
        )
    }

    /// Gadget 2 exactly as [`Mechanism::joints`]; otherwise query by query.
    fn counterfactuals(&self, queries: &[Query], how: Computation) -> CoreResult<Vec<Conditional>> {
        if !(self.has_closed_form() && how == Computation::Exact) {
            return queries
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    Mechanism::counterfactual(self, &x.p, &x.q, x.observed, how.for_pair(i))
                })
                .collect();
        }
        let mut out = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(BATCH_PAIRS) {
            let pairs: Vec<(Categorical, Categorical)> =
                chunk.iter().map(|x| (x.p.clone(), x.q.clone())).collect();
            let parts = self.gadget2_parts_batch(&pairs).map_err(|e| core(self, e))?;
            let answers: Result<Vec<Conditional>> = parts
                .par_iter()
                .zip(chunk)
                .map(|(part, x)| {
                    x.p.check_observation(x.observed)?;
                    Ok(Answer::exact(part.mixture_counterfactual(x.observed)?))
                })
                .collect();
            out.extend(answers.map_err(|e| core(self, e))?);
        }
        Ok(out)
    }

    /// Gadget 2 exactly: the conditionals of [`BATCH_PAIRS`] pairs per network pass, their mixtures
    /// of Gumbel-max joints on rayon's pool; otherwise pair by pair.
    fn joints(
        &self,
        pairs: &[(Categorical, Categorical)],
        how: Computation,
    ) -> CoreResult<Vec<Joint>> {
        if !(self.has_closed_form() && how == Computation::Exact) {
            return pairs
                .iter()
                .enumerate()
                .map(|(i, (p, q))| Mechanism::joint(self, p, q, how.for_pair(i)))
                .collect();
        }
        let mut out = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(BATCH_PAIRS) {
            let parts = self.gadget2_parts_batch(chunk).map_err(|e| core(self, e))?;
            let joints: Result<Vec<Joint>> =
                parts.par_iter().map(|part| Ok(Answer::exact(part.mixture_joint()?))).collect();
            out.extend(joints.map_err(|e| core(self, e))?);
        }
        Ok(out)
    }
}

impl Gadget {
    /// An error for an exact request of Gadget 1, which has no closed form.
    fn check_closed_form(&self) -> CoreResult<()> {
        if self.has_closed_form() {
            Ok(())
        } else {
            Err(CoreError::MethodFailed {
                method: self.name(),
                message: "has no closed form: give a number of samples".into(),
            })
        }
    }

    /// [`Gadget::gadget2_parts`] of many pairs from one network pass (Gadget 2 only).
    fn gadget2_parts_batch(
        &self,
        pairs: &[(Categorical, Categorical)],
    ) -> Result<Vec<Gadget2Parts>> {
        let k = self.outcomes();
        let logits: Vec<LogitPair> = pairs
            .iter()
            .map(|(p, q)| LogitPair { p: p.log_probs().to_vec(), q: q.log_probs().to_vec() })
            .collect();
        let batch = PairBatch::from_pairs(&logits, k, Kind::Double, self.device())?;
        let (cond_p, cond_q, prior) = self.gadget2_tensors(&batch)?;
        let (cond_p, cond_q, prior) = (to_vec(&cond_p)?, to_vec(&cond_q)?, to_vec(&prior)?);
        let per_pair = prior.len() * k;
        let rows = |v: &[f64], i: usize| -> Vec<Vec<f64>> {
            v[i * per_pair..(i + 1) * per_pair].chunks(k).map(<[f64]>::to_vec).collect()
        };
        Ok((0..pairs.len())
            .map(|i| Gadget2Parts {
                log_prior: prior.clone(),
                cond_p: rows(&cond_p, i),
                cond_q: rows(&cond_q, i),
            })
            .collect())
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
